//! `serve --tls`: HTTPS that clients reach by trusting only the local CA mitid-sim prints,
//! proven with OpenSSL (the openssl crate, as curl, Python and Node verify), rustls (reqwest,
//! the openidconnect crate) and Node's openid-client, which refuses plain-HTTP issuers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mitid_sim::tls::ServerTls;
use mitid_sim::Simulator;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::helpers::{query_of, TempHome, REDIRECT_URI};

/// A reqwest client (rustls) whose only trusted root is `ca_pem`.
fn trusting_only(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_https_broker_is_reached_through_its_local_ca_and_sets_secure_cookies() {
    let home = TempHome::new();
    let tls = ServerTls::local(home.path(), &[]).unwrap();
    let ca = tls.ca_pem().unwrap();
    let sim = Simulator::builder().tls(tls).start().await.unwrap();
    assert!(
        sim.issuer().starts_with("https://127.0.0.1:"),
        "{}",
        sim.issuer()
    );

    let client = trusting_only(&ca);
    let discovery: serde_json::Value = client
        .get(format!("{}/.well-known/openid-configuration", sim.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], sim.issuer());
    assert!(discovery["token_endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://"));

    // A login's SSO cookie is Secure over https.
    let authorize = format!(
        "{}/connect/authorize?{}",
        sim.issuer(),
        serde_urlencoded::to_string([
            ("client_id", "demo-rp"),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
            ("nonce", "n"),
            ("simulation", "no-ui"),
            ("login_hint", "username:app.approve"),
        ])
        .unwrap()
    );
    let response = client.get(authorize).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<_> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(!cookies.is_empty());
    assert!(cookies.iter().all(|c| c.contains("Secure")), "{cookies:?}");

    // A client that trusts only the web's roots cannot reach it.
    let stranger = reqwest::Client::new();
    let refused = stranger
        .get(sim.issuer())
        .send()
        .await
        .expect_err("untrusted");
    assert!(
        format!("{refused:?}")
            .to_lowercase()
            .contains("certificate"),
        "{refused:?}"
    );
    sim.stop().await;
}

/// An OpenSSL handshake with `host`, trusting only `ca` (none: trusting nothing).
fn openssl_handshake(port: u16, host: &str, ca: Option<&[u8]>) -> Result<(), String> {
    use openssl::ssl::{SslConnector, SslMethod};
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::X509;
    let mut store = X509StoreBuilder::new().unwrap();
    if let Some(ca) = ca {
        store.add_cert(X509::from_pem(ca).unwrap()).unwrap();
    }
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.set_cert_store(store.build());
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    connector
        .build()
        .connect(host, tcp)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn openssl_verifies_the_certificate_for_the_loopback_names_against_the_ca_alone() {
    let home = TempHome::new();
    let tls = ServerTls::local(home.path(), &[]).unwrap();
    let ca = tls.ca_pem().unwrap();
    let sim = Simulator::builder().tls(tls).start().await.unwrap();
    let port = url::Url::parse(sim.issuer()).unwrap().port().unwrap();
    let outcomes = tokio::task::spawn_blocking(move || {
        [
            openssl_handshake(port, "127.0.0.1", Some(&ca)),
            openssl_handshake(port, "localhost", Some(&ca)),
            openssl_handshake(port, "127.0.0.1", None),
            openssl_handshake(port, "broker.example", Some(&ca)),
        ]
    })
    .await
    .unwrap();
    assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
    assert!(outcomes[1].is_ok(), "{:?}", outcomes[1]);
    assert!(outcomes[2].is_err(), "without the CA the handshake fails");
    assert!(
        outcomes[3].is_err(),
        "a name the certificate does not cover fails"
    );
    sim.stop().await;
}

#[tokio::test]
async fn the_openidconnect_crate_over_rustls_logs_in_trusting_only_the_ca() {
    let home = TempHome::new();
    let tls = ServerTls::local(home.path(), &[]).unwrap();
    let ca = tls.ca_pem().unwrap();
    let sim = Simulator::builder().tls(tls).start().await.unwrap();
    let http = openidconnect::reqwest::ClientBuilder::new()
        .tls_built_in_root_certs(false)
        .add_root_certificate(openidconnect::reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(sim.issuer().into()).unwrap(), &http)
            .await
            .expect("discovery over https");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("demo-rp".into()),
        Some(ClientSecret::new("demo-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("mitid".into()))
        .add_extra_param("simulation", "no-ui")
        .add_extra_param("login_hint", "username:app.approve")
        .set_pkce_challenge(challenge)
        .url();
    let response = http.get(url.as_str()).send().await.unwrap();
    let callback = response.headers()["location"].to_str().unwrap().to_string();
    let code = query_of(&callback)["code"].clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the token endpoint over https");
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the id_token verifies with the JWKS fetched over https");
    assert_eq!(claims.issuer().as_str(), sim.issuer());
    sim.stop().await;
}

struct Serving {
    child: Child,
    banner: Vec<String>,
}

impl Serving {
    fn line(&self, label: &str) -> String {
        self.banner
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in {:#?}", self.banner))
            .trim_start()
            .trim_start_matches(label)
            .trim()
            .to_string()
    }

    fn issuer(&self) -> String {
        self.line("issuer")
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mitid-sim serve --port 0 <args>` with its per-user folder in `home`; reads the banner
/// up to the citizens table.
fn serve(home: &Path, args: &[&str]) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .args(["serve", "--port", "0"])
        .args(args)
        .env("MITID_SIM_HOME", home)
        .env_remove("MITID_SIM_STATE_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let banner: Vec<String> = lines
        .by_ref()
        .take_while(|l| !l.starts_with("USER ID"))
        .collect();
    std::thread::spawn(move || lines.for_each(drop));
    Serving { child, banner }
}

async fn discovery_issuer(ca: &Path, issuer: &str) -> String {
    let client = trusting_only(&std::fs::read(ca).unwrap());
    let document: serde_json::Value = client
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    document["issuer"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn serve_tls_prints_the_ca_with_trust_instructions_and_keeps_it_across_restarts() {
    let home = TempHome::new();
    let first = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        move || serve(&home, &["--tls"])
    })
    .await
    .unwrap();
    let ca = PathBuf::from(first.line("CA"));
    assert_eq!(ca, home.path().join("tls").join("ca.pem"));
    let issuer = first.issuer();
    assert!(issuer.starts_with("https://127.0.0.1:"), "{issuer}");
    let text = first.banner.join("\n");
    for how in [
        "Node     NODE_EXTRA_CA_CERTS=",
        "Python   SSL_CERT_FILE=",
        "Java     keytool -importcert",
        ".NET",
        "curl     curl --cacert",
    ] {
        assert!(text.contains(how), "`{how}` missing from\n{text}");
    }
    assert_eq!(discovery_issuer(&ca, &issuer).await, issuer);
    // mitid-sim's own verbs trust the CA as OpenSSL tools do: SSL_CERT_FILE.
    let base = issuer.trim_end_matches("/op").to_string();
    let verb = |trust: Option<&PathBuf>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mitid-sim"));
        command
            .args(["sessions", "list", "--server", &base])
            .env("MITID_SIM_HOME", home.path())
            .env_remove("SSL_CERT_FILE")
            .env_remove("MITID_SIM_ADMIN_TOKEN");
        if let Some(ca) = trust {
            command.env("SSL_CERT_FILE", ca);
        }
        command.output().unwrap()
    };
    let trusted = verb(Some(&ca));
    assert!(trusted.status.success(), "{trusted:?}");
    let untrusted = verb(None);
    assert!(!untrusted.status.success());
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("certificate"));
    let ca_pem = std::fs::read(&ca).unwrap();
    drop(first);

    // A restart serves a certificate of the same CA: clients keep trusting it.
    let second = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        move || serve(&home, &["--tls"])
    })
    .await
    .unwrap();
    assert_eq!(std::fs::read(&ca).unwrap(), ca_pem);
    assert_eq!(
        discovery_issuer(&ca, &second.issuer()).await,
        second.issuer()
    );
    drop(second);

    // With --state-dir the CA lives there; a brought certificate prints no CA.
    let state = home.path().join("state");
    let third = tokio::task::spawn_blocking({
        let (home, state) = (home.path().to_path_buf(), state.clone());
        move || serve(&home, &["--tls", "--state-dir", state.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert_eq!(
        PathBuf::from(third.line("CA")),
        state.join("tls").join("ca.pem")
    );
    drop(third);
    let tls = home.path().join("tls");
    let brought = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        let (cert, key) = (tls.join("server.pem"), tls.join("server-key.pem"));
        move || {
            serve(
                &home,
                &[
                    "--tls-cert",
                    cert.to_str().unwrap(),
                    "--tls-key",
                    key.to_str().unwrap(),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert!(!brought
        .banner
        .iter()
        .any(|l| l.trim_start().starts_with("CA")));
    assert_eq!(
        discovery_issuer(&ca, &brought.issuer()).await,
        brought.issuer()
    );
}

#[test]
fn bad_tls_options_are_refused_with_a_clear_message() {
    let home = TempHome::new();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
            .args(["serve", "--port", "0"])
            .args(args)
            .env("MITID_SIM_HOME", home.path())
            .output()
            .unwrap()
    };
    let half = run(&["--tls-cert", "cert.pem"]);
    assert!(!half.status.success());
    assert!(String::from_utf8_lossy(&half.stderr).contains("--tls-key"));
    let missing = run(&["--tls-cert", "nowhere.pem", "--tls-key", "nowhere.pem"]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("cannot read nowhere.pem"), "{stderr}");
    let plain = run(&["--tls", "--public-url", "http://broker.test:8088"]);
    assert!(!plain.status.success());
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(stderr.contains("must be https://"), "{stderr}");
}

/// `npm ci` once for the Node interop project (tests/run.sh does it on a fresh machine).
fn node_project() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/tls-node");
    if !dir.join("node_modules/openid-client").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is installed (tests/run.sh installs it)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    dir
}

fn node_login(dir: &Path, issuer: &str, ca: Option<&Path>) -> serde_json::Value {
    let mut command = Command::new("node");
    command
        .arg("login.mjs")
        .arg(issuer)
        .current_dir(dir)
        .env_remove("NODE_EXTRA_CA_CERTS");
    if let Some(ca) = ca {
        command.env("NODE_EXTRA_CA_CERTS", ca);
    }
    let output = command.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test]
async fn node_openid_client_refuses_http_and_logs_in_over_https_trusting_the_printed_ca() {
    let home = TempHome::new();
    let dir = tokio::task::spawn_blocking(node_project).await.unwrap();
    let serving = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        move || serve(&home, &["--tls"])
    })
    .await
    .unwrap();
    let (issuer, ca) = (serving.issuer(), PathBuf::from(serving.line("CA")));
    let (https, untrusted, plain) = tokio::task::spawn_blocking({
        let (dir, issuer, ca) = (dir.clone(), issuer.clone(), ca.clone());
        move || {
            let plain = issuer.replacen("https://", "http://", 1);
            (
                node_login(&dir, &issuer, Some(&ca)),
                node_login(&dir, &issuer, None),
                node_login(&dir, &plain, Some(&ca)),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(https["claims"]["iss"], issuer.as_str(), "{https}");
    assert_eq!(https["userinfo"]["mitid.identity_name"], "Carl Automatisk");
    assert_eq!(https["claims"]["sub"], https["userinfo"]["sub"]);
    let untrusted = untrusted["error"].as_str().unwrap_or_default().to_string();
    assert!(untrusted.contains("certificate"), "{untrusted}");
    let plain = plain["error"].as_str().unwrap_or_default().to_string();
    assert!(
        plain.contains("only requests to HTTPS are allowed"),
        "{plain}"
    );
}
