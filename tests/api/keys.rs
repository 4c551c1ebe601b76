//! Signing keys as RPs that pin the certificate need them: kept across restarts, exported
//! for pinning, replaced only when asked; RS256 unless a client is registered otherwise.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, PS256};
use mitid_sim::broker::keys::SigningAlg;
use mitid_sim::protocols::oidc::clients::parse_clients;
use mitid_sim::Simulator;
use serde_json::Value;

use crate::helpers::{decode_header, spawn_with};
use crate::openid_client::login_with_library;

fn temporary(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mitid-sim-{name}-{}", uuid::Uuid::new_v4()))
}

/// `mitid-sim serve` on a free port, with `home` as the per-user folder.
struct Served {
    child: Child,
    base: String,
    keys_line: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn serve(home: &Path, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .env("MITID_SIM_HOME", home)
        .env_remove("MITID_SIM_KEYS")
        .env_remove("MITID_SIM_STATE_DIR")
        .args(["serve", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let mut issuer = String::new();
    let mut keys_line = String::new();
    for line in lines.by_ref() {
        let line = line.trim().to_string();
        if let Some(rest) = line.strip_prefix("issuer") {
            issuer = rest.trim().to_string();
        }
        if let Some(rest) = line.strip_prefix("keys") {
            keys_line = rest.trim().to_string();
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Served {
        child,
        base: issuer.trim_end_matches("/op").to_string(),
        keys_line,
    }
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

fn sha1_hex(der: &[u8]) -> String {
    openssl::sha::sha1(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn pem_der(pem: &str) -> Vec<u8> {
    openssl::x509::X509::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap()
}

fn run(home: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .env("MITID_SIM_HOME", home)
        .env_remove("MITID_SIM_SERVER")
        .env_remove("MITID_SIM_ADMIN_TOKEN")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mitid-sim {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn the_kept_certificate_survives_a_restart_and_is_exported_for_pinning() {
    let home = temporary("home");
    let first = tokio::task::spawn_blocking({
        let home = home.clone();
        move || serve(&home, &[])
    })
    .await
    .unwrap();
    let kept = home.join("signing-keys");
    assert_eq!(first.keys_line, format!("kept in {}", kept.display()));
    let jwks = get_json(&format!(
        "{}/op/.well-known/openid-configuration/jwks",
        first.base
    ))
    .await;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
    let der = STANDARD
        .decode(jwks["keys"][0]["x5c"][0].as_str().unwrap())
        .unwrap();
    assert_eq!(
        sha1_hex(&der),
        kid,
        "kid is the certificate's SHA-1 thumbprint"
    );

    // The certificate to pin, from the running broker: CLI and admin API.
    let base = first.base.clone();
    let cli_pem = tokio::task::spawn_blocking({
        let home = home.clone();
        move || run(&home, &["keys", "certificate", "--server", &base])
    })
    .await
    .unwrap();
    assert_eq!(pem_der(&cli_pem), der);
    let admin_pem = reqwest::get(format!("{}/admin/keys/certificate?format=pem", first.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pem_der(&admin_pem), der);
    let listed = get_json(&format!("{}/admin/keys/certificate", first.base)).await;
    assert_eq!(listed["kid"], kid.as_str());
    assert_eq!(listed["alg"], "RS256");
    drop(first);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kept.join("rs256.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the kept private key is the owner's only");
    }

    // A restart signs with the same certificate, and so does an offline export.
    let again = tokio::task::spawn_blocking({
        let home = home.clone();
        move || serve(&home, &[])
    })
    .await
    .unwrap();
    let jwks = get_json(&format!(
        "{}/op/.well-known/openid-configuration/jwks",
        again.base
    ))
    .await;
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());
    drop(again);
    let exported = tokio::task::spawn_blocking({
        let home = home.clone();
        move || run(&home, &["certs", "export"])
    })
    .await
    .unwrap();
    assert_eq!(pem_der(&exported), der);
    std::fs::remove_dir_all(home).ok();
}

#[tokio::test]
async fn fresh_and_given_keys_replace_the_kept_certificate() {
    let home = temporary("home");
    let kept = home.join("signing-keys");
    let jwks_kid = |base: String| async move {
        get_json(&format!("{base}/op/.well-known/openid-configuration/jwks")).await["keys"][0]
            ["kid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = tokio::task::spawn_blocking({
        let home = home.clone();
        move || serve(&home, &[])
    })
    .await
    .unwrap();
    let kept_kid = jwks_kid(first.base.clone()).await;
    drop(first);
    let kept_file = std::fs::read(kept.join("rs256.pem")).unwrap();

    let fresh = tokio::task::spawn_blocking({
        let home = home.clone();
        move || serve(&home, &["--fresh-keys"])
    })
    .await
    .unwrap();
    assert_eq!(fresh.keys_line, "fresh for this run");
    assert_ne!(jwks_kid(fresh.base.clone()).await, kept_kid);
    drop(fresh);
    assert_eq!(
        std::fs::read(kept.join("rs256.pem")).unwrap(),
        kept_file,
        "--fresh-keys leaves the kept keys alone"
    );

    // A per-user folder that cannot be written (a read-only home) does not stop the start.
    let unwritable = tokio::task::spawn_blocking(|| serve(Path::new("/dev/null/home"), &[]))
        .await
        .unwrap();
    assert!(
        unwritable
            .keys_line
            .starts_with("fresh for this run (cannot keep keys: "),
        "{}",
        unwritable.keys_line
    );
    assert!(!jwks_kid(unwritable.base.clone()).await.is_empty());
    drop(unwritable);

    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/certs");
    let given = tokio::task::spawn_blocking({
        let home = home.clone();
        move || serve(&home, &["--keys", certs])
    })
    .await
    .unwrap();
    assert_eq!(given.keys_line, format!("from {certs}"));
    let test_keys = mitid_sim::broker::KeySet::load(Path::new(certs)).unwrap();
    assert_eq!(
        jwks_kid(given.base.clone()).await,
        test_keys.kid(SigningAlg::RS256).await.unwrap()
    );
    drop(given);

    // In process, keys kept in a folder of the test's choosing behave the same.
    let dir = temporary("kept");
    let sim = Simulator::builder()
        .keys_kept_in(&dir)
        .start()
        .await
        .unwrap();
    let kid = sim
        .provider()
        .broker
        .keys
        .kid(SigningAlg::RS256)
        .await
        .unwrap();
    sim.stop().await;
    let sim = Simulator::builder()
        .keys_kept_in(&dir)
        .start()
        .await
        .unwrap();
    assert_eq!(
        sim.provider()
            .broker
            .keys
            .kid(SigningAlg::RS256)
            .await
            .unwrap(),
        kid
    );
    sim.stop().await;
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(home).ok();
}

#[tokio::test]
async fn a_client_registered_for_es256_gets_es256_id_tokens_and_the_ec_key_in_the_jwks() {
    let app = spawn_with(Simulator::builder()).await;
    let discovery = |app: &crate::helpers::TestApp| {
        let url = app.url("/op/.well-known/openid-configuration");
        async move { get_json(&url).await }
    };
    assert_eq!(
        discovery(&app).await["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"]),
        "as the real broker, while every client signs with RS256"
    );
    for (client_id, alg) in [("rp-es256", "ES256"), ("rp-ps256", "PS256")] {
        let toml = format!(
            r#"[[client]]
client_id = "{client_id}"
name = "{alg} RP"
client_secret = "demo-secret"
id_token_signed_response_alg = "{alg}"
redirect_uris = ["http://localhost:8080/callback"]
"#
        );
        let client = parse_clients(&toml).unwrap().remove(0);
        app.sim.register_client(client).await.unwrap();
    }
    assert_eq!(
        discovery(&app).await["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "PS256", "ES256"])
    );
    let jwks = get_json(&app.url("/op/.well-known/openid-configuration/jwks")).await;
    let kty: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kty"].as_str().unwrap())
        .collect();
    assert_eq!(
        kty,
        ["RSA", "EC"],
        "the EC key is published for the ES256 client"
    );

    // An independent RP library verifies the ES256 id_token against discovery and JWKS.
    let (_, raw) = login_with_library(&app, "rp-es256", "app.approve").await;
    assert_eq!(decode_header(&raw)["alg"], "ES256");
    for session in app.sim.sessions() {
        app.sim.end_session(session.id).unwrap();
    }
    let (_, raw) = login_with_library(&app, "rp-ps256", "app.approve").await;
    let header = decode_header(&raw);
    assert_eq!(header["alg"], "PS256");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the PS256 token names the RSA key");
    let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
    assert!(
        josekit::jwt::decode_with_verifier(&raw, &PS256.verifier_from_jwk(&jwk).unwrap()).is_ok()
    );
    let ec = jwks["keys"][1].as_object().unwrap().clone();
    assert!(ES256.verifier_from_jwk(&Jwk::from_map(ec).unwrap()).is_ok());
}
