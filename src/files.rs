//! Writing files that hold secrets (private keys, client secrets, passwords) so that a
//! crash at any moment leaves the old or the new content, never a torn file, and only the
//! owner can read them; and the per-user folder they are kept in between runs.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A write that failed, naming the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: String,
    pub source: std::io::Error,
}

fn failed(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.display().to_string();
    move |source| WriteError { path, source }
}

/// Creates `dir` (and its parents) if needed; a folder it creates is the owner's only.
pub fn create_private_dir(dir: &Path) -> Result<(), WriteError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(failed(dir))
}

/// Temporary file (owner-only), fsync, rename over the old file, fsync the folder.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), WriteError> {
    create_private_dir(dir)?;
    let target = dir.join(name);
    let temporary = dir.join(format!(".{name}.{}.tmp", crate::random::short_id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(failed(&temporary))?;
    file.write_all(bytes).map_err(failed(&temporary))?;
    file.sync_all().map_err(failed(&temporary))?;
    drop(file);
    std::fs::rename(&temporary, &target).map_err(failed(&target))?;
    std::fs::File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(failed(dir))?;
    Ok(())
}

/// Environment variable that names the per-user folder, overriding the platform default.
pub const HOME_VARIABLE: &str = "MITID_SIM_HOME";

/// The per-user folder where mitid-sim keeps what must outlive a run without `--state-dir`
/// (the signing certificates RPs pin, the local TLS CA): `$MITID_SIM_HOME` if set, else
/// `$XDG_STATE_HOME/mitid-sim` (`~/.local/state/mitid-sim`) on Linux,
/// `~/Library/Application Support/mitid-sim` on macOS, `%LOCALAPPDATA%\mitid-sim` on Windows.
/// `None` when the platform names no such folder (no home directory).
pub fn user_state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(HOME_VARIABLE).filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|dir| dir.join("mitid-sim"))
}
