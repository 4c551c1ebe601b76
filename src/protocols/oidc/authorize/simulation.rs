//! NEB's simulation mode: `simulation=<mode> <key>:<value> …`, space-separated inside the
//! one parameter (`no-ui uuid:<guid>`, `ui username:<user ID>`, `no-ui cpr:<CPR>`), for
//! clients entitled to it. For any other client the parameter is ignored, whatever its
//! value, as recorded at NEB. mitid-sim also takes the identity from `login_hint`
//! (`simulation=no-ui&login_hint=uuid:<guid>`), a documented extension.
//! `mitid_erhverv_uuid:` names a professional identity, which a request offering MitID
//! Erhverv (`idp_values`) logs in as.

use super::params::Params;
use super::IdentityHint;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::error::OAuthError;
pub use crate::protocols::{Simulation, SimulationMode};

/// NEB's error code for a simulation value it cannot read.
pub const ERROR_PARAMETER: &str = "mitid_simulation_error_parameter";
/// NEB's error code for a simulated identity that does not exist.
pub const UNKNOWN_USER: &str = "mitid_simulation_unknown_user";

fn refused(detail: String) -> OAuthError {
    tracing::info!("simulation parameter refused: {detail}");
    OAuthError::invalid_request(ERROR_PARAMETER)
}

pub(super) fn parse(params: &Params, client: &Client) -> Result<Option<Simulation>, OAuthError> {
    let Some(value) = params.get("simulation") else {
        return Ok(None);
    };
    if !client.allow_simulation {
        tracing::info!(
            client = %client.client_id,
            "simulation parameter ignored: the client is not registered with allow_simulation"
        );
        return Ok(None);
    }
    let mut simulation = Simulation::parse(value).map_err(refused)?;
    if simulation.identities.is_empty() {
        if let Some(hint) = params.get("login_hint") {
            simulation
                .identities
                .push(IdentityHint::parse(hint).map_err(refused)?);
        }
    }
    if simulation.no_ui() && simulation.identities.is_empty() && simulation.professional.is_none() {
        return Err(refused(
            "no-ui names no identity (uuid:, username:, cpr: or mitid_erhverv_uuid:)".into(),
        ));
    }
    Ok(Some(simulation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::oidc::clients::parse_clients;

    fn client(allow_simulation: bool) -> Client {
        parse_clients(&format!(
            r#"[[client]]
client_id = "c"
name = "C"
client_secret = "s"
allow_simulation = {allow_simulation}
redirect_uris = ["http://rp.test/cb"]"#
        ))
        .unwrap()
        .remove(0)
    }

    fn parse_value(value: &str, extra: &[(&str, &str)]) -> Result<Option<Simulation>, OAuthError> {
        let mut pairs = vec![("simulation".to_string(), value.to_string())];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        parse(&Params::new(pairs), &client(true))
    }

    #[test]
    fn neb_syntax_names_the_mode_and_the_identity_in_one_parameter() {
        let uuid = "5b7f3a52-3c1e-4f6a-9a43-1f0a6d2b9c01";
        let simulation = parse_value(&format!("no-ui uuid:{uuid}"), &[])
            .unwrap()
            .unwrap();
        assert_eq!(simulation.mode, SimulationMode::NoUi);
        assert_eq!(
            simulation.identities,
            vec![IdentityHint::uuid(uuid).unwrap()]
        );
        let both = parse_value(&format!("no-ui uuid:{uuid} mitid_erhverv_uuid:{uuid}"), &[])
            .unwrap()
            .unwrap();
        assert!(both.professional.is_some());
        let ui = parse_value("ui username:anna.jensen", &[])
            .unwrap()
            .unwrap();
        assert_eq!(ui.mode, SimulationMode::Ui);
        let hinted = parse_value("no-ui", &[("login_hint", "cpr:1203851234")])
            .unwrap()
            .unwrap();
        assert_eq!(hinted.identities.len(), 1, "login_hint, the extension");
        assert!(parse_value("ui", &[])
            .unwrap()
            .unwrap()
            .identities
            .is_empty());
    }

    #[test]
    fn unreadable_values_are_the_error_parameter_code() {
        for bad in [
            "totally-invalid-mode",
            "no-ui",
            "no-ui uuid:not-a-guid",
            "no-ui cpr:12",
            "no-ui email:x@y",
            "no-ui anna.jensen",
            "ui mitid_erhverv_uuid:x",
        ] {
            let error = parse_value(bad, &[]).unwrap_err();
            assert_eq!(error.description, ERROR_PARAMETER, "{bad}");
        }
    }

    #[test]
    fn clients_without_the_entitlement_never_see_the_parameter_read() {
        let params = Params::new(vec![("simulation".into(), "totally-invalid-mode".into())]);
        assert_eq!(parse(&params, &client(false)), Ok(None));
    }
}
