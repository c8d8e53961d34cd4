//! End-to-end throughput on loopback: the same tiny `/whoami` axum handler served bare, behind
//! `SocialAuthLayer` (with a valid identity cookie, and with none), and behind `tower-sessions`
//! with a `MemoryStore` session holding the user (the axum-login way), each driven by the
//! same closed-loop load: `BENCH_CONNECTIONS` keep-alive HTTP/1.1 connections from an
//! in-process hyper client, `BENCH_WARMUP_SECS` of warm-up, then `BENCH_SECS` measured.
//!
//! The baseline ("bare") gets the very requests the layer gets with a valid cookie, identity
//! cookie included, so the difference is the layer's work and not the extra 300 bytes on
//! the wire; "bare, no cookie sent" shows what those bytes cost on their own.
//!
//! ```text
//! cargo bench --features axum --bench throughput
//! BENCH_SECS=10 BENCH_ROUNDS=5 cargo bench --features axum --bench throughput
//! BENCH_SINGLE=0 BENCH_CONNECTIONS=64 cargo bench --features axum --bench throughput
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BENCH_SECS` | 3 | measured seconds per setup and round |
//! | `BENCH_WARMUP_SECS` | 1 | warm-up seconds before each measurement (not measured) |
//! | `BENCH_CONNECTIONS` | 16 | keep-alive connections |
//! | `BENCH_MAX_REQUESTS` | 5000000 | cap on measured requests per setup |
//! | `BENCH_ROUNDS` | 3 | rounds; each measures every setup once, in turn, so drift hits all alike |
//! | `BENCH_ONLY` | (all) | measure the baseline and the setups whose name contains this |
//! | `BENCH_SINGLE` | 1 | 1: servers and load share one thread; 0: separate runtimes |
//! | `BENCH_SERVER_THREADS` | 1 | with `BENCH_SINGLE=0`: tokio workers serving the apps |
//! | `BENCH_CLIENT_THREADS` | 1 | with `BENCH_SINGLE=0`: tokio workers generating load |
//! | `BENCH_PIN` | 0 | with `BENCH_SINGLE=0`, 1: pin the server's threads to the first CPUs and the load's to the next ones |
//!
//! By default the servers and the load generator share one current-thread runtime: each
//! request then costs the client's work plus the server's, all on one core, and nothing
//! sleeps or wakes across CPUs. On a small VM that is by far the steadiest measure (cross-CPU
//! wake-ups cost several microseconds there, and whether the server thread sleeps between
//! requests flips from run to run, moving throughput by 2x); "Δ µs/req" is then exactly the
//! CPU time a setup adds per request. With `BENCH_SINGLE=0` the servers and the load get
//! their own runtimes with named threads, and the table shows the server threads' own CPU
//! time per request (from `/proc/self/task/*/schedstat`).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use http::{HeaderValue, StatusCode};
use socialauth::Identity;
use tokio::runtime::Runtime;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

use common::fake_facebook::{self, FacebookConfig};
use common::fake_twitter::{self, TwitterConfig};
use common::{app, server};
use support::{env_u64, micros, rss_kib, thread_cpu, Conn, Latencies, IDENTITY_COOKIE};

const SERVER_THREAD: &str = "bench-server";
const CLIENT_THREAD: &str = "bench-load";
/// The session key the user id is kept under (axum-login keeps its user there too).
const USER_KEY: &str = "user";
const USER_ID: &str = "10001";

struct Config {
    secs: u64,
    warmup_secs: u64,
    connections: u64,
    max_requests: u64,
    server_threads: u64,
    client_threads: u64,
    rounds: u64,
    only: Option<String>,
    pin: bool,
    single: bool,
}

impl Config {
    fn from_env() -> Self {
        Self {
            secs: env_u64("BENCH_SECS", 3).clamp(1, 120),
            warmup_secs: env_u64("BENCH_WARMUP_SECS", 1).min(60),
            connections: env_u64("BENCH_CONNECTIONS", 16).clamp(1, 1024),
            max_requests: env_u64("BENCH_MAX_REQUESTS", 5_000_000).max(1),
            server_threads: env_u64("BENCH_SERVER_THREADS", 1).clamp(1, 64),
            client_threads: env_u64("BENCH_CLIENT_THREADS", 1).clamp(1, 64),
            rounds: env_u64("BENCH_ROUNDS", 3).clamp(1, 20),
            only: std::env::var("BENCH_ONLY").ok().filter(|s| !s.is_empty()),
            pin: env_u64("BENCH_PIN", 0) != 0,
            single: env_u64("BENCH_SINGLE", 1) != 0,
        }
    }
}

/// One thing to measure: a server, the cookie each request carries, the expected body.
struct Setup {
    name: &'static str,
    addr: SocketAddr,
    cookie: Option<HeaderValue>,
    expect: &'static str,
}

/// The handler every socialauth setup and the bare one serve.
async fn whoami(user: Option<Identity>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.user_id().to_owned())
}

/// The same handler, reading the user from the session instead.
async fn session_whoami(session: Session) -> String {
    session
        .get::<String>(USER_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// Signs the user in: what a login handler does with tower-sessions.
async fn session_login(session: Session) -> StatusCode {
    match session.insert(USER_KEY, USER_ID).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn whoami_app() -> Router {
    Router::new()
        .route("/", get(|| async { "home" }))
        .route("/whoami", get(whoami))
}

/// Starts every server on `rt` and signs in once on each that has a login.
fn start_setups(rt: &Runtime) -> Vec<Setup> {
    rt.block_on(async {
        let twitter = fake_twitter::start(TwitterConfig::new()).await;
        let facebook = fake_facebook::start(FacebookConfig::new()).await;
        let layer = app::builder(&twitter, &facebook)
            .build()
            .expect("valid configuration");

        let bare = server::serve(whoami_app()).await;
        let social = server::serve(whoami_app().layer(layer)).await;
        let sessions = server::serve(
            Router::new()
                .route("/whoami", get(session_whoami))
                .route("/login", get(session_login))
                .layer(SessionManagerLayer::new(MemoryStore::default())),
        )
        .await;

        // A real Facebook login (start, fake dialog, callback, /me) for the identity cookie.
        let token = support::facebook_login_cookie(&format!("http://{social}")).await;
        let identity = HeaderValue::from_str(&format!("{IDENTITY_COOKIE}={token}"))
            .expect("valid cookie header");

        // A session holding the user, and its cookie.
        let mut conn = Conn::open(sessions).await.expect("connect");
        let login = conn.get("/login", None).await.expect("login");
        assert_eq!(login.status, StatusCode::NO_CONTENT);
        let session = HeaderValue::from_str(login.set_cookie("id=").expect("session cookie"))
            .expect("valid cookie header");

        vec![
            // The baseline: the same requests, identity cookie included, without the layer.
            Setup {
                name: "bare (no auth)",
                addr: bare,
                cookie: Some(identity.clone()),
                expect: "anonymous",
            },
            Setup {
                name: "bare, no cookie sent",
                addr: bare,
                cookie: None,
                expect: "anonymous",
            },
            Setup {
                name: "socialauth, valid cookie",
                addr: social,
                cookie: Some(identity),
                expect: USER_ID,
            },
            Setup {
                name: "socialauth, no cookie",
                addr: social,
                cookie: None,
                expect: "anonymous",
            },
            Setup {
                name: "tower-sessions+MemoryStore",
                addr: sessions,
                cookie: Some(session),
                expect: USER_ID,
            },
        ]
    })
}

/// What one setup measured.
struct Measured {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies: Latencies,
    server_cpu: Duration,
    load_cpu: Duration,
    rss_before: u64,
    rss_after: u64,
}

/// One connection's closed loop: request, read the whole answer, check it, repeat, until
/// `stop` or `budget` requests.
async fn drive(
    addr: SocketAddr,
    cookie: Option<HeaderValue>,
    expect: &'static str,
    stop: Arc<AtomicBool>,
    budget: u64,
) -> (u64, u64, Latencies) {
    let mut latencies = Latencies::default();
    let (mut ok, mut errors) = (0u64, 0u64);
    let Ok(mut conn) = Conn::open(addr).await else {
        return (0, 1, latencies);
    };
    while ok + errors < budget && !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match conn.get("/whoami", cookie.as_ref()).await {
            Ok(reply) if reply.status == StatusCode::OK && reply.body == expect.as_bytes() => {
                latencies.record(started.elapsed());
                ok += 1;
            }
            _ => {
                errors += 1;
                if conn.is_closed() {
                    match Conn::open(addr).await {
                        Ok(fresh) => conn = fresh,
                        Err(_) => break,
                    }
                }
            }
        }
    }
    (ok, errors, latencies)
}

/// Runs `connections` loops for `duration` (or `max_requests` in all) on `load`.
fn run_load(load: &Runtime, setup: &Setup, config: &Config, duration: Duration) -> Measured {
    let stop = Arc::new(AtomicBool::new(false));
    let budget = config.max_requests.div_ceil(config.connections);
    let rss_before = rss_kib();
    // With one thread for all, its whole time is the "server's".
    let server_cpu = || {
        if config.single {
            support::this_thread_cpu()
        } else {
            thread_cpu(SERVER_THREAD)
        }
    };
    let cpu_before = server_cpu();
    let load_before = thread_cpu(CLIENT_THREAD);
    let started = Instant::now();
    let (requests, errors, latencies) = load.block_on(async {
        let tasks: Vec<_> = (0..config.connections)
            .map(|_| {
                tokio::spawn(drive(
                    setup.addr,
                    setup.cookie.clone(),
                    setup.expect,
                    stop.clone(),
                    budget,
                ))
            })
            .collect();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Latencies::default();
        let (mut ok, mut errors) = (0, 0);
        for task in tasks {
            let (o, e, l) = task.await.expect("load task");
            ok += o;
            errors += e;
            all.extend(l);
        }
        (ok, errors, all)
    });
    let elapsed = started.elapsed();
    Measured {
        requests,
        errors,
        elapsed,
        latencies,
        server_cpu: server_cpu().saturating_sub(cpu_before),
        load_cpu: thread_cpu(CLIENT_THREAD).saturating_sub(load_before),
        rss_before,
        rss_after: rss_kib(),
    }
}

/// Every round's measurement of one setup.
#[derive(Default)]
struct Rows {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    server_cpu: Duration,
    load_cpu: Duration,
    latencies: Latencies,
    /// Requests per second of each round, and its ratio to the baseline's in that round.
    rates: Vec<f64>,
    ratios: Vec<f64>,
    rss_first: Option<u64>,
    rss_last: u64,
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let config = Config::from_env();
    // CPUs 0..server_threads serve, the next ones load (wrapping around when there are few).
    let server_cpus = (0..config.server_threads as usize).collect::<Vec<_>>();
    let load_cpus = (0..config.client_threads as usize)
        .map(|i| i + config.server_threads as usize)
        .collect::<Vec<_>>();
    let pin = config.pin;
    let single;
    let split;
    let (server_rt, load_rt) = if config.single {
        single = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        (&single, &single)
    } else {
        split = (
            support::runtime(
                SERVER_THREAD,
                config.server_threads,
                pin.then_some(server_cpus),
            ),
            support::runtime(
                CLIENT_THREAD,
                config.client_threads,
                pin.then_some(load_cpus),
            ),
        );
        (&split.0, &split.1)
    };

    let setups: Vec<Setup> = start_setups(server_rt)
        .into_iter()
        .enumerate()
        .filter(|(i, setup)| {
            *i == 0
                || config
                    .only
                    .as_deref()
                    .is_none_or(|only| setup.name.contains(only))
        })
        .map(|(_, setup)| setup)
        .collect();
    println!(
        "throughput: {} | server {} thread(s), load {} thread(s){}, {} connections; \
         {} round(s) of {} s warm-up + {} s per setup, interleaved",
        support::machine(),
        config.server_threads,
        config.client_threads,
        if config.pin { ", pinned to CPUs" } else { "" },
        config.connections,
        config.rounds,
        config.warmup_secs,
        config.secs
    );
    let rss_start = rss_kib();
    let mut rows: Vec<Rows> = setups.iter().map(|_| Rows::default()).collect();
    for _round in 0..config.rounds {
        let mut baseline = None;
        for (setup, row) in setups.iter().zip(&mut rows) {
            if config.warmup_secs > 0 {
                run_load(
                    load_rt,
                    setup,
                    &config,
                    Duration::from_secs(config.warmup_secs),
                );
            }
            let m = run_load(load_rt, setup, &config, Duration::from_secs(config.secs));
            assert_eq!(m.latencies.len(), m.requests);
            let rate = m.requests as f64 / m.elapsed.as_secs_f64();
            let base = *baseline.get_or_insert(rate);
            row.rates.push(rate);
            row.ratios.push(rate / base);
            row.requests += m.requests;
            row.errors += m.errors;
            row.elapsed += m.elapsed;
            row.server_cpu += m.server_cpu;
            row.load_cpu += m.load_cpu;
            row.latencies.extend(m.latencies);
            row.rss_first.get_or_insert(m.rss_before);
            row.rss_last = m.rss_after;
        }
    }

    println!(
        "{:<28} {:>9} {:>15} {:>8} {:>9} {:>8} {:>8} {:>10} {:>8} {:>11} {:>6} {:>16}",
        "setup",
        "req/s",
        "(min–max)",
        "vs bare",
        "Δ µs/req",
        "p50 µs",
        "p99 µs",
        if config.single {
            "CPU µs/req"
        } else {
            "srv µs/req"
        },
        "srv busy",
        "load µs/req",
        "errors",
        "RSS KiB first→last"
    );
    let base_rate = rows.first().map_or(0.0, |row| median(&row.rates));
    for (setup, row) in setups.iter().zip(&mut rows) {
        let per_request =
            |cpu: Duration| micros(cpu / u32::try_from(row.requests.max(1)).unwrap_or(u32::MAX));
        let busy = row.server_cpu.as_secs_f64()
            / (row.elapsed.as_secs_f64() * config.server_threads as f64);
        let min = row.rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = row.rates.iter().copied().fold(0.0, f64::max);
        let rate = median(&row.rates);
        let delta = 1e6 / rate - 1e6 / base_rate;
        let load = if config.single {
            "-".to_owned()
        } else {
            per_request(row.load_cpu)
        };
        println!(
            "{:<28} {:>9.0} {:>15} {:>7.3}x {:>9.2} {:>8} {:>8} {:>10} {:>7.0}% {:>11} {:>6} {:>16}",
            setup.name,
            rate,
            format!("({min:.0}–{max:.0})"),
            median(&row.ratios),
            delta,
            micros(row.latencies.percentile(50.0)),
            micros(row.latencies.percentile(99.0)),
            per_request(row.server_cpu),
            busy * 100.0,
            load,
            row.errors,
            format!("{}→{}", row.rss_first.unwrap_or(0), row.rss_last),
        );
    }
    println!(
        "req/s: median of the rounds; vs bare: median of each round's ratio to the first row; \
         Δ µs/req: 1/req/s minus the baseline's; p50/p99 over all rounds. \
         RSS KiB: {rss_start} before the first run, {} at the end.",
        rss_kib()
    );
}
