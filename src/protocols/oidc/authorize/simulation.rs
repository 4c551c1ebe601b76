//! NEB's simulation mode: `simulation=<mode> <key>:<value> …`, space-separated inside the
//! one parameter (`no-ui uuid:<guid>`, `ui username:<user ID>`, `no-ui cpr:<CPR>`), for
//! clients entitled to it. For any other client the parameter is ignored, whatever its
//! value, as recorded at NEB. mitid-sim also takes the identity from `login_hint`
//! (`simulation=no-ui&login_hint=uuid:<guid>`), a documented extension.

use super::hint::IdentityHint;
use super::params::Params;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::error::OAuthError;

/// NEB's error code for a simulation value it cannot read.
pub const ERROR_PARAMETER: &str = "mitid_simulation_error_parameter";
/// NEB's error code for a simulated identity that does not exist.
pub const UNKNOWN_USER: &str = "mitid_simulation_unknown_user";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimulationMode {
    /// The pages are shown, started for the named citizen if there is one.
    Ui,
    /// No page at all: the citizen is logged in at once.
    NoUi,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simulation {
    pub mode: SimulationMode,
    /// The private MitID identity (`uuid:`, `username:`, `cpr:`, or `login_hint`).
    pub identities: Vec<IdentityHint>,
    /// `mitid_erhverv_uuid:` names a professional identity (its persistent professional
    /// ID), which a request offering MitID Erhverv (`idp_values`) logs in as.
    pub mitid_erhverv_uuid: Option<uuid::Uuid>,
}

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
    let mut tokens = value.split_whitespace();
    let mode = match tokens.next() {
        Some("ui") => SimulationMode::Ui,
        Some("no-ui") => SimulationMode::NoUi,
        other => {
            return Err(refused(format!(
                "mode `{}` is neither ui nor no-ui",
                other.unwrap_or_default()
            )))
        }
    };
    let mut simulation = Simulation {
        mode,
        identities: Vec::new(),
        mitid_erhverv_uuid: None,
    };
    for token in tokens {
        let (key, raw) = token
            .split_once(':')
            .ok_or_else(|| refused(format!("`{token}` is not <key>:<value>")))?;
        match key {
            "mitid_erhverv_uuid" if simulation.mitid_erhverv_uuid.is_none() => {
                simulation.mitid_erhverv_uuid = Some(
                    uuid::Uuid::parse_str(raw)
                        .map_err(|err| refused(format!("`{raw}` is not a UUID: {err}")))?,
                )
            }
            "uuid" | "username" | "cpr" => simulation
                .identities
                .push(IdentityHint::parse(token).map_err(refused)?),
            other => return Err(refused(format!("unknown key `{other}`"))),
        }
    }
    if simulation.identities.is_empty() {
        if let Some(hint) = params.get("login_hint") {
            simulation
                .identities
                .push(IdentityHint::parse(hint).map_err(refused)?);
        }
    }
    if mode == SimulationMode::NoUi
        && simulation.identities.is_empty()
        && simulation.mitid_erhverv_uuid.is_none()
    {
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
        assert!(both.mitid_erhverv_uuid.is_some());
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
