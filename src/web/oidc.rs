//! HTTP endpoints of the OpenID Connect provider: parse, call the provider, map errors.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::login::binding_cookie;
use super::pages;
use crate::protocols::oidc::{AuthorizeOutcome, ErrorCode, OAuthError, Provider};

pub type Pairs = Vec<(String, String)>;

fn query_pairs(req: &HttpRequest) -> Result<Pairs, String> {
    serde_urlencoded::from_str(req.query_string()).map_err(|err| err.to_string())
}

pub async fn discovery(provider: web::Data<Provider>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(provider.discovery())
}

pub async fn jwks(provider: web::Data<Provider>) -> HttpResponse {
    match provider.jwks().await {
        Ok(jwks) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .json(jwks),
        Err(err) => oauth_json(
            StatusCode::SERVICE_UNAVAILABLE,
            &OAuthError::new(ErrorCode::ServerError, err.to_string()),
        ),
    }
}

pub async fn authorize_get(provider: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    match query_pairs(&req) {
        Ok(pairs) => authorize(&provider, pairs),
        Err(err) => bad_authorize_request(&err),
    }
}

pub async fn authorize_post(provider: web::Data<Provider>, body: web::Bytes) -> HttpResponse {
    match serde_urlencoded::from_bytes::<Pairs>(&body) {
        Ok(pairs) => authorize(&provider, pairs),
        Err(err) => bad_authorize_request(&err.to_string()),
    }
}

fn bad_authorize_request(detail: &str) -> HttpResponse {
    pages::message(
        StatusCode::BAD_REQUEST,
        Default::default(),
        "Ugyldig login-forespørgsel / Invalid login request",
        &format!("The parameters could not be read: {detail}"),
        "Ret forespørgslen i tjenesten. / Fix the request in the service.",
    )
}

fn authorize(provider: &Provider, pairs: Pairs) -> HttpResponse {
    match provider.authorize(pairs) {
        AuthorizeOutcome::ShowLogin { login_id, binding } => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login/{login_id}")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(binding_cookie(provider, &login_id, &binding))
            .finish(),
        AuthorizeOutcome::Redirect(location) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        AuthorizeOutcome::ErrorPage(message) => pages::message(
            StatusCode::BAD_REQUEST,
            Default::default(),
            "Ugyldig login-forespørgsel / Invalid login request",
            &message,
            "Tjenesten skal bruge et registreret client_id og en registreret redirect_uri. \
             / The service must use a registered client_id and redirect_uri.",
        ),
    }
}

pub async fn token(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let pairs = match serde_urlencoded::from_bytes::<Pairs>(&body) {
        Ok(pairs) => pairs,
        Err(err) => {
            return oauth_json(
                StatusCode::BAD_REQUEST,
                &OAuthError::invalid_request(format!("the body is not form-encoded: {err}")),
            )
        }
    };
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match provider.token(pairs, authorization).await {
        Ok(body) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(body),
        Err(failure) => {
            let status =
                if failure.error.code == ErrorCode::InvalidClient && failure.unauthorized_basic {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
            let mut response = oauth_json(status, &failure.error);
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"mitid-sim\""),
                );
            }
            response
        }
    }
}

fn oauth_json(status: StatusCode, error: &OAuthError) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(error.to_json())
}

pub async fn userinfo(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    // RFC 6750 §2.2 also allows the token in a form body.
    let from_body = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v)
        });
    let Some(token) = from_header.or(from_body) else {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"mitid-sim\""))
            .json(OAuthError::invalid_request("no bearer access token").to_json());
    };
    match provider.userinfo(&token) {
        Ok(claims) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(claims),
        Err(error) => {
            let challenge = format!(
                "Bearer realm=\"mitid-sim\", error=\"{}\", error_description=\"{}\"",
                error.code,
                error.description.replace('"', "'")
            );
            HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, challenge))
                .json(error.to_json())
        }
    }
}
