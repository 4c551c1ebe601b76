//! `mitid-sim certs ...`: signing keys and certificates on disk, without a running broker.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use mitid_sim::broker::keys::{KeySet, SigningAlg, EC_FILE, RSA_FILE};
use mitid_sim::persistence::{self, StateDir};

use super::block_on;

#[derive(Subcommand)]
pub enum CertsCommand {
    /// Write rs256.pem and es256.pem (each a private key and its self-signed certificate)
    /// for `serve --keys DIR`. Files already in DIR are kept; a key without a certificate
    /// (written by an earlier version) gets one.
    Generate {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the certificate `serve` signs id_tokens with, for an RP to pin: the kept one
    /// (made now if there is none yet), or that of --keys or --state-dir.
    Export {
        /// The keys `serve --keys DIR` would use.
        #[arg(long, value_name = "DIR", conflicts_with = "state_dir")]
        keys: Option<PathBuf>,
        /// The keys `serve --state-dir DIR` saved.
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// The RSA certificate (RS256, PS256; the default) or the EC one (ES256).
        #[arg(long, default_value = "RS256")]
        alg: SigningAlg,
        /// Write the PEM to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub fn run(command: CertsCommand) -> Result<(), String> {
    match command {
        CertsCommand::Generate { out } => generate(&out),
        CertsCommand::Export {
            keys,
            state_dir,
            alg,
            out,
        } => {
            let keys = match (keys, state_dir) {
                (Some(dir), _) => KeySet::load(&dir).map_err(|e| e.to_string())?,
                (None, Some(dir)) => saved_keys(&dir)?,
                (None, None) => {
                    let dir = persistence::kept_keys_dir().ok_or(
                        "this platform names no per-user folder: give --keys or --state-dir",
                    )?;
                    let keys = KeySet::kept(&dir).map_err(|e| e.to_string())?;
                    // A key made now is written by the thread that made it; wait for it.
                    block_on(keys.save(&dir)).map_err(|e| e.to_string())?;
                    keys
                }
            };
            let pem = block_on(async {
                let kid = keys.kid(alg).await?;
                keys.certificate_pem(&kid).await
            })
            .map_err(|e| e.to_string())?
            .ok_or("the current key has no certificate")?;
            super::output::write_or_print(out.as_deref(), &pem)
        }
    }
}

fn generate(out: &Path) -> Result<(), String> {
    let keys = KeySet::kept(out).map_err(|e| e.to_string())?;
    let kids = block_on(async {
        keys.save(out).await?;
        Ok::<_, mitid_sim::broker::keys::KeyError>((
            keys.kid(SigningAlg::RS256).await?,
            keys.kid(SigningAlg::ES256).await?,
        ))
    })
    .map_err(|e| e.to_string())?;
    println!(
        "{} (kid {})\n{} (kid {})",
        out.join(RSA_FILE).display(),
        kids.0,
        out.join(EC_FILE).display(),
        kids.1
    );
    Ok(())
}

fn saved_keys(dir: &Path) -> Result<KeySet, String> {
    let state = StateDir::new(dir);
    let saved = state
        .load()
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} holds no saved state yet", state.path().display()))?;
    KeySet::from_pems(saved.rs256_pem.as_bytes(), saved.es256_pem.as_bytes())
        .map_err(|e| e.to_string())
}
