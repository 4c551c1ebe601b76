//! `--state-dir`: runtime changes (citizens, organisations and professional identities,
//! clients, NemLog-in service providers, keys, used code-card keys and key apps) survive
//! a restart. Every acknowledged change is on disk before the answer goes
//! out, written atomically (temporary file, fsync, rename, fsync of the folder), so a
//! `kill -9` at any moment leaves the previous or the new state, never a torn file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::authenticators::code_card::CardState;
use crate::identity::{Identity, Workforce};
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::{BoxFuture, Provider, StateKeeper};
use crate::protocols::saml;
use crate::protocols::saml::sp::{ServiceProvider, SpRecord, SpRegistry};

pub const STATE_FILE: &str = "state.json";
/// Version 2 added the workforce (MitID Erhverv), version 3 the NemLog-in service
/// providers; older files are still read.
const FORMAT_VERSION: u32 = 3;
const OLDEST_READABLE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub version: u32,
    pub citizens: Vec<Identity>,
    /// Organisations and professional identities; absent in version 1 files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workforce: Option<Workforce>,
    pub clients: Vec<Client>,
    /// NemLog-in service providers (inline, certificates as PEM); absent before version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_providers: Option<Vec<SpRecord>>,
    /// The EC key and its certificate (PEM); older versions wrote the key alone.
    pub es256_pem: String,
    /// The RSA key and its certificate (PEM); older versions wrote the key alone.
    pub rs256_pem: String,
    pub cards: Vec<(Uuid, CardState)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a mitid-sim state file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path} has format version {found}; this mitid-sim reads versions {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}")]
    Version { path: String, found: u32 },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Keys(String),
}

impl Snapshot {
    /// The service providers the state keeps, or `None` for a file from before them.
    pub fn service_providers(&self) -> Result<Option<Vec<ServiceProvider>>, String> {
        self.service_providers
            .as_ref()
            .map(|records| {
                records
                    .iter()
                    .map(|record| {
                        record
                            .clone()
                            .into_sp_from_json()
                            .map_err(|err| format!("{STATE_FILE}: a service provider: {err}"))
                    })
                    .collect()
            })
            .transpose()
    }
}

/// The state folder; writes go one at a time so the newest state always wins.
pub struct StateDir {
    dir: PathBuf,
    writing: Mutex<()>,
    /// The NemLog-in personality's registry, saved with the rest.
    service_providers: Option<Arc<SpRegistry>>,
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            writing: Mutex::new(()),
            service_providers: None,
        }
    }

    /// Saves these service providers too.
    pub fn keeping(mut self, service_providers: Arc<SpRegistry>) -> Self {
        self.service_providers = Some(service_providers);
        self
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The saved state, if the folder has one. Temporary files a `kill -9` left behind
    /// are cleared away.
    pub fn load(&self) -> Result<Option<Snapshot>, StateError> {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&format!(".{STATE_FILE}.")) && name.ends_with(".tmp") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let snapshot: Snapshot =
            serde_json::from_str(&text).map_err(|source| StateError::Parse {
                path: path.display().to_string(),
                source,
            })?;
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&snapshot.version) {
            return Err(StateError::Version {
                path: path.display().to_string(),
                found: snapshot.version,
            });
        }
        Ok(Some(snapshot))
    }

    /// Takes a snapshot of the broker and writes it; returns once it is durable.
    pub async fn save(&self, provider: &Provider) -> Result<(), StateError> {
        let _one_at_a_time = self.writing.lock().await;
        let broker = &provider.broker;
        let pems = broker
            .keys
            .pems()
            .await
            .map_err(|err| StateError::Keys(err.to_string()))?;
        let snapshot = Snapshot {
            version: FORMAT_VERSION,
            citizens: broker
                .identities
                .all()
                .iter()
                .map(|c| (**c).clone())
                .collect(),
            workforce: Some(broker.identities.workforce()),
            clients: provider
                .clients
                .all()
                .iter()
                .map(|c| (**c).clone())
                .collect(),
            service_providers: self
                .service_providers
                .as_ref()
                .map(|registry| registry.all().iter().map(|sp| sp.record()).collect()),
            es256_pem: String::from_utf8_lossy(&pems.ec).into_owned(),
            rs256_pem: String::from_utf8_lossy(&pems.rsa).into_owned(),
            cards: broker.code_cards.export(),
        };
        let bytes = serde_json::to_vec_pretty(&snapshot)
            .map_err(|err| StateError::Keys(err.to_string()))?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_atomically(&dir, STATE_FILE, &bytes))
            .await
            .map_err(|err| StateError::Write {
                path: STATE_FILE.into(),
                source: std::io::Error::other(err),
            })?
    }
}

impl StateKeeper for StateDir {
    fn save<'a>(&'a self, provider: &'a Provider) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            StateDir::save(self, provider)
                .await
                .map_err(|err| err.to_string())
        })
    }
}

/// Saves everything when the NemLog-in personality changed something: the state file
/// is one, written from the NEB personality's view of the broker plus the SP registry.
pub struct SaveAll {
    dir: Arc<StateDir>,
    neb: Weak<Provider>,
}

impl SaveAll {
    pub fn new(dir: Arc<StateDir>, neb: Weak<Provider>) -> Self {
        Self { dir, neb }
    }
}

impl saml::provider::StateKeeper for SaveAll {
    fn save(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let Some(provider) = self.neb.upgrade() else {
                return Err("the broker is stopping".into());
            };
            self.dir
                .save(&provider)
                .await
                .map_err(|err| err.to_string())
        })
    }
}

/// The folder under [`user_state_dir`] where `serve` keeps its signing keys and
/// certificates when no `--state-dir`, `--keys` or `--fresh-keys` is given.
pub const KEYS_FOLDER: &str = "signing-keys";

/// Where `serve` keeps its signing keys by default, if the platform names a per-user folder.
pub fn kept_keys_dir() -> Option<PathBuf> {
    user_state_dir().map(|dir| dir.join(KEYS_FOLDER))
}

pub use crate::files::{user_state_dir, HOME_VARIABLE};

/// Temporary file (owner-only: the state holds private keys, client secrets and
/// passwords), fsync, rename over the old file, fsync the folder.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StateError> {
    crate::files::write_atomically(dir, name, bytes).map_err(|err| StateError::Write {
        path: err.path,
        source: err.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("mitid-sim-state-{}", Uuid::new_v4()));
        write_atomically(&dir, "x.json", b"first").unwrap();
        write_atomically(&dir, "x.json", b"second").unwrap();
        assert_eq!(std::fs::read(dir.join("x.json")).unwrap(), b"second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("x.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner may read the state");
        }
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_missing_state_file_is_no_state_and_a_corrupt_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("mitid-sim-state-{}", Uuid::new_v4()));
        let state = StateDir::new(&dir);
        assert!(state.load().unwrap().is_none());
        write_atomically(&dir, STATE_FILE, b"{ not json").unwrap();
        let err = state.load().err().unwrap();
        assert!(
            err.to_string().contains("is not a mitid-sim state file"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
