//! Throughput of complete logins against an in-process broker, as a CI job running
//! thousands of logins sees it: authorize (simulation=no-ui), token exchange, userinfo.
//!
//!     cargo bench --bench logins            # LOGINS=5000 CONCURRENCY=32 to change the load

use std::time::{Duration, Instant};

use mitid_sim::Simulator;

const REDIRECT: &str = "http://localhost:8080/callback";

async fn one_login(http: &reqwest::Client, base: &str) -> Duration {
    let started = Instant::now();
    let authorize = format!(
        "{base}/op/connect/authorize?client_id=demo-rp&redirect_uri={REDIRECT}&response_type=code\
         &scope=openid%20mitid&state=s&nonce=n&simulation=no-ui%20username:anna.jensen"
    );
    let response = http.get(authorize).send().await.expect("authorize answers");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let tokens: serde_json::Value = http
        .post(format!("{base}/op/connect/token"))
        .basic_auth("demo-rp", Some("demo-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let userinfo = http
        .get(format!("{base}/op/connect/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(userinfo.status().is_success());
    started.elapsed()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let logins = env_number("LOGINS", 2_000);
    let concurrency = env_number("CONCURRENCY", 16);
    let sim = Simulator::builder()
        .start()
        .await
        .expect("the broker starts");
    let base = sim.base_url().to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    one_login(&http, &base).await; // warm-up

    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (http, base) = (http.clone(), base.clone());
        let share = logins / concurrency + usize::from(worker < logins % concurrency);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(share);
            for _ in 0..share {
                latencies.push(one_login(&http, &base).await);
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(logins);
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{logins} logins (authorize + token + userinfo), {concurrency} at a time: {:.0} logins/s; \
         latency p50 {:.1} ms, p99 {:.1} ms",
        logins as f64 / elapsed.as_secs_f64(),
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
    );
    sim.stop().await;
}
