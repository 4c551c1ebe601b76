//! The browser driver: headless Chromium over the DevTools protocol (chromiumoxide). One
//! Chromium process per run; every browser a scenario asks for is an isolated browser
//! context of it (its own cookies and storage) with one tab.
//!
//! The process is started in a process group of its own, so that ending the run ends
//! Chromium's helper processes too, whatever state they are in; a run that is dropped
//! (a panic, Ctrl-C in the CLI) kills the group as well.

mod events;
mod interception;
mod scripts;
mod tab;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;

use super::DriverError;
use crate::conformance::profile::BrowserSettings;

pub use tab::ChromiumBrowser;

/// How long Chromium may take to open its DevTools port.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Process groups and profile folders of the Chromiums this process runs, for
/// [`kill_all`].
static LIVE: Mutex<Vec<(i32, PathBuf)>> = Mutex::new(Vec::new());

/// Kills every Chromium this process started and has not ended yet, and removes their
/// profile folders (the CLI calls it on Ctrl-C or SIGTERM, before it exits).
pub fn kill_all() {
    let live = LIVE
        .lock()
        .map(|g| g.clone())
        .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
    for (group, profile) in live {
        kill_group(group);
        let _ = std::fs::remove_dir_all(profile);
    }
}

fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group; it touches no memory.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// Whether any process of group `group` is still alive.
pub fn group_alive(group: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    unsafe { libc::kill(-group, 0) == 0 }
}

/// The Chromium process: killed with its whole process group when dropped, its profile
/// folder removed.
struct Process {
    child: Child,
    profile: PathBuf,
}

impl Process {
    fn group(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        kill_group(self.group());
        let _ = self.child.wait();
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|(g, _)| *g != self.group());
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The pages of a scenario's browsers, kept until the scenario is judged (a FAILED
/// scenario gets a screenshot of the page the kit used last).
#[derive(Default)]
struct ScenarioPages {
    last_page: Option<chromiumoxide::Page>,
    contexts: Vec<BrowserContextId>,
}

/// One headless Chromium for a run.
pub struct Chromium {
    browser: chromiumoxide::Browser,
    handler: tokio::task::JoinHandle<()>,
    process: Process,
    version: String,
    settings: BrowserSettings,
    scenario: Arc<Mutex<ScenarioPages>>,
}

impl Chromium {
    /// Starts Chromium as `settings` say and connects to it.
    pub async fn launch(settings: &BrowserSettings) -> Result<Self, DriverError> {
        let executable = settings.executable();
        let profile = std::env::temp_dir().join(format!(
            "mitid-sim-kit-chromium-{}",
            crate::random::short_id()
        ));
        let mut command = Command::new(&executable);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--password-store=basic",
                "--use-mock-keychain",
                "--mute-audio",
                "--hide-scrollbars",
                "--window-size=1280,900",
                // A free port, written to DevToolsActivePort in the profile.
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|err| {
            DriverError::Browser(format!(
                "cannot start `{}` ({err}): install Chromium (`apt-get install -y chromium`) or set browser.executable in the profile",
                executable.display()
            ))
        })?;
        let process = Process { child, profile };
        if let Ok(mut live) = LIVE.lock() {
            live.push((process.group(), process.profile.clone()));
        }
        let mut process = process;
        let endpoint = devtools_endpoint(&mut process).await?;
        // Commands (a navigation included) may take as long as a page may.
        let config = chromiumoxide::handler::HandlerConfig {
            request_timeout: Duration::from_secs(settings.page_timeout_seconds + 5),
            ..Default::default()
        };
        let (browser, mut events) = chromiumoxide::Browser::connect_with_config(endpoint, config)
            .await
            .map_err(|err| DriverError::Browser(format!("connecting to DevTools: {err}")))?;
        // The handler drives the connection: every command and event goes through it.
        let handler = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let Err(err) = event {
                    tracing::debug!(%err, "a DevTools message the driver does not use");
                }
            }
        });
        let version = browser
            .version()
            .await
            .map(|v| v.product)
            .unwrap_or_else(|_| "Chromium".into());
        Ok(Self {
            browser,
            handler,
            process,
            version,
            settings: settings.clone(),
            scenario: Arc::default(),
        })
    }

    /// `Chromium/156.0.…`, as the browser names itself.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The process group of Chromium and its helpers.
    pub fn process_group(&self) -> i32 {
        self.process.group()
    }

    /// A fresh browser: a new isolated context with one tab.
    pub async fn browser(&self) -> Result<ChromiumBrowser, DriverError> {
        let context = self
            .browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await
            .map_err(cdp)?;
        let page = self
            .browser
            .new_page(
                CreateTargetParams::builder()
                    .url("about:blank")
                    .browser_context_id(context.clone())
                    .build()
                    .map_err(DriverError::Browser)?,
            )
            .await
            .map_err(cdp)?;
        if let Ok(mut scenario) = self.scenario.lock() {
            scenario.contexts.push(context);
        }
        ChromiumBrowser::new(page, self.scenario.clone(), &self.settings).await
    }

    /// Ends the scenario's browsers; with `screenshot`, first takes a PNG of the page the
    /// scenario used last.
    pub async fn end_scenario(&self, screenshot: bool) -> Option<Vec<u8>> {
        let (page, contexts) = match self.scenario.lock() {
            Ok(mut scenario) => (
                scenario.last_page.take(),
                std::mem::take(&mut scenario.contexts),
            ),
            Err(_) => (None, Vec::new()),
        };
        let png = match (screenshot, page) {
            (true, Some(page)) => {
                let params = ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .full_page(true)
                    .build();
                page.screenshot(params).await.ok()
            }
            _ => None,
        };
        for context in contexts {
            let _ = self.browser.dispose_browser_context(context).await;
        }
        png
    }

    /// Closes Chromium and waits for its processes to end.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(3), self.browser.close()).await;
        let started = Instant::now();
        while matches!(self.process.child.try_wait(), Ok(None))
            && started.elapsed() < Duration::from_secs(3)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.handler.abort();
        // Dropping the process kills whatever of the group is left and removes the profile.
    }
}

/// A DevTools command that failed.
fn cdp(err: chromiumoxide::error::CdpError) -> DriverError {
    DriverError::Browser(err.to_string())
}

/// Waits for Chromium to write its DevTools port into the profile.
async fn devtools_endpoint(process: &mut Process) -> Result<String, DriverError> {
    let active = process.profile.join("DevToolsActivePort");
    let started = Instant::now();
    loop {
        if let Ok(text) = tokio::fs::read_to_string(&active).await {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return Ok(format!("ws://127.0.0.1:{port}{path}"));
            }
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            return Err(DriverError::Browser(format!(
                "Chromium exited at start ({status}); run it by hand to see why"
            )));
        }
        if started.elapsed() > LAUNCH_TIMEOUT {
            return Err(DriverError::Browser(format!(
                "Chromium did not open its DevTools port within {} s",
                LAUNCH_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
