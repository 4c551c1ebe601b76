//! mitid-sim's headless logins, in NEB's syntax: `<mode> <key>:<value> …`, space-separated
//! inside one parameter (`no-ui uuid:<guid>`, `ui username:<user ID>`, `no-ui cpr:<CPR>`,
//! `no-ui mitid_erhverv_uuid:<uuid>`). NEB defines it for OpenID Connect; NemLog-in has no
//! simulation mode, so its personality takes the same syntax beside `SAMLRequest` and one
//! habit serves both. Each personality decides who may use it and what a mode without a
//! name means.

use uuid::Uuid;

use super::IdentityHint;

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
    /// The professional identity (`mitid_erhverv_uuid:`, its persistent professional ID)
    /// a MitID Erhverv login acts as.
    pub professional: Option<Uuid>,
}

impl Simulation {
    /// Reads the parameter's value; the error says what is wrong with it.
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
                        Uuid::parse_str(raw)
                            .map_err(|err| format!("`{raw}` is not a UUID: {err}"))?,
                    )
                }
                "uuid" | "username" | "cpr" => {
                    simulation.identities.push(IdentityHint::parse(token)?)
                }
                other => {
                    return Err(format!(
                        "unknown or repeated key `{other}`: use uuid, username, cpr or mitid_erhverv_uuid"
                    ))
                }
            }
        }
        Ok(simulation)
    }

    pub fn no_ui(&self) -> bool {
        self.mode == SimulationMode::NoUi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nebs_syntax_and_says_what_is_wrong() {
        let sim = Simulation::parse("no-ui username:anna.jensen").unwrap();
        assert_eq!(sim.mode, SimulationMode::NoUi);
        assert_eq!(
            sim.identities,
            vec![IdentityHint::Username("anna.jensen".into())]
        );
        let sim =
            Simulation::parse("no-ui mitid_erhverv_uuid:0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01")
                .unwrap();
        assert!(sim.identities.is_empty() && sim.professional.is_some());
        let ui = Simulation::parse("ui").unwrap();
        assert!(ui.mode == SimulationMode::Ui && ui.identities.is_empty());
        let id = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01";
        for (bad, says) in [
            ("headless", "neither ui nor no-ui"),
            ("", "neither ui nor no-ui"),
            ("no-ui user:x", "unknown or repeated key `user`"),
            ("no-ui uuid:nope", "not a UUID"),
            ("ui mitid_erhverv_uuid:x", "not a UUID"),
            ("no-ui username", "not <key>:<value>"),
        ] {
            let err = Simulation::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let twice = format!("no-ui mitid_erhverv_uuid:{id} mitid_erhverv_uuid:{id}");
        let err = Simulation::parse(&twice).unwrap_err();
        assert!(err.contains("repeated key `mitid_erhverv_uuid`"), "{err}");
    }
}
