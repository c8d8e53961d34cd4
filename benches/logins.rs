//! Complete Facebook logins per second on loopback: `BENCH_CLIENTS` concurrent clients each
//! loop over start (`/auth/facebook?login=start`), the fake's dialog (which approves and
//! redirects back with a code) and the callback (code exchange and `/me` on the fake, identity
//! cookie), for `BENCH_SECS` after `BENCH_WARMUP_SECS` of warm-up. Prints logins/s,
//! latency percentiles of a whole login, and how many TCP connections the layer opened to the
//! fake provider (the fake counts accepted connections; the clients' own dialog connections
//! are subtracted), which should stay near the concurrency, not grow with the logins.
//!
//! ```text
//! cargo bench --features axum --bench logins
//! BENCH_CLIENTS=16 BENCH_SECS=10 cargo bench --features axum --bench logins
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BENCH_CLIENTS` | 64 | concurrent clients, one keep-alive connection each to the app and to the fake's dialog |
//! | `BENCH_SECS` | 5 | measured seconds |
//! | `BENCH_WARMUP_SECS` | 1 | warm-up seconds (not measured) |
//! | `BENCH_MAX_LOGINS` | 1000000 | cap on measured logins |
//! | `BENCH_APP_THREADS` | 2 | tokio workers of the app (the layer and its HTTP client) |
//! | `BENCH_FAKE_THREADS` | 1 | tokio workers of the fake Facebook |
//! | `BENCH_CLIENT_THREADS` | 1 | tokio workers of the clients |
//!
//! Each part runs on its own runtime with named threads, so the CPU time of each per login
//! is printed too (`/proc/self/task/*/schedstat`).

// The tests' harness; a bench uses a small part of it, and the test suites show its dead code.
#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderValue, StatusCode};
use tokio::runtime::Runtime;

use common::fake_facebook::{self, FacebookConfig, FakeFacebook};
use common::fake_twitter::{self, TwitterConfig};
use common::{app, server};
use support::{env_u64, micros, rss_kib, thread_cpu, Conn, Latencies, IDENTITY_COOKIE};

const APP_THREAD: &str = "bench-app";
const FAKE_THREAD: &str = "bench-fake";
const CLIENT_THREAD: &str = "bench-load";

struct Config {
    clients: u64,
    secs: u64,
    warmup_secs: u64,
    max_logins: u64,
    app_threads: u64,
    fake_threads: u64,
    client_threads: u64,
}

impl Config {
    fn from_env() -> Self {
        Self {
            clients: env_u64("BENCH_CLIENTS", 64).clamp(1, 1024),
            secs: env_u64("BENCH_SECS", 5).clamp(1, 120),
            warmup_secs: env_u64("BENCH_WARMUP_SECS", 1).min(60),
            max_logins: env_u64("BENCH_MAX_LOGINS", 1_000_000).max(1),
            app_threads: env_u64("BENCH_APP_THREADS", 2).clamp(1, 64),
            fake_threads: env_u64("BENCH_FAKE_THREADS", 1).clamp(1, 64),
            client_threads: env_u64("BENCH_CLIENT_THREADS", 1).clamp(1, 64),
        }
    }
}

/// Where the clients go, and the count of connections they opened to the fake themselves.
#[derive(Clone)]
struct Target {
    app: SocketAddr,
    fake: SocketAddr,
    own_fake_connections: Arc<AtomicUsize>,
}

/// The path and query of an absolute `http://host:port/...` URL, without its fragment.
fn path_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let path = &rest[rest.find('/')?..];
    Some(path.split('#').next().unwrap_or(path))
}

/// One complete login; `None` (and the step) when anything is not as a browser would see it.
async fn login(app: &mut Conn, fake: &mut Conn) -> Result<(), &'static str> {
    let start = app
        .get("/auth/facebook?login=start", None)
        .await
        .map_err(|_| "start: transport")?;
    if start.status != StatusCode::SEE_OTHER {
        return Err("start: status");
    }
    let flow = start
        .set_cookie("__Host-socialauth-flow-facebook-")
        .ok_or("start: no flow cookie")?;
    let flow = HeaderValue::from_str(flow).map_err(|_| "start: cookie")?;
    let dialog = path_of(start.location().ok_or("start: no location")?).ok_or("start: url")?;

    let approved = fake
        .get(dialog, None)
        .await
        .map_err(|_| "dialog: transport")?;
    if approved.status != StatusCode::FOUND {
        return Err("dialog: status");
    }
    let callback =
        path_of(approved.location().ok_or("dialog: no location")?).ok_or("dialog: url")?;

    let done = app
        .get(callback, Some(&flow))
        .await
        .map_err(|_| "callback: transport")?;
    if done.status != StatusCode::SEE_OTHER {
        return Err("callback: status");
    }
    done.set_cookie(IDENTITY_COOKIE)
        .ok_or("callback: no identity cookie")?;
    Ok(())
}

async fn open(addr: SocketAddr, counter: Option<&AtomicUsize>) -> Option<Conn> {
    let conn = Conn::open(addr).await.ok()?;
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::SeqCst);
    }
    Some(conn)
}

/// One client's loop until `stop` or `budget` logins.
async fn client(
    target: Target,
    stop: Arc<AtomicBool>,
    budget: u64,
) -> (u64, Vec<&'static str>, Latencies) {
    let mut latencies = Latencies::default();
    let mut errors = Vec::new();
    let mut ok = 0u64;
    let own = Some(&*target.own_fake_connections);
    let (Some(mut app), Some(mut fake)) =
        (open(target.app, None).await, open(target.fake, own).await)
    else {
        return (0, vec!["connect"], latencies);
    };
    while ok + (errors.len() as u64) < budget && !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match login(&mut app, &mut fake).await {
            Ok(()) => {
                latencies.record(started.elapsed());
                ok += 1;
            }
            Err(step) => {
                errors.push(step);
                if errors.len() > 1000 {
                    break;
                }
                if app.is_closed() {
                    app = match open(target.app, None).await {
                        Some(conn) => conn,
                        None => break,
                    };
                }
                if fake.is_closed() {
                    fake = match open(target.fake, own).await {
                        Some(conn) => conn,
                        None => break,
                    };
                }
            }
        }
    }
    (ok, errors, latencies)
}

struct Measured {
    logins: u64,
    errors: Vec<&'static str>,
    elapsed: Duration,
    latencies: Latencies,
}

fn run(load: &Runtime, target: &Target, config: &Config, duration: Duration) -> Measured {
    let stop = Arc::new(AtomicBool::new(false));
    let budget = config.max_logins.div_ceil(config.clients);
    let started = Instant::now();
    let (logins, errors, latencies) = load.block_on(async {
        let tasks: Vec<_> = (0..config.clients)
            .map(|_| tokio::spawn(client(target.clone(), stop.clone(), budget)))
            .collect();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Latencies::default();
        let (mut ok, mut errors) = (0, Vec::new());
        for task in tasks {
            let (o, e, l) = task.await.expect("client task");
            ok += o;
            errors.extend(e);
            all.extend(l);
        }
        (ok, errors, all)
    });
    Measured {
        logins,
        errors,
        elapsed: started.elapsed(),
        latencies,
    }
}

/// CPU time of each part so far.
fn cpu() -> [Duration; 3] {
    [
        thread_cpu(APP_THREAD),
        thread_cpu(FAKE_THREAD),
        thread_cpu(CLIENT_THREAD),
    ]
}

fn main() {
    let config = Config::from_env();
    let app_rt = support::runtime(APP_THREAD, config.app_threads, None);
    let fake_rt = support::runtime(FAKE_THREAD, config.fake_threads, None);
    let load_rt = support::runtime(CLIENT_THREAD, config.client_threads, None);

    let facebook: FakeFacebook = fake_rt.block_on(fake_facebook::start(FacebookConfig::new()));
    let twitter = fake_rt.block_on(fake_twitter::start(TwitterConfig::new()));
    let app_addr = app_rt.block_on(async {
        let layer = app::builder(&twitter, &facebook)
            .build()
            .expect("valid configuration");
        server::serve(app::axum_app().layer(layer)).await
    });
    let target = Target {
        app: app_addr,
        fake: facebook.addr,
        own_fake_connections: Arc::new(AtomicUsize::new(0)),
    };
    let layer_connections = || {
        facebook
            .connection_count()
            .saturating_sub(target.own_fake_connections.load(Ordering::SeqCst))
    };

    println!(
        "logins: {} | {} clients; app {} thread(s), fake {} thread(s), clients {} thread(s); \
         {} s warm-up + {} s",
        support::machine(),
        config.clients,
        config.app_threads,
        config.fake_threads,
        config.client_threads,
        config.warmup_secs,
        config.secs
    );
    let rss_start = rss_kib();
    let warm = if config.warmup_secs > 0 {
        run(
            &load_rt,
            &target,
            &config,
            Duration::from_secs(config.warmup_secs),
        )
        .logins
    } else {
        0
    };
    let after_warmup = layer_connections();
    let rss_before = rss_kib();
    let cpu_before = cpu();
    let m = run(&load_rt, &target, &config, Duration::from_secs(config.secs));
    let cpu_after = cpu();
    let rss_after = rss_kib();
    let opened = layer_connections();

    let rate = m.logins as f64 / m.elapsed.as_secs_f64();
    let per_login = |i: usize| {
        micros(
            cpu_after[i].saturating_sub(cpu_before[i])
                / u32::try_from(m.logins.max(1)).unwrap_or(u32::MAX),
        )
    };
    println!(
        "{:>9} {:>9} {:>9} {:>9} {:>7} {:>24} {:>26}",
        "logins/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "layer→fake TCP conns",
        "CPU µs/login app/fake/cli"
    );
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    println!(
        "{:>9.0} {:>9} {:>9} {:>9} {:>7} {:>24} {:>26}",
        rate,
        ms(m.latencies.percentile(50.0)),
        ms(m.latencies.percentile(99.0)),
        ms(m.latencies.percentile(100.0)),
        m.errors.len(),
        format!("{after_warmup} after warm-up, {opened} at end"),
        format!("{}/{}/{}", per_login(0), per_login(1), per_login(2)),
    );
    println!(
        "{} logins measured ({} in warm-up); fake: {} token, {} /me calls, {} rejections; \
         RSS KiB: {} at start, {} before, {} after",
        m.logins,
        warm,
        facebook.token_calls(),
        facebook.me_calls(),
        facebook.rejections().len(),
        rss_start,
        rss_before,
        rss_after,
    );
    if !m.errors.is_empty() {
        let mut kinds = m.errors.clone();
        kinds.sort_unstable();
        kinds.dedup();
        println!(
            "error kinds: {kinds:?}; first rejections: {:?}",
            facebook.rejections().iter().take(3).collect::<Vec<_>>()
        );
    }
}
