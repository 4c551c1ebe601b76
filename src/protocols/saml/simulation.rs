//! Logging in without the pages, for CI: mitid-sim's `simulation` parameter on the SSO
//! endpoint, beside `SAMLRequest` (a query parameter with HTTP-Redirect, a form field with
//! HTTP-POST). NemLog-in has no simulation mode; the syntax is NEB's, so one habit serves
//! both personalities: `no-ui username:<user ID>` (or `uuid:`, `cpr:`) logs the citizen in
//! at once with their strongest authenticator, `no-ui mitid_erhverv_uuid:<uuid>` the
//! professional identity, and `ui username:<user ID>` shows the pages started for the
//! citizen. The parameter sits outside the request's signature, so only SPs registered
//! with `allow_simulation` (the default) honour it.

use crate::protocols::Simulation;

/// Reads the parameter; a `no-ui` login must name somebody, privately or professionally.
pub fn parse(value: &str) -> Result<Simulation, String> {
    let simulation = Simulation::parse(value)?;
    if simulation.no_ui() && simulation.identities.is_empty() && simulation.professional.is_none() {
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
    fn no_ui_must_name_a_person_or_a_professional_identity() {
        assert!(parse("no-ui username:anna.jensen").is_ok());
        assert!(parse("no-ui mitid_erhverv_uuid:0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01").is_ok());
        assert!(parse("ui").is_ok());
        let err = parse("no-ui").unwrap_err();
        assert!(err.contains("names nobody"), "{err}");
        let err = parse("headless").unwrap_err();
        assert!(err.contains("neither ui nor no-ui"), "{err}");
    }
}
