//! Item 16: concurrency. A thousand ID-token verifications missing the JWKS cache at once
//! share one fetch (cold, and again after the provider rotates its keys); a thousand
//! complete logins at once all succeed, and memory does not grow from one round of a
//! thousand to the next.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{COOKIE, LOCATION, SET_COOKIE};
use tokio::task::JoinSet;

use crate::common::app::oidc_for;
use crate::common::app::{self, SECRET};
use crate::common::fake_oidc::{self, Endpoint, OidcConfig};
use crate::support::{live_heap, rss_kib};

const LOGINS: usize = 1000;

/// The two tests here measure time and memory: one at a time.
pub(crate) async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// One client for every simulated browser (cookies are handled by hand), so a thousand
/// logins do not mean a thousand connection pools.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// A GET of `url` carrying `cookie` (`name=value`).
async fn get_with_cookie(
    client: &reqwest::Client,
    url: String,
    cookie: String,
) -> reqwest::Response {
    client.get(url).header(COOKIE, cookie).send().await.unwrap()
}

/// `name=value` of the first `Set-Cookie` whose name contains `part`.
fn cookie_pair(response: &reqwest::Response, part: &str) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.split('=').next().unwrap().contains(part))
        .unwrap_or_else(|| panic!("no {part} cookie"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Starts a login and lets the provider approve it: the callback URL and the flow cookie.
async fn prepare(client: &reqwest::Client, start: &str) -> (String, String) {
    let started = client.get(start).send().await.unwrap();
    assert_eq!(started.status(), 303);
    let flow = cookie_pair(&started, "socialauth-flow");
    let back = client.get(location(&started)).send().await.unwrap();
    assert_eq!(back.status(), 302);
    (location(&back), flow)
}

/// Prepares `n` logins, 50 at a time.
async fn prepare_many(client: &reqwest::Client, start: &str, n: usize) -> Vec<(String, String)> {
    let mut prepared = Vec::with_capacity(n);
    while prepared.len() < n {
        let mut batch = JoinSet::new();
        for _ in 0..50.min(n - prepared.len()) {
            let (client, start) = (client.clone(), start.to_owned());
            batch.spawn(async move { prepare(&client, &start).await });
        }
        prepared.extend(batch.join_all().await);
    }
    prepared
}

/// Sends every callback at once; the statuses.
async fn complete_all(client: &reqwest::Client, prepared: Vec<(String, String)>) -> Vec<u16> {
    let gate = Arc::new(tokio::sync::Barrier::new(prepared.len()));
    let mut callbacks = JoinSet::new();
    for (callback, flow) in prepared {
        let (client, gate) = (client.clone(), gate.clone());
        callbacks.spawn(async move {
            gate.wait().await;
            let done = get_with_cookie(&client, callback, flow).await;
            done.status().as_u16()
        });
    }
    callbacks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_16_a_thousand_concurrent_verifications_on_a_jwks_miss_share_one_fetch() {
    let _serial = serial().await;
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_signing_alg(fake_oidc::SigningAlg::ES256); // fast to sign a thousand
                                                        // A slow JWKS, so that the verifications pile up on the one fetch in flight.
    fake.set_delay(Endpoint::Jwks, Duration::from_millis(500));
    let layer = socialauth::SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(oidc_for(&fake))
        .provider_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = app::serve_layer(layer).await;
    let client = client();
    let start = format!("{base}/auth/oidc?login=start");

    // Cold: no keys yet.
    let prepared = prepare_many(&client, &start, LOGINS).await;
    assert_eq!(fake.calls(Endpoint::Jwks), 0);
    let began = Instant::now();
    let statuses = complete_all(&client, prepared).await;
    let cold = began.elapsed();
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(fake.calls(Endpoint::Token), LOGINS);
    assert_eq!(fake.calls(Endpoint::Jwks), 1, "cold cache: one fetch");
    assert_eq!(fake.calls(Endpoint::Discovery), 1);

    // The provider rotates its keys: every verification misses the (fresh) cache.
    fake.rotate_keys();
    let prepared = prepare_many(&client, &start, LOGINS).await;
    let began = Instant::now();
    let statuses = complete_all(&client, prepared).await;
    let rotated = began.elapsed();
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(
        fake.calls(Endpoint::Jwks),
        2,
        "after the rotation: one refetch"
    );
    eprintln!("{LOGINS} concurrent callbacks: cold {cold:?}, after a rotation {rotated:?}");
}

/// One complete login: start, provider, callback, then a request with the identity.
async fn whole_login(client: &reqwest::Client, base: &str) -> bool {
    let (callback, flow) = prepare(client, &format!("{base}/auth/facebook?login=start")).await;
    let done = get_with_cookie(client, callback, flow).await;
    if done.status() != 303 {
        return false;
    }
    let identity = cookie_pair(&done, "__Host-socialauth");
    let who = get_with_cookie(client, format!("{base}/maybe"), identity).await;
    who.text().await.unwrap() == "10001"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_16_a_thousand_concurrent_logins_all_succeed_and_memory_stays_flat() {
    let _serial = serial().await;
    let app = app::start().await;
    let client = client();
    let mut rss = Vec::new();
    let mut heap = Vec::new();
    for round in 0..4 {
        let began = Instant::now();
        let mut logins = JoinSet::new();
        for _ in 0..LOGINS {
            let (client, base) = (client.clone(), app.base_url.clone());
            logins.spawn(async move { whole_login(&client, &base).await });
        }
        let results = logins.join_all().await;
        let failed = results.iter().filter(|ok| !**ok).count();
        assert_eq!(
            failed, 0,
            "round {round}: {failed} of {LOGINS} logins failed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        rss.push(rss_kib());
        heap.push(live_heap());
        eprintln!(
            "round {round}: {LOGINS} concurrent logins in {:?}, RSS {} KiB, heap in use {} KiB",
            began.elapsed(),
            rss[round],
            heap[round] / 1024
        );
    }
    assert_eq!(app.facebook.token_calls(), 4 * LOGINS);
    // The first rounds grow pools and allocator arenas; after them, two more rounds of a
    // thousand logins leave (nearly) nothing behind: RSS within a generous bound, and the
    // heap actually in use (counted by the test's allocator) within a tight one. A leak of
    // 4 KiB a login would show in the heap, of 32 KiB in the RSS.
    let rss_growth = rss[3].saturating_sub(rss[1]);
    assert!(
        rss_growth < 64 * 1024,
        "RSS grew {rss_growth} KiB over two rounds: {rss:?}"
    );
    let heap_growth = (heap[3] - heap[1]) / 1024;
    assert!(
        heap_growth < 8 * 1024,
        "the heap grew {heap_growth} KiB over two rounds: {heap:?}"
    );
}
