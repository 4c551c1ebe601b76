//! Request objects (OIDC Core §6, RFC 9101): an authorization request sent as a JWT the
//! client signed (`request`), by reference (`request_uri`: a registered URL, or the urn a
//! pushed request got, RFC 9126), optionally encrypted to the broker's encryption key.
//! They are unpacked into plain parameters before the request is parsed, with a note of
//! how they came ([`Provenance`]).
//!
//! Precedence (OIDC Core §6.3.3, RFC 9101 §6.3): the request object's parameters win;
//! parameters outside it are used only where it has none, and never for a client that
//! requires signed request objects. A pushed request is used as it was pushed: the
//! parameters beside its `request_uri` are ignored (RFC 9126 §4), `client_id` aside.

use serde_json::{Map, Value};

use super::algorithms::JwsAlg;
use super::authorize::params::Params;
use super::authorize::{Provenance, Rejection};
use super::clients::Client;
use super::error::{ErrorCode, OAuthError};
use super::par::PUSHED_URI_PREFIX;
use super::Provider;

/// How far the broker's clock and the client's may differ for `exp` and `nbf`.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// The JWT claims of a request object that are not authorization parameters.
const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "iat", "nbf", "jti"];

/// Authorization parameters, unpacked from whatever carried them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub pairs: Vec<(String, String)>,
    pub provenance: Provenance,
}

impl Unpacked {
    fn plain(pairs: Vec<(String, String)>) -> Self {
        Self {
            pairs,
            provenance: Provenance::default(),
        }
    }
}

/// Where the parameters were sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Authorize,
    /// The pushed authorization request endpoint, which takes `request` but not
    /// `request_uri` (RFC 9126 §2.1).
    Par,
}

fn invalid_object(client: &Client, description: impl Into<String>) -> Rejection {
    Rejection::Page {
        error: OAuthError::new(ErrorCode::InvalidRequestObject, description),
        client_id: Some(client.client_id.clone()),
    }
}

fn invalid_uri(client: &Client, description: impl Into<String>) -> Rejection {
    Rejection::Page {
        error: OAuthError::new(ErrorCode::InvalidRequestUri, description),
        client_id: Some(client.client_id.clone()),
    }
}

impl Provider {
    /// The authorization parameters `pairs` stand for: themselves, or what their request
    /// object or pushed request holds.
    pub async fn unpack(&self, pairs: Vec<(String, String)>) -> Result<Unpacked, Rejection> {
        self.unpack_at(pairs, Endpoint::Authorize).await
    }

    pub(super) async fn unpack_at(
        &self,
        pairs: Vec<(String, String)>,
        endpoint: Endpoint,
    ) -> Result<Unpacked, Rejection> {
        // Plain requests (nearly all) pass untouched and uncopied.
        if !pairs
            .iter()
            .any(|(name, _)| name == "request" || name == "request_uri")
        {
            return Ok(Unpacked::plain(pairs));
        }
        let outer = Params::new(pairs.clone());
        let (request, request_uri) = (outer.get("request"), outer.get("request_uri"));
        if request.is_none() && request_uri.is_none() {
            return Ok(Unpacked::plain(pairs));
        }
        // Read before anything else: who the request is from decides what is accepted.
        let client_id = outer.get("client_id").ok_or_else(|| {
            Rejection::page(OAuthError::invalid_request(
                "client_id is missing: a request object or request_uri needs it beside (RFC 9101 §5)",
            ))
        })?;
        let client = self.clients.get(client_id).ok_or_else(|| {
            Rejection::page(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!(
                    "Unknown client or client not enabled: no client `{client_id}` is registered"
                ),
            ))
        })?;
        if let Some(key) = outer
            .repeated
            .as_deref()
            .filter(|k| matches!(*k, "request" | "request_uri" | "client_id"))
        {
            return Err(invalid_object(
                &client,
                format!("parameter `{key}` appears more than once"),
            ));
        }
        let jwt = match (request, request_uri) {
            (Some(_), Some(_)) => {
                return Err(Rejection::Page {
                    error: OAuthError::invalid_request(
                        "send a request object either by value (request) or by reference \
                         (request_uri), not both",
                    ),
                    client_id: Some(client.client_id.clone()),
                })
            }
            (Some(request), None) => request.to_string(),
            (None, Some(_)) if endpoint == Endpoint::Par => {
                return Err(Rejection::Page {
                    error: OAuthError::invalid_request(
                        "request_uri may not be pushed (RFC 9126 §2.1)",
                    ),
                    client_id: Some(client.client_id.clone()),
                });
            }
            (None, Some(uri)) if uri.starts_with(PUSHED_URI_PREFIX) => {
                let now = self.broker.clock.now();
                let pushed = self
                    .pushed
                    .take(uri, &client.client_id, now)
                    .map_err(|why| invalid_uri(&client, why.to_string()))?;
                return Ok(pushed);
            }
            (None, Some(uri)) => self.fetch_request_object(&client, uri).await?,
            (None, None) => unreachable!("one of them was sent"),
        };
        let claims = self.open_request_object(&client, &jwt).await?;
        Ok(merge(&client, &outer, &pairs, claims))
    }

    /// Decrypts (if it is a JWE) and verifies a request object, and checks its claims.
    pub(super) async fn open_request_object(
        &self,
        client: &Client,
        jwt: &str,
    ) -> Result<Map<String, Value>, Rejection> {
        let signed = match jwt.split('.').count() {
            3 => jwt.to_string(),
            5 => {
                let (plaintext, _) = self
                    .broker
                    .keys
                    .decrypt(jwt)
                    .await
                    .map_err(|err| invalid_object(client, err.to_string()))?;
                let inner = String::from_utf8(plaintext).map_err(|_| {
                    invalid_object(client, "the decrypted request object is not text")
                })?;
                if inner.split('.').count() != 3 {
                    return Err(invalid_object(
                        client,
                        "the encrypted request object must hold a signed one (a nested JWT); \
                         unsigned request objects are not accepted",
                    ));
                }
                inner
            }
            _ => {
                return Err(invalid_object(
                    client,
                    "the request object is neither a compact JWS nor a compact JWE",
                ))
            }
        };
        let verified = self
            .client_keys
            .verify(client, &signed, &JwsAlg::ALL)
            .await
            .map_err(|err| invalid_object(client, format!("the request object: {err}")))?;
        check_claims(
            client,
            &verified.claims,
            &self.issuer,
            self.broker.clock.unix(),
        )
        .map_err(|why| invalid_object(client, why))?;
        Ok(verified.claims)
    }

    /// A request object by reference: only from the URIs the client registered.
    async fn fetch_request_object(&self, client: &Client, uri: &str) -> Result<String, Rejection> {
        // RFC 9101 §5.2: the URI may carry a fragment naming the content; it is not part
        // of what was registered.
        let registered = uri.split('#').next().unwrap_or(uri);
        if !client.request_uris.iter().any(|r| r.as_str() == registered) {
            return Err(invalid_uri(
                client,
                format!(
                    "request_uri `{uri}` is neither a pushed request's nor registered for \
                     client `{}` (request_uris)",
                    client.client_id
                ),
            ));
        }
        self.request_fetcher
            .fetch(registered)
            .await
            .map_err(|why| invalid_uri(client, format!("request_uri `{uri}`: {why}")))
    }
}

/// The longest request object read from a `request_uri`.
pub const MAX_REQUEST_OBJECT_BYTES: usize = 64 * 1024;

/// Reads request objects from the URIs clients registered for them.
pub struct RequestFetcher {
    http: reqwest::Client,
}

impl Default for RequestFetcher {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http }
    }
}

impl RequestFetcher {
    /// The request object at `uri` (RFC 9101 §5.2.3: a GET, answered with the JWT).
    pub async fn fetch(&self, uri: &str) -> Result<String, String> {
        let mut response = self
            .http
            .get(uri)
            .header(
                reqwest::header::ACCEPT,
                "application/oauth-authz-req+jwt, application/jwt",
            )
            .send()
            .await
            .map_err(|err| format!("could not be read: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("answered HTTP {}", response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| format!("could not be read: {err}"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_REQUEST_OBJECT_BYTES {
                return Err(format!(
                    "the answer is longer than {MAX_REQUEST_OBJECT_BYTES} bytes"
                ));
            }
        }
        String::from_utf8(body)
            .map(|text| text.trim().to_string())
            .map_err(|_| "the answer is not text".to_string())
    }
}

/// RFC 9101 §4 and §6.3: the request object comes from this client (`iss`, `client_id`),
/// is meant for this broker (`aud`) and is current (`exp`, `nbf`); and it carries no
/// request object of its own (OIDC Core §6.1).
fn check_claims(
    client: &Client,
    claims: &Map<String, Value>,
    issuer: &str,
    now: i64,
) -> Result<(), String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if let Some(iss) = claims.get("iss") {
        if iss.as_str() != Some(client.client_id.as_str()) {
            return Err(format!(
                "the request object's iss is {iss}, not the client `{}`",
                client.client_id
            ));
        }
    }
    if let Some(inner) = text("client_id").filter(|id| *id != client.client_id) {
        return Err(format!(
            "the request object's client_id `{inner}` is not the client `{}`",
            client.client_id
        ));
    }
    if let Some(aud) = claims.get("aud") {
        let ours = match aud {
            Value::String(one) => one == issuer,
            Value::Array(many) => many.iter().any(|a| a.as_str() == Some(issuer)),
            _ => false,
        };
        if !ours {
            return Err(format!(
                "the request object's aud is {aud}, not this broker's issuer `{issuer}`"
            ));
        }
    }
    let time = |name: &str| -> Result<Option<i64>, String> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("the request object's {name} is not a number")),
        }
    };
    if let Some(exp) = time("exp")? {
        if exp + CLOCK_SKEW_SECONDS < now {
            return Err(format!(
                "the request object expired (exp {exp}, the broker's time is {now})"
            ));
        }
    }
    if let Some(nbf) = time("nbf")? {
        if nbf - CLOCK_SKEW_SECONDS > now {
            return Err(format!(
                "the request object is not valid yet (nbf {nbf}, the broker's time is {now})"
            ));
        }
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err("a request object may not hold request or request_uri".into());
    }
    Ok(())
}

/// The request object's parameters, and (unless the client requires signed requests)
/// the outer ones it does not have.
fn merge(
    client: &Client,
    outer: &Params,
    outer_pairs: &[(String, String)],
    claims: Map<String, Value>,
) -> Unpacked {
    let mut pairs: Vec<(String, String)> = claims
        .into_iter()
        .filter(|(name, _)| !JWT_CLAIMS.contains(&name.as_str()))
        .map(|(name, value)| {
            let value = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (name, value)
        })
        .collect();
    let redirect_uri_signed = pairs.iter().any(|(name, _)| name == "redirect_uri");
    if !pairs.iter().any(|(name, _)| name == "client_id") {
        pairs.push(("client_id".into(), client.client_id.clone()));
    }
    if !client.require_signed_request_object {
        let inside: Vec<String> = pairs.iter().map(|(name, _)| name.clone()).collect();
        for (name, value) in outer_pairs {
            let carrier = matches!(name.as_str(), "request" | "request_uri");
            if !carrier && !inside.contains(name) && outer.get(name).is_some() {
                pairs.push((name.clone(), value.clone()));
            }
        }
    }
    Unpacked {
        pairs,
        provenance: Provenance {
            signed: true,
            redirect_uri_signed,
            pushed: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::oidc::clients::parse_clients;
    use serde_json::json;

    fn client(extra: &str) -> Client {
        parse_clients(&format!(
            r#"[[client]]
client_id = "rp"
name = "RP"
client_secret = "s"
redirect_uris = ["https://rp.example/cb"]
{extra}
"#
        ))
        .unwrap()
        .remove(0)
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    const ISSUER: &str = "https://broker.example/op";

    #[test]
    fn claims_must_name_the_client_and_the_broker_and_be_current() {
        let rp = client("");
        let check = |c: Value| check_claims(&rp, &claims(c), ISSUER, 1_000);
        assert_eq!(
            check(json!({"iss": "rp", "aud": ISSUER, "exp": 1_100, "nbf": 990})),
            Ok(())
        );
        assert_eq!(check(json!({"aud": [ISSUER, "x"]})), Ok(()));
        assert!(check(json!({"iss": "other"})).unwrap_err().contains("iss"));
        assert!(check(json!({"client_id": "other"}))
            .unwrap_err()
            .contains("client_id"));
        assert!(check(json!({"aud": "https://evil.example/op"}))
            .unwrap_err()
            .contains("aud"));
        assert!(check(json!({"exp": 900})).unwrap_err().contains("expired"));
        assert_eq!(check(json!({"exp": 950})), Ok(()), "within the skew");
        assert!(check(json!({"nbf": 1_100}))
            .unwrap_err()
            .contains("not valid yet"));
        assert!(check(json!({"exp": "soon"})).is_err());
        assert!(check(json!({"request_uri": "x"})).is_err());
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_request_object_wins_and_fills_from_outside_only_where_it_is_silent() {
        let outer_pairs = pairs(&[
            ("client_id", "rp"),
            ("request", "x.y.z"),
            ("scope", "openid"),
            ("state", "outer"),
        ]);
        let outer = Params::new(outer_pairs.clone());
        let object = claims(json!({
            "iss": "rp", "aud": ISSUER, "exp": 5, "response_type": "code",
            "state": "inner", "max_age": 0, "idp_params": {"mitid": {"loa_value": "high"}},
        }));
        let merged = merge(&client(""), &outer, &outer_pairs, object.clone());
        let get = |name: &str| {
            merged
                .pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("state"), Some("inner"));
        assert_eq!(get("scope"), Some("openid"), "from outside");
        assert_eq!(get("max_age"), Some("0"));
        assert_eq!(get("idp_params"), Some(r#"{"mitid":{"loa_value":"high"}}"#));
        assert_eq!(get("iss"), None, "a JWT claim, not a parameter");
        assert_eq!(get("request"), None);
        assert_eq!(get("client_id"), Some("rp"));
        assert!(merged.provenance.signed);
        assert!(!merged.provenance.redirect_uri_signed);

        let strict = merge(
            &client("require_signed_request_object = true"),
            &outer,
            &outer_pairs,
            object,
        );
        assert!(
            !strict.pairs.iter().any(|(n, _)| n == "scope"),
            "a client that requires signed requests gets only what it signed"
        );
    }
}
