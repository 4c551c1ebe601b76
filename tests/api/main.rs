//! End-to-end tests against a real broker on a free port: one binary, one module per area.

mod admin;
mod app_login;
mod authenticators;
mod browser_csp;
mod cli;
mod code_display_login;
mod conformance;
mod cpr_entry;
mod discovery;
mod errors;
mod helpers;
mod limits;
mod logout;
mod nemid;
mod nemlogin;
mod no_ui;
mod openid_client;
mod persistence;
mod personas;
mod reference_rp;
mod refresh;
mod saml_interop;
mod security;
mod sessions;
