//! Keys in a folder: `rs256.pem` (the RSA key) and `es256.pem` (the P-256 key), each the
//! PKCS#8 private key followed by its certificate, so one atomic write keeps a key and its
//! certificate together.

use std::path::Path;
use std::sync::Arc;

use super::certificate::{KeyType, MissingCertificate, SigningKey};
use super::{Generation, KeyError, KeySet};

/// The RSA key (RS256 and PS256) and its certificate.
pub const RSA_FILE: &str = "rs256.pem";
/// The P-256 key (ES256) and its certificate.
pub const EC_FILE: &str = "es256.pem";

fn file_of(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Rsa => RSA_FILE,
        KeyType::Ec => EC_FILE,
    }
}

/// The key in `dir`, or `None` when its file does not exist.
fn read(
    dir: &Path,
    key_type: KeyType,
    missing: MissingCertificate,
) -> Result<Option<SigningKey>, KeyError> {
    let path = dir.join(file_of(key_type));
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KeyError::Read {
                path: path.display().to_string(),
                source,
            })
        }
    };
    SigningKey::from_pem(key_type, &pem, &path.display().to_string(), missing).map(Some)
}

fn write(dir: &Path, key: &SigningKey) -> Result<(), KeyError> {
    crate::files::write_atomically(dir, file_of(key.key_type), &key.to_pem()?)?;
    Ok(())
}

impl KeySet {
    /// Reads `rs256.pem` and `es256.pem` from `dir` (`--keys`): both must exist and hold
    /// a private key and its certificate.
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for key_type in [KeyType::Rsa, KeyType::Ec] {
            let key = read(dir, key_type, MissingCertificate::Refuse)?.ok_or_else(|| {
                let path = dir.join(file_of(key_type));
                KeyError::Read {
                    path: path.display().to_string(),
                    source: std::io::ErrorKind::NotFound.into(),
                }
            })?;
            keys.push(key);
        }
        let ec = keys.pop();
        let rsa = keys.pop();
        Ok(Self::with(Generation::build(rsa, ec, None)?))
    }

    /// The keys kept in `dir`, so RPs that pinned the certificate keep working across
    /// restarts: what the folder has is used; what it lacks is made once and written
    /// there (the RSA key in the background, so the start is not held up). A key written
    /// without a certificate by an earlier version gets one. A file that cannot be read
    /// is an error, never silently replaced: RPs may have pinned it.
    pub fn kept(dir: &Path) -> Result<Self, KeyError> {
        crate::files::create_private_dir(dir)?;
        let rsa = read(dir, KeyType::Rsa, MissingCertificate::Issue)?;
        let ec = read(dir, KeyType::Ec, MissingCertificate::Issue)?;
        for key in rsa.iter().chain(&ec).filter(|k| k.certificate_issued) {
            write(dir, key)?;
        }
        let folder = dir.to_path_buf();
        let keep: super::OnGenerated =
            Arc::new(move |key: &SigningKey| match write(&folder, key) {
                Ok(()) => tracing::info!(
                    kid = %key.kid,
                    folder = %folder.display(),
                    "new {} signing key and certificate kept for later runs",
                    key.key_type.name()
                ),
                Err(err) => tracing::error!("the new signing key is used but not kept: {err}"),
            });
        Ok(Self::with(Generation::build(rsa, ec, Some(keep))?))
    }

    /// Writes the current keys and certificates so a later run can use them (`--keys`).
    pub async fn save(&self, dir: &Path) -> Result<(), KeyError> {
        let current = self.current();
        for key_type in [KeyType::Rsa, KeyType::Ec] {
            write(dir, current.key(key_type).await?.as_ref())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::SigningAlg;
    use super::*;

    fn temporary() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("mitid-sim-keys-{}", uuid::Uuid::new_v4()))
    }

    #[tokio::test]
    async fn keys_survive_a_save_and_load_with_the_same_certificates() {
        let keys = KeySet::generate().unwrap();
        let dir = temporary();
        keys.save(&dir).await.unwrap();
        let loaded = KeySet::load(&dir).unwrap();
        for alg in [SigningAlg::ES256, SigningAlg::RS256] {
            assert_eq!(loaded.kid(alg).await.unwrap(), keys.kid(alg).await.unwrap());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(RSA_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "private keys are the owner's only");
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_kept_folder_is_filled_once_and_then_reused() {
        let dir = temporary();
        let first = KeySet::kept(&dir).unwrap();
        let kid = first.kid(SigningAlg::RS256).await.unwrap();
        // The RSA key is written by the thread that made it, right after it is ready.
        for _ in 0..100 {
            if dir.join(RSA_FILE).exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let again = KeySet::kept(&dir).unwrap();
        assert_eq!(again.kid(SigningAlg::RS256).await.unwrap(), kid);
        assert_eq!(
            again.kid(SigningAlg::ES256).await.unwrap(),
            first.kid(SigningAlg::ES256).await.unwrap()
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_corrupt_kept_key_is_an_error_naming_the_file_not_replaced() {
        let dir = temporary();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(RSA_FILE), "not a key").unwrap();
        let err = KeySet::kept(&dir).unwrap_err().to_string();
        assert!(err.contains(RSA_FILE), "{err}");
        assert_eq!(std::fs::read(dir.join(RSA_FILE)).unwrap(), b"not a key");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_given_key_without_its_certificate_is_refused_with_the_way_out() {
        let dir = temporary();
        std::fs::create_dir_all(&dir).unwrap();
        let bare = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap())
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        std::fs::write(dir.join(RSA_FILE), bare).unwrap();
        let err = KeySet::load(&dir).unwrap_err().to_string();
        assert!(err.contains("no certificate"), "{err}");
        assert!(err.contains("mitid-sim certs generate"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_missing_key_file_names_the_path() {
        let err = KeySet::load(Path::new("/nonexistent-dir")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir/rs256.pem"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_test_keys_in_certs_load_with_their_certificates() {
        let keys = KeySet::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/certs"))).unwrap();
        assert_eq!(
            keys.jwks(true).await.unwrap()["keys"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
