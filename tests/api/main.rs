//! End-to-end tests against a real broker on a free port: one binary, one module per area.

mod admin;
mod app_login;
mod authenticators;
mod claims;
mod cli;
mod code_display_login;
mod conformance;
mod cpr_entry;
mod discovery;
mod errors;
mod fidelity;
mod helpers;
mod keys;
mod library_rps;
mod logout;
mod nemid;
mod nemlogin;
mod no_ui;
mod openid_client;
mod persistence;
mod personas;
mod recorded;
mod reference_rp;
mod refresh;
mod saml_interop;
mod sessions;
