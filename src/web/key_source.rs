//! Where a starting broker's signing keys come from: given, fresh, or kept across
//! restarts (in the state folder, or the per-user folder) so RPs can pin the certificate.

use crate::broker::keys::KeyError;
use crate::broker::KeySet;
use crate::persistence::Snapshot;

/// Where the broker's signing keys come from.
pub enum KeySource {
    /// As RPs that pin the certificate need: the state folder's keys with `--state-dir`
    /// (generated on its first start), else the keys kept in the per-user folder
    /// ([`crate::persistence::kept_keys_dir`]), generated on the very first start.
    Default,
    /// Kept in this folder across restarts; generated on the first start.
    KeptIn(std::path::PathBuf),
    /// New keys for this run only (`--fresh-keys`).
    Fresh,
    /// The keys in this folder (`--keys DIR`), each with its certificate.
    Folder(std::path::PathBuf),
    /// Exactly these (the in-process simulator's test keys, or the caller's).
    Given(KeySet),
}

impl KeySource {
    /// The keys, and a line saying where they come from.
    pub(super) fn resolve(
        self,
        saved: Option<&Snapshot>,
        state_dir: Option<&std::path::Path>,
    ) -> Result<(KeySet, String), KeyError> {
        Ok(match (self, saved, state_dir) {
            (KeySource::Given(keys), ..) => (keys, "given".into()),
            (KeySource::Folder(dir), ..) => {
                (KeySet::load(&dir)?, format!("from {}", dir.display()))
            }
            (KeySource::Fresh, ..) => (KeySet::generate()?, "fresh for this run".into()),
            (KeySource::KeptIn(dir), ..) => {
                (KeySet::kept(&dir)?, format!("kept in {}", dir.display()))
            }
            (KeySource::Default, Some(saved), Some(dir)) => (
                KeySet::from_pems(saved.rs256_pem.as_bytes(), saved.es256_pem.as_bytes())?,
                format!("kept in {}", dir.display()),
            ),
            // The state's first save keeps them.
            (KeySource::Default, _, Some(dir)) => {
                (KeySet::generate()?, format!("kept in {}", dir.display()))
            }
            (KeySource::Default, ..) => match crate::persistence::kept_keys_dir() {
                Some(dir) => match KeySet::kept(&dir) {
                    Ok(keys) => (keys, format!("kept in {}", dir.display())),
                    // A read-only home (a container, say) must not stop the broker.
                    Err(KeyError::Write(err)) => {
                        tracing::warn!("the signing keys cannot be kept: {err}");
                        (
                            KeySet::generate()?,
                            format!("fresh for this run (cannot keep keys: {err})"),
                        )
                    }
                    Err(err) => return Err(err),
                },
                None => {
                    tracing::warn!("no per-user folder to keep the signing keys in: they are new at every start");
                    (
                        KeySet::generate()?,
                        "fresh for this run (no per-user folder)".into(),
                    )
                }
            },
        })
    }
}
