//! Headless Chromium driven over the DevTools protocol, for what only a browser shows: a
//! script that reloads a page, a layout at a phone's width. Blocking: run it inside
//! `tokio::task::spawn_blocking`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// One headless Chromium with one tab.
pub struct Chromium {
    process: Child,
    profile: PathBuf,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
}

impl Chromium {
    /// A browser whose tab is a phone `width` CSS pixels wide (touch, 3× pixels).
    pub fn phone(width: u32) -> Self {
        let mut browser = Self::launch();
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": 844, "deviceScaleFactor": 3, "mobile": true }),
        );
        browser
    }

    // Blocking by design: the browser tests run this in `spawn_blocking`.
    #[allow(clippy::disallowed_methods)]
    fn launch() -> Self {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let profile = std::env::temp_dir().join(format!("mitid-sim-cdp-{}", uuid::Uuid::new_v4()));
        let process = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                // A free port, written to DevToolsActivePort in the profile.
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("headless Chromium (`{binary}`) must be installed: bash tests/interop/install.sh ({err})")
            });
        let active = profile.join("DevToolsActivePort");
        let started = Instant::now();
        let endpoint = loop {
            if let Ok(text) = std::fs::read_to_string(&active) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break format!("ws://127.0.0.1:{port}{path}");
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Chromium did not open its DevTools port"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let (socket, _) = tungstenite::connect(endpoint.as_str()).expect("DevTools connects");
        let mut browser = Self {
            process,
            profile,
            socket,
            session: String::new(),
            next_id: 0,
        };
        let target = browser.browser_call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = browser.browser_call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.try_send(method, params, session)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    fn try_send(
        &mut self,
        method: &str,
        params: Value,
        session: Option<String>,
    ) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .expect("DevTools takes the command");
        loop {
            let reply = self.socket.read().expect("DevTools answers");
            let Message::Text(text) = reply else { continue };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                return match reply.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(reply["result"].clone()),
                };
            }
        }
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A command to the tab.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(method, params, Some(session))
    }

    /// Opens `url` in the tab and waits until it has loaded.
    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for(&format!("{url}: loaded"), || {
            "document.readyState === 'complete' && location.href !== 'about:blank'".into()
        });
    }

    /// The value of a JavaScript expression in the page (DevTools evaluates it whatever
    /// the page's Content-Security-Policy says about scripts).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Polls a boolean expression for up to 15 seconds.
    #[allow(clippy::disallowed_methods)]
    pub fn wait_for(&mut self, what: &str, expression: impl Fn() -> String) {
        let started = Instant::now();
        loop {
            // A navigation in progress destroys the context mid-call: try again.
            let session = self.session.clone();
            let result = self.try_send(
                "Runtime.evaluate",
                json!({ "expression": expression(), "returnByValue": true }),
                Some(session),
            );
            if result.is_ok_and(|r| r["result"]["value"] == json!(true)) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "waited 15 s for {what}; the page shows:\n{}",
                self.eval("document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Lets the page's own scripts run for `duration` (blocking, like the rest).
#[allow(clippy::disallowed_methods)]
pub fn pause(duration: Duration) {
    std::thread::sleep(duration);
}
