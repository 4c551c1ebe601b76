//! `samlp:AuthnRequest`: read off the Redirect or POST binding, verified against the SP's
//! registered certificate (NemLog-in accepts signed requests only), and checked the way
//! NemLog-in checks it. Problems found before the request is trusted are shown on an error
//! page; problems with a trusted request are answered at the SP's ACS with a SAML status.

use std::sync::Arc;

use time::OffsetDateTime;

use super::binding::Received;
use super::idp::IdentityProvider;
pub use super::inbound::RequestProblem;
use super::inbound::{is, parse_message, trusted_sender};
use super::sp::{ServiceProvider, SpRegistry};
use super::vocabulary::{
    loa_from_class_ref, status, Binding, Profile, Status, ASSERTION_NS, CLOCK_SKEW,
    MESSAGE_LIFETIME, NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_UNSPECIFIED,
    NEMLOGIN_EXTENSIONS_NS, PROTOCOL_NS,
};
use super::xml::parse_instant;
use crate::identity::Loa;

/// A trusted, checked authentication request.
#[derive(Clone, Debug)]
pub struct AuthnRequest {
    pub id: String,
    pub sp: Arc<ServiceProvider>,
    pub binding: Binding,
    /// Where the response goes: an HTTP-POST ACS registered for the SP.
    pub acs_url: String,
    pub relay_state: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    /// The lowest acceptable level (`Comparison="minimum"`); `None` when the SP asked for
    /// none, which NemLog-in treats as Substantial.
    pub requested_loa: Option<Loa>,
    /// The attribute profiles the SP accepts; both when it named neither.
    pub profiles: Vec<Profile>,
    pub name_id_format: Option<String>,
    pub app_switch: Option<AppSwitch>,
}

impl AuthnRequest {
    /// The level the login must reach.
    pub fn minimum_loa(&self) -> Loa {
        self.requested_loa.unwrap_or(Loa::Substantial)
    }
}

/// NemLog-in's AppSwitch extension: return to the SP's app after the MitID app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSwitch {
    pub platform: AppSwitchPlatform,
    pub return_url: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppSwitchPlatform {
    Android,
    Ios,
}

/// A problem with a trusted request: answered at `acs_url` with `status`.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub sp: Arc<ServiceProvider>,
    pub acs_url: String,
    pub in_response_to: String,
    pub relay_state: Option<String>,
    pub status: Status,
}

#[derive(Debug, Clone)]
pub enum AuthnRequestError {
    Page(RequestProblem),
    Answer(Box<Refusal>),
}

impl From<RequestProblem> for AuthnRequestError {
    fn from(problem: RequestProblem) -> Self {
        AuthnRequestError::Page(problem)
    }
}

/// Reads, verifies and checks an AuthnRequest taken off its binding.
pub fn parse(
    received: &Received,
    idp: &IdentityProvider,
    registry: &SpRegistry,
    now: OffsetDateTime,
) -> Result<AuthnRequest, AuthnRequestError> {
    let doc = parse_message(received, "AuthnRequest")?;
    let root = doc.root_element();
    let sp = trusted_sender(root, received, idp, registry)?;
    let id = root
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(RequestProblem::NoId)?
        .to_string();
    let index = root
        .attribute("AssertionConsumerServiceIndex")
        .map(|text| {
            text.parse::<u16>()
                .map_err(|_| RequestProblem::UnregisteredAcs(format!("index {text}")))
        })
        .transpose()?;
    let url = root.attribute("AssertionConsumerServiceURL");
    let acs = sp
        .assertion_consumer_service(url, index)
        .ok_or_else(|| {
            RequestProblem::UnregisteredAcs(
                url.map(str::to_string)
                    .or(index.map(|i| format!("index {i}")))
                    .unwrap_or_else(|| "(default)".into()),
            )
        })?
        .location
        .clone();
    let refuse = |status: Status| {
        AuthnRequestError::Answer(Box::new(Refusal {
            sp: sp.clone(),
            acs_url: acs.clone(),
            in_response_to: id.clone(),
            relay_state: received.relay_state.clone(),
            status,
        }))
    };

    if root.attribute("Version") != Some("2.0") {
        return Err(refuse(Status {
            code: status::VERSION_MISMATCH,
            sub_code: None,
            message: Some("only SAML 2.0 is supported".into()),
        }));
    }
    match root.attribute("IssueInstant").map(parse_instant) {
        Some(Some(issued))
            if issued <= now + CLOCK_SKEW && issued >= now - CLOCK_SKEW - MESSAGE_LIFETIME => {}
        Some(Some(_)) => {
            return Err(refuse(Status::requester(
                status::REQUEST_DENIED,
                "IssueInstant is outside the allowed clock skew",
            )))
        }
        _ => {
            return Err(refuse(Status::requester(
                status::REQUEST_DENIED,
                "IssueInstant is missing or not an xs:dateTime",
            )))
        }
    }
    if let Some(binding) = root.attribute("ProtocolBinding") {
        if binding != Binding::HttpPost.uri() {
            return Err(refuse(Status::requester(
                status::UNSUPPORTED_BINDING,
                "NemLog-in answers with the HTTP-POST binding only",
            )));
        }
    }
    let flag = |name: &str| matches!(root.attribute(name), Some("true") | Some("1"));
    let force_authn = flag("ForceAuthn");
    let is_passive = flag("IsPassive");

    let mut name_id_format = None;
    if let Some(policy) = root.children().find(|n| is(n, "NameIDPolicy", PROTOCOL_NS)) {
        if let Some(format) = policy.attribute("Format") {
            if ![NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_UNSPECIFIED].contains(&format) {
                return Err(refuse(Status::requester(
                    status::INVALID_NAMEID_POLICY,
                    format!("NameID format {format} is not supported"),
                )));
            }
            name_id_format = Some(format.to_string());
        }
    }

    let mut requested_loa = None;
    let mut profiles = Vec::new();
    if let Some(context) = root
        .children()
        .find(|n| is(n, "RequestedAuthnContext", PROTOCOL_NS))
    {
        let comparison = context.attribute("Comparison").unwrap_or("exact");
        if comparison != "minimum" {
            return Err(refuse(Status::requester(
                status::NO_AUTHN_CONTEXT,
                format!("Comparison=\"{comparison}\" is not supported; OIOSAML 3 uses \"minimum\""),
            )));
        }
        for class_ref in context
            .children()
            .filter(|n| is(n, "AuthnContextClassRef", ASSERTION_NS))
        {
            let text = class_ref.text().unwrap_or_default().trim();
            if let Some(loa) = loa_from_class_ref(text) {
                // Several levels under "minimum": the lowest is the minimum.
                requested_loa = Some(requested_loa.map_or(loa, |l: Loa| l.min(loa)));
            } else if let Some(profile) = Profile::from_class_ref(text) {
                if !profiles.contains(&profile) {
                    profiles.push(profile);
                }
            } else {
                return Err(refuse(Status::requester(
                    status::NO_AUTHN_CONTEXT,
                    format!("AuthnContextClassRef {text} is not offered"),
                )));
            }
        }
    }
    if profiles.is_empty() {
        profiles = vec![Profile::Person, Profile::Professional];
    }
    let app_switch = app_switch(root)
        .map_err(|message| refuse(Status::requester(status::REQUEST_UNSUPPORTED, message)))?;

    Ok(AuthnRequest {
        id,
        sp: sp.clone(),
        binding: received.binding,
        acs_url: acs.clone(),
        relay_state: received.relay_state.clone(),
        force_authn,
        is_passive,
        requested_loa,
        profiles,
        name_id_format,
        app_switch,
    })
}

fn app_switch(root: roxmltree::Node) -> Result<Option<AppSwitch>, String> {
    let Some(element) = root
        .children()
        .find(|n| is(n, "Extensions", PROTOCOL_NS))
        .and_then(|ext| {
            ext.children()
                .find(|n| is(n, "AppSwitch", NEMLOGIN_EXTENSIONS_NS))
        })
    else {
        return Ok(None);
    };
    let text_of = |name: &str| {
        element
            .children()
            .find(|n| is(n, name, NEMLOGIN_EXTENSIONS_NS))
            .and_then(|n| n.text())
            .map(str::trim)
    };
    let platform = match text_of("Platform") {
        Some("Android") => AppSwitchPlatform::Android,
        Some("iOS") => AppSwitchPlatform::Ios,
        other => {
            return Err(format!(
                "AppSwitch Platform {other:?} is not Android or iOS"
            ))
        }
    };
    let return_url = text_of("ReturnURL")
        .filter(|url| url::Url::parse(url).is_ok())
        .ok_or("AppSwitch needs an absolute ReturnURL")?
        .to_string();
    Ok(Some(AppSwitch {
        platform,
        return_url,
    }))
}

#[cfg(test)]
mod tests;
