//! Revocation on highly available Redis, with real `redis-server` processes (Debian's; a
//! sentinel is `redis-server --sentinel`) started by each test on free loopback ports: a
//! primary and its replica under three sentinels, failed over by killing the primary; and a
//! Redis Cluster of three primaries.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use socialauth::revocation::{RedisStore, Revocations};
use socialauth::SessionId;

use super::revocation_redis::{replica_tuned, until};
use crate::common::app::{App, IDENTITY_COOKIE};
use crate::common::browser::Browser;
use crate::common::clock;
use crate::common::forge;
use crate::common::redis::{wait_for, RedisCluster, SentinelSet, PRIMARY_NAME, PRIMARY_PASSWORD};

/// A store on the primary that `set`'s sentinels name.
async fn sentinel_store(set: &SentinelSet) -> RedisStore {
    RedisStore::sentinel(PRIMARY_NAME, set.sentinel_urls())
        .primary_credentials(None, PRIMARY_PASSWORD)
        .connect()
        .await
        .expect("the primary, through the sentinels")
}

/// A replica (its own layer) on `store`, staying fresh for 10 s without Redis: longer than
/// a failover, so that "anonymous" after one means revoked, not a copy gone stale. It
/// reloads every `resync_every`.
async fn ha_replica(store: RedisStore, resync_every: Duration) -> (App, Revocations) {
    replica_tuned(store, |r| {
        r.staleness(Duration::from_secs(10))
            .resync_every(resync_every)
    })
    .await
}

/// A replica on `store` with the test timings (staleness 2 s, a ping every 200 ms, a reload
/// every second).
async fn replica(store: RedisStore) -> (App, Revocations) {
    replica_tuned(store, |r| r).await
}

/// Signs a new browser in with the Twitter fake (user 12345) on `app`.
async fn signed_in_with_twitter(app: &App) -> (Browser, String) {
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/twitter?login=start")).await;
    assert_eq!(visit.status, 200, "login failed: {}", visit.body);
    let cookie = browser.cookie(IDENTITY_COOKIE).expect("an identity cookie");
    (browser, cookie)
}

#[tokio::test]
async fn a_sign_out_everywhere_answered_before_the_primary_dies_survives_the_sentinel_failover() {
    let started = Instant::now();
    let mut set = SentinelSet::start().await;
    eprintln!(
        "primary, replica and three sentinels ready in {:?}",
        started.elapsed()
    );
    let minute = Duration::from_secs(60);
    let (a, _) = ha_replica(sentinel_store(&set).await, Duration::from_secs(1)).await;
    // `b` reloads only every minute: before then, only a message or its reconnection can
    // tell it anything.
    let (b, _) = ha_replica(sentinel_store(&set).await, minute).await;
    let (browser, copy) = a.signed_in().await;
    let (twitter, twitter_copy) = signed_in_with_twitter(&a).await;
    for app in [&a, &b] {
        assert_eq!(app.who(&copy).await, "10001");
        assert_eq!(app.who(&twitter_copy).await, "12345");
    }

    // The replica stops receiving: the next write is on the primary alone when it dies.
    set.replication.cut();
    let logout = browser.post(&a.url("/auth/logout?everywhere=1"), &[]).await;
    assert_eq!(logout.status(), 303, "the revocation was accepted");
    set.primary.kill();
    // While no primary answers, a logout holds on `a` at once and says the store did not
    // take it.
    let during = twitter.post(&a.url("/auth/logout"), &[]).await;
    assert_eq!(during.status(), 503, "no primary during the failover");
    assert_eq!(a.who(&twitter_copy).await, "anonymous");
    assert_eq!(
        set.replica
            .cli(&["ZCARD", "socialauth:revoked"])
            .await
            .trim(),
        "0",
        "the replica never got the sign-out"
    );

    let failover = wait_for("the failover", Duration::from_secs(10), || async {
        set.primary_port().await == Some(set.replica.port)
    })
    .await;
    eprintln!("the sentinels promoted the replica {failover:?} after the kill");
    // Both layers follow the new primary: the revocation made during the failover reaches
    // `b`, and the one acknowledged before it still holds everywhere.
    let took = until(&b, &twitter_copy, "anonymous", Duration::from_secs(5)).await;
    eprintln!(
        "replica B refused the session logged out during the failover {took:?} after the promotion"
    );
    for app in [&a, &b] {
        assert_eq!(app.who(&copy).await, "anonymous");
    }
    // A session begun after the failover is fine on both (the copies are current, not
    // failing closed), and its logout on `b` reaches `a` within 2 s.
    let (fresh_browser, fresh) = b.signed_in().await;
    for app in [&a, &b] {
        assert_eq!(app.who(&fresh).await, "10001");
    }
    let logout = fresh_browser.post(&b.url("/auth/logout"), &[]).await;
    assert_eq!(logout.status(), 303);
    let took = until(&a, &fresh, "anonymous", Duration::from_secs(2)).await;
    eprintln!("after the failover, replica A refused a session logged out on B after {took:?}");

    // Nothing lost: a layer started now reads the new primary alone, and refuses all three
    // (the sign-out the old primary acknowledged was written back to the new one).
    let (late, on_late) = ha_replica(sentinel_store(&set).await, minute).await;
    for cookie in [&copy, &twitter_copy, &fresh] {
        assert_eq!(late.who(cookie).await, "anonymous");
    }
    assert_eq!(on_late.len(), 3);
    eprintln!("sentinel test took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_logout_the_old_primary_takes_after_a_planned_failover_reaches_everyone_when_it_goes() {
    let mut set = SentinelSet::start().await;
    // `a` pings every 30 s: only its requests, or losing its connection, move it. `b` pings
    // every 200 ms and reloads every minute: it hears of facts by messages.
    let (a, _) = replica_tuned(sentinel_store(&set).await, |r| {
        r.staleness(Duration::from_secs(60))
            .ping_every(Duration::from_secs(30))
            .resync_every(Duration::from_secs(60))
    })
    .await;
    let (b, _) = replica_tuned(sentinel_store(&set).await, |r| {
        r.resync_every(Duration::from_secs(60))
    })
    .await;
    let (browser, copy) = a.signed_in().await;
    assert_eq!(b.who(&copy).await, "10001");

    // A planned failover (an upgrade, a node drained). The old primary stays up and goes on
    // answering as a primary for seconds, until the sentinels make it a replica of the new
    // one.
    let sentinel = set.sentinels.first().expect("three sentinels");
    assert_eq!(
        sentinel
            .cli(&["SENTINEL", "FAILOVER", PRIMARY_NAME])
            .await
            .trim(),
        "OK"
    );
    let subscribers = || async {
        let numsub = set
            .replica
            .cli(&["PUBSUB", "NUMSUB", "socialauth:revocations"])
            .await;
        numsub.lines().nth(1).map(str::to_owned)
    };
    let took = wait_for("b on the new primary", Duration::from_secs(5), || async {
        set.primary_port().await == Some(set.replica.port)
            && subscribers().await.as_deref() == Some("1")
    })
    .await;
    eprintln!("b followed the new primary {took:?} after SENTINEL FAILOVER");

    // `a` is still on the old primary, which still takes writes: the logout is accepted
    // there, and `b`, on the new one, does not hear of it.
    assert_eq!(
        set.primary.cli(&["ROLE"]).await.lines().next(),
        Some("master")
    );
    let logout = browser.post(&a.url("/auth/logout"), &[]).await;
    assert_eq!(logout.status(), 303);
    // The old node goes (drained, shut down) before the sentinels made it a replica. `a`
    // follows the new primary, finds the fact missing there, and publishes it again.
    set.primary.kill();
    // About 1 s on a quiet machine (the store's 1 s reconnect delay, then a reload and a
    // publish); the bound leaves room for a loaded CI machine, as this scenario is not the
    // issue's 2 s one (a revocation made after the failover, tested above).
    let took = until(&b, &copy, "anonymous", Duration::from_secs(10)).await;
    eprintln!("b refused the copy {took:?} after the old primary went");
    assert_eq!(
        set.replica
            .cli(&["ZCARD", "socialauth:revoked"])
            .await
            .trim(),
        "1"
    );
    let (late, _) = replica(sentinel_store(&set).await).await;
    assert_eq!(late.who(&copy).await, "anonymous");
}

/// The `i`-th session id of the cluster test.
fn session_id(i: usize) -> SessionId {
    format!("{:0>21}A", format!("{i:x}"))
        .parse()
        .expect("22 base64url characters")
}

/// An identity cookie for user 30003's session `id`, begun now, signed with the test secret.
async fn session_cookie(id: SessionId) -> String {
    let mut claims = forge::identity_claims("30003");
    claims["sid"] = id.to_string().into();
    claims["auth_ms"] = (clock::now() * 1000).into();
    forge::forge(&claims.to_string()).await
}

/// Who `app`'s `/maybe` says each of `cookies` is ([`App::who`] for many): one HTTP client,
/// 50 requests at a time.
async fn who_all(app: &App, cookies: &[String]) -> Vec<String> {
    let client = reqwest::Client::new();
    let who = |cookie: &String| {
        let request = client
            .get(app.url("/maybe"))
            .header("cookie", format!("{IDENTITY_COOKIE}={cookie}"));
        async move {
            let answer = request.send().await.expect("the app answers");
            answer.text().await.expect("a body")
        }
    };
    let mut answers = Vec::with_capacity(cookies.len());
    for batch in cookies.chunks(50) {
        answers.extend(join_all(batch.iter().map(who)).await);
    }
    answers
}

#[tokio::test]
async fn a_thousand_revocations_through_one_cluster_node_reach_a_layer_on_another_and_a_new_one() {
    let started = Instant::now();
    let cluster = RedisCluster::start(3).await;
    eprintln!("three-node cluster ready in {:?}", started.elapsed());
    let store = |node: usize| {
        let url = cluster.url(node);
        async move {
            RedisStore::cluster([url])
                .connect()
                .await
                .expect("the cluster")
        }
    };
    // Neither reloads within the test: `b` hears of the facts by messages alone.
    let minute = Duration::from_secs(60);
    let (_a, on_a) = ha_replica(store(0).await, minute).await;
    let (b, on_b) = ha_replica(store(2).await, minute).await;
    let ids: Vec<SessionId> = (0..1001).map(session_id).collect();
    let mut cookies = Vec::with_capacity(ids.len());
    for id in &ids {
        cookies.push(session_cookie(*id).await);
    }
    let (kept, revoked) = cookies.split_last().expect("1001 cookies");
    assert!(who_all(&b, revoked).await.iter().all(|who| who == "30003"));

    let revoking = Instant::now();
    for id in ids.iter().take(revoked.len()) {
        on_a.revoke_session(*id)
            .await
            .expect("taken by the cluster");
    }
    let revoked_in = revoking.elapsed();
    let applied = wait_for("1,000 facts on b", Duration::from_secs(2), || async {
        on_b.len() == revoked.len()
    })
    .await;
    eprintln!(
        "1,000 revocations made in {revoked_in:?}; b had them all {applied:?} after the last \
         ({:?} after the first)",
        revoking.elapsed()
    );
    assert!(who_all(&b, revoked)
        .await
        .iter()
        .all(|who| who == "anonymous"));
    assert_eq!(b.who(kept).await, "30003");

    // A layer started now, through the third node: its first load has every fact.
    let loading = Instant::now();
    let (c, on_c) = ha_replica(store(1).await, minute).await;
    eprintln!("a new layer's first load took {:?}", loading.elapsed());
    assert_eq!(on_c.len(), revoked.len());
    assert!(who_all(&c, revoked)
        .await
        .iter()
        .all(|who| who == "anonymous"));
    assert_eq!(c.who(kept).await, "30003");
    eprintln!("cluster test took {:?}", started.elapsed());
}
