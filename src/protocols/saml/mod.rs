//! The NemLog-in personality: an OIOSAML 3.0 (SAML 2.0) identity provider.
//!
//! The building blocks (IdP keys and metadata, the SP registry, AuthnRequest and
//! LogoutRequest parsing over the Redirect, POST and SOAP bindings, the Response with its
//! signed, encrypted assertion) and the personality made of them: `provider` with `sso`
//! (the MitID pages through the shared login flow) and `slo` (logout across every party of
//! a broker session). The domain never sees a SAML type; `Subject` is what a finished
//! login becomes.

pub mod attributes;
pub mod credential;
pub mod idp;
pub mod inbound;
pub mod metadata;
pub mod sp;
pub mod subject;
pub mod vocabulary;
mod xml;
pub mod xmlsec;

pub mod authn_request;
pub mod binding;
pub mod faults;
pub mod logout;
pub mod provider;
mod replay;
pub mod response;
pub mod simulation;
pub mod slo;
mod sso;

pub use provider::{IdpKeySource, Outcome, Provider, SsoCookie, SSO_GROUP};
#[cfg(test)]
pub(crate) mod testkit;
