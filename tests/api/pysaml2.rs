//! The independent SAML SP the NemLog-in tests drive: pysaml2 (Python), one JSON command
//! per line (`tests/interop/python/sp.py`), and the browser's part of SAML flows against
//! a running broker (following its redirects and reading the forms it posts on).
//!
//! The venv comes from `tests/interop/install.sh` (the test command runs it).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use mitid_sim::protocols::saml::credential::Credential;
use mitid_sim::protocols::saml::idp::METADATA_PATH;

use crate::helpers::{location, Page, TestApp};

/// The pysaml2 SP process.
pub struct PythonSp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl PythonSp {
    pub fn start() -> PythonSp {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/python");
        let python = dir.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `bash tests/interop/install.sh` (the test command does)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(dir.join("sp.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the pysaml2 SP");
        PythonSp {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
        }
    }

    pub fn call(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(
            !line.is_empty(),
            "the pysaml2 harness exited (see its stderr above)"
        );
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}"));
        assert!(
            answer.get("trace").is_none(),
            "pysaml2 harness failed: {answer}"
        );
        answer
    }
}

impl Drop for PythonSp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// An SP's key pair in files, as pysaml2 reads them (the folder goes when dropped).
pub struct SpFiles {
    _dir: TempDir,
    pub key_file: PathBuf,
    pub cert_file: PathBuf,
}

pub fn sp_files(name: &str) -> SpFiles {
    let dir = TempDir::new("mitid-sim-pysaml2");
    let key = Credential::generate(name).unwrap();
    let key_file = dir.0.join("sp.key");
    let cert_file = dir.0.join("sp.crt");
    std::fs::write(&key_file, key.private_key_pem()).unwrap();
    std::fs::write(&cert_file, key.certificate().pem()).unwrap();
    SpFiles {
        _dir: dir,
        key_file,
        cert_file,
    }
}

/// How a test SP is set up.
pub struct SpSetup {
    /// Its SingleLogoutService bindings (`redirect`, `post`, `soap`).
    pub slo_bindings: &'static [&'static str],
    /// Answer the IdP's back-channel LogoutRequests on a SOAP endpoint of its own.
    pub serve_soap: bool,
    pub want_response_signed: bool,
}

impl Default for SpSetup {
    fn default() -> Self {
        SpSetup {
            slo_bindings: &["redirect", "post"],
            serve_soap: false,
            want_response_signed: false,
        }
    }
}

/// A pysaml2 SP registered with a running broker through the admin API, by the metadata
/// pysaml2 wrote for itself.
pub struct Sp {
    pub python: PythonSp,
    pub entity_id: String,
    pub acs: String,
    _files: SpFiles,
}

impl Sp {
    pub async fn registered(app: &TestApp, name: &str, setup: SpSetup) -> Sp {
        Sp::registered_at(app, name, setup, &format!("https://{name}.example.dk/saml")).await
    }

    /// As [`Sp::registered`], with its endpoints under `base` (a server a real browser
    /// can reach, say).
    pub async fn registered_at(app: &TestApp, name: &str, setup: SpSetup, base: &str) -> Sp {
        let idp_metadata = app.get(&app.url(METADATA_PATH)).await.text().await.unwrap();
        let files = sp_files(name);
        let mut python = PythonSp::start();
        let mut slo_bindings = setup.slo_bindings.to_vec();
        if setup.serve_soap {
            slo_bindings.push("soap");
        }
        let configured = python.call(json!({
            "op": "configure",
            "entity_id": format!("{base}/metadata"),
            "acs": format!("{base}/acs"),
            "slo": format!("{base}/slo"),
            "slo_bindings": slo_bindings,
            "serve_soap": setup.serve_soap,
            "key_file": files.key_file,
            "cert_file": files.cert_file,
            "idp_metadata": idp_metadata,
            "want_response_signed": setup.want_response_signed,
        }));
        let (status, registered) = app
            .admin(
                Method::POST,
                "/nemlogin/service-providers",
                Some(json!({
                    "metadata": configured["metadata"],
                    "name": format!("Tjeneste {name}"),
                    "sign_response": setup.want_response_signed,
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        Sp {
            python,
            entity_id: format!("{base}/metadata"),
            acs: format!("{base}/acs"),
            _files: files,
        }
    }

    /// pysaml2's AuthnRequest over `binding` (`redirect`, `post`), as the browser carries
    /// it to the broker; `extra` goes beside the message (mitid-sim's `simulation`).
    pub async fn start_login(
        &mut self,
        app: &TestApp,
        binding: &str,
        request: Value,
        extra: &[(&str, &str)],
    ) -> (String, Seen) {
        let mut command = request;
        command["op"] = json!("authn_request");
        command["binding"] = json!(binding);
        let sent = self.python.call(command);
        let request_id = sent["request_id"].as_str().unwrap().to_string();
        let url = sent["url"].as_str().unwrap_or_else(|| panic!("{sent}"));
        let seen = match binding {
            "redirect" => {
                let mut url = url::Url::parse(url).unwrap();
                url.query_pairs_mut().extend_pairs(extra);
                app.saml_get(url.as_str()).await
            }
            _ => {
                let mut fields: Vec<(String, String)> = sent["fields"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                app.saml_post(url, &fields).await
            }
        };
        (request_id, seen)
    }

    /// Hands the broker's form to the SP's ACS, as the browser posts it.
    pub fn acs(&mut self, form: &Form) -> Value {
        assert_eq!(form.action, self.acs, "the Response goes to the SP's ACS");
        self.python.call(json!({
            "op": "acs_post",
            "saml_response": form.fields["SAMLResponse"],
        }))
    }

    /// A full login through whatever the broker shows, ending at the SP: the pages for
    /// `user_id`, or an answer at once.
    pub async fn log_in(
        &mut self,
        app: &TestApp,
        binding: &str,
        request: Value,
        user_id: &str,
    ) -> Value {
        let (_, seen) = self.start_login(app, binding, request, &[]).await;
        let form = app.finish_at_pages(seen, user_id).await;
        let answer = self.acs(&form);
        assert_eq!(answer["ok"], json!(true), "{answer}");
        answer
    }
}

/// A form the broker hands the browser to post on.
#[derive(Debug)]
pub struct Form {
    pub action: String,
    pub fields: HashMap<String, String>,
}

/// What the broker answered a SAML message with, as the browser sees it.
#[derive(Debug)]
pub enum Seen {
    /// The MitID pages (a login page).
    Pages(Page),
    /// A form to post on (the auto-submitting page).
    Form(Form),
    /// A redirect away from the broker.
    Redirect(String),
    /// Anything else (an error page).
    Other(StatusCode, String),
}

impl Seen {
    #[track_caller]
    pub fn form(self) -> Form {
        match self {
            Seen::Form(form) => form,
            other => panic!("expected a form to post on, got {other:?}"),
        }
    }

    #[track_caller]
    pub fn redirect(self) -> String {
        match self {
            Seen::Redirect(to) => to,
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[track_caller]
    pub fn pages(self) -> Page {
        match self {
            Seen::Pages(page) => page,
            other => panic!("expected the login pages, got {other:?}"),
        }
    }
}

/// The form of the auto-submitting post page, if the page is one.
pub fn form_in(html: &str) -> Option<Form> {
    let document = scraper::Html::parse_document(html);
    let form_selector = scraper::Selector::parse("form#saml-post").unwrap();
    let input_selector = scraper::Selector::parse("input[type=hidden]").unwrap();
    let form = document.select(&form_selector).next()?;
    let fields = form
        .select(&input_selector)
        .map(|input| {
            let value = input.value();
            (
                value.attr("name").unwrap_or_default().to_string(),
                value.attr("value").unwrap_or_default().to_string(),
            )
        })
        .collect();
    Some(Form {
        action: form.value().attr("action").unwrap_or_default().to_string(),
        fields,
    })
}

impl TestApp {
    pub async fn saml_get(&self, url: &str) -> Seen {
        let response = self.get(url).await;
        self.seen(response).await
    }

    pub async fn saml_post(&self, url: &str, fields: &[(String, String)]) -> Seen {
        let response = self.browser.post(url).form(fields).send().await.unwrap();
        self.seen(response).await
    }

    pub async fn seen(&self, response: Response) -> Seen {
        let status = response.status();
        if status == StatusCode::SEE_OTHER || status == StatusCode::FOUND {
            let to = location(&response);
            if to.starts_with("/login/") {
                return Seen::Pages(self.page(&to).await);
            }
            return Seen::Redirect(to);
        }
        let html = response.text().await.unwrap();
        match form_in(&html) {
            Some(form) if status == StatusCode::OK => Seen::Form(form),
            _ => Seen::Other(status, html),
        }
    }

    /// Completes the MitID pages as `user_id` (whose app answers by itself, or who logs in
    /// with a password alone) and returns the form the broker hands the browser at the end;
    /// an answer given at once (a session, `simulation=no-ui`) is returned as it is.
    pub async fn finish_at_pages(&self, seen: Seen, user_id: &str) -> Form {
        let mut page = match seen {
            Seen::Form(form) => return form,
            Seen::Pages(page) => page,
            other => panic!("expected the login pages or a form, got {other:?}"),
        };
        let citizen = self.citizen(user_id);
        for _ in 0..300 {
            if let Some(form) = form_in(&page.html) {
                return form;
            }
            let posted = match crate::helpers::step_of(&page).as_str() {
                "user_id" => {
                    self.post_form(&page, "user-id", &[("user_id", user_id)])
                        .await
                }
                "password" => {
                    let password = citizen.password.as_ref().unwrap().expose().to_string();
                    self.post_form(&page, "password", &[("password", &password)])
                        .await
                }
                "failed" => self.post_form(&page, "return", &[]).await,
                // The app answers by itself: the page is polled until the login ends.
                "app" => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    page = self.page(&page.url).await;
                    continue;
                }
                other => panic!(
                    "the SAML driver does not know step `{other}`:\n{}",
                    page.html
                ),
            };
            page = match self.seen(posted).await {
                Seen::Form(form) => return form,
                Seen::Pages(next) => next,
                other => panic!("a form post answered {other:?}"),
            };
        }
        panic!("the login never finished");
    }

    /// The broker sessions as the admin API lists them.
    pub async fn sessions_json(&self) -> Vec<Value> {
        let (_, sessions) = self.admin(Method::GET, "/sessions", None).await;
        sessions.as_array().unwrap().clone()
    }
}
