//! Item 15: a provider that fails. Token, userinfo, JWKS, discovery and request-token
//! endpoints that hang, trickle, answer 5xx or 429, send 100 MB or a gzip bomb (the client
//! does not decompress: it is garbage), HTML or a form where JSON belongs, 200 with an
//! `error`, or a redirect (to loopback, which proves it is not followed, then to the cloud
//! metadata address) -> 502 or 504 within the timeout budget, the single-use code sent at
//! most once, nothing the provider wrote echoed. `token_type` is read case-insensitively.
//! With the JWKS down but its keys cached, logins go on.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http::header::LOCATION;

use crate::common::app::oidc_for;
use crate::common::app::{self, SECRET};
use crate::common::browser::Browser;
use crate::common::fake_oidc::{self, Endpoint, FakeOidc, OidcConfig};
use crate::common::fake_twitter;
use crate::common::fault::{Fault, RawResponse};
use crate::security::support::{peak_heap, reset_peak_heap, Reply};

/// The provider timeout the apps here are built with.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How long any failing step may take: the timeout, plus a generous margin for a loaded
/// machine (a step makes at most two provider calls).
const BUDGET: Duration = Duration::from_secs(5);

const METADATA: &str = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";

/// `n` zero bytes, gzip-compressed with fixed-Huffman deflate (258-byte copies): a valid
/// gzip stream some 160 times smaller than what it inflates to.
fn gzip_bomb(n: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.len;
            self.len += bits;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, bits: u32) {
            let reversed = code.reverse_bits() >> (32 - bits);
            self.put(u64::from(reversed), bits);
        }
    }
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        len: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // fixed Huffman
    bits.code(0x30, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        bits.code(0xc5, 8); // length 258
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    if bits.len > 0 {
        bits.put(0, 8 - bits.len);
    }
    // CRC-32 of n zeros.
    let table: Vec<u32> = (0..256u32)
        .map(|mut c| {
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            c
        })
        .collect();
    let mut crc = !0u32;
    for _ in 0..n {
        crc = table[(crc & 0xff) as usize] ^ (crc >> 8);
    }
    let mut out = bits.out;
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out
}

fn bomb() -> Fault {
    static BOMB: OnceLock<bytes::Bytes> = OnceLock::new();
    let body = BOMB
        .get_or_init(|| bytes::Bytes::from(gzip_bomb(64 << 20)))
        .clone();
    Fault::Raw(RawResponse::new(200, "application/json", body).header("content-encoding", "gzip"))
}

/// Faults every endpoint gets, in order: the loopback redirect comes before the one to the
/// metadata address, so a client that followed redirects fails on the first (counted by
/// the fake) and never sends anything off this machine.
fn faults(evil: &str) -> Vec<(&'static str, Fault, u16)> {
    vec![
        ("302 to loopback", Fault::Redirect(evil.to_owned()), 502),
        (
            "302 to 169.254.169.254",
            Fault::Redirect(METADATA.to_owned()),
            502,
        ),
        ("hang", Fault::Hang, 504),
        ("trickle", Fault::Trickle, 504),
        (
            "500",
            Fault::Status(
                500,
                r#"{"error":"server_error","error_description":"boom"}"#.into(),
            ),
            502,
        ),
        (
            "503",
            Fault::Status(503, "boom: down for maintenance".into()),
            502,
        ),
        (
            "429",
            Fault::Raw(
                RawResponse::new(429, "application/json", r#"{"message":"boom: slow down"}"#)
                    .header("retry-after", "1"),
            ),
            502,
        ),
        ("100 MB", Fault::Huge(100 << 20), 502),
        ("gzip bomb", bomb(), 502),
        ("HTML with 200", Fault::Html, 502),
        ("garbage", Fault::Garbage, 502),
        (
            "form instead of JSON",
            Fault::Raw(RawResponse::new(
                200,
                "application/x-www-form-urlencoded",
                "access_token=boom&token_type=bearer&keys=boom",
            )),
            502,
        ),
    ]
}

/// An app with the one OpenID Connect provider, its provider timeout one second.
async fn oidc_app() -> (FakeOidc, String) {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    let layer = socialauth::SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(oidc_for(&fake))
        .provider_timeout(TIMEOUT)
        .build()
        .unwrap();
    (fake, app::serve_layer(layer).await)
}

/// A whole login: the first answer that is not a redirect on the way, and how long that
/// step took.
async fn login(browser: &Browser, start: &str) -> (Reply, Duration) {
    let began = Instant::now();
    let started = browser.get(start).await;
    if started.status() != 303 {
        let took = began.elapsed();
        return (Reply::read(started).await, took);
    }
    let at_provider = started.headers()[LOCATION].to_str().unwrap().to_owned();
    let back = browser.get(&at_provider).await;
    let callback = back.headers()[LOCATION].to_str().unwrap().to_owned();
    let began = Instant::now();
    let done = browser.get(&callback).await;
    let took = began.elapsed();
    (Reply::read(done).await, took)
}

/// Runs every fault (plus `extra`) at `endpoint` of a fresh OIDC app each, checking the
/// answer; `exchanges` is how many times the token endpoint may be called.
async fn oidc_endpoint_faults(
    endpoint: Endpoint,
    extra: Vec<(&'static str, Fault, u16)>,
    exchanges: usize,
) {
    let probe = fake_oidc::start(OidcConfig::new()).await;
    let mut cases = faults(&probe.evil_jwks_url());
    cases.extend(extra);
    for (what, fault, status) in cases {
        let (fake, base) = oidc_app().await;
        if endpoint == Endpoint::Userinfo {
            fake.set_profile_in_id_token(false);
        }
        let evil = fake.evil_jwks_url();
        fake.set_fault(
            endpoint,
            match fault {
                Fault::Redirect(ref to) if to.contains("/evil/") => Fault::Redirect(evil),
                other => other,
            },
        );
        let browser = Browser::new();
        let heap_before = reset_peak_heap();
        let (reply, took) = login(&browser, &format!("{base}/auth/oidc?login=start")).await;
        // The whole process's peak heap (other tests run meanwhile, hence the margin): a
        // 100 MB answer must not be held, the reads stop at the 1 MiB cap.
        let peak = (peak_heap() - heap_before) / (1 << 20);
        assert!(peak < 48, "{endpoint:?} {what}: the heap grew {peak} MiB");
        let code = if status == 504 {
            "provider_timeout"
        } else {
            "provider_error"
        };
        assert_eq!(reply.status, status, "{endpoint:?} {what}: {}", reply.body);
        let clears = !matches!(endpoint, Endpoint::Discovery);
        reply.assert_refused(status, code, clears, &["boom", "169.254", "/evil/", "<"]);
        assert!(took < BUDGET, "{endpoint:?} {what}: {took:?}");
        assert_eq!(
            fake.calls(Endpoint::Token),
            exchanges,
            "{endpoint:?} {what}"
        );
        assert_eq!(
            fake.calls(Endpoint::EvilJwks),
            0,
            "{endpoint:?} {what}: redirect followed"
        );
        assert_eq!(
            browser.follow(&format!("{base}/maybe")).await.body,
            "anonymous"
        );
    }
}

#[tokio::test]
async fn item_15_token_endpoint_faults() {
    oidc_endpoint_faults(Endpoint::Token, Vec::new(), 1).await;
    // 200 with an `error` member: the provider refusing the code (GitHub's way), 401.
    let (fake, base) = oidc_app().await;
    fake.set_fault(
        Endpoint::Token,
        Fault::Status(
            200,
            r#"{"error":"invalid_grant","error_description":"boom"}"#.into(),
        ),
    );
    let (reply, _) = login(&Browser::new(), &format!("{base}/auth/oidc?login=start")).await;
    reply.assert_refused(401, "login_failed", true, &["boom"]);
    assert_eq!(fake.calls(Endpoint::Token), 1);
}

#[tokio::test]
async fn item_15_userinfo_faults() {
    oidc_endpoint_faults(Endpoint::Userinfo, Vec::new(), 1).await;
}

#[tokio::test]
async fn item_15_jwks_faults() {
    oidc_endpoint_faults(Endpoint::Jwks, Vec::new(), 1).await;
}

#[tokio::test]
async fn item_15_discovery_faults() {
    oidc_endpoint_faults(Endpoint::Discovery, Vec::new(), 0).await;
}

#[tokio::test]
async fn item_15_request_token_faults() {
    let probe = fake_oidc::start(OidcConfig::new()).await;
    let mut cases = faults(&probe.evil_jwks_url());
    cases.push((
        "JSON instead of a form",
        Fault::Status(
            200,
            r#"{"oauth_token":"boom","oauth_callback_confirmed":"true"}"#.into(),
        ),
        502,
    ));
    for (what, fault, status) in cases {
        let twitter = fake_twitter::start(Default::default()).await;
        let facebook = crate::common::fake_facebook::start(Default::default()).await;
        let layer = app::builder(&twitter, &facebook)
            .provider_timeout(TIMEOUT)
            .build()
            .unwrap();
        let base = app::serve_layer(layer).await;
        twitter.set_fault(fake_twitter::Endpoint::RequestToken, fault);
        let browser = Browser::new();
        let (reply, took) = login(&browser, &format!("{base}/auth/twitter?login=start")).await;
        let code = if status == 504 {
            "provider_timeout"
        } else {
            "provider_error"
        };
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        reply.assert_refused(status, code, false, &["boom", "169.254", "/evil/"]);
        assert!(reply.set_cookies().is_empty(), "{what}: a cookie was set");
        assert!(took < BUDGET, "{what}: {took:?}");
        assert_eq!(
            twitter.authenticate_calls() + twitter.access_token_calls(),
            0,
            "{what}"
        );
    }
    assert_eq!(
        probe.calls(Endpoint::EvilJwks),
        0,
        "a redirect was followed"
    );
}

#[tokio::test]
async fn item_15_token_type_is_case_insensitive_and_only_bearer() {
    let (fake, base) = oidc_app().await;
    for (token_type, status) in [
        ("Bearer", 200),
        ("bearer", 200),
        ("BEARER", 200),
        ("bEaReR", 200),
        ("mac", 502),
        ("DPoP", 502),
        ("", 502),
        ("Bearer ", 502),
    ] {
        fake.set_token_type(token_type);
        let browser = Browser::new();
        let visit = browser
            .follow(&format!("{base}/auth/oidc?login=start"))
            .await;
        assert_eq!(visit.status, status, "{token_type:?}: {}", visit.body);
        let signed_in = browser.follow(&format!("{base}/maybe")).await.body != "anonymous";
        assert_eq!(signed_in, status == 200, "{token_type:?}");
    }
}

#[tokio::test]
async fn item_15_with_the_jwks_down_cached_keys_keep_logins_working() {
    let (fake, base) = oidc_app().await;
    let login_status = || async {
        Browser::new()
            .follow(&format!("{base}/auth/oidc?login=start"))
            .await
            .status
    };
    assert_eq!(login_status().await, 200);
    assert_eq!(fake.calls(Endpoint::Jwks), 1);
    for fault in [Fault::Status(500, "down".into()), Fault::Hang, Fault::Html] {
        fake.set_fault(Endpoint::Jwks, fault.clone());
        fake.set_fault(Endpoint::Discovery, fault.clone());
        for _ in 0..3 {
            let started = Instant::now();
            assert_eq!(login_status().await, 200, "{fault:?}");
            assert!(started.elapsed() < BUDGET);
        }
    }
    assert_eq!(
        fake.calls(Endpoint::Jwks),
        1,
        "cached keys were fetched again"
    );
    assert_eq!(fake.calls(Endpoint::Discovery), 1);

    // The provider rotates its keys while its JWKS is down: that login fails cleanly
    // (502, or 504 while it hangs), never a 500, and the next ones after recovery work.
    fake.rotate_keys();
    fake.set_fault(Endpoint::Jwks, Fault::Hang);
    let browser = Browser::new();
    let (reply, took) = login(&browser, &format!("{base}/auth/oidc?login=start")).await;
    reply.assert_refused(504, "provider_timeout", true, &[]);
    assert!(took < BUDGET, "{took:?}");
    fake.set_fault(Endpoint::Jwks, Fault::None);
    // The refetch interval (one a minute) still holds: the next login is refused without a
    // fetch, quickly, rather than hammering the provider.
    let (reply, _) = login(&Browser::new(), &format!("{base}/auth/oidc?login=start")).await;
    assert!(matches!(reply.status, 401 | 502), "{}", reply.body);
    assert_ne!(reply.status, 500);
}
