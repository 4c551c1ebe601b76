//! Talking to a running broker's admin API (`/admin/...`): the connection flags, one
//! request at a time, and errors as one line.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::block_on;
use super::output::print_json;

/// Where `mitid-sim serve` listens by default.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8088";

/// The admin API's bearer token.
#[derive(clap::Args, Clone, Debug)]
pub struct TokenArgs {
    /// Bearer token of the broker's admin API (what `serve --admin-token` was given).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "MITID_SIM_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
}

/// The running broker a live subcommand talks to, and how to print its answer.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerArgs {
    /// Base URL of the running broker.
    #[arg(long, value_name = "URL", env = "MITID_SIM_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    #[command(flatten)]
    token: TokenArgs,
    /// Print the broker's JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A running broker to ask instead of the fixture files (offline without `--server`).
#[derive(clap::Args, Clone, Debug)]
pub struct LiveArgs {
    /// Base URL of a running broker (e.g. http://127.0.0.1:8088) to read live state from;
    /// without it, the fixtures are read offline.
    #[arg(long, value_name = "URL", env = "MITID_SIM_SERVER")]
    server: Option<String>,
    #[command(flatten)]
    token: TokenArgs,
}

impl ServerArgs {
    pub fn connect(&self) -> Result<Server, String> {
        Server::new(&self.server, self.token.admin_token.clone())
    }

    /// Sends one request and prints the answer: as JSON with `--json`, else as `human` renders it.
    pub fn print(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        human: impl FnOnce(&Value) -> String,
    ) -> Result<(), String> {
        let answer = self.connect()?.call(method, path, body)?;
        self.show(&answer, human)
    }

    /// Prints an answer already fetched, as `print` does.
    pub fn show(&self, answer: &Value, human: impl FnOnce(&Value) -> String) -> Result<(), String> {
        if self.json {
            print_json(answer)
        } else {
            let text = human(answer);
            print!("{text}");
            if !text.is_empty() && !text.ends_with('\n') {
                println!();
            }
            Ok(())
        }
    }
}

impl LiveArgs {
    /// The broker to ask, or `None` to read the fixtures.
    pub fn connect(&self) -> Result<Option<Server>, String> {
        self.server
            .as_deref()
            .map(|url| Server::new(url, self.token.admin_token.clone()))
            .transpose()
    }
}

/// Characters a path segment keeps as they are (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A user ID, client ID or other name as one segment of an admin path.
pub fn segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// A running broker's admin API.
pub struct Server {
    base: String,
    token: Option<String>,
}

impl Server {
    pub fn new(base: &str, token: Option<String>) -> Result<Self, String> {
        let parsed = url::Url::parse(base)
            .map_err(|e| format!("--server `{base}` is not a URL such as {DEFAULT_SERVER}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "--server `{base}` is not an http(s) URL such as {DEFAULT_SERVER}"
            ));
        }
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// `<base>/admin<path>`
    pub fn url(&self, path: &str) -> String {
        format!("{}/admin{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.call(Method::GET, path, None)
    }

    /// Sends an admin request (with a JSON body, if given) and returns the JSON answer.
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, String> {
        self.call_with_status(method, path, body)
            .map(|(_, answer)| answer)
    }

    /// As `call`, with the status of a successful answer (201 Created or 200 OK).
    pub fn call_with_status(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), String> {
        let url = self.url(path);
        let result = block_on(async {
            let mut client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(30));
            // A broker serving the local CA's certificate: SSL_CERT_FILE=ca.pem.
            for root in mitid_sim::tls::roots_from_environment()? {
                client = client.add_root_certificate(root);
            }
            let client = client
                .build()
                .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
            let mut request = client.request(method, &url);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.send_error(&url, &e))?;
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|e| format!("{url} answered {status} but the body broke off: {e}"))?;
            answer(&url, status, &text).map(|value| (status, value))
        });
        result.map_err(|message| one_line(&message))
    }

    fn send_error(&self, url: &str, err: &reqwest::Error) -> String {
        if err.is_timeout() {
            format!("the broker at {} did not answer {url} in time", self.base)
        } else if err.is_connect() {
            format!(
                "cannot reach a broker at {}: {} (is `mitid-sim serve` running there? see --server)",
                self.base,
                root_cause(err)
            )
        } else {
            format!("request to {url} failed: {}", root_cause(err))
        }
    }
}

/// The JSON of a successful answer, or the error line for any other.
fn answer(url: &str, status: StatusCode, text: &str) -> Result<Value, String> {
    let json = if text.trim().is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_str::<Value>(text)
    };
    match json {
        Ok(value) if status.is_success() => Ok(value),
        Ok(value) => {
            let message = value["message"]
                .as_str()
                .or(value["error"].as_str())
                .map(str::to_string);
            Err(match message {
                Some(message) => format!("{url} answered {status}: {message}"),
                None => format!("{url} answered {status}"),
            })
        }
        Err(_) if status.is_success() => Err(format!(
            "{url} answered {status} without JSON: is this a mitid-sim broker?"
        )),
        Err(_) => {
            let first: String = text
                .trim()
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            Err(format!("{url} answered {status}: {first}"))
        }
    }
}

/// The innermost error, which says what actually went wrong (e.g. "Connection refused").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_is_one_line_with_the_brokers_message() {
        let url = "http://127.0.0.1:8088/admin/citizens/x";
        let body = r#"{"error":"not_found","message":"no citizen has user ID `x`"}"#;
        assert_eq!(
            answer(url, StatusCode::NOT_FOUND, body).unwrap_err(),
            "http://127.0.0.1:8088/admin/citizens/x answered 404 Not Found: no citizen has user ID `x`"
        );
        let html = "<html>\n<body>Bad gateway</body></html>";
        assert_eq!(
            answer(url, StatusCode::BAD_GATEWAY, html).unwrap_err(),
            format!("{url} answered 502 Bad Gateway: <html>")
        );
        assert!(answer(url, StatusCode::OK, "<html>").is_err());
        assert_eq!(answer(url, StatusCode::OK, "").unwrap(), Value::Null);
    }

    #[test]
    fn a_server_must_be_an_http_url() {
        assert!(Server::new("127.0.0.1:8088", None).is_err());
        assert!(Server::new("ftp://x", None).is_err());
        let server = Server::new("http://127.0.0.1:8088/", Some(String::new())).unwrap();
        assert_eq!(server.url("/keys"), "http://127.0.0.1:8088/admin/keys");
        assert!(server.token.is_none());
    }
}
