//! The kit steers the broker only through its admin API, so it works against a broker
//! that a CI job started separately.

use reqwest::Method;
use serde_json::{json, Value};

use super::profile::TargetProfile;

#[derive(Clone)]
pub struct BrokerControl {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl BrokerControl {
    pub fn new(profile: &TargetProfile) -> Self {
        Self {
            http: reqwest::Client::new(),
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
        let mut request = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| format!("the broker's admin API at {url} cannot be reached: {err}"))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!(
                "{method} {url} answered {status}: {}",
                value["message"].as_str().unwrap_or("")
            ))
        }
    }

    /// Registers the RP as the profile describes it.
    pub async fn register(&self, profile: &TargetProfile) -> Result<(), String> {
        let c = &profile.client;
        let mut registration = json!({
            "client_id": c.client_id,
            "name": format!("{} (conformance)", c.client_id),
            "redirect_uris": [c.redirect_uri],
            "post_logout_redirect_uris": c.post_logout_redirect_uri.iter().collect::<Vec<_>>(),
        });
        match &c.client_secret {
            Some(secret) => registration["client_secret"] = json!(secret),
            None => registration["token_endpoint_auth_method"] = json!("none"),
        }
        if let Some(uri) = &c.backchannel_logout_uri {
            registration["backchannel_logout_uri"] = json!(uri);
        }
        if let Some(uri) = &c.frontchannel_logout_uri {
            registration["frontchannel_logout_uri"] = json!(uri);
        }
        self.call(Method::POST, "/clients", Some(registration))
            .await
            .map(|_| ())
    }

    /// Isolation between scenarios: no faults, back-channel on, an empty record, the
    /// real clock and no broker sessions of this client.
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
        let sessions = self.call(Method::GET, "/sessions", None).await?;
        for session in sessions.as_array().into_iter().flatten() {
            let ours = session["participants"].get(client_id).is_some();
            if let (true, Some(id)) = (ours, session["id"].as_str()) {
                let _ = self
                    .call(Method::DELETE, &format!("/sessions/{id}"), None)
                    .await;
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

    /// The requests the client sent, oldest first.
    pub async fn requests(&self, client_id: &str) -> Result<Vec<Value>, String> {
        let record = self
            .call(Method::GET, &format!("/record?client={client_id}"), None)
            .await?;
        Ok(record["requests"].as_array().cloned().unwrap_or_default())
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
}
