//! The kit steers the broker only through its admin API, so it works against a broker
//! that a CI job started separately. Transient failures (no connection, time-outs, 502,
//! 503, 504) are retried; what still fails makes the scenario ERROR, not FAILED.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::profile::{AuthMethod, ClientRegistration, TargetProfile};

/// Pauses before the retries of a transient failure.
const RETRY_PAUSES: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(750),
    Duration::from_millis(2000),
];

#[derive(Clone)]
pub struct BrokerControl {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

fn transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

impl BrokerControl {
    pub fn new(profile: &TargetProfile) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            base: profile.broker.url.trim_end_matches('/').to_string(),
            token: profile.broker.admin_token.clone(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}/admin{path}", self.base);
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(method.clone(), &url);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let failure = match request.send().await {
                Ok(response) if transient(response.status()) => {
                    format!("{method} {url} answered {}", response.status())
                }
                Ok(response) => {
                    let status = response.status();
                    let value: Value = response.json().await.unwrap_or(Value::Null);
                    return if status.is_success() {
                        Ok(value)
                    } else {
                        Err(format!(
                            "the broker's admin API refused {method} {url} ({status}): {}",
                            value["message"].as_str().unwrap_or("no reason given")
                        ))
                    };
                }
                Err(err) => format!(
                    "the broker's admin API at {url} cannot be reached ({})",
                    if err.is_timeout() {
                        "timed out"
                    } else {
                        "no connection"
                    }
                ),
            };
            match RETRY_PAUSES.get(attempt) {
                Some(pause) => {
                    tracing::debug!(%failure, "retrying the admin API");
                    tokio::time::sleep(*pause).await;
                    attempt += 1;
                }
                None => {
                    return Err(format!(
                        "{failure}, also after {} retries",
                        RETRY_PAUSES.len()
                    ))
                }
            }
        }
    }

    /// Registers the RP exactly as the profile describes it.
    pub async fn register(&self, client: &ClientRegistration) -> Result<(), String> {
        self.call(Method::POST, "/clients", Some(registration(client)))
            .await
            .map(|_| ())
    }

    /// How the broker's registration of the client differs from the profile, one line each.
    pub async fn registration_differences(
        &self,
        client: &ClientRegistration,
    ) -> Result<Vec<String>, String> {
        let registered = self
            .call(Method::GET, &format!("/clients/{}", client.client_id), None)
            .await
            .map_err(|err| {
                format!(
                    "client `{}` is not registered at the broker (register = false): {err}",
                    client.client_id
                )
            })?;
        Ok(differences(&registration(client), &registered))
    }

    /// Isolation between scenarios: no faults, back-channel on, an empty record, the
    /// broker's own discovery issuer and no broker sessions of this client.
    pub async fn reset_for(&self, client_id: &str) -> Result<(), String> {
        self.call(
            Method::DELETE,
            &format!("/clients/{client_id}/faults"),
            None,
        )
        .await?;
        self.withhold_backchannel(client_id, false).await?;
        self.call(Method::DELETE, &format!("/record?client={client_id}"), None)
            .await?;
        for session in self.sessions_of(client_id).await? {
            // It may have ended on its own meanwhile; only the listing must succeed.
            if let Some(id) = session["id"].as_str() {
                let _ = self.end_session(id).await;
            }
        }
        Ok(())
    }

    pub async fn inject_fault(&self, client_id: &str, fault: &str) -> Result<(), String> {
        self.call(
            Method::POST,
            &format!("/clients/{client_id}/faults"),
            Some(json!({ "fault": fault, "count": 1 })),
        )
        .await
        .map(|_| ())
    }

    pub async fn clear_faults(&self, client_id: &str) -> Result<(), String> {
        self.call(
            Method::DELETE,
            &format!("/clients/{client_id}/faults"),
            None,
        )
        .await
        .map(|_| ())
    }

    pub async fn withhold_backchannel(
        &self,
        client_id: &str,
        withhold: bool,
    ) -> Result<(), String> {
        self.call(
            Method::POST,
            &format!("/clients/{client_id}/backchannel"),
            Some(json!({ "withhold": withhold })),
        )
        .await
        .map(|_| ())
    }

    /// Withholds back-channel logout to the client but keeps its front-channel iframes on
    /// the broker's logout page, so only the front channel can end its session.
    pub async fn withhold_backchannel_only(&self, client_id: &str) -> Result<(), String> {
        self.call(
            Method::POST,
            &format!("/clients/{client_id}/backchannel"),
            Some(json!({ "withhold": true, "frontchannel": false })),
        )
        .await
        .map(|_| ())
    }

    /// The broker's registration of a client.
    pub async fn client(&self, client_id: &str) -> Result<Value, String> {
        self.call(Method::GET, &format!("/clients/{client_id}"), None)
            .await
    }

    /// Registers a client from an admin API registration body.
    pub async fn register_raw(&self, body: Value) -> Result<(), String> {
        self.call(Method::POST, "/clients", Some(body))
            .await
            .map(|_| ())
    }

    pub async fn delete_client(&self, client_id: &str) -> Result<(), String> {
        self.call(Method::DELETE, &format!("/clients/{client_id}"), None)
            .await
            .map(|_| ())
    }

    /// Puts the client in an SSO group (None: its own sessions only).
    pub async fn set_sso_group(&self, client_id: &str, group: Option<&str>) -> Result<(), String> {
        self.call(
            Method::PUT,
            &format!("/clients/{client_id}/sso-group"),
            Some(json!({ "sso_group": group })),
        )
        .await
        .map(|_| ())
    }

    /// The requests the client sent, oldest first (every page of the record).
    pub async fn requests(&self, client_id: &str) -> Result<Vec<Value>, String> {
        let mut requests = Vec::new();
        let mut path = format!("/record?client={client_id}");
        loop {
            let page = self.call(Method::GET, &path, None).await?;
            requests.extend(page["requests"].as_array().cloned().unwrap_or_default());
            match page["next_after"].as_u64() {
                Some(after) => path = format!("/record?client={client_id}&after={after}"),
                None => return Ok(requests),
            }
        }
    }

    pub async fn backchannel(&self, client_id: &str) -> Result<Vec<Value>, String> {
        let record = self
            .call(Method::GET, &format!("/record?client={client_id}"), None)
            .await?;
        Ok(record["backchannel"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The live broker sessions the client takes part in.
    pub async fn sessions_of(&self, client_id: &str) -> Result<Vec<Value>, String> {
        let sessions = self.call(Method::GET, "/sessions", None).await?;
        Ok(sessions
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["participants"].get(client_id).is_some())
            .cloned()
            .collect())
    }

    /// The user ID of a MitID that logs in as the professional identity `uuid`: the
    /// person's private MitID where the identity allows it, else its dedicated eID.
    pub async fn eid_of_professional(&self, uuid: &str) -> Result<String, String> {
        let professional = self
            .call(Method::GET, &format!("/professionals/{uuid}"), None)
            .await?;
        let private = professional["private_mitid"] != false;
        if let Some(cpr) = professional["cpr"].as_str().filter(|_| private) {
            let citizens = self.call(Method::GET, "/citizens", None).await?;
            let found = citizens
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["cpr"] == cpr)
                .and_then(|c| c["user_id"].as_str());
            if let Some(user_id) = found {
                return Ok(user_id.to_string());
            }
        }
        professional["erhverv_user_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                format!("no MitID of the broker logs in as professional identity {uuid}")
            })
    }

    pub async fn end_session(&self, neb_sid: &str) -> Result<(), String> {
        self.call(Method::DELETE, &format!("/sessions/{neb_sid}"), None)
            .await
            .map(|_| ())
    }

    /// Makes discovery, tokens and responses name `issuer` (None: the broker's own).
    pub async fn act_as_issuer(&self, issuer: Option<&str>) -> Result<(), String> {
        self.call(
            Method::POST,
            "/discovery",
            Some(json!({ "issuer": issuer })),
        )
        .await
        .map(|_| ())
    }
}

/// The admin API's registration body for the profile's client section.
pub fn registration(c: &ClientRegistration) -> Value {
    let mut body = json!({
        "client_id": c.client_id,
        "name": format!("{} (conformance)", c.client_id),
        "redirect_uris": c.redirect_uris(),
        "post_logout_redirect_uris": c.post_logout_redirect_uri.iter().collect::<Vec<_>>(),
    });
    match &c.client_secret {
        Some(secret) => body["client_secret"] = json!(secret),
        None => body["token_endpoint_auth_method"] = json!(AuthMethod::None.name()),
    }
    if let Some(method) = c.token_endpoint_auth_method {
        body["token_endpoint_auth_method"] = json!(method.name());
    }
    if let Some(alg) = &c.id_token_signed_response_alg {
        body["id_token_signed_response_alg"] = json!(alg);
    }
    if let Some(refresh) = c.refresh_tokens {
        body["refresh_tokens"] = json!(refresh.name());
    }
    if let Some(uri) = &c.backchannel_logout_uri {
        body["backchannel_logout_uri"] = json!(uri);
    }
    if let Some(uri) = &c.frontchannel_logout_uri {
        body["frontchannel_logout_uri"] = json!(uri);
    }
    body
}

/// What the broker holds that the profile does not say, or the other way round. Members
/// the profile leaves unset (null here) are the broker's business and not compared.
fn differences(wanted: &Value, registered: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let as_set = |v: &Value| -> Vec<String> {
        let mut items: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        items.sort();
        items
    };
    for list in ["redirect_uris", "post_logout_redirect_uris"] {
        let (want, have) = (as_set(&wanted[list]), as_set(&registered[list]));
        if want != have {
            found.push(format!(
                "{list}: the profile says [{}], the broker has [{}]",
                want.join(", "),
                have.join(", ")
            ));
        }
    }
    for member in [
        "token_endpoint_auth_method",
        "id_token_signed_response_alg",
        "refresh_tokens",
        "backchannel_logout_uri",
        "frontchannel_logout_uri",
    ] {
        let want = &wanted[member];
        let have = &registered[member];
        let unset_in_profile = want.is_null();
        let uri = member.ends_with("_uri");
        // A URI the profile leaves out must be absent at the broker too: the kit would
        // otherwise skip scenarios the broker will act on.
        if (unset_in_profile && !uri) || want == have {
            continue;
        }
        let show = |v: &Value| match v {
            Value::Null => "nothing".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        found.push(format!(
            "{member}: the profile says {}, the broker has {}",
            show(want),
            show(have)
        ));
    }
    let secret_in_profile = wanted["client_secret"].is_string();
    let secret_at_broker = registered["client_secret"].is_string();
    if secret_in_profile != secret_at_broker {
        found.push(format!(
            "client_secret: the profile {} one, the broker {} one",
            if secret_in_profile { "has" } else { "has no" },
            if secret_at_broker { "has" } else { "has no" }
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientRegistration {
        crate::conformance::profile::parse(crate::conformance::profile::TEMPLATE)
            .unwrap()
            .client
    }

    #[test]
    fn a_registration_made_from_the_profile_has_no_differences() {
        let wanted = registration(&client());
        let mut registered = wanted.clone();
        registered["client_secret"] = json!("***");
        registered["token_endpoint_auth_method"] = Value::Null;
        registered["id_token_signed_response_alg"] = json!("ES256");
        registered["refresh_tokens"] = json!("offline_access");
        assert_eq!(differences(&wanted, &registered), Vec::<String>::new());
    }

    fn control_at(base: &str) -> BrokerControl {
        let mut profile =
            crate::conformance::profile::parse(crate::conformance::profile::TEMPLATE).unwrap();
        profile.broker.url = base.to_string();
        BrokerControl::new(&profile)
    }

    #[tokio::test]
    async fn transient_failures_of_the_admin_api_are_retried_and_refusals_are_not() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/admin/sessions"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/admin/sessions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/admin/clients/nobody"))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({ "message": "no client" })),
            )
            .expect(1)
            .mount(&server)
            .await;
        let control = control_at(&server.uri());
        assert_eq!(
            control.sessions_of("rp").await.unwrap(),
            Vec::<Value>::new()
        );
        let refused = control
            .call(Method::GET, "/clients/nobody", None)
            .await
            .unwrap_err();
        assert!(
            refused.contains("404") && refused.contains("no client"),
            "{refused}"
        );
        let gone = control_at("http://127.0.0.1:9")
            .call(Method::GET, "/sessions", None)
            .await;
        assert!(gone.unwrap_err().contains("also after 3 retries"));
    }

    #[test]
    fn every_difference_is_named() {
        let mut profile = client();
        profile.id_token_signed_response_alg = Some("RS256".into());
        let wanted = registration(&profile);
        let mut registered = wanted.clone();
        registered["client_secret"] = json!("***");
        registered["redirect_uris"] = json!(["http://127.0.0.1:3000/other"]);
        registered["id_token_signed_response_alg"] = json!("ES256");
        registered["backchannel_logout_uri"] = Value::Null;
        registered["frontchannel_logout_uri"] = json!("http://127.0.0.1:3000/fc");
        let found = differences(&wanted, &registered);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0]
            .starts_with("redirect_uris: the profile says [http://127.0.0.1:3000/callback]"));
        assert!(found
            .iter()
            .any(|d| d
                == "id_token_signed_response_alg: the profile says RS256, the broker has ES256"));
        assert!(found
            .iter()
            .any(|d| d.starts_with("frontchannel_logout_uri: the profile says nothing")));
    }
}
