//! mitid-sim's answers held against the real broker's, as recorded
//! (tests/fixtures/neb-recorded/, see its README): the same members in the same order,
//! the same JSON types and the same constant values. A difference fails unless a row of
//! the fidelity ledger (docs/fidelity.toml) names the member and says why; a row that
//! names a member in which nothing differs any more fails too, so the ledger stays true.

use std::collections::BTreeSet;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use mitid_sim::protocols::fidelity;
use serde_json::{Map, Value};

use crate::helpers::{decode_claims, decode_header, spawn_app, TestApp, CLIENT_ID};

/// The recorded issuer, replaced by the simulator's in recorded values.
const RECORDED_ISSUER: &str = "https://pp.netseidbroker.dk/op";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/neb-recorded/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the request asked, for the markers that stand for it.
struct Request<'a> {
    issuer: &'a str,
    client_id: &'a str,
    nonce: &'a str,
    scope: &'a str,
}

/// Why `ours` is not the recorded `recorded`, if it is not.
fn mismatch(recorded: &Value, ours: &Value, request: &Request) -> Option<String> {
    let fits = match (recorded, ours) {
        (Value::String(marker), Value::String(value))
            if marker.starts_with('{') && marker.ends_with('}') =>
        {
            return fits_marker(marker, value, request)
                .then_some(())
                .map_or_else(|| Some(format!("`{value}` is not {marker}")), |_| None);
        }
        (Value::String(recorded), Value::String(value)) => {
            *recorded == value.replace(request.issuer, RECORDED_ISSUER)
        }
        (Value::Number(_), Value::Number(_)) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Array(recorded), Value::Array(values)) => {
            return if recorded.len() != values.len() {
                Some(format!(
                    "{} items, recorded {}",
                    values.len(),
                    recorded.len()
                ))
            } else {
                recorded
                    .iter()
                    .zip(values)
                    .find_map(|(r, v)| mismatch(r, v, request))
            };
        }
        (Value::Object(recorded), Value::Object(values)) => {
            return object_mismatches(recorded, values, request)
                .into_iter()
                .next()
                .map(|(member, why)| format!("{member}: {why}"));
        }
        _ => false,
    };
    (!fits).then(|| format!("{ours} where the real broker sent {recorded}"))
}

fn fits_marker(marker: &str, value: &str, request: &Request) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let upper_hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    };
    match marker {
        "{uuid}" => uuid::Uuid::parse_str(value).is_ok_and(|u| u.hyphenated().to_string() == value),
        "{hex32}" => upper_hex(value, 32),
        "{hex40}" => upper_hex(value, 40),
        "{unix-time}" | "{digits}" => digits(value),
        "{date}" => time::Date::parse(
            value,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .is_ok(),
        "{cpr}" => value.len() == 10 && digits(value),
        "{dk-cvr}" => value
            .strip_prefix("DK")
            .is_some_and(|rest| rest.len() == 8 && digits(rest)),
        "{pid}" => value
            .strip_prefix("9208-2002-2-")
            .is_some_and(|rest| rest.len() == 12 && digits(rest)),
        "{base64url}" => !value.is_empty() && URL_SAFE_NO_PAD.decode(value).is_ok(),
        "{base64}" => !value.is_empty() && STANDARD.decode(value).is_ok(),
        "{jws}" => value.split('.').count() == 3 && decode_header(value).is_object(),
        "{issuer}" => value == request.issuer,
        "{client_id}" => value == request.client_id,
        "{nonce}" => value == request.nonce,
        "{scope}" => value == request.scope,
        "{string}" => !value.is_empty(),
        other => panic!("unknown marker {other}"),
    }
}

/// Each member in which the two objects differ, with why: missing, extra, another type
/// or value, or out of the recorded order.
fn object_mismatches(
    recorded: &Map<String, Value>,
    ours: &Map<String, Value>,
    request: &Request,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (member, value) in recorded {
        match ours.get(member) {
            None => found.push((member.clone(), "not sent".to_string())),
            Some(ours) => {
                if let Some(why) = mismatch(value, ours, request) {
                    found.push((member.clone(), why));
                }
            }
        }
    }
    for member in ours.keys().filter(|m| !recorded.contains_key(*m)) {
        found.push((member.clone(), "sent, but not by the real broker".into()));
    }
    let common_recorded: Vec<&String> = recorded.keys().filter(|m| ours.contains_key(*m)).collect();
    let common_ours: Vec<&String> = ours.keys().filter(|m| recorded.contains_key(*m)).collect();
    if common_recorded != common_ours {
        found.push((
            "(order)".into(),
            format!("members in the order {common_ours:?}, recorded {common_recorded:?}"),
        ));
    }
    found
}

/// Compares one answer with its recording; panics with every difference no ledger row
/// explains, and with every ledger entry for this file that explains nothing.
fn assert_as_recorded(file: &str, ours: &Value, request: &Request) {
    let recorded = fixture(file);
    let ledger = fidelity::ledger().unwrap();
    let (Value::Object(recorded), Value::Object(ours)) = (&recorded, ours) else {
        panic!("{file}: not a JSON object: {ours}");
    };
    let mut unexplained = Vec::new();
    let mut explained = BTreeSet::new();
    for (member, why) in object_mismatches(recorded, ours, request) {
        let key = format!("{file}:{member}");
        if ledger.explaining(&key).is_some() {
            explained.insert(key);
        } else {
            unexplained.push(format!("{member}: {why}"));
        }
    }
    let stale: Vec<String> = ledger
        .rows
        .iter()
        .flat_map(|row| row.recorded.iter().map(move |m| (row.number, m)))
        .filter(|(_, m)| m.starts_with(&format!("{file}:")) && !m.contains('['))
        .filter(|(_, m)| !explained.contains(*m))
        .map(|(n, m)| format!("row {n} names {m}, which is as recorded now"))
        .collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "{file}: differences no ledger row explains:\n  {}\nstale ledger entries:\n  {}\nmitid-sim sent: {}",
        unexplained.join("\n  "),
        stale.join("\n  "),
        serde_json::to_string_pretty(ours).unwrap()
    );
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.get(&app.url(path)).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn request<'a>(app: &'a TestApp, scope: &'a str) -> Request<'a> {
    Request {
        issuer: app.sim.issuer(),
        client_id: CLIENT_ID,
        nonce: "nonce-456",
        scope,
    }
}

/// A MitID app login of a citizen at Substantial, as in the recordings.
async fn login(app: &TestApp, user: &str, scope: &str) -> Value {
    let callback = app
        .no_ui_login(&format!("username:{user}"), &[("scope", scope)])
        .await;
    app.tokens_for(&callback).await
}

#[tokio::test]
async fn discovery_matches_the_recorded_document() {
    let app = spawn_app().await;
    let document = json(&app, "/op/.well-known/openid-configuration").await;
    assert_as_recorded("discovery.json", &document, &request(&app, ""));
}

#[tokio::test]
async fn jwks_entries_have_the_recorded_members() {
    let app = spawn_app().await;
    let jwks = json(&app, "/op/.well-known/openid-configuration/jwks").await;
    let recorded = fixture("jwks.json");
    let token_signing = recorded["keys"][0].as_object().unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        1,
        "one signing key, as no client signs with ES256: {jwks}"
    );
    let ours = keys[0].as_object().unwrap();
    let differences = object_mismatches(token_signing, ours, &request(&app, ""));
    assert!(differences.is_empty(), "{differences:?}");
    // The certificate is what the kid and x5t name.
    let der = STANDARD.decode(ours["x5c"][0].as_str().unwrap()).unwrap();
    let sha1 = openssl::sha::sha1(&der);
    let hex: String = sha1.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(ours["kid"], hex.as_str());
    assert_eq!(ours["x5t"], URL_SAFE_NO_PAD.encode(sha1).as_str());
    // The transaction-token key and the request-encryption key are not emulated.
    let ledger = fidelity::ledger().unwrap();
    for other in ["jwks.json:keys[1]", "jwks.json:keys[2]"] {
        assert!(ledger.explaining(other).is_some(), "{other}");
    }
}

#[tokio::test]
async fn id_token_matches_the_recorded_claims() {
    let app = spawn_app().await;
    let tokens = login(&app, "app.approve", "openid mitid").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let scope = "openid mitid";
    assert_as_recorded(
        "id_token.header.json",
        &decode_header(id_token),
        &request(&app, scope),
    );
    let claims = decode_claims(id_token);
    assert_as_recorded("id_token.payload.json", &claims, &request(&app, scope));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 300, "five minutes");
    assert_eq!(claims["nbf"], claims["iat"]);
    assert_eq!(claims["sid"], claims["neb_sid"], "as recorded");
    assert_ne!(claims["transaction_id"], claims["idp_transaction_id"]);
}

#[tokio::test]
async fn access_token_matches_the_recorded_claims() {
    let app = spawn_app().await;
    let scope = "openid mitid";
    let tokens = login(&app, "app.approve", scope).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_as_recorded(
        "access_token.header.json",
        &decode_header(access_token),
        &request(&app, scope),
    );
    let claims = decode_claims(access_token);
    assert_as_recorded("access_token.payload.json", &claims, &request(&app, scope));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        10_800,
        "three hours"
    );
    let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
    for shared in [
        "sub",
        "neb_sid",
        "sid",
        "transaction_id",
        "idp_transaction_id",
        "acr",
    ] {
        assert_eq!(claims[shared], id_claims[shared], "{shared}");
    }
}

#[tokio::test]
async fn token_response_has_the_recorded_members() {
    let app = spawn_app().await;
    let scope = "openid mitid ssn nemid.pid userinfo_token";
    let tokens = login(&app, "nemid.ung15", scope).await;
    assert_as_recorded("token_response.json", &tokens, &request(&app, scope));
}

#[tokio::test]
async fn userinfo_matches_the_recorded_mitid_answer() {
    let app = spawn_app().await;
    let scope = "openid mitid";
    let tokens = login(&app, "app.approve", scope).await;
    let userinfo: Value = app.userinfo_of(&tokens).await.json().await.unwrap();
    assert_as_recorded("userinfo.mitid.json", &userinfo, &request(&app, scope));
    let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(userinfo["idp_identity_id"], userinfo["mitid.uuid"]);
    assert_eq!(userinfo["sub"], id_claims["sub"]);
    assert_eq!(userinfo["session_expiry"], id_claims["session_expiry"]);
}

#[tokio::test]
async fn userinfo_with_cpr_and_nemid_pid_matches_the_recorded_answer() {
    let app = spawn_app().await;
    let scope = "openid mitid ssn nemid.pid";
    let tokens = login(&app, "nemid.ung15", scope).await;
    let userinfo: Value = app.userinfo_of(&tokens).await.json().await.unwrap();
    assert_as_recorded("userinfo.full.json", &userinfo, &request(&app, scope));
    assert_eq!(userinfo["dk.cpr"], "0205114996");
    assert_eq!(userinfo["nemid.pid"], "9208-2002-2-020511499601");
}

#[tokio::test]
async fn userinfo_answered_from_the_session_has_no_transaction_claims() {
    let app = spawn_app().await;
    let scope = "openid mitid";
    let first = login(&app, "app.approve", scope).await;
    // The browser's session answers the next request: no new MitID transaction.
    let response = app.get(&app.authorize_url(&[("scope", scope)])).await;
    let callback = crate::helpers::assert_is_redirect_to(&response, crate::helpers::REDIRECT_URI);
    let tokens = app.tokens_for(&callback).await;
    let userinfo: Value = app.userinfo_of(&tokens).await.json().await.unwrap();
    assert_as_recorded("userinfo.sso.json", &userinfo, &request(&app, scope));
    let (a, b) = (
        decode_claims(first["id_token"].as_str().unwrap()),
        decode_claims(tokens["id_token"].as_str().unwrap()),
    );
    assert_eq!(
        a["idp_transaction_id"], b["idp_transaction_id"],
        "one MitID authentication"
    );
    assert_ne!(a["transaction_id"], b["transaction_id"]);
}

#[tokio::test]
async fn userinfo_token_matches_the_recorded_claims() {
    let app = spawn_app().await;
    let scope = "openid mitid ssn nemid.pid userinfo_token";
    let tokens = login(&app, "nemid.ung15", scope).await;
    let token = tokens["userinfo_token"].as_str().unwrap();
    assert_as_recorded(
        "userinfo_token.header.json",
        &decode_header(token),
        &request(&app, scope),
    );
    let claims = decode_claims(token);
    assert_as_recorded(
        "userinfo_token.payload.json",
        &claims,
        &request(&app, scope),
    );
    let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert_eq!(claims["transaction_id"], id_claims["transaction_id"]);
    assert_eq!(
        claims["auth_time"],
        id_claims["auth_time"].to_string().as_str(),
        "the id_token's number, as a string"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
}

#[tokio::test]
async fn a_service_token_matches_the_one_neb_documents() {
    let app = spawn_app().await;
    let client: mitid_sim::protocols::oidc::Client = serde_json::from_value(serde_json::json!({
        "client_id": "api-client",
        "name": "API client",
        "client_secret": "api-secret",
        "allow_client_credentials": true,
    }))
    .unwrap();
    app.sim.register_client(client).await.unwrap();
    let scope = "neb_api";
    let answer: Value = app
        .browser
        .post(app.url("/op/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "api-client"),
            ("client_secret", "api-secret"),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request = Request {
        issuer: app.sim.issuer(),
        client_id: "api-client",
        nonce: "",
        scope,
    };
    assert_as_recorded("service_token_response.json", &answer, &request);
    let token = answer["access_token"].as_str().unwrap();
    assert_as_recorded("service_token.header.json", &decode_header(token), &request);
    let claims = decode_claims(token);
    assert_as_recorded("service_token.payload.json", &claims, &request);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600,
        "an hour"
    );
}
