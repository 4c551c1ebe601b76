//! The `samlp:Response` NemLog-in posts to an SP's assertion consumer service: an
//! assertion about the subject, signed by the IdP and encrypted to the SP, with the
//! OIOSAML 3.0 attributes — or a status response when the login did not succeed.
//!
//! OIOSAML 3.0 says successful responses SHOULD NOT be directly signed (the assertion is);
//! that is the default here. `sign_response` signs them too, for SPs that insist.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::attributes::attribute_statement;
use super::idp::IdentityProvider;
use super::sp::ServiceProvider;
use super::subject::Subject;
use super::vocabulary::{
    loa_class_ref, Status, ASSERTION_LIFETIME, ASSERTION_NS, BEARER, BEARER_LIFETIME, CLOCK_SKEW,
    NAMEID_ENTITY, NAMEID_PERSISTENT, PROTOCOL_NS,
};
use super::xml::{escape, instant, new_id};
use super::xmlsec::{self, SigningCredentials, XmlSecError, DSIG_NS};

/// A deliberate defect in a response, so a conformance run can prove an SP refuses it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFault {
    /// No signature on the Response. Matters where the Response is signed: status
    /// responses, and SPs registered with `sign_response`.
    UnsignedResponse,
    /// No signature on the Assertion.
    UnsignedAssertion,
    /// XML signature wrapping: the IdP's valid signature still verifies, but covers a copy
    /// of the genuine response tucked into `Extensions`, while the element the SP reads is a
    /// forged response whose unsigned assertion names someone else.
    SignatureWrapping,
    /// `Audience` names another SP.
    WrongAudience,
    /// `SubjectConfirmationData/@NotOnOrAfter` lies in the past, beyond the clock skew.
    ExpiredNotOnOrAfter,
    /// `InResponseTo` (on the Response and in the bearer confirmation) names no request
    /// of the SP.
    WrongInResponseTo,
    /// The assertion carries the ID of an assertion the SP received before.
    ReplayedAssertion { assertion_id: String },
    /// `SubjectConfirmationData/@Recipient` is not the SP's assertion consumer service.
    WrongRecipient,
    /// The assertion travels in clear text (`saml:Assertion`, not `EncryptedAssertion`).
    AssertionNotEncrypted,
}

impl ResponseFault {
    /// The identifier used by the admin API and CLI (`unsigned_response`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ResponseFault::UnsignedResponse => "unsigned_response",
            ResponseFault::UnsignedAssertion => "unsigned_assertion",
            ResponseFault::SignatureWrapping => "signature_wrapping",
            ResponseFault::WrongAudience => "wrong_audience",
            ResponseFault::ExpiredNotOnOrAfter => "expired_not_on_or_after",
            ResponseFault::WrongInResponseTo => "wrong_in_response_to",
            ResponseFault::ReplayedAssertion { .. } => "replayed_assertion",
            ResponseFault::WrongRecipient => "wrong_recipient",
            ResponseFault::AssertionNotEncrypted => "assertion_not_encrypted",
        }
    }
}

/// Where the response goes and what it answers.
#[derive(Clone, Debug)]
pub struct Delivery<'a> {
    pub sp: &'a ServiceProvider,
    /// The ACS URL the response is posted to (already matched against the SP's metadata).
    pub acs_url: &'a str,
    /// The AuthnRequest's ID.
    pub in_response_to: &'a str,
    pub now: OffsetDateTime,
    /// Sign the Response element too (OIOSAML 3.0: SHOULD NOT for successful responses).
    pub sign_response: bool,
}

/// A built response and the identifiers phase B keeps (for logout and replay faults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltResponse {
    pub xml: String,
    pub response_id: String,
    pub assertion_id: String,
    pub session_index: String,
    pub name_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error(transparent)]
    XmlSec(#[from] XmlSecError),
}

const WRONG_PARTY: &str = "https://not-this-sp.invalid/saml";

fn signer(idp: &IdentityProvider) -> SigningCredentials<'_> {
    SigningCredentials {
        private_key_pem: idp.keys.signing.private_key_pem(),
        certificate_pem: idp.keys.signing.certificate().pem(),
    }
}

/// A successful response for `subject`, with `session_index` naming the IdP session the
/// SP takes part in (LogoutRequests carry it back).
pub fn build_response(
    idp: &IdentityProvider,
    delivery: &Delivery<'_>,
    subject: &Subject,
    session_index: &str,
    faults: &[ResponseFault],
) -> Result<BuiltResponse, ResponseError> {
    let has = |fault: &ResponseFault| faults.contains(fault);
    let replayed = faults.iter().find_map(|f| match f {
        ResponseFault::ReplayedAssertion { assertion_id } => Some(assertion_id.clone()),
        _ => None,
    });
    let in_response_to = if has(&ResponseFault::WrongInResponseTo) {
        new_id()
    } else {
        delivery.in_response_to.to_string()
    };
    let assertion_id = replayed.unwrap_or_else(new_id);
    let assertion = AssertionParts {
        id: &assertion_id,
        subject,
        session_index,
        in_response_to: &in_response_to,
        audience: if has(&ResponseFault::WrongAudience) {
            WRONG_PARTY
        } else {
            &delivery.sp.entity_id
        },
        recipient: if has(&ResponseFault::WrongRecipient) {
            WRONG_PARTY
        } else {
            delivery.acs_url
        },
        bearer_not_on_or_after: if has(&ResponseFault::ExpiredNotOnOrAfter) {
            delivery.now - CLOCK_SKEW - Duration::minutes(10)
        } else {
            delivery.now + BEARER_LIFETIME
        },
        now: delivery.now,
    };
    let mut assertion_xml = assertion.render(&idp.entity_id);
    if !has(&ResponseFault::UnsignedAssertion) {
        assertion_xml = xmlsec::sign_root(&assertion_xml, &signer(idp))?;
    }
    let carried = if has(&ResponseFault::AssertionNotEncrypted) {
        assertion_xml
    } else {
        encrypted_assertion(&assertion_xml, delivery.sp)?
    };
    let response_id = new_id();
    let mut xml = response_envelope(
        idp,
        delivery,
        &response_id,
        &in_response_to,
        &Status::success(),
        &carried,
    );
    if delivery.sign_response && !has(&ResponseFault::UnsignedResponse) {
        xml = xmlsec::sign_root(&xml, &signer(idp))?;
    }
    if has(&ResponseFault::SignatureWrapping) {
        xml = wrap_signature(idp, delivery, &xml, subject, session_index, &in_response_to)?;
    }
    Ok(BuiltResponse {
        xml,
        response_id,
        assertion_id,
        session_index: session_index.to_string(),
        name_id: subject.name_id(),
    })
}

/// A response without an assertion: the login failed or was refused. Signed, since no
/// assertion signature vouches for it.
pub fn build_status_response(
    idp: &IdentityProvider,
    delivery: &Delivery<'_>,
    status: &Status,
    faults: &[ResponseFault],
) -> Result<String, ResponseError> {
    let in_response_to = if faults.contains(&ResponseFault::WrongInResponseTo) {
        new_id()
    } else {
        delivery.in_response_to.to_string()
    };
    let xml = response_envelope(idp, delivery, &new_id(), &in_response_to, status, "");
    if faults.contains(&ResponseFault::UnsignedResponse) {
        return Ok(xml);
    }
    Ok(xmlsec::sign_root(&xml, &signer(idp))?)
}

fn response_envelope(
    idp: &IdentityProvider,
    delivery: &Delivery<'_>,
    response_id: &str,
    in_response_to: &str,
    status: &Status,
    content: &str,
) -> String {
    format!(
        "<samlp:Response xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" ID=\"{response_id}\" \
         Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\">\
         <saml:Issuer Format=\"{NAMEID_ENTITY}\">{}</saml:Issuer>{}{content}</samlp:Response>",
        instant(delivery.now),
        escape(delivery.acs_url),
        escape(in_response_to),
        escape(&idp.entity_id),
        status_xml(status),
    )
}

pub(crate) fn status_xml(status: &Status) -> String {
    let sub = status
        .sub_code
        .map(|code| format!("<samlp:StatusCode Value=\"{code}\"/>"))
        .unwrap_or_default();
    let message = status
        .message
        .as_deref()
        .map(|m| format!("<samlp:StatusMessage>{}</samlp:StatusMessage>", escape(m)))
        .unwrap_or_default();
    format!(
        "<samlp:Status><samlp:StatusCode Value=\"{}\">{sub}</samlp:StatusCode>{message}</samlp:Status>",
        status.code
    )
}

fn encrypted_assertion(assertion_xml: &str, sp: &ServiceProvider) -> Result<String, XmlSecError> {
    let encrypted = xmlsec::encrypt_root(
        assertion_xml,
        sp.encryption_certificate.der(),
        sp.data_encryption(),
    )?;
    Ok(format!(
        "<saml:EncryptedAssertion>{encrypted}</saml:EncryptedAssertion>"
    ))
}

struct AssertionParts<'a> {
    id: &'a str,
    subject: &'a Subject,
    session_index: &'a str,
    in_response_to: &'a str,
    audience: &'a str,
    recipient: &'a str,
    bearer_not_on_or_after: OffsetDateTime,
    now: OffsetDateTime,
}

impl AssertionParts<'_> {
    /// The assertion declares every namespace it uses, so it stays whole when encrypted
    /// on its own.
    fn render(&self, issuer: &str) -> String {
        let subject = self.subject;
        format!(
            "<saml:Assertion xmlns:saml=\"{ASSERTION_NS}\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{now}\">\
             <saml:Issuer Format=\"{NAMEID_ENTITY}\">{issuer}</saml:Issuer>\
             <saml:Subject><saml:NameID Format=\"{NAMEID_PERSISTENT}\">{name_id}</saml:NameID>\
             <saml:SubjectConfirmation Method=\"{BEARER}\"><saml:SubjectConfirmationData \
             InResponseTo=\"{in_response_to}\" NotOnOrAfter=\"{bearer_until}\" Recipient=\"{recipient}\"/>\
             </saml:SubjectConfirmation></saml:Subject>\
             <saml:Conditions NotBefore=\"{now}\" NotOnOrAfter=\"{conditions_until}\">\
             <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>\
             </saml:Conditions>\
             <saml:AuthnStatement AuthnInstant=\"{authn_instant}\" SessionIndex=\"{session_index}\">\
             <saml:AuthnContext><saml:AuthnContextClassRef>{class_ref}</saml:AuthnContextClassRef></saml:AuthnContext>\
             </saml:AuthnStatement>{attributes}</saml:Assertion>",
            id = self.id,
            now = instant(self.now),
            issuer = escape(issuer),
            name_id = escape(&subject.name_id()),
            in_response_to = escape(self.in_response_to),
            bearer_until = instant(self.bearer_not_on_or_after),
            recipient = escape(self.recipient),
            conditions_until = instant(self.now + ASSERTION_LIFETIME),
            audience = escape(self.audience),
            authn_instant = instant(subject.authn_instant),
            session_index = escape(self.session_index),
            class_ref = loa_class_ref(subject.loa),
            attributes = attribute_statement(subject),
        )
    }
}

/// XSW variant 1: a forged Response whose first child after the Issuer is the genuine
/// Signature (moved out of the genuine response), with the genuine response, stripped of
/// its signature, hidden in `Extensions`. The digest still matches, the forged assertion
/// (another person, unsigned) is what a careless SP reads.
fn wrap_signature(
    idp: &IdentityProvider,
    delivery: &Delivery<'_>,
    genuine: &str,
    subject: &Subject,
    session_index: &str,
    in_response_to: &str,
) -> Result<String, ResponseError> {
    // The attack needs a signed response: sign the genuine one if it is not signed yet.
    let (signature, stripped) = match split_root_signature(genuine)? {
        Some(parts) => parts,
        None => split_root_signature(&xmlsec::sign_root(genuine, &signer(idp))?)?
            .ok_or_else(|| XmlSecError::Shape("signing left no signature".into()))?,
    };
    let mut forged_subject = subject.clone();
    forged_subject.uuid = uuid::uuid!("0bad5a11-0000-4000-8000-000000000001");
    forged_subject.full_name = "Forged Identity".into();
    forged_subject.first_name = "Forged".into();
    forged_subject.last_name = "Identity".into();
    forged_subject.professional = None;
    let forged_assertion = AssertionParts {
        id: &new_id(),
        subject: &forged_subject,
        session_index,
        in_response_to,
        audience: &delivery.sp.entity_id,
        recipient: delivery.acs_url,
        bearer_not_on_or_after: delivery.now + BEARER_LIFETIME,
        now: delivery.now,
    }
    .render(&idp.entity_id);
    let forged_assertion = encrypted_assertion(&forged_assertion, delivery.sp)?;
    let status = status_xml(&Status::success());
    Ok(format!(
        "<samlp:Response xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" ID=\"{}\" \
         Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\">\
         <saml:Issuer Format=\"{NAMEID_ENTITY}\">{}</saml:Issuer>{signature}\
         <samlp:Extensions>{stripped}</samlp:Extensions>{status}{forged_assertion}</samlp:Response>",
        new_id(),
        instant(delivery.now),
        escape(delivery.acs_url),
        escape(in_response_to),
        escape(&idp.entity_id),
    ))
}

/// Splits a signed root into its `ds:Signature` element and the root without it; `None`
/// when the root is not signed.
fn split_root_signature(xml: &str) -> Result<Option<(String, String)>, ResponseError> {
    let doc = roxmltree::Document::parse(xml).map_err(|err| XmlSecError::Parse(err.to_string()))?;
    let Some(signature) = doc
        .root_element()
        .children()
        .find(|n| n.tag_name().name() == "Signature" && n.tag_name().namespace() == Some(DSIG_NS))
    else {
        return Ok(None);
    };
    let range = signature.range();
    let stripped = format!("{}{}", &xml[..range.start], &xml[range.end..]);
    Ok(Some((xml[range].to_string(), stripped)))
}

#[cfg(test)]
mod tests;
