//! The NemLog-in personality over HTTP: its one SAML endpoint (SSO and SLO told apart by
//! the message, SOAP by the content type, as NemLog-in's `…/idp/saml/3.0/`), the IdP
//! metadata, and the script of the page that posts SAML messages on.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::login::{self, binding_cookie, Saml};
use super::oidc::{expired_sso_cookie, sso_cookie, sso_key};
use super::pages;
use crate::protocols::saml::binding::{self, BindingError, Field, Received};
use crate::protocols::saml::idp::{ENDPOINT_PATH, METADATA_PATH};
use crate::protocols::saml::{Outcome, SsoCookie};
use crate::protocols::Language;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(ENDPOINT_PATH, web::get().to(endpoint_get))
        .route(ENDPOINT_PATH, web::post().to(endpoint_post))
        .route(METADATA_PATH, web::get().to(metadata));
}

async fn metadata(saml: Saml) -> HttpResponse {
    match saml.ready().await {
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

/// HTTP-Redirect: `SAMLRequest` (an AuthnRequest or a LogoutRequest) or `SAMLResponse` (a
/// LogoutResponse) in the query.
async fn endpoint_get(saml: Saml, req: HttpRequest) -> HttpResponse {
    let query = req.query_string();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let field = if pairs.iter().any(|(name, _)| name == "SAMLResponse") {
        Field::SamlResponse
    } else {
        Field::SamlRequest
    };
    let received = binding::from_redirect(query, field);
    receive(&saml, &req, received, simulation_of(&pairs)).await
}

/// HTTP-POST (a form with `SAMLRequest` or `SAMLResponse`) or SOAP (a LogoutRequest in an
/// envelope, `text/xml`).
async fn endpoint_post(saml: Saml, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("text/xml") || content_type.starts_with("application/soap+xml") {
        let received = std::str::from_utf8(&body)
            .map_err(|_| BindingError::Utf8)
            .and_then(binding::from_soap);
        return match received {
            Ok(received) => respond(&saml, saml.receive(received, None, None).await),
            Err(err) => soap_fault(&err.to_string()),
        };
    }
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(pairs) => pairs,
        Err(err) => {
            return refused(format!("the form could not be read: {err}"));
        }
    };
    let one = |name: &str| -> Result<Option<&str>, BindingError> {
        let mut values = pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        match values.next() {
            Some(_) => Err(BindingError::Repeated(name.to_string())),
            None => Ok(first),
        }
    };
    let received = (|| {
        let relay_state = one("RelayState")?;
        match (one("SAMLRequest")?, one("SAMLResponse")?) {
            (Some(_), Some(_)) => Err(BindingError::Repeated(
                "a message (SAMLRequest and SAMLResponse both)".into(),
            )),
            (None, Some(response)) => {
                binding::from_post(Some(response), relay_state, Field::SamlResponse)
            }
            (request, None) => binding::from_post(request, relay_state, Field::SamlRequest),
        }
    })();
    receive(&saml, &req, received, simulation_of(&pairs)).await
}

/// mitid-sim's simulation parameter, beside the message.
fn simulation_of(pairs: &[(String, String)]) -> Option<String> {
    pairs
        .iter()
        .find(|(name, _)| name == "simulation")
        .map(|(_, value)| value.clone())
}

async fn receive(
    saml: &Saml,
    req: &HttpRequest,
    received: Result<Received, BindingError>,
    simulation: Option<String>,
) -> HttpResponse {
    match received {
        Ok(received) => {
            let outcome = saml
                .receive(received, simulation.as_deref(), sso_key(req).as_deref())
                .await;
            respond(saml, outcome)
        }
        Err(err) => refused(err.to_string()),
    }
}

fn respond(saml: &Saml, outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::ShowLogin { login_id, binding } => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login/{login_id}")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(binding_cookie(&***saml, &login_id, &binding))
            .finish(),
        Outcome::Browser { answer, sso } => {
            let mut response = login::answer(&answer);
            match sso {
                SsoCookie::Keep => {}
                SsoCookie::Set(key) => {
                    response.add_cookie(&sso_cookie(&***saml, &key)).ok();
                }
                SsoCookie::Clear => {
                    response.add_removal_cookie(&expired_sso_cookie()).ok();
                }
            }
            response
        }
        Outcome::Soap { status, body } => {
            HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
                .content_type("text/xml; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(body)
        }
        Outcome::Refused {
            status,
            title,
            message,
        } => pages::message(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            Language::Da,
            title,
            &message,
            "Gå tilbage til tjenesten. Tjenestens SAML-opsætning skal rettes. / Go back to the service; its SAML setup needs fixing.",
        ),
    }
}

fn refused(message: String) -> HttpResponse {
    pages::message(
        StatusCode::BAD_REQUEST,
        Language::Da,
        "Beskeden kan ikke læses / The message cannot be read",
        &message,
        "Gå tilbage til tjenesten. / Go back to the service.",
    )
}

fn soap_fault(message: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/xml; charset=utf-8")
        .body(crate::protocols::saml::slo::soap_fault(message))
}
