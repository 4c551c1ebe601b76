//! Protocols the broker speaks on top of the domain. Each personality copies one real
//! broker's endpoints and claims.

pub mod claims;
pub mod fidelity;
pub mod oidc;
pub mod saml;
