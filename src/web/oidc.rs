//! HTTP endpoints of the OpenID Connect provider: parse, call the provider, map errors.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::i18n::{page_language, pick};
use super::login::binding_cookie;
use super::pages;
use crate::authenticators::Language;
use crate::protocols::front::LoginFront;
use crate::protocols::oidc::logout::EndSessionOutcome;
use crate::protocols::oidc::record::Request;
use crate::protocols::oidc::token::{presented_client_id, TokenFailure};
use crate::protocols::oidc::userinfo::{
    dpop_algs, Scheme, UserinfoBody, UserinfoRefusal, UserinfoRequest,
};
use crate::protocols::oidc::{paths, AuthorizeOutcome, ErrorCode, OAuthError, Provider};

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

/// The one SSO cookie of both personalities: behind it the browser's sessions, one per
/// client, SSO group or the NemLog-in scope.
pub fn sso_cookie(front: &impl LoginFront, key: &str) -> Cookie<'static> {
    Cookie::build(SSO_COOKIE, key.to_string())
        .path("/")
        .http_only(true)
        .secure(front.base_url().starts_with("https://"))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            front.broker().settings.sessions.absolute.whole_seconds(),
        ))
        .finish()
}

pub fn expired_sso_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(SSO_COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}

/// NEB's caching headers, on every OAuth answer it sends (recorded on redirects, token,
/// userinfo and error responses alike).
pub const NO_STORE: &str = "no-store, no-cache, max-age=0";

/// A redirect with NEB's caching headers.
fn redirect(status: StatusCode, location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .insert_header((header::PRAGMA, "no-cache"));
    response
}

pub async fn authorize_get(provider: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    match query_pairs(&req) {
        Ok(pairs) => authorize(&provider, &req, pairs),
        Err(err) => unreadable_authorize_request(&provider, &req, &err),
    }
}

pub async fn authorize_post(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match serde_urlencoded::from_bytes::<Pairs>(&body) {
        Ok(pairs) => authorize(&provider, &req, pairs),
        Err(err) => unreadable_authorize_request(&provider, &req, &err.to_string()),
    }
}

/// Parameters that cannot even be read: answered as `answer` answers an unusable request
/// at `endpoint`, and recorded.
fn unreadable(
    provider: &Provider,
    req: &HttpRequest,
    endpoint: &'static str,
    detail: &str,
    answer: impl FnOnce(&OAuthError) -> HttpResponse,
) -> HttpResponse {
    let error = OAuthError::invalid_request(format!("the parameters could not be read: {detail}"));
    let response = answer(&error);
    record(provider, endpoint, req, &[], None, &response, Some(&error));
    response
}

fn unreadable_authorize_request(
    provider: &Provider,
    req: &HttpRequest,
    detail: &str,
) -> HttpResponse {
    unreadable(provider, req, "authorize", detail, |error| {
        redirect(
            StatusCode::FOUND,
            &provider.error_page(error, None, Default::default()),
        )
        .finish()
    })
}

fn authorize(provider: &Provider, req: &HttpRequest, pairs: Pairs) -> HttpResponse {
    let client_id = pairs
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone());
    let (response, error) = authorize_response(provider, req, pairs.clone());
    record(
        provider,
        "authorize",
        req,
        &pairs,
        client_id,
        &response,
        error.as_ref(),
    );
    response
}

/// Adds one exchange to the request record; the error comes from the redirect to the RP
/// if not given.
fn record(
    provider: &Provider,
    endpoint: &'static str,
    req: &HttpRequest,
    pairs: &[(String, String)],
    client_id: Option<String>,
    response: &HttpResponse,
    error: Option<&OAuthError>,
) {
    let (error, error_description) = match error {
        Some(error) => (
            Some(error.code.to_string()),
            Some(error.description.clone()),
        ),
        None => {
            let answered: Vec<(String, String)> = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| l.split_once('?'))
                .and_then(|(_, query)| serde_urlencoded::from_str(query).ok())
                .unwrap_or_default();
            let find = |name: &str| {
                answered
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            (find("error"), find("error_description"))
        }
    };
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
            error_description,
        },
        provider.broker.clock.unix(),
    );
}

fn authorize_response(
    provider: &Provider,
    req: &HttpRequest,
    pairs: Pairs,
) -> (HttpResponse, Option<OAuthError>) {
    match provider.authorize(pairs, sso_key(req).as_deref()) {
        AuthorizeOutcome::ShowLogin { login_id, binding } => (
            redirect(StatusCode::SEE_OTHER, &format!("/login/{login_id}"))
                .cookie(binding_cookie(provider, &login_id, &binding))
                .finish(),
            None,
        ),
        AuthorizeOutcome::Redirect { location, sso } => {
            let mut response = redirect(StatusCode::SEE_OTHER, &location);
            if let Some(key) = sso {
                response.cookie(sso_cookie(provider, &key));
            }
            (response.finish(), None)
        }
        // Recorded at NEB as a 302 to its error page.
        AuthorizeOutcome::ErrorPage { location, error } => {
            (redirect(StatusCode::FOUND, &location).finish(), Some(error))
        }
    }
}

/// NEB's error page (`<issuer>/Error?errorId=…`), where invalid authorization requests end.
pub async fn error_page(
    provider: web::Data<Provider>,
    req: HttpRequest,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let now = provider.broker.clock.unix();
    let opened = query
        .get("errorId")
        .and_then(|id| provider.error_pages.open(id, now));
    match opened {
        Some(error) => {
            let language = page_language(&req, Some(error.language));
            let description = format!("{} — {}", error.error, error.description);
            let (message, hint) = match (language, &error.client_id) {
                (Language::Da, client) => (
                    format!("Tjenestens login-forespørgsel kunne ikke behandles: {description}"),
                    format!(
                        "{}Brokeren sender ikke fejlen tilbage til tjenesten.",
                        client
                            .as_ref()
                            .map_or(String::new(), |c| format!("Klient: {c}. "))
                    ),
                ),
                (Language::En, client) => (
                    format!("The service's login request could not be processed: {description}"),
                    format!(
                        "{}The broker does not send this error back to the service.",
                        client
                            .as_ref()
                            .map_or(String::new(), |c| format!("Client: {c}. "))
                    ),
                ),
            };
            pages::message(
                StatusCode::BAD_REQUEST,
                language,
                pick(language, "Der opstod en fejl", "An error occurred"),
                &message,
                &hint,
            )
        }
        None => {
            let language = page_language(&req, None);
            pages::message(
                StatusCode::NOT_FOUND,
                language,
                pick(language, "Der opstod en fejl", "An error occurred"),
                pick(
                    language,
                    "Fejlreferencen er ukendt eller udløbet.",
                    "The error reference is unknown or has expired.",
                ),
                pick(
                    language,
                    "Start login igen fra tjenesten.",
                    "Start the login again from the service.",
                ),
            )
        }
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

/// NEB answers token errors with a bare `{"error": …}` (recorded), 400 even for
/// `invalid_client` by form post; a failed HTTP Basic authentication gets RFC 6749 §5.2's
/// 401 with a Basic challenge (unrecorded at NEB). The description goes to the record. A
/// fault of the broker's own (it could not sign) is a 500, never the client's 400.
fn token_failure(failure: &TokenFailure) -> HttpResponse {
    let basic = failure.error.code == ErrorCode::InvalidClient && failure.unauthorized_basic;
    let status = if failure.error.code == ErrorCode::ServerError {
        StatusCode::INTERNAL_SERVER_ERROR
    } else if basic {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = bare_error(status, &failure.error);
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"mitid-sim\""),
        );
    }
    response
}

fn bare_error(status: StatusCode, error: &OAuthError) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(serde_json::json!({ "error": error.code.as_str() }))
}

fn no_store_json(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, NO_STORE))
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
        Err(error) => {
            let response = bare_error(StatusCode::BAD_REQUEST, &error);
            record(provider, endpoint, req, &[], None, &response, Some(&error));
            return response;
        }
    };
    let client_id = presented_client_id(&pairs, authorization.as_deref());
    let (response, error) = match call(pairs.clone(), authorization).await {
        Ok(response) => (response, None),
        Err(failure) => (token_failure(&failure), Some(failure.error)),
    };
    record(
        provider,
        endpoint,
        req,
        &pairs,
        client_id,
        &response,
        error.as_ref(),
    );
    response
}

/// The request's one `DPoP` header (RFC 9449 §4.3: never more than one).
fn dpop_header(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let mut headers = req.headers().get_all("dpop");
    let first = headers.next();
    if headers.next().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "more than one DPoP header",
        ));
    }
    first
        .map(|value| {
            value.to_str().map(str::to_string).map_err(|_| {
                OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP header is not ASCII")
            })
        })
        .transpose()
}

pub async fn token(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let p = provider.clone();
    let dpop = dpop_header(&req);
    client_endpoint(&provider, &req, &body, "token", |pairs, auth| async move {
        let dpop = dpop?;
        p.token(pairs, auth.as_deref(), dpop.as_deref())
            .await
            .map(no_store_json)
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
            p.revoke(pairs, auth.as_deref()).await.map(|()| {
                HttpResponse::Ok()
                    .insert_header((header::CACHE_CONTROL, NO_STORE))
                    .insert_header((header::PRAGMA, "no-cache"))
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
        |pairs, auth| async move {
            p.introspect(pairs, auth.as_deref())
                .await
                .map(no_store_json)
        },
    )
    .await
}

fn oauth_json(status: StatusCode, error: &OAuthError) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(error.to_json())
}

/// The access token and how it came: `Authorization: Bearer` or `DPoP`, or (RFC 6750
/// §2.2) a form body's `access_token`.
fn presented_access_token(req: &HttpRequest, body: &[u8]) -> Option<(String, Scheme)> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some((scheme, token)) = header.and_then(|v| v.split_once(' ')) {
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "bearer" => Scheme::Bearer,
            "dpop" => Scheme::Dpop,
            _ => return None,
        };
        return Some((token.trim().to_string(), scheme));
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| (v, Scheme::Bearer))
        })
}

pub async fn userinfo(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some((token, scheme)) = presented_access_token(&req, &body) else {
        let error = OAuthError::new(ErrorCode::InvalidToken, "no bearer access token");
        let response = userinfo_refused(&error, Scheme::Bearer);
        record(
            &provider,
            "userinfo",
            &req,
            &[],
            None,
            &response,
            Some(&error),
        );
        return response;
    };
    let client_id = provider.access_token_client(&token);
    let mut params = vec![("access_token".to_string(), token.clone())];
    let proof = dpop_header(&req);
    if let Ok(Some(proof)) = &proof {
        params.push(("dpop".to_string(), proof.clone()));
    }
    let answer = match proof {
        Ok(proof) => {
            provider
                .userinfo(UserinfoRequest {
                    access_token: &token,
                    scheme,
                    proof: proof.as_deref(),
                    method: req.method().as_str(),
                })
                .await
        }
        Err(error) => Err(UserinfoRefusal {
            error,
            challenge: Scheme::Dpop,
        }),
    };
    let (response, error) = match answer {
        Ok(UserinfoBody::Json(claims)) => (no_store_json(claims), None),
        Ok(UserinfoBody::Jwt(jwt)) => (
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, NO_STORE))
                .insert_header((header::PRAGMA, "no-cache"))
                .content_type("application/jwt")
                .body(jwt),
            None,
        ),
        Err(refusal) => (
            userinfo_refused(&refusal.error, refusal.challenge),
            Some(refusal.error),
        ),
    };
    record(
        &provider,
        "userinfo",
        &req,
        &params,
        client_id,
        &response,
        error.as_ref(),
    );
    response
}

/// NEB's userinfo refusal, recorded: 401, an empty body, and this challenge (no space
/// after the comma), whether the token is missing or bad. The reason goes to the record.
/// A service token is refused with 403 `insufficient_scope` (RFC 6750 §3.1); a DPoP-bound
/// token's refusal challenges with the DPoP scheme and its algorithms (RFC 9449 §7.1).
fn userinfo_refused(error: &OAuthError, challenge: Scheme) -> HttpResponse {
    let status = if error.code == ErrorCode::InsufficientScope {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNAUTHORIZED
    };
    let challenge = match challenge {
        Scheme::Bearer => format!("Bearer realm=\"IdentityServer\",error=\"{}\"", error.code),
        Scheme::Dpop => format!(
            "DPoP realm=\"IdentityServer\",error=\"{}\",algs=\"{}\"",
            error.code,
            dpop_algs()
        ),
    };
    HttpResponse::build(status)
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .insert_header((header::PRAGMA, "no-cache"))
        .finish()
}

pub async fn end_session_get(provider: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    match query_pairs(&req) {
        Ok(pairs) => end_session(&provider, &req, pairs).await,
        Err(err) => unreadable_logout_request(&provider, &req, &err),
    }
}

pub async fn end_session_post(
    provider: web::Data<Provider>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match serde_urlencoded::from_bytes::<Pairs>(&body) {
        Ok(pairs) => end_session(&provider, &req, pairs).await,
        Err(err) => unreadable_logout_request(&provider, &req, &err.to_string()),
    }
}

/// The broker's logout page, where NEB sends a browser whose logout request it cannot use.
fn to_logout_page(provider: &Provider) -> HttpResponse {
    redirect(StatusCode::FOUND, &provider.endpoint(paths::LOGOUT_PAGE)).finish()
}

fn unreadable_logout_request(provider: &Provider, req: &HttpRequest, detail: &str) -> HttpResponse {
    unreadable(provider, req, "endsession", detail, |_| {
        to_logout_page(provider)
    })
}

async fn end_session(provider: &Provider, req: &HttpRequest, pairs: Pairs) -> HttpResponse {
    let named = pairs
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone());
    // RP-Initiated Logout's `ui_locales` (or NEB's `language`), else the page's `?lang=`.
    let asked = pairs
        .iter()
        .find(|(k, _)| k == "ui_locales" || k == "language")
        .map(|(_, v)| Language::parse(Some(v)));
    let language = page_language(req, asked);
    let outcome = provider
        .end_session(pairs.clone(), sso_key(req).as_deref())
        .await;
    let (response, client_id, error) = match outcome {
        EndSessionOutcome::NotLoggedOut(reason) => {
            tracing::info!("end session without a usable request: {reason}");
            (
                to_logout_page(provider),
                named,
                Some(OAuthError::invalid_request(reason)),
            )
        }
        EndSessionOutcome::LoggedOut {
            client_id,
            frontchannel,
            redirect: back,
            clear_sso_cookie,
        } => {
            let mut response = match (&back, frontchannel.is_empty()) {
                // Nothing to load in the browser: straight back to the RP.
                (Some(location), true) => redirect(StatusCode::SEE_OTHER, location).finish(),
                _ => {
                    // The page frames the clients' front-channel logout URIs.
                    let policy = super::security_headers::page_policy_framing(
                        frontchannel.iter().map(String::as_str),
                    );
                    let mut page = pages::html(
                        StatusCode::OK,
                        &pages::LoggedOutPage {
                            lang: super::i18n::texts(language).lang,
                            banner: super::i18n::texts(language).simulator_banner,
                            da: language.is_danish(),
                            frontchannel,
                            redirect: back,
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
            (response, Some(client_id), None)
        }
    };
    record(
        provider,
        "endsession",
        req,
        &pairs,
        client_id,
        &response,
        error.as_ref(),
    );
    response
}

/// NEB's logout page (`<issuer>/Account/Logout`). End session sends the browser here when
/// its request had no usable `id_token_hint`; then no session has ended.
pub async fn logout_page(req: HttpRequest) -> HttpResponse {
    let language = page_language(&req, None);
    pages::message(
        StatusCode::OK,
        language,
        pick(language, "Log af", "Log out"),
        pick(
            language,
            "Du er ikke logget af: log af-forespørgslen havde intet gyldigt id_token_hint (eller \
             en uregistreret post_logout_redirect_uri), så ingen session er afsluttet.",
            "You have not been logged out: the logout request had no valid id_token_hint (or \
             an unregistered post_logout_redirect_uri), so no session ended.",
        ),
        pick(
            language,
            "Tjenesten skal sende det id_token, den fik ved login, som id_token_hint. Årsagen \
             står i brokerens log over forespørgsler (`mitid-sim record`).",
            "The service must send the id_token it got at login as id_token_hint. The reason \
             is in the broker's request record (`mitid-sim record`).",
        ),
    )
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
            token_failure(&signing).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let grant = TokenFailure::from(OAuthError::invalid_grant("the code is unknown"));
        assert_eq!(token_failure(&grant).status(), StatusCode::BAD_REQUEST);
        let basic = TokenFailure {
            error: OAuthError::invalid_client("the client secret is wrong"),
            unauthorized_basic: true,
        };
        let response = token_failure(&basic);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
