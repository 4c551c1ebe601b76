//! Logging in without the pages, for CI: mitid-sim's `simulation` parameter on the SSO
//! endpoint, beside `SAMLRequest` (a query parameter with HTTP-Redirect, a form field with
//! HTTP-POST). NemLog-in has no simulation mode; the syntax is NEB's, so one habit serves
//! both personalities: `no-ui username:<user ID>` (or `uuid:`, `cpr:`) logs the citizen in
//! at once with their strongest authenticator, `no-ui mitid_erhverv_uuid:<uuid>` the
//! professional identity, and `ui username:<user ID>` shows the pages started for the
//! citizen. The parameter sits outside the request's signature, so only SPs registered
//! with `allow_simulation` (the default) honour it.

use uuid::Uuid;

use crate::protocols::IdentityHint;

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
    /// The private MitID identity (`uuid:`, `username:`, `cpr:`).
    pub identities: Vec<IdentityHint>,
    /// The professional identity (`mitid_erhverv_uuid:`) of a MitID Erhverv login.
    pub professional: Option<Uuid>,
}

/// Reads the parameter; the error says what is wrong with it.
pub fn parse(value: &str) -> Result<Simulation, String> {
    let mut tokens = value.split_whitespace();
    let mode = match tokens.next() {
        Some("ui") => SimulationMode::Ui,
        Some("no-ui") => SimulationMode::NoUi,
        other => {
            return Err(format!(
                "simulation mode `{}` is neither ui nor no-ui",
                other.unwrap_or_default()
            ))
        }
    };
    let mut simulation = Simulation {
        mode,
        identities: Vec::new(),
        professional: None,
    };
    for token in tokens {
        let (key, raw) = token
            .split_once(':')
            .ok_or_else(|| format!("`{token}` is not <key>:<value>"))?;
        match key {
            "mitid_erhverv_uuid" if simulation.professional.is_none() => {
                simulation.professional = Some(
                    Uuid::parse_str(raw).map_err(|err| format!("`{raw}` is not a UUID: {err}"))?,
                )
            }
            "uuid" | "username" | "cpr" => simulation.identities.push(IdentityHint::parse(token)?),
            other => {
                return Err(format!(
                "unknown or repeated key `{other}`: use uuid, username, cpr or mitid_erhverv_uuid"
            ))
            }
        }
    }
    if mode == SimulationMode::NoUi
        && simulation.identities.is_empty()
        && simulation.professional.is_none()
    {
        return Err(
            "no-ui names nobody: add username:<user ID>, uuid:, cpr: or mitid_erhverv_uuid:".into(),
        );
    }
    Ok(simulation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nebs_syntax_and_says_what_is_wrong() {
        let sim = parse("no-ui username:anna.jensen").unwrap();
        assert_eq!(sim.mode, SimulationMode::NoUi);
        assert_eq!(
            sim.identities,
            vec![IdentityHint::Username("anna.jensen".into())]
        );
        let sim = parse("no-ui mitid_erhverv_uuid:0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01").unwrap();
        assert!(sim.identities.is_empty() && sim.professional.is_some());
        assert_eq!(parse("ui").unwrap().mode, SimulationMode::Ui);
        for (bad, says) in [
            ("headless", "neither ui nor no-ui"),
            ("no-ui", "names nobody"),
            ("no-ui user:x", "unknown or repeated key `user`"),
            ("no-ui uuid:nope", "not a UUID"),
            ("no-ui username", "not <key>:<value>"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
