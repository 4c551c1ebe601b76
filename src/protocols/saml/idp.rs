//! The simulated NemLog-in IdP: its entity ID, its one SAML endpoint and its keys.
//!
//! NemLog-in serves SSO and SLO at one location (devtest4: `…/idp/saml/3.0/`) and tells
//! the messages apart by what they are; mitid-sim copies that under `/nemlogin`.

use std::path::{Path, PathBuf};

use super::credential::{Credential, CredentialError};
use crate::files::{user_state_dir, write_atomically, WriteError};

/// Every NemLog-in path starts here.
pub const PATH_PREFIX: &str = "/nemlogin";
/// SSO (Redirect, POST) and SLO (Redirect, POST, SOAP), as NemLog-in's `/idp/saml/3.0/`.
pub const ENDPOINT_PATH: &str = "/nemlogin/idp/saml/3.0/";
/// The IdP metadata document.
pub const METADATA_PATH: &str = "/nemlogin/idp/saml/3.0/metadata";
/// The folder (in `--state-dir` or the per-user folder) that holds the keys.
pub const KEY_FOLDER: &str = "nemlogin";

#[derive(Debug, thiserror::Error)]
pub enum IdpKeyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Invalid {
        path: String,
        source: CredentialError,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot create a key: {0}")]
    Generate(CredentialError),
    #[error("no folder to keep the NemLog-in keys in: pass --state-dir or set MITID_SIM_HOME")]
    NoFolder,
}

/// The IdP's signing and encryption keys, each with its self-signed certificate.
#[derive(Clone, Debug)]
pub struct IdpKeys {
    pub signing: Credential,
    pub encryption: Credential,
}

impl IdpKeys {
    /// The folder for the keys: `<state-dir>/nemlogin`, else `<per-user folder>/nemlogin`
    /// (`MITID_SIM_HOME` overrides the per-user folder).
    pub fn folder(state_dir: Option<&Path>) -> Result<PathBuf, IdpKeyError> {
        state_dir
            .map(Path::to_path_buf)
            .or_else(user_state_dir)
            .map(|dir| dir.join(KEY_FOLDER))
            .ok_or(IdpKeyError::NoFolder)
    }

    /// New keys for one run.
    pub fn generate() -> Result<IdpKeys, IdpKeyError> {
        Ok(IdpKeys {
            signing: Credential::generate("mitid-sim NemLog-in IdP signing")
                .map_err(IdpKeyError::Generate)?,
            encryption: Credential::generate("mitid-sim NemLog-in IdP encryption")
                .map_err(IdpKeyError::Generate)?,
        })
    }

    /// Reads the keys from `folder`, creating (and saving) any that are missing, so the
    /// certificates SPs pinned stay the same across restarts.
    pub fn load_or_create(folder: &Path) -> Result<IdpKeys, IdpKeyError> {
        Ok(IdpKeys {
            signing: load_or_create(folder, "signing", "mitid-sim NemLog-in IdP signing")?,
            encryption: load_or_create(folder, "encryption", "mitid-sim NemLog-in IdP encryption")?,
        })
    }
}

fn load_or_create(folder: &Path, name: &str, common_name: &str) -> Result<Credential, IdpKeyError> {
    let key_path = folder.join(format!("{name}.key.pem"));
    let cert_path = folder.join(format!("{name}.crt.pem"));
    let read = |path: &Path| match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IdpKeyError::Read {
            path: path.display().to_string(),
            source,
        }),
    };
    if let (Some(key), Some(cert)) = (read(&key_path)?, read(&cert_path)?) {
        return Credential::from_pem(&key, &cert).map_err(|source| IdpKeyError::Invalid {
            path: key_path.display().to_string(),
            source,
        });
    }
    let credential = Credential::generate(common_name).map_err(IdpKeyError::Generate)?;
    // The key first: a crash between the two writes leaves a key without a certificate,
    // which the next start replaces whole.
    write_atomically(
        folder,
        &format!("{name}.key.pem"),
        credential.private_key_pem(),
    )?;
    write_atomically(
        folder,
        &format!("{name}.crt.pem"),
        credential.certificate().pem(),
    )?;
    Ok(credential)
}

/// The IdP as SPs see it.
#[derive(Clone, Debug)]
pub struct IdentityProvider {
    /// The entity ID: the issuer of every response (`<base>/nemlogin`).
    pub entity_id: String,
    /// The absolute SSO/SLO endpoint URL.
    pub endpoint: String,
    pub metadata_url: String,
    pub keys: IdpKeys,
}

impl IdentityProvider {
    /// The IdP served at `public_base` (scheme, host, port; no trailing slash).
    pub fn new(public_base: &str, keys: IdpKeys) -> IdentityProvider {
        let base = public_base.trim_end_matches('/');
        IdentityProvider {
            entity_id: format!("{base}{PATH_PREFIX}"),
            endpoint: format!("{base}{ENDPOINT_PATH}"),
            metadata_url: format!("{base}{METADATA_PATH}"),
            keys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_and_read_back_unchanged() {
        let dir = std::env::temp_dir().join(format!("mitid-sim-saml-{}", uuid::Uuid::new_v4()));
        let folder = IdpKeys::folder(Some(&dir)).unwrap();
        let first = IdpKeys::load_or_create(&folder).unwrap();
        let second = IdpKeys::load_or_create(&folder).unwrap();
        assert_eq!(first.signing.certificate(), second.signing.certificate());
        assert_eq!(
            first.encryption.certificate(),
            second.encryption.certificate()
        );
        assert_ne!(first.signing.certificate(), first.encryption.certificate());
        std::fs::write(folder.join("signing.crt.pem"), b"garbage").unwrap();
        let err = IdpKeys::load_or_create(&folder).unwrap_err();
        assert!(err.to_string().contains("signing.key.pem"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
