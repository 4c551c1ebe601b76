//! Every built-in persona attempts a login and gets the outcome its purpose promises.

use time::Duration;

use crate::helpers::{query_of, spawn_app};

/// What each persona's login ends in: `Ok(amr)` or `Err(error_description)`.
fn expected(user: &str) -> Result<&'static str, &'static str> {
    match user {
        "anna.jensen" | "app.only" | "app.approve" | "app.instant" | "beskyttet" | "uden.cpr"
        | "ung.16" | "navne.forskel" | "lange.navne" | "foraelder" | "vaerge" | "fuldmagt"
        | "to.firmaer" | "erhverv.spaerret" => Ok("code_app"),
        "app.high" | "alle.metoder" => Ok("code_app_enchanced"),
        "kodeviser" => Ok("code_token"),
        "kodeoplaeser" => Ok("code_reader"),
        "chip.bruger" => Ok("u2f_token"),
        // NEB's default level is Substantial, which a password alone does not reach.
        "kun.kode" => Err("mitid_loa_not_reachable"),
        "nemid.ung15" => Ok("code_app"),
        "app.reject" => Err("mitid_user_aborted"),
        "app.silent" => Err("mitid_timeout"),
        "spaerret" => Err("mitid_identity_locked"),
        "tilbagekaldt" => Err("mitid_identity_revoked"),
        "suspenderet" => Err("mitid_identity_suspended"),
        "ikke.udstedt" | "nemid.kort" | "nemid.20" | "nemid.1" => Err("mitid_identity_not_issued"),
        // Dedicated MitID Erhverv eIDs have no private identity.
        "erhverv.udlaending" | "erhverv.dedikeret" => Err("mitid_identity_not_issued"),
        other => panic!("persona `{other}` has no expected outcome: add it here"),
    }
}

#[tokio::test]
async fn every_persona_gets_the_mitid_outcome_its_purpose_promises() {
    let app = spawn_app().await;
    for citizen in app.sim.provider().broker.identities.all() {
        let user = citizen.user_id.to_string();
        if user == "app.silent" {
            // Nobody answers: shift the broker clock past the app time-out while waiting.
            let clock = app.sim.clock().clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                clock.advance(Duration::minutes(3));
            });
        }
        // prompt=login: each persona authenticates, whatever SSO session the browser has.
        let callback = app.drive_login(&user, &[("prompt", "login")]).await;
        let params = query_of(&callback);
        match expected(&user) {
            Ok(amr) => {
                let tokens = app.tokens_for(&callback).await;
                let claims = crate::helpers::decode_claims(tokens["id_token"].as_str().unwrap());
                assert_eq!(claims["amr"][0], amr, "{user}");
            }
            Err(description) => {
                assert_eq!(
                    params.get("error").map(String::as_str),
                    Some("access_denied"),
                    "{user}: {callback}"
                );
                assert_eq!(params["error_description"], description, "{user}");
            }
        }
    }
}

#[tokio::test]
async fn every_nemid_persona_logs_in_with_nemid() {
    let app = spawn_app().await;
    for user in [
        "nemid.kort",
        "nemid.20",
        "nemid.1",
        "nemid.ung15",
        "alle.metoder",
    ] {
        let callback = app
            .drive_login(user, &[("idp_values", "nemid"), ("prompt", "login")])
            .await;
        let tokens = app.tokens_for(&callback).await;
        let claims = crate::helpers::decode_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["idp"], "nemid", "{user}");
    }
}

#[tokio::test]
async fn the_readme_persona_table_matches_the_fixtures() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let app = spawn_app().await;
    for citizen in app.sim.provider().broker.identities.all() {
        let row = format!("| `{}` |", citizen.user_id);
        let line = readme
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("README lacks a row for {}", citizen.user_id));
        assert!(
            line.contains(&citizen.purpose),
            "README's purpose for {} differs",
            citizen.user_id
        );
    }
}

#[tokio::test]
async fn the_readme_professional_table_matches_the_fixtures() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let app = spawn_app().await;
    let identities = &app.sim.provider().broker.identities;
    let professionals = identities.professionals();
    assert!(
        !professionals.is_empty(),
        "the built-in workforce is loaded"
    );
    for professional in professionals {
        let row = format!("| `{}` |", professional.uuid);
        let line = readme
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("README lacks a row for {}", professional.uuid));
        for part in [
            professional.purpose.clone(),
            format!("| `{}` |", professional.cvr),
            format!("| {} |", professional.role.name()),
        ] {
            assert!(
                line.contains(&part),
                "README row of {}: {part}",
                professional.uuid
            );
        }
        let eid = identities
            .all()
            .into_iter()
            .find(|eid| line.contains(&format!("| `{}` |", eid.user_id)))
            .unwrap_or_else(|| panic!("README names no MitID for {}", professional.uuid));
        assert!(professional.logs_in_with(&eid), "{}", professional.uuid);
    }
    for organisation in identities.organisations() {
        let row = format!("| {} | `{}` |", organisation.name, organisation.cvr);
        assert!(readme.contains(&row), "README lacks {row}");
    }
}

#[tokio::test]
async fn a_workforce_that_does_not_fit_the_citizens_stops_the_start() {
    let population = mitid_sim::identity::built_in_population().unwrap();
    let without_anna: Vec<_> = population
        .citizens
        .into_iter()
        .filter(|c| c.user_id.as_str() != "anna.jensen")
        .collect();
    let err = mitid_sim::Simulator::builder()
        .users(without_anna)
        .workforce(population.workforce)
        .start()
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("no citizen has CPR 120385-1234"),
        "{err}"
    );
}

#[test]
fn the_users_fixture_header_documents_every_key_the_citizens_use() {
    let text = include_str!("../../fixtures/users.toml");
    let header: String = text
        .lines()
        .take_while(|line| line.starts_with('#') || line.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let users: toml::Value = toml::from_str(text).unwrap();
    let mut keys = std::collections::BTreeSet::new();
    fn collect(value: &toml::Value, keys: &mut std::collections::BTreeSet<String>) {
        match value {
            toml::Value::Table(table) => {
                for (key, inner) in table {
                    keys.insert(key.clone());
                    collect(inner, keys);
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|i| collect(i, keys)),
            _ => {}
        }
    }
    for user in users["user"].as_array().unwrap() {
        collect(user, &mut keys);
    }
    assert!(keys.len() > 20, "{keys:?}");
    let undocumented: Vec<_> = keys
        .iter()
        .filter(|key| {
            !header.contains(&format!("  {key} "))
                && !header.contains(&format!(" {key} ="))
                && !header.contains(&format!("[user.{key}]"))
                && !header.contains(&format!("[[user.{key}]]"))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "keys of [[user]] the header of fixtures/users.toml does not describe: {undocumented:?}"
    );
}

/// What a MitID Erhverv login as a built-in professional identity ends in: `Ok(())` for an
/// active one, else the RP's `error_description`.
fn professional_outcome(
    professional: &mitid_sim::identity::ProfessionalIdentity,
) -> Result<(), &'static str> {
    use mitid_sim::identity::ProfessionalStatus;
    match professional.status {
        ProfessionalStatus::Active => Ok(()),
        ProfessionalStatus::Locked => Err("mitid_erhverv_identity_locked"),
        other => panic!(
            "persona {} is {other:?}: add its outcome here",
            professional.uuid
        ),
    }
}

#[tokio::test]
async fn every_professional_persona_logs_in_through_the_pages_and_headless() {
    let app = spawn_app().await;
    let identities = &app.sim.provider().broker.identities;
    let erhverv = [
        ("idp_values", "mitid_erhverv"),
        ("scope", "openid nemlogin"),
        ("prompt", "login"),
    ];
    for professional in identities.professionals() {
        let uuid = professional.uuid.to_string();
        // Each MitID it logs in with: the private one and/or the dedicated eID.
        let eids: Vec<_> = identities
            .all()
            .into_iter()
            .filter(|eid| professional.logs_in_with(eid))
            .collect();
        assert!(!eids.is_empty(), "{uuid} has a MitID");
        let mut callbacks = Vec::new();
        for eid in &eids {
            callbacks.push((
                format!("pages as {}", eid.user_id),
                app.drive_login_choosing(eid.user_id.as_str(), Some(&uuid), &erhverv)
                    .await,
            ));
        }
        callbacks.push((
            "headless".into(),
            app.no_ui_login(&format!("mitid_erhverv_uuid:{uuid}"), &erhverv)
                .await,
        ));
        for (how, callback) in callbacks {
            let params = query_of(&callback);
            match professional_outcome(&professional) {
                Ok(()) => {
                    let tokens = app.tokens_for(&callback).await;
                    let claims =
                        crate::helpers::decode_claims(tokens["id_token"].as_str().unwrap());
                    assert_eq!(claims["identity_type"], "professional", "{uuid} {how}");
                    let info: serde_json::Value =
                        app.userinfo_of(&tokens).await.json().await.unwrap();
                    assert_eq!(
                        info["nemlogin.persistent_professional_id"], uuid,
                        "{uuid} {how}"
                    );
                    assert_eq!(
                        info["nemlogin.cvr"],
                        professional.cvr.as_str(),
                        "{uuid} {how}"
                    );
                }
                Err(description) => {
                    assert_eq!(params["error_description"], description, "{uuid} {how}");
                }
            }
        }
    }
}
