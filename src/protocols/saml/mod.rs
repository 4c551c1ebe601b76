//! The NemLog-in personality: an OIOSAML 3.0 (SAML 2.0) identity provider.
//!
//! Building blocks, independent of the login pages: IdP keys and metadata, the SP
//! registry, AuthnRequest and LogoutRequest parsing over the Redirect, POST and SOAP
//! bindings, and the Response with its signed, encrypted assertion. The domain never sees a
//! SAML type; `Subject` is what the login flow hands over.

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
pub mod logout;
pub mod response;
#[cfg(test)]
pub(crate) mod testkit;
