//! Protocols the broker speaks on top of the domain. Each personality copies one real
//! broker's endpoints and claims.

pub mod claims;
pub mod fidelity;
pub mod front;
pub mod identity_hint;
pub mod oidc;
pub mod saml;
pub mod simulation;

/// The citizen's language is the domain's (`authenticators::Language`): the pages, the
/// phone and the devices speak it whichever personality started the login.
pub use crate::authenticators::Language;
pub use identity_hint::IdentityHint;
pub use simulation::{Simulation, SimulationMode};
