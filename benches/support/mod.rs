//! What the benchmarks share: identity tokens signed exactly as the layer signs them, a real
//! Facebook login against the loopback fake, a lean keep-alive HTTP/1.1 client, latency
//! percentiles, and readings of the process's memory and per-thread CPU time.
//!
//! Each benchmark declares `mod support;` next to `mod common;` and uses a subset of it.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::common::app::SECRET;
use crate::common::browser::Browser;

/// The identity cookie's name with the default (secure) cookie settings.
pub const IDENTITY_COOKIE: &str = "__Host-socialauth";

/// A whole number from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Seconds since the Unix epoch: the tests' one clock.
pub fn unix_now() -> u64 {
    crate::common::clock::now()
}

/// The `kid` the layer writes for a signing key: base64url of the first 9 bytes of
/// SHA-256("socialauth key id\0" + key).
fn identity_kid(signing_key: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut id = sha2::Sha256::new();
    id.update(b"socialauth key id\0");
    id.update(signing_key);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&id.finalize()[..9])
}

/// An identity token signed the way the layer signs one: HS256 JWT keyed with the signing
/// half of `cookie::Key::derive_from(secret)`, with its `kid`; `iss`/`aud`/`sub`/`provider`/`iat`/`exp`/`sid`/`auth_ms`.
pub fn sign_identity(user_id: &str, iat: u64, exp: u64) -> String {
    sign_identity_with(user_id, iat, exp, serde_json::json!({}))
}

/// [`sign_identity`] with the members of `extra` added to its claims (a provider session's
/// `psid`).
pub fn sign_identity_with(user_id: &str, iat: u64, exp: u64, extra: serde_json::Value) -> String {
    IdentitySigner::new().sign_with(user_id, iat, exp, extra)
}

/// Signs identity tokens as [`sign_identity`] does, with the key derived once: for benches
/// that sign many.
pub struct IdentitySigner {
    header: jsonwebtoken::Header,
    key: jsonwebtoken::EncodingKey,
}

impl IdentitySigner {
    pub fn new() -> Self {
        let key = cookie::Key::derive_from(SECRET);
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(identity_kid(key.signing()));
        Self {
            header,
            key: jsonwebtoken::EncodingKey::from_secret(key.signing()),
        }
    }

    /// [`sign_identity`].
    pub fn sign(&self, user_id: &str, iat: u64, exp: u64) -> String {
        self.sign_with(user_id, iat, exp, serde_json::json!({}))
    }

    /// [`sign_identity_with`].
    pub fn sign_with(&self, user_id: &str, iat: u64, exp: u64, extra: serde_json::Value) -> String {
        use base64::Engine;
        use sha2::Digest;
        // A session id per user (16 bytes, as the layer's random ones), and the sign-in time.
        let sid = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(&sha2::Sha256::digest(user_id.as_bytes())[..16]);
        let claims = serde_json::json!({
            "sid": sid,
            "auth_ms": iat * 1000,
            "iss": "socialauth",
            "aud": "socialauth:identity",
            "sub": user_id,
            "provider": "facebook",
            "name": "Mark Z",
            "email": "mark@example.com",
            "iat": iat,
            "exp": exp,
        });
        let mut claims = claims;
        for (name, value) in extra.as_object().into_iter().flatten() {
            claims[name] = value.clone();
        }
        jsonwebtoken::encode(&self.header, &claims, &self.key).expect("HS256 signing does not fail")
    }
}

/// Logs in through `app_base_url`'s `/auth/facebook` (served with the fake Facebook behind
/// it) like a browser, and returns the identity cookie's value.
pub async fn facebook_login_cookie(app_base_url: &str) -> String {
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{app_base_url}/auth/facebook?login=start"))
        .await;
    assert!(
        visit.hops.len() >= 3,
        "login did not go through: {:?}",
        visit.hops
    );
    browser
        .cookie(IDENTITY_COOKIE)
        .unwrap_or_else(|| panic!("no identity cookie after {:?}", visit.hops))
}

/// Polls a future once with a no-op waker; for futures that must be ready at once (the
/// layer's pass-through and Facebook's login start never wait on anything).
pub fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future was expected to be ready at once"),
    }
}

/// One keep-alive HTTP/1.1 connection, lean: hyper's client connection, no pool.
pub struct Conn {
    sender: SendRequest<Empty<Bytes>>,
    host: HeaderValue,
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The `name=value` part of the first `Set-Cookie` whose name starts with `prefix`.
    pub fn set_cookie(&self, prefix: &str) -> Option<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v))
            .find(|pair| pair.starts_with(prefix))
    }
}

impl Conn {
    /// Opens a connection to `addr`; its driver runs as a task of the current runtime.
    pub async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let host = HeaderValue::from_str(&addr.to_string()).map_err(std::io::Error::other)?;
        Ok(Self { sender, host })
    }

    /// `GET path_and_query` with an optional `Cookie` header; the body is read whole.
    pub async fn get(
        &mut self,
        path_and_query: &str,
        cookie: Option<&HeaderValue>,
    ) -> hyper::Result<Reply> {
        let mut request = Request::get(path_and_query)
            .body(Empty::new())
            .expect("valid request");
        request.headers_mut().insert(HOST, self.host.clone());
        if let Some(cookie) = cookie {
            request.headers_mut().insert(COOKIE, cookie.clone());
        }
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Whether the server has closed the connection.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// A latency histogram of fixed size (about 30 KiB), so that recording never allocates and
/// the process's memory stays what the code under test makes it: 64 buckets per power of two
/// of nanoseconds, so a percentile is within 1.6 % of the true value.
pub struct Latencies {
    counts: Vec<u64>,
    total: u64,
}

const SUB_BUCKETS: u64 = 64;
const BUCKETS: usize = 64 * 59;

fn bucket(ns: u64) -> usize {
    if ns < SUB_BUCKETS {
        return ns as usize;
    }
    let shift = 63 - ns.leading_zeros() - 6;
    let mantissa = ns >> shift; // 64..128
    ((shift as usize + 1) * SUB_BUCKETS as usize + (mantissa - SUB_BUCKETS) as usize)
        .min(BUCKETS - 1)
}

/// The middle of a bucket, in nanoseconds.
fn bucket_value(index: usize) -> u64 {
    let sub = SUB_BUCKETS as usize;
    if index < sub {
        return index as u64;
    }
    let shift = (index / sub - 1) as u32;
    let mantissa = (index % sub) as u64 + SUB_BUCKETS;
    (mantissa << shift) + ((1u64 << shift) >> 1)
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }
}

impl Latencies {
    pub fn record(&mut self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket(ns)] += 1;
        self.total += 1;
    }

    pub fn extend(&mut self, other: Latencies) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    /// The `p`-th percentile (0..=100).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_nanos(bucket_value(index));
            }
        }
        Duration::from_nanos(bucket_value(BUCKETS - 1))
    }
}

/// Resident set size of this process, in KiB (`VmRSS` of `/proc/self/status`).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// Time spent on a CPU by this process's threads whose name starts with `prefix`
/// (`/proc/self/task/*/schedstat`, nanosecond resolution).
pub fn thread_cpu(prefix: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut total = 0u64;
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.starts_with(prefix) {
            continue;
        }
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0u64);
        total += ns;
    }
    Duration::from_nanos(total)
}

/// Machine description for the report's header.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs, {model}")
}

/// `Duration` as microseconds with one decimal.
pub fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// A multi-thread tokio runtime of `threads` workers named `name`; with `cpus`, worker `i`
/// (and every blocking thread after the workers) is pinned to `cpus[i % len]`, wrapped onto
/// the CPUs there are.
pub fn runtime(name: &str, threads: u64, cpus: Option<Vec<usize>>) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(usize::try_from(threads).unwrap_or(1).max(1))
        .thread_name(name)
        .enable_all();
    if let Some(cpus) = cpus.filter(|cpus| !cpus.is_empty()) {
        let available = core_affinity::get_core_ids().unwrap_or_default();
        if !available.is_empty() {
            let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            builder.on_thread_start(move || {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let cpu = cpus[i % cpus.len()] % available.len();
                core_affinity::set_for_current(available[cpu]);
            });
        }
    }
    builder.build().expect("tokio runtime")
}

/// Time the calling thread has spent on a CPU (`/proc/thread-self/schedstat`).
pub fn this_thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .map_or(Duration::ZERO, Duration::from_nanos)
}
