//! The identity check against the number of users, in one run:
//!
//! ```text
//! cargo bench --features axum --bench users
//! ```
//!
//! 1. **Per request**: one request through `SocialAuth` wrapping a trivial service, each
//!    carrying one of `N` distinct valid identity cookies (one user each), taken in a fixed
//!    random order (a shuffle with a fixed seed), for `N` = 1, 1,000, 100,000 and 1,000,000;
//!    one whole pass over the `N` tokens warms the layer's verified-token cache before
//!    anything is measured (past its capacity, 131,072, the tokens keep evicting each other
//!    and are verified in full on every request). Each request's `Cookie` header is copied
//!    from the token list, so the harness reads a token from memory as a server reads it
//!    from its socket; "bare" is the inner service alone given the same requests, so
//!    `layer - bare` is the layer's cost at that number of users. "first seen" sends tokens
//!    the layer has never seen, each once: the full verification and the cache insert, into
//!    a cache with room and into one already full (after a pass over 139,264 other tokens),
//!    where each insert evicts a token.
//!    Interleaved rounds (every row once a round), medians.
//! 2. **Memory**: the process's resident set before and after the warm pass of each `N`,
//!    divided by the tokens the cache then holds (`N`, or its capacity): what each kept token
//!    adds, its user and its share of the cache's table (64 bytes a slot, allocated 8 KiB at
//!    a time as tokens are kept, so below capacity the share is 64 bytes times the slots per
//!    token: about 84 at 100,000 tokens in 131,072 slots); and before and after building
//!    that layer (its providers' HTTP client; no table yet).
//!
//! Targets (issue 30): `layer - bare` at 100,000 users at most 0.3 µs more than at one user;
//! at 1,000,000 no more than "first seen"; at most 200 bytes a cached token, table included.
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `USERS_COUNTS` | 1,1000,100000,1000000 | the numbers of users, comma-separated |
//! | `USERS_ROUNDS` | 11 | interleaved rounds |
//! | `USERS_REQUESTS` | 100000 | requests per row and round |
//! | `USERS_FRESH` | 20000 | "first seen" requests per round |

// The tests' harness; a bench uses a small part of it, and the test suites show its dead code.
#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::convert::Infallible;
use std::future::Ready;
use std::hint::black_box;
use std::time::Instant;

use http::header::COOKIE;
use http::{HeaderValue, Request, Response, StatusCode};
use socialauth::{Identity, SocialAuth, SocialAuthLayer};
use tower::{Layer, Service};

use common::app::SECRET;
use support::{env_u64, ready_now, rss_kib, unix_now, IdentitySigner, IDENTITY_COOKIE};

/// The verified-token cache's capacity (`VERIFIED_TOKENS` in `src/identity_token/mod.rs`).
const CACHE_CAPACITY: u64 = 1 << 17;

type Answer = Ready<Result<Response<()>, Infallible>>;
type Inner = tower::util::ServiceFn<fn(Request<String>) -> Answer>;

/// The trivial inner service: `200` when the request carries an identity, `204` when not.
fn inner() -> Inner {
    fn answer(request: Request<String>) -> Answer {
        let mut response = Response::new(());
        if request.extensions().get::<Identity>().is_none() {
            *response.status_mut() = StatusCode::NO_CONTENT;
        }
        std::future::ready(Ok(response))
    }
    tower::service_fn(answer as fn(_) -> _)
}

fn layer() -> SocialAuth<Inner> {
    SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(socialauth::Facebook::new("app", "secret"))
        .build()
        .expect("valid layer")
        .layer(inner())
}

/// `Cookie` header values of `count` distinct users, valid for a day.
fn cookies(signer: &IdentitySigner, prefix: &str, count: u64) -> Vec<Box<str>> {
    let now = unix_now();
    (0..count)
        .map(|i| {
            let token = signer.sign(&format!("{prefix}{i}"), now, now + 86_400);
            format!("{IDENTITY_COOKIE}={token}").into_boxed_str()
        })
        .collect()
}

/// `0..n` in a random order that is the same on every run (xorshift64*, Fisher-Yates).
fn shuffled(n: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..n).rev() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let j = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// One request with this cookie, its header copied from the list.
fn request(cookie: &str) -> Request<String> {
    let mut request = Request::get("/whoami")
        .body(String::new())
        .expect("request");
    request.headers_mut().insert(
        COOKIE,
        HeaderValue::from_str(cookie).expect("a valid header"),
    );
    request
}

/// One row: a service and the users whose cookies it is sent, in rotation.
struct Row<S> {
    service: S,
    cookies: Vec<Box<str>>,
    order: Vec<u32>,
    next: usize,
}

impl<S, B> Row<S>
where
    S: Service<Request<String>, Response = Response<B>, Error = Infallible>,
{
    /// Sends the next `n` requests of the rotation; nanoseconds per request, and how many
    /// the inner service saw with an identity.
    fn run(&mut self, n: u64) -> (f64, u64) {
        let mut signed_in = 0;
        let started = Instant::now();
        for _ in 0..n {
            let index = self.order[self.next] as usize;
            self.next = (self.next + 1) % self.order.len();
            let response =
                ready_now(self.service.call(request(&self.cookies[index]))).expect("infallible");
            signed_in += u64::from(response.status() == StatusCode::OK);
            black_box(response);
        }
        (started.elapsed().as_nanos() as f64 / n as f64, signed_in)
    }

    /// One pass over every user, in the rotation's order.
    fn warm(&mut self) {
        let all = self.order.len() as u64;
        self.run(all);
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let counts: Vec<u64> = std::env::var("USERS_COUNTS")
        .unwrap_or_else(|_| "1,1000,100000,1000000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let rounds = env_u64("USERS_ROUNDS", 11).max(1);
    let requests = env_u64("USERS_REQUESTS", 100_000).max(1);
    let fresh = env_u64("USERS_FRESH", 20_000).max(1);
    let signer = IdentitySigner::new();

    // Every token first, so that the resident set around a warm pass measures the cache.
    let started = Instant::now();
    let lists: Vec<Vec<Box<str>>> = counts
        .iter()
        .map(|&n| cookies(&signer, &format!("u{n}-"), n))
        .collect();
    // First seen: into a cache with room, and into a full one (filled by a pass over more
    // tokens than it holds), where each new token evicts one.
    let filler = cookies(&signer, "filler-", CACHE_CAPACITY + CACHE_CAPACITY / 16);
    let mut fresh_rows: Vec<(&str, Row<SocialAuth<Inner>>)> = ["empty", "full"]
        .into_iter()
        .map(|cache| {
            let list = cookies(&signer, &format!("fresh-{cache}-"), rounds * fresh);
            let row = Row {
                service: layer(),
                order: (0..list.len() as u32).collect(),
                cookies: list,
                next: 0,
            };
            (cache, row)
        })
        .collect();
    // Kept to the end: memory freed here would be reused by the warm passes below, and their
    // resident sets would not show what they keep.
    let mut fill = fresh_rows.get(1).map(|(_, full)| Row {
        service: full.service.clone(),
        order: (0..filler.len() as u32).collect(),
        cookies: filler,
        next: 0,
    });
    if let Some(fill) = &mut fill {
        fill.warm();
    }
    eprintln!(
        "signed {} tokens in {:.1} s",
        lists.iter().map(Vec::len).sum::<usize>() + fresh_rows.len() * (rounds * fresh) as usize,
        started.elapsed().as_secs_f64()
    );

    let mut layered = Vec::new();
    let mut bare = Vec::new();
    let mut memory = Vec::new();
    for (&n, list) in counts.iter().zip(lists) {
        let order = shuffled(list.len());
        let (cookies, same_order) = (list.clone(), order.clone());
        let unbuilt = rss_kib();
        let service = layer();
        let before = rss_kib();
        let mut row = Row {
            service,
            cookies,
            order: same_order,
            next: 0,
        };
        row.warm();
        let after = rss_kib();
        memory.push((n, before.saturating_sub(unbuilt), before, after));
        layered.push(row);
        bare.push(Row {
            service: inner(),
            cookies: list,
            order,
            next: 0,
        });
    }
    for row in &mut bare {
        row.run(requests / 10);
    }
    for (_, row) in &mut fresh_rows {
        row.run(fresh / 10);
    }

    let mut layer_ns = vec![Vec::new(); counts.len()];
    let mut bare_ns = vec![Vec::new(); counts.len()];
    let mut fresh_ns = vec![Vec::new(); fresh_rows.len()];
    for round in 0..rounds {
        for (i, (row, plain)) in layered.iter_mut().zip(&mut bare).enumerate() {
            let (ns, signed_in) = row.run(requests);
            assert_eq!(signed_in, requests, "every user is signed in");
            layer_ns[i].push(ns);
            bare_ns[i].push(plain.run(requests).0);
        }
        for ((_, row), values) in fresh_rows.iter_mut().zip(&mut fresh_ns) {
            let (ns, signed_in) = row.run(fresh);
            assert_eq!(signed_in, fresh, "every first-seen user is signed in");
            values.push(ns);
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }

    println!();
    println!(
        "identity check by number of users ({rounds} interleaved rounds of {requests} requests, \
         medians; {}):",
        support::machine()
    );
    println!(
        "{:>12} {:>14} {:>14} {:>14} {:>14}",
        "users", "layer ns/req", "bare ns/req", "layer - bare", "vs 1 user"
    );
    let mut one_user = None;
    for (i, &n) in counts.iter().enumerate() {
        let (layer, bare) = (median(&mut layer_ns[i]), median(&mut bare_ns[i]));
        let cost = layer - bare;
        let base = *one_user.get_or_insert(cost);
        println!(
            "{n:>12} {layer:>14.1} {bare:>14.1} {cost:>14.1} {:>+14.1}",
            cost - base
        );
    }
    let bare_one = bare_ns
        .first_mut()
        .map_or(f64::NAN, |values| median(values));
    for ((cache, _), values) in fresh_rows.iter().zip(&mut fresh_ns) {
        let first = median(values);
        println!(
            "{:>12} {first:>14.1} {bare_one:>14.1} {:>14.1}   ({fresh} new tokens a round, each \
             once, into a cache {})",
            "first seen",
            first - bare_one,
            if *cache == "full" {
                "already full"
            } else {
                "with room"
            }
        );
    }
    drop(fill);
    println!();
    for (n, built, before, after) in memory {
        let held = n.min(CACHE_CAPACITY);
        let kept = after.saturating_sub(before) as f64 * 1024.0 / held as f64;
        // The table's share: 64 bytes a slot, for as many slots as are allocated (nearly all
        // once the tokens are many: they land in every segment).
        let table = 64.0 * CACHE_CAPACITY as f64 / held as f64;
        println!(
            "memory, {n} users: building the layer +{built} KiB; warm pass RSS {before} -> \
             {after} KiB: {kept:.1} bytes for each of the {held} tokens kept (the table's share \
             at most {:.1}, so its user about {:.1})",
            table.min(kept),
            (kept - table).max(0.0)
        );
    }
}
