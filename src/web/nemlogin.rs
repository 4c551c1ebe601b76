//! The NemLog-in personality over HTTP. Phase A serves the IdP metadata document; the SSO
//! and SLO endpoint follows with the login wiring (docs/design/saml-wiring.md).

use std::path::PathBuf;

use actix_web::{web, HttpResponse};
use tokio::sync::OnceCell;

use crate::protocols::saml::idp::{IdentityProvider, IdpKeys, METADATA_PATH};
use crate::protocols::saml::metadata::idp_metadata;

/// The IdP, made on first use: its RSA keys are read from (or, the first time, generated
/// into) the state or per-user folder, so a broker nobody asks for NemLog-in starts as fast
/// as before.
pub struct NemLogin {
    base_url: String,
    state_dir: Option<PathBuf>,
    ready: OnceCell<Result<Ready, String>>,
}

struct Ready {
    _idp: IdentityProvider,
    metadata: String,
}

impl NemLogin {
    pub fn new(base_url: &str, state_dir: Option<PathBuf>) -> NemLogin {
        NemLogin {
            base_url: base_url.to_string(),
            state_dir,
            ready: OnceCell::new(),
        }
    }

    async fn ready(&self) -> &Result<Ready, String> {
        self.ready
            .get_or_init(|| async {
                let base_url = self.base_url.clone();
                let state_dir = self.state_dir.clone();
                tokio::task::spawn_blocking(move || {
                    let folder =
                        IdpKeys::folder(state_dir.as_deref()).map_err(|e| e.to_string())?;
                    let keys = IdpKeys::load_or_create(&folder).map_err(|e| e.to_string())?;
                    let idp = IdentityProvider::new(&base_url, keys);
                    let metadata = idp_metadata(&idp).map_err(|e| e.to_string())?;
                    Ok(Ready {
                        _idp: idp,
                        metadata,
                    })
                })
                .await
                .unwrap_or_else(|err| {
                    Err(format!("the NemLog-in keys could not be prepared: {err}"))
                })
            })
            .await
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(METADATA_PATH, web::get().to(metadata));
}

async fn metadata(nemlogin: web::Data<NemLogin>) -> HttpResponse {
    match nemlogin.ready().await {
        Ok(ready) => HttpResponse::Ok()
            .content_type("application/samlmetadata+xml")
            .body(ready.metadata.clone()),
        Err(err) => {
            tracing::error!("NemLog-in metadata: {err}");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body(format!("The NemLog-in IdP is not available: {err}\n"))
        }
    }
}
