//! Single logout (SAML profiles §4.4): `LogoutRequest` and `LogoutResponse`, in both
//! directions, over HTTP-Redirect, HTTP-POST and SOAP. Every message is signed, as
//! NemLog-in requires; messages from SPs are verified against their registered certificate.

use std::sync::Arc;

use time::OffsetDateTime;

use super::binding::{self, Field, PostForm, Received};
use super::idp::IdentityProvider;
use super::inbound::{is, parse_message, trusted_sender, RequestProblem};
use super::response::status_xml;
use super::sp::{Endpoint, ServiceProvider, SpRegistry};
use super::vocabulary::{
    status, Binding, Status, ASSERTION_NS, CLOCK_SKEW, MESSAGE_LIFETIME, NAMEID_ENTITY,
    NAMEID_PERSISTENT, PROTOCOL_NS,
};
use super::xml::{escape, instant, new_id, parse_instant};
use super::xmlsec::{self, SigningCredentials, XmlSecError};

/// A verified LogoutRequest from an SP.
#[derive(Clone, Debug)]
pub struct LogoutRequest {
    pub id: String,
    pub sp: Arc<ServiceProvider>,
    pub binding: Binding,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// The SessionIndex values the SP got in its assertions; empty means every session of
    /// the NameID.
    pub session_indexes: Vec<String>,
    pub reason: Option<String>,
    pub relay_state: Option<String>,
}

/// A verified LogoutResponse from an SP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutResponse {
    pub id: String,
    pub issuer: String,
    pub in_response_to: String,
    pub status_code: String,
    pub sub_status_code: Option<String>,
    pub relay_state: Option<String>,
}

impl LogoutResponse {
    pub fn is_success(&self) -> bool {
        self.status_code == status::SUCCESS
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error(transparent)]
    Problem(#[from] RequestProblem),
    #[error("the message is refused: {0}")]
    Refused(String),
    #[error(transparent)]
    XmlSec(#[from] XmlSecError),
}

fn signer(idp: &IdentityProvider) -> SigningCredentials<'_> {
    SigningCredentials {
        private_key_pem: idp.keys.signing.private_key_pem(),
        certificate_pem: idp.keys.signing.certificate().pem(),
    }
}

fn check_time(root: roxmltree::Node, now: OffsetDateTime) -> Result<(), LogoutError> {
    match root.attribute("IssueInstant").and_then(parse_instant) {
        Some(t) if t <= now + CLOCK_SKEW && t >= now - CLOCK_SKEW - MESSAGE_LIFETIME => Ok(()),
        _ => Err(LogoutError::Refused(
            "IssueInstant is missing or outside the allowed clock skew".into(),
        )),
    }
}

/// Reads and verifies a LogoutRequest an SP sent (any binding).
pub fn parse_request(
    received: &Received,
    idp: &IdentityProvider,
    registry: &SpRegistry,
    now: OffsetDateTime,
) -> Result<LogoutRequest, LogoutError> {
    let doc = parse_message(received, "LogoutRequest")?;
    let root = doc.root_element();
    let sp = trusted_sender(root, received, idp, registry)?;
    check_time(root, now)?;
    if let Some(until) = root.attribute("NotOnOrAfter") {
        match parse_instant(until) {
            Some(until) if now < until + CLOCK_SKEW => {}
            _ => return Err(LogoutError::Refused("the LogoutRequest has expired".into())),
        }
    }
    let id = root
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(RequestProblem::NoId)?;
    let name_id = root
        .children()
        .find(|n| is(n, "NameID", ASSERTION_NS))
        .ok_or_else(|| {
            LogoutError::Refused("no NameID (an EncryptedID is not accepted here)".into())
        })?;
    Ok(LogoutRequest {
        id: id.to_string(),
        sp: sp.clone(),
        binding: received.binding,
        name_id: name_id.text().unwrap_or_default().trim().to_string(),
        name_id_format: name_id.attribute("Format").map(str::to_string),
        session_indexes: root
            .children()
            .filter(|n| is(n, "SessionIndex", PROTOCOL_NS))
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .collect(),
        reason: root.attribute("Reason").map(str::to_string),
        relay_state: received.relay_state.clone(),
    })
}

/// Reads and verifies the LogoutResponse an SP sent back to the IdP's LogoutRequest
/// `expected_in_response_to`.
pub fn parse_response(
    received: &Received,
    idp: &IdentityProvider,
    registry: &SpRegistry,
    expected_in_response_to: &str,
    now: OffsetDateTime,
) -> Result<LogoutResponse, LogoutError> {
    let doc = parse_message(received, "LogoutResponse")?;
    let root = doc.root_element();
    let sp = trusted_sender(root, received, idp, registry)?;
    check_time(root, now)?;
    let in_response_to = root.attribute("InResponseTo").unwrap_or_default();
    if in_response_to != expected_in_response_to {
        return Err(LogoutError::Refused(format!(
            "InResponseTo {in_response_to:?} does not answer LogoutRequest {expected_in_response_to}"
        )));
    }
    let status = root
        .children()
        .find(|n| is(n, "Status", PROTOCOL_NS))
        .and_then(|s| s.children().find(|n| is(n, "StatusCode", PROTOCOL_NS)))
        .ok_or_else(|| LogoutError::Refused("no Status".into()))?;
    Ok(LogoutResponse {
        id: root.attribute("ID").unwrap_or_default().to_string(),
        issuer: sp.entity_id.clone(),
        in_response_to: in_response_to.to_string(),
        status_code: status.attribute("Value").unwrap_or_default().to_string(),
        sub_status_code: status
            .children()
            .find(|n| is(n, "StatusCode", PROTOCOL_NS))
            .and_then(|n| n.attribute("Value"))
            .map(str::to_string),
        relay_state: received.relay_state.clone(),
    })
}

/// A message from the IdP to an SP, ready for any binding.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub id: String,
    /// The unsigned message: the Redirect binding signs the query instead.
    pub xml: String,
    pub destination: String,
}

impl Outgoing {
    /// An HTTP-Redirect URL with a query signature.
    pub fn redirect(
        &self,
        idp: &IdentityProvider,
        field: Field,
        relay_state: Option<&str>,
    ) -> Result<String, LogoutError> {
        binding::redirect_url(
            &self.destination,
            field,
            &self.xml,
            relay_state,
            Some(&idp.keys.signing),
        )
        .map_err(|err| LogoutError::XmlSec(XmlSecError::Sign(err.to_string())))
    }

    /// An HTTP-POST form with the message signed inside.
    pub fn post(
        &self,
        idp: &IdentityProvider,
        field: Field,
        relay_state: Option<&str>,
    ) -> Result<PostForm, LogoutError> {
        let signed = xmlsec::sign_root(&self.xml, &signer(idp))?;
        Ok(binding::post_form(
            &self.destination,
            field,
            &signed,
            relay_state,
        ))
    }

    /// A signed message in a SOAP envelope (the back-channel binding).
    pub fn soap(&self, idp: &IdentityProvider) -> Result<String, LogoutError> {
        Ok(binding::soap_envelope(&xmlsec::sign_root(
            &self.xml,
            &signer(idp),
        )?))
    }
}

/// The LogoutRequest the IdP sends to an SP that took part in the ending session.
pub fn request_to_sp(
    idp: &IdentityProvider,
    endpoint: &Endpoint,
    name_id: &str,
    session_index: &str,
    now: OffsetDateTime,
) -> Outgoing {
    let id = new_id();
    let xml = format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" ID=\"{id}\" \
         Version=\"2.0\" IssueInstant=\"{now}\" Destination=\"{destination}\" NotOnOrAfter=\"{until}\" \
         Reason=\"urn:oasis:names:tc:SAML:2.0:logout:user\">\
         <saml:Issuer Format=\"{NAMEID_ENTITY}\">{issuer}</saml:Issuer>\
         <saml:NameID Format=\"{NAMEID_PERSISTENT}\">{name_id}</saml:NameID>\
         <samlp:SessionIndex>{session_index}</samlp:SessionIndex></samlp:LogoutRequest>",
        now = instant(now),
        destination = escape(&endpoint.location),
        until = instant(now + MESSAGE_LIFETIME),
        issuer = escape(&idp.entity_id),
        name_id = escape(name_id),
        session_index = escape(session_index),
    );
    Outgoing {
        id,
        xml,
        destination: endpoint.location.clone(),
    }
}

/// The LogoutResponse the IdP sends back for `request`: `Success`, or `PartialLogout` under
/// a `Responder` code when some SP could not be logged out.
pub fn response_to_sp(
    idp: &IdentityProvider,
    request: &LogoutRequest,
    status: &Status,
    now: OffsetDateTime,
) -> Result<Outgoing, LogoutError> {
    let endpoint = request
        .sp
        .single_logout_service(request.binding)
        .or_else(|| request.sp.single_logout_services.first())
        .ok_or_else(|| {
            LogoutError::Refused(format!(
                "{} has no SingleLogoutService to answer at",
                request.sp.entity_id
            ))
        })?;
    response_to(idp, request, endpoint, status, now)
}

/// The LogoutResponse for `request`, addressed to the SP's `endpoint` (its
/// `ResponseLocation`, else its `Location`).
pub fn response_to(
    idp: &IdentityProvider,
    request: &LogoutRequest,
    endpoint: &Endpoint,
    status: &Status,
    now: OffsetDateTime,
) -> Result<Outgoing, LogoutError> {
    let destination = endpoint
        .response_location
        .clone()
        .unwrap_or_else(|| endpoint.location.clone());
    let id = new_id();
    let xml = format!(
        "<samlp:LogoutResponse xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" ID=\"{id}\" \
         Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\">\
         <saml:Issuer Format=\"{NAMEID_ENTITY}\">{}</saml:Issuer>{}</samlp:LogoutResponse>",
        instant(now),
        escape(&destination),
        escape(&request.id),
        escape(&idp.entity_id),
        status_xml(status),
    );
    Ok(Outgoing {
        id,
        xml,
        destination,
    })
}

#[cfg(test)]
mod tests;
