//! What every message from an SP goes through before it is trusted: its issuer is a
//! registered SP, its signature verifies with that SP's certificate, it was meant for this
//! IdP.

use std::sync::Arc;

use super::binding::{BindingError, Received};
use super::idp::IdentityProvider;
use super::sp::{ServiceProvider, SpRegistry};
use super::vocabulary::{Binding, ASSERTION_NS, NAMEID_ENTITY};
use super::xmlsec;

/// Why a request cannot even be answered: shown to the user, never sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestProblem {
    #[error(transparent)]
    Binding(#[from] BindingError),
    #[error("the request is not well-formed XML: {0}")]
    Malformed(String),
    #[error("expected a samlp:{expected}, got {found}")]
    WrongMessage {
        expected: &'static str,
        found: String,
    },
    #[error("the request has no Issuer")]
    NoIssuer,
    #[error("the Issuer's Format must be omitted or {NAMEID_ENTITY}, not {0}")]
    IssuerFormat(String),
    #[error("no service provider is registered with entity ID {0}")]
    UnknownIssuer(String),
    #[error("the request is not signed; NemLog-in accepts signed requests only")]
    Unsigned,
    #[error("the request's signature does not verify: {0}")]
    BadSignature(String),
    #[error("the request's Destination {found:?} is not this IdP's endpoint {expected}")]
    WrongDestination {
        found: Option<String>,
        expected: String,
    },
    #[error(
        "AssertionConsumerService {0} is not registered for this SP with the HTTP-POST binding"
    )]
    UnregisteredAcs(String),
    #[error("the request has no ID")]
    NoId,
}

/// The signature checks shared by every request from an SP: a query signature over the
/// Redirect binding, an enveloped one otherwise.
fn verify_signature(received: &Received, sp: &ServiceProvider) -> Result<(), RequestProblem> {
    if let Some(query) = &received.query_signature {
        return query
            .verify(&sp.signing_certificates)
            .map_err(|err| RequestProblem::BadSignature(err.to_string()));
    }
    let mut last = None;
    for certificate in &sp.signing_certificates {
        match xmlsec::verify_root(&received.xml, certificate.der()) {
            Ok(true) => return Ok(()),
            Ok(false) => return Err(RequestProblem::Unsigned),
            Err(err) => last = Some(err),
        }
    }
    Err(RequestProblem::BadSignature(
        last.map(|e| e.to_string()).unwrap_or_default(),
    ))
}

/// The issuer of a message from an SP, looked up in the registry.
fn issuer_sp(
    root: roxmltree::Node,
    registry: &SpRegistry,
) -> Result<Arc<ServiceProvider>, RequestProblem> {
    let issuer = root
        .children()
        .find(|n| is(n, "Issuer", ASSERTION_NS))
        .ok_or(RequestProblem::NoIssuer)?;
    if let Some(format) = issuer.attribute("Format") {
        if format != NAMEID_ENTITY {
            return Err(RequestProblem::IssuerFormat(format.to_string()));
        }
    }
    let entity_id = issuer.text().unwrap_or_default().trim();
    registry
        .get(entity_id)
        .ok_or_else(|| RequestProblem::UnknownIssuer(entity_id.to_string()))
}

/// Browser bindings must name this IdP (SAML bindings §3.4.5.2, §3.5.5.2); a SOAP message
/// travels in one HTTP exchange, so it may leave `Destination` out (pysaml2 writes it empty).
fn check_destination(
    root: roxmltree::Node,
    received: &Received,
    idp: &IdentityProvider,
) -> Result<(), RequestProblem> {
    match root.attribute("Destination") {
        Some(destination) if destination == idp.endpoint => Ok(()),
        None | Some("") if received.binding == Binding::Soap => Ok(()),
        found => Err(RequestProblem::WrongDestination {
            found: found.map(str::to_string),
            expected: idp.endpoint.clone(),
        }),
    }
}

/// Parses a message and checks that its root is `samlp:<expected>`.
pub(crate) fn parse_message<'x>(
    received: &'x Received,
    expected: &'static str,
) -> Result<roxmltree::Document<'x>, RequestProblem> {
    let doc = roxmltree::Document::parse(&received.xml)
        .map_err(|err| RequestProblem::Malformed(err.to_string()))?;
    let root = doc.root_element();
    if !is(&root, expected, super::vocabulary::PROTOCOL_NS) {
        return Err(RequestProblem::WrongMessage {
            expected,
            found: root.tag_name().name().to_string(),
        });
    }
    Ok(doc)
}

/// The SP that sent the message whose root is `root`, once its signature verifies with
/// that SP's certificate and the message names this IdP as its destination.
pub(crate) fn trusted_sender(
    root: roxmltree::Node,
    received: &Received,
    idp: &IdentityProvider,
    registry: &SpRegistry,
) -> Result<Arc<ServiceProvider>, RequestProblem> {
    let sp = issuer_sp(root, registry)?;
    verify_signature(received, &sp)?;
    check_destination(root, received, idp)?;
    Ok(sp)
}

pub(crate) fn is(node: &roxmltree::Node, name: &str, ns: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}
