//! HTTP endpoints of the OpenID Connect provider: parse, call the provider, map errors.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::login::binding_cookie;
use super::pages;
use crate::protocols::oidc::logout::EndSessionOutcome;
use crate::protocols::oidc::record::Request;
use crate::protocols::oidc::token::{presented_client_id, TokenFailure};
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

/// The browser's SSO session cookie: an opaque key, not the `neb_sid` RPs see.
pub const SSO_COOKIE: &str = "mitid_sim_sso";

pub fn sso_key(req: &HttpRequest) -> Option<String> {
    req.cookie(SSO_COOKIE).map(|c| c.value().to_string())
}

pub fn sso_cookie(provider: &Provider, key: &str) -> Cookie<'static> {
    Cookie::build(SSO_COOKIE, key.to_string())
        .path("/")
        .http_only(true)
        .secure(provider.base_url.starts_with("https://"))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            provider.broker.settings.sessions.absolute.whole_seconds(),
        ))
        .finish()
}

pub fn expired_sso_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(SSO_COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}

pub async fn authorize_get(provider: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    match query_pairs(&req) {
        Ok(pairs) => authorize(&provider, &req, pairs),
        Err(err) => bad_authorize_request(&err),
    }
}

pub async fn authorize_post(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match serde_urlencoded::from_bytes::<Pairs>(&body) {
        Ok(pairs) => authorize(&provider, &req, pairs),
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

fn authorize(provider: &Provider, req: &HttpRequest, pairs: Pairs) -> HttpResponse {
    let client_id = pairs
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone());
    let response = authorize_response(provider, req, pairs.clone());
    record(
        provider,
        "authorize",
        req,
        &pairs,
        client_id,
        &response,
        None,
    );
    response
}

/// Adds one exchange to the request record; the error comes from the redirect if not given.
fn record(
    provider: &Provider,
    endpoint: &'static str,
    req: &HttpRequest,
    pairs: &[(String, String)],
    client_id: Option<String>,
    response: &HttpResponse,
    error: Option<String>,
) {
    let error = error.or_else(|| {
        let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
        let query = location.split_once('?')?.1;
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v)
    });
    let mut params = pairs.to_vec();
    if let Some(auth) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        params.push(("authorization".into(), auth.to_string()));
    }
    let known = client_id.filter(|id| provider.clients.get(id).is_some());
    provider.recorder.record(
        Request {
            endpoint,
            method: req.method().as_str(),
            client_id: known.as_deref(),
            params: &params,
            status: response.status().as_u16(),
            error,
        },
        provider.broker.clock.unix(),
    );
}

fn authorize_response(provider: &Provider, req: &HttpRequest, pairs: Pairs) -> HttpResponse {
    match provider.authorize(pairs, sso_key(req).as_deref()) {
        AuthorizeOutcome::ShowLogin { login_id, binding } => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login/{login_id}")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(binding_cookie(provider, &login_id, &binding))
            .finish(),
        AuthorizeOutcome::Redirect { location, sso } => {
            let mut response = HttpResponse::SeeOther();
            response
                .insert_header((header::LOCATION, location))
                .insert_header((header::CACHE_CONTROL, "no-store"));
            if let Some(key) = sso {
                response.cookie(sso_cookie(provider, &key));
            }
            response.finish()
        }
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

/// A form body and the Authorization header, as the client-authenticated endpoints need.
fn client_request(req: &HttpRequest, body: &[u8]) -> Result<(Pairs, Option<String>), OAuthError> {
    let pairs = serde_urlencoded::from_bytes::<Pairs>(body).map_err(|err| {
        OAuthError::invalid_request(format!("the body is not form-encoded: {err}"))
    })?;
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((pairs, authorization))
}

/// RFC 6749 §5.2: 401 with a Basic challenge when HTTP Basic authentication failed; a
/// fault of the broker's own (it could not sign) is a 500, never the client's 400.
fn token_failure(failure: TokenFailure) -> HttpResponse {
    if failure.error.code == ErrorCode::ServerError {
        return oauth_json(StatusCode::INTERNAL_SERVER_ERROR, &failure.error);
    }
    if failure.error.code == ErrorCode::InvalidClient && failure.unauthorized_basic {
        let mut response = oauth_json(StatusCode::UNAUTHORIZED, &failure.error);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"mitid-sim\""),
        );
        response
    } else {
        oauth_json(StatusCode::BAD_REQUEST, &failure.error)
    }
}

fn no_store_json(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// The shape every client-authenticated endpoint shares: read the form, call the
/// provider, answer errors per RFC 6749 §5.2, and record the exchange.
async fn client_endpoint<Fut>(
    provider: &Provider,
    req: &HttpRequest,
    body: &[u8],
    endpoint: &'static str,
    call: impl FnOnce(Pairs, Option<String>) -> Fut,
) -> HttpResponse
where
    Fut: std::future::Future<Output = Result<HttpResponse, TokenFailure>>,
{
    let (pairs, authorization) = match client_request(req, body) {
        Ok(parts) => parts,
        Err(error) => return oauth_json(StatusCode::BAD_REQUEST, &error),
    };
    let client_id = presented_client_id(&pairs, authorization.as_deref());
    let (response, error) = match call(pairs.clone(), authorization).await {
        Ok(response) => (response, None),
        Err(failure) => {
            let code = failure.error.code.to_string();
            (token_failure(failure), Some(code))
        }
    };
    record(provider, endpoint, req, &pairs, client_id, &response, error);
    response
}

pub async fn token(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let p = provider.clone();
    client_endpoint(&provider, &req, &body, "token", |pairs, auth| async move {
        p.token(pairs, auth.as_deref()).await.map(no_store_json)
    })
    .await
}

pub async fn revocation(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let p = provider.clone();
    client_endpoint(
        &provider,
        &req,
        &body,
        "revocation",
        |pairs, auth| async move {
            p.revoke(pairs, auth.as_deref()).map(|()| {
                HttpResponse::Ok()
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish()
            })
        },
    )
    .await
}

pub async fn introspection(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let p = provider.clone();
    client_endpoint(
        &provider,
        &req,
        &body,
        "introspection",
        |pairs, auth| async move { p.introspect(pairs, auth.as_deref()).map(no_store_json) },
    )
    .await
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
    let now = provider.broker.clock.now();
    let client_id = provider
        .grants
        .access_token(&token, now)
        .map(|g| g.client_id);
    let params = vec![("access_token".to_string(), token.clone())];
    let (response, error) = match provider.userinfo(&token) {
        Ok(claims) => (userinfo_ok(claims), None),
        Err(error) => (userinfo_refused(&error), Some(error.code.to_string())),
    };
    record(
        &provider, "userinfo", &req, &params, client_id, &response, error,
    );
    response
}

fn userinfo_ok(claims: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(claims)
}

fn userinfo_refused(error: &OAuthError) -> HttpResponse {
    let challenge = format!(
        "Bearer realm=\"mitid-sim\", error=\"{}\", error_description=\"{}\"",
        error.code,
        error.description.replace('"', "'")
    );
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .json(error.to_json())
}

pub async fn end_session_get(provider: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    match query_pairs(&req) {
        Ok(pairs) => end_session(&provider, &req, pairs).await,
        Err(err) => bad_logout_request(&err),
    }
}

pub async fn end_session_post(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match serde_urlencoded::from_bytes::<Pairs>(&body) {
        Ok(pairs) => end_session(&provider, &req, pairs).await,
        Err(err) => bad_logout_request(&err.to_string()),
    }
}

fn bad_logout_request(detail: &str) -> HttpResponse {
    pages::message(
        StatusCode::BAD_REQUEST,
        Default::default(),
        "Ugyldig log af-forespørgsel / Invalid logout request",
        detail,
        "Tjenesten skal sende et id_token_hint og en registreret post_logout_redirect_uri. \
         / The service must send an id_token_hint and a registered post_logout_redirect_uri.",
    )
}

async fn end_session(provider: &Provider, req: &HttpRequest, pairs: Pairs) -> HttpResponse {
    let (response, client_id) = end_session_response(provider, req, pairs.clone()).await;
    record(
        provider,
        "endsession",
        req,
        &pairs,
        client_id,
        &response,
        None,
    );
    response
}

async fn end_session_response(
    provider: &Provider,
    req: &HttpRequest,
    pairs: Pairs,
) -> (HttpResponse, Option<String>) {
    let named = pairs
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone());
    let outcome = provider.end_session(pairs, sso_key(req).as_deref()).await;
    let client_id = match &outcome {
        EndSessionOutcome::LoggedOut { client_id, .. } => Some(client_id.clone()),
        EndSessionOutcome::ErrorPage(_) => named,
    };
    let response = match outcome {
        EndSessionOutcome::ErrorPage(message) => bad_logout_request(&message),
        EndSessionOutcome::LoggedOut {
            frontchannel,
            redirect,
            clear_sso_cookie,
            ..
        } => {
            let mut response = match (&redirect, frontchannel.is_empty()) {
                // Nothing to load in the browser: straight back to the RP.
                (Some(location), true) => {
                    let mut response = HttpResponse::SeeOther();
                    response.insert_header((header::LOCATION, location.as_str()));
                    response.insert_header((header::CACHE_CONTROL, "no-store"));
                    response.finish()
                }
                _ => {
                    // The page frames the clients' front-channel logout URIs.
                    let policy = super::security_headers::page_policy_framing(
                        frontchannel.iter().map(String::as_str),
                    );
                    let mut page = pages::html(
                        StatusCode::OK,
                        &pages::LoggedOutPage {
                            lang: "da",
                            banner: super::i18n::DA.simulator_banner,
                            da: true,
                            frontchannel,
                            redirect,
                        },
                    );
                    if let Ok(value) = header::HeaderValue::from_str(&policy) {
                        page.headers_mut()
                            .insert(header::CONTENT_SECURITY_POLICY, value);
                    }
                    page
                }
            };
            if clear_sso_cookie {
                response.add_removal_cookie(&expired_sso_cookie()).ok();
            }
            response
        }
    };
    (response, client_id)
}

/// NEB's back-end logout: the id_token in a form field or JSON body.
pub async fn backend_logout(provider: web::Data<Provider>, body: web::Bytes) -> HttpResponse {
    let from_form = serde_urlencoded::from_bytes::<Pairs>(&body)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "id_token")
                .map(|(_, v)| v)
        });
    let from_json = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id_token"].as_str().map(str::to_string));
    let Some(id_token) = from_form.or(from_json) else {
        return oauth_json(
            StatusCode::BAD_REQUEST,
            &OAuthError::invalid_request(
                "send the id_token as a form field or JSON member `id_token`",
            ),
        );
    };
    match provider.backend_logout(&id_token).await {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(error) => oauth_json(StatusCode::BAD_REQUEST, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signing_failure_is_the_brokers_500_and_a_bad_request_the_clients_400() {
        let signing = TokenFailure::from(OAuthError::new(
            ErrorCode::ServerError,
            "the RS256 key is not available",
        ));
        assert_eq!(
            token_failure(signing).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let grant = TokenFailure::from(OAuthError::invalid_grant("the code is unknown"));
        assert_eq!(token_failure(grant).status(), StatusCode::BAD_REQUEST);
        let basic = TokenFailure {
            error: OAuthError::invalid_client("the client secret is wrong"),
            unauthorized_basic: true,
        };
        let response = token_failure(basic);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
