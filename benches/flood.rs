//! What a hostile or careless client can make a real `mitid-sim serve` process hold:
//! a flood of unauthenticated authorization requests (each starts a login the broker
//! keeps, with parameters at the 4096-byte limit), then a flood of large token requests
//! (each recorded). Prints the server's resident memory (VmRSS, and the peak VmHWM) after
//! each phase. Linux only (reads /proc).
//!
//!     cargo bench --bench flood     # AUTHORIZE=100000 TOKEN=2000 CONCURRENCY=32 by default
//!     SERVE_ARGS="--max-pending-logins 1000" cargo bench --bench flood

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts the release server on a free loopback port; returns it and its base URL.
fn serve(extra: &[String]) -> (Child, String) {
    // MITID_SIM_BIN measures another build (an older one, to compare).
    let binary =
        std::env::var("MITID_SIM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mitid-sim").into());
    let mut child = Command::new(binary)
        .args(["serve", "--port", "0"])
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the mitid-sim binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let issuer = loop {
        let line = lines.next().expect("the banner").expect("readable stdout");
        if let Some(issuer) = line.trim().strip_prefix("issuer") {
            break issuer.trim().to_string();
        }
    };
    // Keep reading, so the banner's rest never blocks the server.
    std::thread::spawn(move || lines.for_each(drop));
    (child, issuer.trim_end_matches("/op").to_string())
}

/// VmRSS and VmHWM of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs `count` requests, `concurrency` at a time.
async fn flood<F, Fut>(count: usize, concurrency: usize, one: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let one = Arc::new(one);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, one) = (next.clone(), one.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        break;
                    }
                    one(n).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let authorize = env_number("AUTHORIZE", 100_000);
    let token = env_number("TOKEN", 2_000);
    let concurrency = env_number("CONCURRENCY", 32);
    let extra: Vec<String> = std::env::var("SERVE_ARGS")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let (mut child, base) = serve(&extra);
    let pid = child.id();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    http.get(format!("{base}/op/.well-known/openid-configuration"))
        .send()
        .await
        .expect("the broker answers");
    let (rss, _) = memory(pid);
    println!("started: RSS {rss:.1} MiB");

    // Parameters at the limit: the most a pending login may hold.
    let long = "x".repeat(4096);
    let started = Instant::now();
    let url = format!(
        "{base}/op/connect/authorize?client_id=demo-rp&redirect_uri=http://localhost:8080/callback\
         &response_type=code&scope=openid%20mitid&state={long}&nonce={long}\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
    let (h, u) = (http.clone(), url.clone());
    flood(authorize, concurrency, move |_| {
        let (h, u) = (h.clone(), u.clone());
        async move {
            let response = h.get(&u).send().await.expect("authorize answers");
            assert_eq!(response.status(), 303, "a login starts");
        }
    })
    .await;
    let (rss, peak) = memory(pid);
    println!(
        "{authorize} authorize requests (state and nonce of 4096 bytes) in {:.1} s: RSS {rss:.1} MiB, peak {peak:.1} MiB",
        started.elapsed().as_secs_f64()
    );

    // Token requests of about 250 KB each (actix's body limit is 256 KiB): 60 parameters
    // of 4 KB, all recorded (cut to 512 bytes, 40 a request).
    let started = Instant::now();
    let body: String = (0..60)
        .map(|i| format!("p{i}={}", "y".repeat(4_000)))
        .chain([
            "grant_type=authorization_code".into(),
            "code=nothing".into(),
        ])
        .collect::<Vec<_>>()
        .join("&");
    let (h, b) = (http.clone(), body.clone());
    let token_url = format!("{base}/op/connect/token");
    flood(token, concurrency.min(8), move |_| {
        let (h, b, u) = (h.clone(), b.clone(), token_url.clone());
        async move {
            let response = h
                .post(&u)
                .basic_auth("demo-rp", Some("demo-secret"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b)
                .send()
                .await
                .expect("token answers");
            assert_eq!(response.status(), 400, "an unknown code");
        }
    })
    .await;
    let (rss, peak) = memory(pid);
    println!(
        "{token} token requests of {} KB in {:.1} s: RSS {rss:.1} MiB, peak {peak:.1} MiB",
        body.len() / 1000,
        started.elapsed().as_secs_f64()
    );
    child.kill().ok();
    child.wait().ok();
}
