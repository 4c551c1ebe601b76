//! The fidelity ledger over HTTP: `GET /sim/fidelity` (and `/admin/fidelity`) as JSON,
//! `GET /sim/fidelity/<row>` for one row, and 501 answers at the real broker's endpoints
//! that mitid-sim does not emulate, each pointing at its row.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::protocols::fidelity::{self, LEDGER_PATH};
use crate::protocols::oidc::Provider;

fn unavailable(err: String) -> HttpResponse {
    HttpResponse::InternalServerError()
        .json(json!({ "error": "ledger_unavailable", "message": err }))
}

pub async fn ledger() -> HttpResponse {
    match fidelity::ledger() {
        Ok(ledger) => HttpResponse::Ok().json(ledger),
        Err(err) => unavailable(err),
    }
}

pub async fn row(path: web::Path<String>) -> HttpResponse {
    let ledger = match fidelity::ledger() {
        Ok(ledger) => ledger,
        Err(err) => return unavailable(err),
    };
    match path.parse().ok().and_then(|n| ledger.row(n)) {
        Some(row) => HttpResponse::Ok().json(row),
        None => HttpResponse::NotFound().json(json!({
            "error": "not_found",
            "message": format!("the ledger has rows 1 to {}, not `{path}`", ledger.rows.len()),
        })),
    }
}

/// Routes every endpoint the ledger lists as not emulated to a 501 naming its row.
pub fn unemulated_endpoints(cfg: &mut web::ServiceConfig) {
    let Ok(ledger) = fidelity::ledger() else {
        // The ledger is checked by the test suite; without it there is nothing to route.
        return;
    };
    for row in &ledger.rows {
        for path in &row.endpoints {
            let (number, feature) = (row.number, row.feature.clone());
            cfg.route(
                path,
                web::route().to(move |provider: web::Data<Provider>, req: HttpRequest| {
                    let feature = feature.clone();
                    async move { not_emulated(&provider, &req, number, &feature) }
                }),
            );
        }
    }
}

fn not_emulated(
    provider: &Provider,
    req: &HttpRequest,
    number: u32,
    feature: &str,
) -> HttpResponse {
    let pointer = format!("{}{LEDGER_PATH}/{number}", provider.base_url);
    let description = format!(
        "mitid-sim does not emulate this endpoint of the real broker ({feature}); see row {number} of the fidelity ledger"
    );
    HttpResponse::build(StatusCode::NOT_IMPLEMENTED)
        .insert_header((header::LINK, format!("<{pointer}>; rel=\"help\"")))
        .json(json!({
            "error": "not_implemented",
            "error_description": description,
            "path": req.path(),
            "ledger": pointer,
        }))
}
