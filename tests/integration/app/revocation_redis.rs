//! Revocation across replicas on a real Redis (Debian's `redis-server`, started by each test
//! on a free loopback port): two layers sharing the secret and one Redis, and what happens
//! when Redis dies, comes back empty, is cut off from one replica, or holds garbage; and the
//! same over TLS with a private CA and client certificates.

use std::time::{Duration, Instant};

use crate::common::app::{self, App, Stack, IDENTITY_COOKIE, TOKENS_COOKIE};
use crate::common::browser::Browser;
use crate::common::captured_logs;
use crate::common::redis::{CuttableProxy, RedisServer};
use crate::common::test_pki::TestPki;
use socialauth::revocation::{RedisStore, Revocations, RevocationsBuilder, StalePolicy};

/// A replica: its own layer (same secret as every test app) on its own port, with its own
/// connection to Redis at `url`.
async fn replica(url: &str, policy: StalePolicy) -> (App, Revocations) {
    let store = RedisStore::connect(url).await.expect("redis reachable");
    replica_on(store, policy).await
}

/// A replica on its own `store`.
async fn replica_on(store: RedisStore, policy: StalePolicy) -> (App, Revocations) {
    replica_tuned(store, |r| r.policy(policy)).await
}

/// A replica on its own `store`, with the test timings (staleness 2 s, a ping every 200 ms,
/// a reload every second) adjusted by `tune`; its layer keeps the provider's tokens, so a
/// logout has two cookies to clear.
pub(super) async fn replica_tuned(
    store: RedisStore,
    tune: impl FnOnce(RevocationsBuilder) -> RevocationsBuilder,
) -> (App, Revocations) {
    let revocations = tune(
        Revocations::builder(store)
            .staleness(Duration::from_secs(2))
            .ping_every(Duration::from_millis(200))
            .resync_every(Duration::from_secs(1)),
    )
    .start()
    .await
    .expect("first load");
    let handle = revocations.clone();
    let app = app::start_with(Stack::Axum, move |b| {
        b.revocation(handle).keep_provider_tokens(true)
    })
    .await;
    (app, revocations)
}

/// Polls until `app` says `expected` for `cookie`, for at most `limit`: how long it took.
pub(super) async fn until(app: &App, cookie: &str, expected: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = app.who(cookie).await;
        if now == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still {now:?} after {limit:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two replicas, a user signed in on each: "sign out everywhere" on `a` makes `b` treat the
/// other device's cookie as anonymous within a second (how long it took), and a new login
/// afterwards works on both.
async fn sign_out_everywhere_across(a: &App, b: &App) -> Duration {
    let (on_a, cookie_a) = a.signed_in().await;
    let (_, cookie_b) = b.signed_in().await;
    for app in [a, b] {
        for cookie in [&cookie_a, &cookie_b] {
            assert_eq!(app.who(cookie).await, "10001");
        }
    }

    let visit = on_a
        .post_follow(&a.url("/auth/logout?everywhere=1"), &[])
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    let took = until(b, &cookie_b, "anonymous", Duration::from_secs(1)).await;
    assert_eq!(b.who(&cookie_a).await, "anonymous");
    assert_eq!(a.who(&cookie_b).await, "anonymous");

    let (_, fresh) = b.signed_in().await;
    assert_eq!(a.who(&fresh).await, "10001");
    assert_eq!(b.who(&fresh).await, "10001");
    took
}

/// Redis holds one fact, in a set with an expiry: the session lifetime (30 days by default),
/// the longest any token of a revoked session can be valid, with the clock leeway.
async fn assert_one_fact_with_an_expiry(redis: &RedisServer) {
    assert_eq!(
        redis
            .command(&["ZCARD", "socialauth:revoked"])
            .await
            .as_deref(),
        Some(":1")
    );
    let ttl = redis.command(&["TTL", "socialauth:revoked"]).await.unwrap();
    let ttl: i64 = ttl.trim_start_matches(':').parse().unwrap();
    let days_30 = 30 * 24 * 3600;
    assert!(ttl > days_30 && ttl <= days_30 + 60, "TTL {ttl}");
}

#[tokio::test]
async fn sign_out_everywhere_on_one_replica_reaches_the_other_within_a_second() {
    let redis = RedisServer::start().await;
    let (a, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let (b, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let took = sign_out_everywhere_across(&a, &b).await;
    eprintln!("replica B saw the revocation after {took:?}");
}

#[tokio::test]
async fn an_admin_process_without_a_layer_revokes_a_user_on_every_replica() {
    let redis = RedisServer::start().await;
    let (app, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let (_, cookie) = app.signed_in().await;
    assert_eq!(app.who(&cookie).await, "10001");

    // A separate process (an admin tool, a job on account deletion) with no layer of its own.
    let store = RedisStore::connect(&redis.url())
        .await
        .expect("redis reachable");
    let admin = Revocations::builder(store)
        .start()
        .await
        .expect("first load");
    admin
        .revoke_user("facebook", "10001")
        .await
        .expect("revoked");
    drop(admin);

    until(&app, &cookie, "anonymous", Duration::from_secs(1)).await;
    // The fact lives as long as the tokens it revokes could, not a moment: a replica started
    // later still learns it from Redis.
    assert_one_fact_with_an_expiry(&redis).await;
    let (late, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    assert_eq!(late.who(&cookie).await, "anonymous");
}

/// Signs in twice on `a` and logs the first session out there, then waits until `b` sees
/// it logged out: the two identity cookies, the logged-out one first.
async fn log_out_one_of_two(a: &App, b: &App) -> (String, String) {
    let (browser, logged_out) = a.signed_in().await;
    let (_, other) = a.signed_in().await;
    browser.post_follow(&a.url("/auth/logout"), &[]).await;
    until(b, &logged_out, "anonymous", Duration::from_secs(1)).await;
    (logged_out, other)
}

#[tokio::test]
async fn logout_on_one_replica_ends_that_session_on_the_other_only() {
    let redis = RedisServer::start().await;
    let (a, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let (b, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let (_, other) = log_out_one_of_two(&a, &b).await;
    assert_eq!(b.who(&other).await, "10001");
    // The fact is in Redis, with an expiry: a member of the set and a TTL on it.
    assert_one_fact_with_an_expiry(&redis).await;
}

#[tokio::test]
async fn redis_killed_then_back_empty_serves_from_the_copy_applies_the_policy_and_heals() {
    let mut redis = RedisServer::start().await;
    let port = redis.port;
    let (closed, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let (open, _) = replica(&redis.url(), StalePolicy::FailOpen).await;
    let (revoked, valid) = log_out_one_of_two(&closed, &open).await;

    redis.kill();
    // Within the staleness window both serve from their copy.
    for app in [&closed, &open] {
        assert_eq!(app.who(&valid).await, "10001");
        assert_eq!(app.who(&revoked).await, "anonymous");
    }
    // Past it (2 s), the policy: fail closed treats everyone as anonymous, fail open keeps
    // the last copy (the revoked session stays revoked).
    until(&closed, &valid, "anonymous", Duration::from_secs(4)).await;
    assert_eq!(open.who(&valid).await, "10001");
    assert_eq!(open.who(&revoked).await, "anonymous");

    // Redis comes back empty: the replicas reconnect, reload, and write back what they know.
    let redis = RedisServer::start_on(port).await;
    until(&closed, &valid, "10001", Duration::from_secs(5)).await;
    assert_eq!(closed.who(&revoked).await, "anonymous");
    let started = Instant::now();
    while redis
        .command(&["ZCARD", "socialauth:revoked"])
        .await
        .as_deref()
        != Some(":1")
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "facts not written back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A replica started now learns the fact from Redis alone.
    let (late, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    assert_eq!(late.who(&revoked).await, "anonymous");
    assert_eq!(late.who(&valid).await, "10001");
}

#[tokio::test]
async fn facts_written_while_a_replica_was_cut_off_reach_it_when_it_reconnects() {
    let redis = RedisServer::start().await;
    let proxy = CuttableProxy::start(redis.addr()).await;
    let (cut_off, _) = replica(&proxy.url(), StalePolicy::FailOpen).await;
    let (b, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let (browser, cookie) = b.signed_in().await;
    assert_eq!(cut_off.who(&cookie).await, "10001");

    proxy.cut();
    browser.post_follow(&b.url("/auth/logout"), &[]).await;
    assert_eq!(b.who(&cookie).await, "anonymous");
    // Cut off (and failing open), the replica has not heard.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cut_off.who(&cookie).await, "10001");

    proxy.restore();
    let took = until(&cut_off, &cookie, "anonymous", Duration::from_secs(5)).await;
    eprintln!("the cut-off replica resynced {took:?} after the link came back");
}

#[tokio::test]
async fn malformed_facts_in_redis_are_ignored_with_a_warning() {
    let redis = RedisServer::start().await;
    let logs = captured_logs::capture();
    let (a, revocations) = replica(&redis.url(), StalePolicy::FailClosed).await;
    let (browser, revoked) = a.signed_in().await;
    let (_, valid) = a.signed_in().await;
    browser.post_follow(&a.url("/auth/logout"), &[]).await;

    let far = "4000000000";
    for garbage in ["not a fact", "s short 12", "u x y facebook 10001"] {
        redis
            .command(&["ZADD", "socialauth:revoked", far, garbage])
            .await
            .unwrap();
        redis
            .command(&["PUBLISH", "socialauth:revocations", garbage])
            .await
            .unwrap();
    }
    // The next reload (every second) reads the set with the garbage in it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(a.who(&revoked).await, "anonymous");
    assert_eq!(a.who(&valid).await, "10001");
    assert_eq!(revocations.len(), 1);
    assert!(revocations.is_fresh());
    let text = logs.text();
    assert!(
        text.contains("members of the revocation set that are not facts were ignored"),
        "{text}"
    );
    assert!(text.contains("malformed=3"), "{text}");
}

/// A store on `redis`'s TLS port, trusting `pki`'s CA and showing its client certificate.
async fn tls_store(redis: &RedisServer, pki: &TestPki) -> RedisStore {
    RedisStore::builder(&redis.tls_url())
        .root_certificate_pem(pki.read("ca.pem"))
        .client_certificate_pem(pki.read("client.pem"), pki.read("client.key"))
        .connect()
        .await
        .expect("redis over TLS")
}

#[tokio::test]
async fn replicas_share_revocations_over_tls_with_a_private_ca_and_a_client_certificate() {
    let pki = TestPki::create("socialauth-redis-tls");
    let redis = RedisServer::start_tls(&pki).await;
    let (a, _) = replica_on(tls_store(&redis, &pki).await, StalePolicy::FailClosed).await;
    let (b, _) = replica_on(tls_store(&redis, &pki).await, StalePolicy::FailClosed).await;
    // Written through A's TLS connection, followed through B's TLS subscription.
    let took = sign_out_everywhere_across(&a, &b).await;
    eprintln!("over TLS, replica B saw the revocation after {took:?}");
    assert_one_fact_with_an_expiry(&redis).await;
}

#[tokio::test]
async fn tls_that_cannot_be_verified_or_is_misconfigured_is_refused_with_the_cause() {
    let pki = TestPki::create("socialauth-redis-tls-refused");
    let redis = RedisServer::start_tls(&pki).await;
    let url = redis.tls_url();
    let with_password = url.replace("rediss://", "rediss://:hunter2@");
    let refused = |outcome: Result<RedisStore, socialauth::revocation::RevocationError>| {
        let error = outcome.expect_err("must not connect").to_string();
        assert!(!error.contains("hunter2"), "the password leaked: {error}");
        assert!(!error.contains("PRIVATE KEY"), "the key leaked: {error}");
        eprintln!("refused: {error}");
        error
    };

    // The private CA is not among the system's roots: the handshake fails.
    let untrusted = refused(RedisStore::connect(&with_password).await);
    assert!(untrusted.contains("certificate"), "{untrusted}");
    // Trusted, but Redis asks for a client certificate that is not given.
    let anonymous = refused(
        RedisStore::builder(&with_password)
            .root_certificate_pem(pki.read("ca.pem"))
            .connect()
            .await,
    );
    assert!(anonymous.contains("CertificateRequired"), "{anonymous}");
    // redis-rs's #insecure fragment would turn the certificate check off.
    let insecure = refused(RedisStore::connect(&format!("{with_password}#insecure")).await);
    assert!(insecure.contains("#insecure"), "{insecure}");
    // Certificates for a plain redis:// URL would be silently unused.
    let plain = refused(
        RedisStore::builder(&redis.url())
            .root_certificate_pem(pki.read("ca.pem"))
            .connect()
            .await,
    );
    assert!(plain.contains("not rediss://"), "{plain}");
    // A CA that does not parse.
    let garbage = refused(
        RedisStore::builder(&url)
            .root_certificate_pem(b"-----BEGIN CERTIFICATE-----\nnot base64\n".to_vec())
            .connect()
            .await,
    );
    assert!(
        garbage.contains("root certificate is not valid PEM"),
        "{garbage}"
    );
    let bad_key = refused(
        RedisStore::builder(&url)
            .root_certificate_pem(pki.read("ca.pem"))
            .client_certificate_pem(
                pki.read("client.pem"),
                b"-----BEGIN PRIVATE KEY-----\nAAAA".to_vec(),
            )
            .connect()
            .await,
    );
    assert!(bad_key.contains("client key is not valid PEM"), "{bad_key}");

    // The same server, trusted and shown the client certificate, is fine.
    tls_store(&redis, &pki).await;
}

/// Polls until `revocations` says its copy is stale (the store out of reach for longer than
/// the staleness limit), then a little longer.
async fn until_stale(revocations: &Revocations) {
    let started = Instant::now();
    while revocations.is_fresh() {
        assert!(started.elapsed() < Duration::from_secs(5), "never stale");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// `POST /auth/logout` (`everywhere`: `?everywhere=1`) in `browser` on `app` while the store
/// is out of reach: `503 revocation_unavailable`, and both cookies cleared all the same.
async fn logout_refused_by_the_store(app: &App, browser: &Browser, everywhere: bool) {
    let path = if everywhere {
        "/auth/logout?everywhere=1"
    } else {
        "/auth/logout"
    };
    assert!(browser.cookie(TOKENS_COOKIE).is_some(), "a tokens cookie");
    let answer = browser.post(&app.url(path), &[]).await;
    let cleared: Vec<String> = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    app::assert_error(answer, 503, "revocation_unavailable").await;
    for name in [IDENTITY_COOKIE, TOKENS_COOKIE] {
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0")),
            "{name} not cleared: {cleared:?}"
        );
        assert!(
            browser.cookie(name).is_none(),
            "{name} still in the browser"
        );
    }
}

/// Two replicas on one Redis; a user signed in on `a` keeps a copy of the cookie (a thief's)
/// and has a second session on `b`. Redis dies for longer than the staleness limit; the user
/// logs out on `a` (policy `a_policy`), which cannot reach the store: `503
/// revocation_unavailable`, cookies cleared, and the copy refused on `a` at once. Redis comes
/// back empty; `b`, which never saw the logout (failing open, it kept serving the copy
/// through the outage), refuses the copy once `a` has written the fact back.
async fn logout_through_a_long_outage(a_policy: StalePolicy, everywhere: bool) {
    let mut redis = RedisServer::start().await;
    let port = redis.port;
    let store = |url: String| async move { RedisStore::connect(&url).await.expect("redis") };
    let (a, on_a) = replica_tuned(store(redis.url()).await, |r| r.policy(a_policy)).await;
    let (b, on_b) = replica_tuned(store(redis.url()).await, |r| {
        r.policy(StalePolicy::FailOpen)
    })
    .await;
    let (browser, copy) = a.signed_in().await;
    let (_, other_session) = b.signed_in().await;
    for app in [&a, &b] {
        assert_eq!(app.who(&copy).await, "10001");
    }

    redis.kill();
    until_stale(&on_a).await;
    assert!(!on_b.is_fresh());
    logout_refused_by_the_store(&a, &browser, everywhere).await;
    // Refused on `a` at once, whatever its policy, and the outage goes on: `b` has not heard.
    assert_eq!(a.who(&copy).await, "anonymous");
    if a_policy == StalePolicy::FailOpen {
        let other = if everywhere { "anonymous" } else { "10001" };
        assert_eq!(a.who(&other_session).await, other);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(b.who(&copy).await, "10001");

    let redis = RedisServer::start_on(port).await;
    let took = until(&b, &copy, "anonymous", Duration::from_secs(5)).await;
    eprintln!("replica B refused the copy {took:?} after Redis came back");
    let other = if everywhere { "anonymous" } else { "10001" };
    assert_eq!(b.who(&other_session).await, other);
    // The fact is in Redis: a replica started now refuses the copy too, and signs in anew.
    let (late, _) = replica(&redis.url(), StalePolicy::FailClosed).await;
    assert_eq!(late.who(&copy).await, "anonymous");
    let (_, fresh) = late.signed_in().await;
    assert_eq!(b.who(&fresh).await, "10001");
}

#[tokio::test]
async fn sign_out_everywhere_during_a_redis_outage_longer_than_staleness_is_written_back() {
    logout_through_a_long_outage(StalePolicy::FailClosed, true).await;
}

#[tokio::test]
async fn logout_during_a_redis_outage_on_a_fail_open_replica_is_written_back() {
    logout_through_a_long_outage(StalePolicy::FailOpen, false).await;
}

#[tokio::test]
async fn a_logout_made_while_cut_off_reaches_replicas_that_never_lost_redis_at_once() {
    let redis = RedisServer::start().await;
    let proxy = CuttableProxy::start(redis.addr()).await;
    let store = RedisStore::connect(&proxy.url()).await.expect("redis");
    let (a, on_a) = replica_tuned(store, |r| r.policy(StalePolicy::FailClosed)).await;
    // `b` never loses Redis and reloads only every minute (the default): only a message can
    // tell it of the logout before then.
    let store = RedisStore::connect(&redis.url()).await.expect("redis");
    let (b, _) = replica_tuned(store, |r| r.resync_every(Duration::from_secs(60))).await;
    let (browser, copy) = a.signed_in().await;
    assert_eq!(b.who(&copy).await, "10001");

    proxy.cut();
    until_stale(&on_a).await;
    logout_refused_by_the_store(&a, &browser, false).await;
    assert_eq!(b.who(&copy).await, "10001");

    proxy.restore();
    let took = until(&b, &copy, "anonymous", Duration::from_secs(5)).await;
    eprintln!("replica B heard of the logout {took:?} after A's link came back");
}
