//! What revocation costs, in one run:
//!
//! ```text
//! cargo bench --features axum,redis --bench revocation
//! ```
//!
//! 1. **Per request**: one request through `SocialAuth` wrapping a trivial service, with a
//!    valid identity cookie, through a layer without revocation and through one with
//!    revocation and `REVOCATION_FACTS` (100,000) revoked sessions in its local copy;
//!    interleaved rounds, medians, the difference in ns per request (target: at most 100).
//!    Then the same with the back-channel logout facts as well: an identity from a provider
//!    session (its cookie carries a `psid`), and as many revoked provider sessions again in
//!    the copy: the third lookup that identity costs.
//! 2. **Memory**: the process's resident set before and after those facts entered the copy,
//!    per fact (target: at most 100 bytes).
//! 3. **Resync from Redis** (when `redis-server` is installed): the same number of facts
//!    written to a Redis started for the run, then a whole first load by a new replica
//!    (subscribe, read, parse, fill the copy), timed (target: under a second); the same on
//!    a Redis Cluster of three primaries (made with `redis-cli --cluster create`), the new
//!    replica connecting through a node that does not hold the facts.
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `REVOCATION_FACTS` | 100000 | revoked sessions in the copy and in Redis |
//! | `REVOCATION_ROUNDS` | 15 | interleaved rounds of part 1 |
//! | `REVOCATION_REQUESTS` | 200000 | requests per layer and round |

// The tests' harness; a bench uses a small part of it, and the test suites show its dead code.
#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::convert::Infallible;
use std::future::Ready;
use std::hint::black_box;
use std::time::{Duration, Instant};

use http::header::COOKIE;
use http::{HeaderValue, Request, Response};
use socialauth::revocation::{
    Fact, RedisStore, RevocationError, RevocationStore, Revocations, Subscription,
};
use socialauth::{Identity, SessionId, SocialAuth, SocialAuthLayer};
use tower::{Layer, Service};

use common::app::SECRET;
use common::redis::{RedisCluster, RedisServer};
use support::{env_u64, ready_now, sign_identity, sign_identity_with, unix_now, IDENTITY_COOKIE};

/// A store whose one load gives `facts`: the copy of a replica that found them in the store.
struct Preloaded(Vec<Fact>);

impl RevocationStore for Preloaded {
    async fn publish(&self, _: &Fact) -> Result<(), RevocationError> {
        Ok(())
    }
    async fn restore(&self, _: &[Fact]) -> Result<(), RevocationError> {
        Ok(())
    }
    async fn load(&self) -> Result<Vec<Fact>, RevocationError> {
        Ok(self.0.clone())
    }
    async fn subscribe(&self) -> Result<Subscription, RevocationError> {
        Ok(Subscription::channel().1)
    }
    async fn ping(&self) -> Result<(), RevocationError> {
        Ok(())
    }
}

/// A store that keeps nothing: the facts live only in the layer's copy, so the resident set
/// measures the copy alone.
struct CopyOnly;

impl RevocationStore for CopyOnly {
    async fn publish(&self, _: &Fact) -> Result<(), RevocationError> {
        Ok(())
    }
    async fn restore(&self, _: &[Fact]) -> Result<(), RevocationError> {
        Ok(())
    }
    async fn load(&self) -> Result<Vec<Fact>, RevocationError> {
        Ok(Vec::new())
    }
    async fn subscribe(&self) -> Result<Subscription, RevocationError> {
        // The sender is dropped: the layer resubscribes once a second, harmlessly.
        Ok(Subscription::channel().1)
    }
    async fn ping(&self) -> Result<(), RevocationError> {
        Ok(())
    }
}

type Inner = tower::util::ServiceFn<fn(Request<String>) -> Ready<Result<Response<()>, Infallible>>>;

fn inner() -> Inner {
    fn answer(request: Request<String>) -> Ready<Result<Response<()>, Infallible>> {
        black_box(request.extensions().get::<Identity>().is_some());
        std::future::ready(Ok(Response::new(())))
    }
    tower::service_fn(answer as fn(_) -> _)
}

fn layer(revocations: Option<Revocations>) -> SocialAuth<Inner> {
    let mut builder = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(socialauth::Facebook::new("app", "secret"));
    if let Some(revocations) = revocations {
        builder = builder.revocation(revocations);
    }
    builder.build().expect("valid layer").layer(inner())
}

/// Nanoseconds per request over `n` requests carrying `cookie`.
fn per_request(service: &mut SocialAuth<Inner>, cookie: &HeaderValue, n: u64) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        let mut request = Request::get("/whoami")
            .body(String::new())
            .expect("request");
        request.headers_mut().insert(COOKIE, cookie.clone());
        let response = ready_now(service.call(request)).expect("infallible");
        black_box(response);
    }
    started.elapsed().as_nanos() as f64 / n as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The `i`-th of the bench's session ids.
fn session_id(i: u64) -> SessionId {
    let text = format!("{:0>21}A", format!("{i:x}"));
    text.parse().expect("22 base64url characters")
}

fn session_facts(count: u64) -> Vec<Fact> {
    let expires_at = unix_now() + 3600;
    (0..count)
        .map(|i| Fact::Session {
            id: session_id(i),
            expires_at,
        })
        .collect()
}

/// `count` revoked provider sessions (back-channel logout facts), none of the bench's.
fn provider_session_facts(count: u64) -> Vec<Fact> {
    let expires_at = unix_now() + 3600;
    (0..count)
        .map(|i| Fact::ProviderSession {
            key: format!("{:0>21}A", format!("{i:x}"))
                .parse()
                .expect("a key"),
            expires_at,
        })
        .collect()
}

fn main() {
    let facts = env_u64("REVOCATION_FACTS", 100_000);
    let rounds = env_u64("REVOCATION_ROUNDS", 15);
    let requests = env_u64("REVOCATION_REQUESTS", 200_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _entered = runtime.enter();

    let revocations = runtime
        .block_on(Revocations::builder(CopyOnly).start())
        .expect("a store that keeps nothing starts");
    let mut plain = layer(None);
    let mut revoking = layer(Some(revocations.clone()));
    let cookie = format!(
        "{IDENTITY_COOKIE}={}",
        sign_identity("bench-user", unix_now(), unix_now() + 3600)
    );
    let cookie = HeaderValue::from_str(&cookie).expect("header");

    // Part 2 first: the copy's memory (the ids are made one at a time, so nothing but the
    // copy grows).
    let before = rss_bytes();
    runtime.block_on(async {
        for i in 0..facts {
            revocations
                .revoke_session(session_id(i))
                .await
                .expect("kept");
        }
    });
    let after = rss_bytes();
    assert_eq!(revocations.len() as u64, facts);

    // The same copy plus as many provider-session facts, and an identity carrying a `psid`.
    let mut both = session_facts(facts);
    both.extend(provider_session_facts(facts));
    let preloaded = runtime
        .block_on(Revocations::builder(Preloaded(both)).start())
        .expect("a preloaded store starts");
    let mut psid_layer = layer(Some(preloaded));
    let psid_cookie = format!(
        "{IDENTITY_COOKIE}={}",
        sign_identity_with(
            "bench-user",
            unix_now(),
            unix_now() + 3600,
            serde_json::json!({"psid": "zzzzzzzzzzzzzzzzzzzzzw"}),
        )
    );
    let psid_cookie = HeaderValue::from_str(&psid_cookie).expect("header");
    // Part 1: interleaved rounds.
    per_request(&mut plain, &cookie, requests / 10);
    per_request(&mut revoking, &cookie, requests / 10);
    per_request(&mut psid_layer, &psid_cookie, requests / 10);
    let (mut without, mut with, mut with_psid) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        without.push(per_request(&mut plain, &cookie, requests));
        with.push(per_request(&mut revoking, &cookie, requests));
        with_psid.push(per_request(&mut psid_layer, &psid_cookie, requests));
    }
    let with_psid = median(&mut with_psid);
    let (without, with) = (median(&mut without), median(&mut with));
    println!();
    println!("identity check, valid cookie ({rounds} interleaved rounds of {requests} requests, medians):");
    println!("  without revocation                     {without:>8.1} ns/request");
    println!("  with revocation, {facts} facts in copy {with:>8.1} ns/request");
    println!(
        "  difference                             {:>+8.1} ns/request",
        with - without
    );
    println!(
        "  with revocation, {facts} + {facts} provider-session facts, identity with psid {with_psid:>8.1} ns/request ({:+.1} vs without)",
        with_psid - without
    );
    println!();
    println!(
        "local copy: RSS {} KiB before, {} KiB after {facts} revoked sessions: {:.1} bytes per fact",
        before / 1024,
        after / 1024,
        after.saturating_sub(before) as f64 / facts as f64
    );

    // Part 3: a first load from Redis.
    let has_redis = std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_redis {
        println!(
            "\nredis-server not found: the resync part is skipped (apt-get install redis-server)"
        );
        return;
    }
    runtime.block_on(async {
        let redis = RedisServer::start().await;
        let (took, load_only) = first_load(&[redis.url()], facts, |url| async move {
            RedisStore::connect(&url).await
        })
        .await;
        println!();
        println!(
            "resync from Redis: {facts} facts, new replica's first load {:.0} ms \
             (connect, subscribe, read, parse, fill); read and parse alone {:.0} ms",
            took.as_secs_f64() * 1000.0,
            load_only.as_secs_f64() * 1000.0
        );
        drop(redis);
        let cluster = RedisCluster::start(3).await;
        let urls: Vec<String> = (0..3).map(|node| cluster.url(node)).collect();
        let (took, load_only) = first_load(&urls, facts, |url| async move {
            RedisStore::cluster([url]).connect().await
        })
        .await;
        println!(
            "resync from a Redis Cluster (3 primaries): {facts} facts, new replica's first load \
             {:.0} ms through a node without the facts; read and parse alone {:.0} ms",
            took.as_secs_f64() * 1000.0,
            load_only.as_secs_f64() * 1000.0
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    });
}

/// Writes `facts` through a store on the first of `urls`, then times a new replica's whole
/// first load through a store on the last, and a load alone: both durations.
async fn first_load<F, Fut>(urls: &[String], facts: u64, connect: F) -> (Duration, Duration)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<RedisStore, RevocationError>>,
{
    let (first, last) = urls.first().zip(urls.last()).expect("at least one URL");
    let writer = connect(first.clone()).await.expect("redis");
    writer
        .restore(&session_facts(facts))
        .await
        .expect("written");
    let started = Instant::now();
    let store = connect(last.clone()).await.expect("redis");
    let replica = Revocations::builder(store)
        .start()
        .await
        .expect("first load");
    let took = started.elapsed();
    assert_eq!(replica.len() as u64, facts);
    let started = Instant::now();
    let loaded = writer.load().await.expect("load");
    let load_only = started.elapsed();
    assert_eq!(loaded.len() as u64, facts);
    (took, load_only)
}
