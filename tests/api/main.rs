//! End-to-end tests against a real broker on a free port: one binary, one module per area.

mod app_login;
mod code_display_login;
mod discovery;
mod errors;
mod helpers;
mod no_ui;
mod openid_client;
