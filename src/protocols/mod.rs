//! Protocols the broker speaks on top of the domain. Each personality copies one real
//! broker's endpoints and claims.

pub mod claims;
pub mod fidelity;
pub mod front;
pub mod identity_hint;
pub mod language;
pub mod oidc;
pub mod saml;
pub mod simulation;

pub use identity_hint::IdentityHint;
pub use language::Language;
pub use simulation::{Simulation, SimulationMode};
