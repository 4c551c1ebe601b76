//! mitid-sim: a self-hostable simulator of the Danish MitID/NemID login broker.
//!
//! The domain (`identity`, `authenticators`, `flow`, `broker`) knows nothing of HTTP;
//! `protocols` speak OpenID Connect on top of it; `web` wires it to actix.

pub mod authenticators;
pub mod broker;
pub mod conformance;
pub mod control;
pub mod demo;
pub mod fixtures;
pub mod flow;
pub mod identity;
pub mod persistence;
pub mod protocols;
pub mod random;
pub mod simulator;
pub mod tls;
pub mod web;
pub use simulator::{Simulator, SimulatorBuilder};
