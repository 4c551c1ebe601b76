//! Throughput of complete logins against an in-process broker, as a CI job running
//! thousands of logins sees it: authorize (simulation=no-ui), token exchange, userinfo.
//! Then the memory they hold: heap bytes per login while its session lives, after the
//! sessions ended, and after the tokens expired.
//!
//!     cargo bench --bench logins            # LOGINS=5000 CONCURRENCY=32 to change the load
//!     ALG=ES256 cargo bench --bench logins  # the client's id_token algorithm (default RS256)
//!
//! Each login signs two tokens: the id_token with the client's algorithm and the access
//! token with the broker's RSA key (as the real broker), so an RS256 login costs one RSA
//! signature more than an ES256 one, and nothing else.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use mitid_sim::broker::SigningAlg;
use mitid_sim::Simulator;

/// The system allocator, counting the bytes in use.
struct Counting;

static IN_USE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            IN_USE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            IN_USE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes in use once background work has settled.
async fn heap_in_use(sim: &Simulator) -> isize {
    // The request record is bounded on its own (about 8 MiB); it is not per-login memory.
    sim.provider().recorder.clear(None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    IN_USE.load(Ordering::Relaxed)
}

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

/// CPU time this process has used (all threads), from /proc on Linux: unlike wall time it
/// stays meaningful when other jobs share the machine. `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
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
    let alg = std::env::var("ALG").unwrap_or_else(|_| "RS256".into());
    let mut clients = mitid_sim::protocols::oidc::clients::built_in_clients().unwrap();
    for client in &mut clients {
        client.id_token_signed_response_alg = alg.parse().expect("ALG is RS256, PS256 or ES256");
    }
    let sim = Simulator::builder()
        .clients(clients)
        .start()
        .await
        .expect("the broker starts");
    // What one signature costs with each of the broker's keys, for comparison.
    let keys = &sim.provider().broker.keys;
    for signing in [SigningAlg::RS256, SigningAlg::ES256] {
        let claims = serde_json::Map::from_iter([("sub".to_string(), "bench".into())]);
        let rounds = 1000;
        let (cpu, started) = (process_cpu(), Instant::now());
        for _ in 0..rounds {
            keys.sign(signing, "JWT", claims.clone()).await.unwrap();
        }
        let spent = cpu
            .zip(process_cpu())
            .map_or(started.elapsed(), |(before, after)| {
                after.saturating_sub(before)
            });
        println!(
            "one {} signature: {:.0} µs of CPU",
            signing.name(),
            spent.as_secs_f64() * 1e6 / f64::from(rounds)
        );
    }
    let base = sim.base_url().to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    one_login(&http, &base).await; // warm-up

    let cpu_before = process_cpu();
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
    let cpu = cpu_before
        .zip(process_cpu())
        .map(|(before, after)| after.saturating_sub(before));
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{logins} logins (authorize + token + userinfo), id_tokens {alg}, {concurrency} at a time: \
         {:.0} logins/s ({:.0} µs of wall time each); latency p50 {:.1} ms, p99 {:.1} ms",
        logins as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / logins as f64,
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
    );
    if let Some(cpu) = cpu {
        println!(
            "CPU time (broker and load generator): {:.0} µs per login",
            cpu.as_secs_f64() * 1e6 / logins as f64
        );
    }

    // Memory: what the logins hold while their sessions live, once the sessions ended
    // (idle expiry), and once every token expired.
    let round = env_number("MEMORY_LOGINS", logins);
    let let_go = |sim: &Simulator| {
        sim.advance_clock(time::Duration::hours(4));
        sim.provider().sweep();
    };
    // A warm-up round of the same size first: hash tables keep the room they grew to, and
    // that room (the peak, not a growth) is not what a login holds.
    for _ in 0..round {
        one_login(&http, &base_url_of(&sim)).await;
    }
    let_go(&sim);
    let base = heap_in_use(&sim).await;
    for _ in 0..round {
        one_login(&http, &base_url_of(&sim)).await;
    }
    let live = heap_in_use(&sim).await;
    let sessions = sim.sessions().len();
    sim.advance_clock(time::Duration::minutes(61));
    sim.provider().sweep();
    let ended = heap_in_use(&sim).await;
    let_go(&sim);
    let expired = heap_in_use(&sim).await;
    let per = |bytes: isize| bytes as f64 / round as f64;
    println!(
        "memory of {round} logins ({sessions} live sessions): {:.0} heap bytes per login while \
         its session lives ({:.0} of it the session), {:.0} after the sessions ended, {:.0} \
         after the tokens expired",
        per(live - base),
        per(live - ended),
        per(ended - base),
        per(expired - base),
    );
    sim.stop().await;
}

fn base_url_of(sim: &Simulator) -> String {
    sim.base_url().to_string()
}
