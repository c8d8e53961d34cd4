//! What the battery's tests share: the answer checks every rejection must pass, the layer
//! called directly as a tower service, an app with one provider of each protocol, and a
//! per-thread allocation counter for "bounded memory".

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cookie::Cookie;
use http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use socialauth::{Identity, ResponseBody, SocialAuthLayer, SocialAuthLayerBuilder, Twitter};
use tower::util::BoxCloneService;
use tower::{Layer, ServiceExt};

use crate::common::app::{self, SECRET};
use crate::common::browser::Browser;

// ---------------------------------------------------------------------------------------
// Bounded memory: bytes allocated by this thread, and their peak
// ---------------------------------------------------------------------------------------

/// The system allocator, counting what each thread allocates, so a test can measure the
/// peak memory one call takes while other tests run on other threads.
pub struct CountingAllocator;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Bytes allocated and not yet freed, by all threads together.
static LIVE_TOTAL: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

/// The most `LIVE_TOTAL` reached since the last [`reset_peak_heap`].
static PEAK_TOTAL: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

/// The heap in use by the whole process, in bytes.
pub fn live_heap() -> isize {
    LIVE_TOTAL.load(std::sync::atomic::Ordering::Relaxed)
}

/// Starts measuring the process's peak heap from now; returns the heap in use.
pub fn reset_peak_heap() -> isize {
    let now = live_heap();
    PEAK_TOTAL.store(now, std::sync::atomic::Ordering::Relaxed);
    now
}

/// The most heap the whole process held at once since [`reset_peak_heap`], in bytes.
pub fn peak_heap() -> isize {
    PEAK_TOTAL.load(std::sync::atomic::Ordering::Relaxed)
}

fn note(delta: isize) {
    let total = LIVE_TOTAL.fetch_add(delta, std::sync::atomic::Ordering::Relaxed) + delta;
    if delta > 0 {
        PEAK_TOTAL.fetch_max(total, std::sync::atomic::Ordering::Relaxed);
    }
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are plain thread
// locals with const initializers (no allocation, no destructor).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the most memory it held at once on this thread
/// beyond what the thread held before, in bytes.
pub fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get) - base;
    (out, usize::try_from(peak).unwrap_or(0))
}

/// The process's resident set size, in KiB (`VmRSS` of `/proc/self/status`).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/// Runs `f` and returns its result with how long it took.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|l| l.to_str().ok())
    }

    /// Every `Set-Cookie` as text.
    pub fn set_cookies(&self) -> Vec<String> {
        set_cookies(&self.headers)
    }

    /// Names of the cookies this answer deletes (`Max-Age=0`).
    pub fn removed_cookies(&self) -> Vec<String> {
        self.set_cookies()
            .iter()
            .filter_map(|c| Cookie::parse(c.clone()).ok())
            .filter(|c| c.max_age() == Some(cookie::time::Duration::ZERO))
            .map(|c| c.name().to_owned())
            .collect()
    }

    /// Whether this answer deletes a flow cookie.
    pub fn clears_a_flow_cookie(&self) -> bool {
        self.removed_cookies()
            .iter()
            .any(|name| name.contains("socialauth-flow"))
    }

    /// Whether this answer sets (not deletes) an identity cookie.
    pub fn sets_an_identity(&self) -> bool {
        self.set_cookies()
            .iter()
            .filter_map(|c| Cookie::parse(c.clone()).ok())
            .any(|c| {
                c.name().ends_with("socialauth")
                    && c.max_age() != Some(cookie::time::Duration::ZERO)
            })
    }

    /// The JSON error body: `{"error": code, "message": text}` and nothing else.
    pub fn error_code(&self) -> String {
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(
            content_type, "application/json",
            "status {}: {}",
            self.status, self.body
        );
        let json: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body));
        let object = json.as_object().expect("a JSON object");
        assert_eq!(object.len(), 2, "{}", self.body);
        assert!(json["message"].is_string(), "{}", self.body);
        json["error"].as_str().expect("an error code").to_owned()
    }

    /// The checks every refused callback passes: this status and code, the flow cookie of
    /// the attempt cleared (when `clears`), nobody signed in, and none of `never_echoed`
    /// (provider text, attacker input) in the body or headers.
    #[track_caller]
    pub fn assert_refused(&self, status: u16, code: &str, clears: bool, never_echoed: &[&str]) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.error_code(), code, "{}", self.body);
        if clears {
            assert!(
                self.clears_a_flow_cookie(),
                "flow cookie not cleared: {:?}",
                self.set_cookies()
            );
        }
        assert!(!self.sets_an_identity(), "an identity was set");
        let headers = format!("{:?}", self.headers);
        for text in never_echoed {
            assert!(
                !self.body.contains(text),
                "{text:?} echoed in {}",
                self.body
            );
            assert!(!headers.contains(text), "{text:?} echoed in {headers}");
        }
    }
}

pub fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------
// The layer as a plain tower service (no HTTP server in between, so no header limits)
// ---------------------------------------------------------------------------------------

pub type Direct = BoxCloneService<Request<Full<Bytes>>, Response<String>, Infallible>;

/// The layer built by `builder` around a service answering the request's user id (or
/// `anonymous`), with the layer's own answers' bodies read whole.
pub fn direct(builder: SocialAuthLayerBuilder) -> Direct {
    let layer = builder.build().expect("valid configuration");
    let inner = tower::service_fn(|req: Request<Full<Bytes>>| async move {
        let who = req
            .extensions()
            .get::<Identity>()
            .map_or("anonymous".to_owned(), |user| user.user_id().to_owned());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(who))))
    });
    let service =
        layer
            .layer(inner)
            .and_then(|response: Response<ResponseBody<Full<Bytes>>>| async move {
                let (parts, body) = response.into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                Ok(Response::from_parts(
                    parts,
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            });
    BoxCloneService::new(service)
}

/// A layer with the test secret and a Twitter provider that is never called.
pub fn direct_default() -> Direct {
    direct(
        SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(Twitter::new("k", "s")),
    )
}

/// `GET uri` with these raw headers (bytes, so a test can send what is not UTF-8).
pub fn request(uri: &str, headers: &[(&str, &[u8])]) -> Request<Full<Bytes>> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, http::HeaderValue::from_bytes(value).expect("header"));
    }
    builder.body(Full::new(Bytes::new())).expect("request")
}

/// The inner service's answer (the user id or `anonymous`), or the layer's own answer.
pub async fn call(service: &Direct, request: Request<Full<Bytes>>) -> Response<String> {
    service.clone().oneshot(request).await.expect("infallible")
}

/// Who `Cookie: <cookie>` signs in as, through the layer.
pub async fn who_with_cookie(service: &Direct, cookie: &str) -> String {
    let response = call(service, request("/maybe", &[("cookie", cookie.as_bytes())])).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    response.into_body()
}

// ---------------------------------------------------------------------------------------
// An app with one provider of each protocol, on loopback fakes
// ---------------------------------------------------------------------------------------

use crate::common::fake_facebook::{self, FacebookConfig, FakeFacebook};
use crate::common::fake_github::{self, FakeGitHub, GitHubConfig};
use crate::common::fake_oidc::{self, FakeOidc, OidcConfig};
use crate::common::fake_twitter::{self, FakeTwitter, TwitterConfig};
use crate::common::server;

/// The providers of [`World`], by route name.
pub const PROVIDERS: [&str; 4] = ["facebook", "twitter", "oidc", "github"];

/// The test app (`/`, `/whoami`, `/maybe`) behind a layer with Facebook (OAuth 2.0),
/// Twitter (OAuth 1.0a), an OpenID Connect provider and GitHub, each on its strict fake.
pub struct World {
    pub base: String,
    pub facebook: FakeFacebook,
    pub twitter: FakeTwitter,
    pub oidc: FakeOidc,
    pub github: FakeGitHub,
}

#[derive(Default)]
pub struct Fakes {
    pub facebook: FacebookConfig,
    pub twitter: TwitterConfig,
    pub oidc: OidcConfig,
    pub github: GitHubConfig,
}

pub async fn world() -> World {
    world_with(Fakes::default(), |b| b).await
}

pub async fn world_with(
    fakes: Fakes,
    configure: impl FnOnce(SocialAuthLayerBuilder) -> SocialAuthLayerBuilder,
) -> World {
    let twitter = fake_twitter::start(fakes.twitter).await;
    let facebook = fake_facebook::start(fakes.facebook).await;
    let oidc = fake_oidc::start(fakes.oidc).await;
    let github = fake_github::start(fakes.github).await;
    let builder = app::builder(&twitter, &facebook)
        .provider(app::oidc_for(&oidc))
        .provider(app::github_for(&github));
    let layer = configure(builder).build().expect("valid configuration");
    let addr = server::serve(app::axum_app().layer(layer)).await;
    World {
        base: format!("http://{addr}"),
        facebook,
        twitter,
        oidc,
        github,
    }
}

impl World {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many times `provider`'s token (or OAuth 1.0a access-token) endpoint was called.
    pub fn exchanges(&self, provider: &str) -> usize {
        match provider {
            "facebook" => self.facebook.token_calls(),
            "twitter" => self.twitter.access_token_calls(),
            "oidc" => self.oidc.calls(fake_oidc::Endpoint::Token),
            "github" => self.github.calls(fake_github::Endpoint::Token),
            other => panic!("no provider {other}"),
        }
    }

    /// Token-endpoint calls of every provider together.
    pub fn all_exchanges(&self) -> usize {
        PROVIDERS.iter().map(|p| self.exchanges(p)).sum()
    }

    /// Starts a login at `provider` in `browser` and lets the provider approve it; returns
    /// the callback URL the provider sent the browser to, not visited yet (the flow cookie
    /// is in the browser).
    pub async fn callback(&self, browser: &Browser, provider: &str) -> String {
        self.callback_from(browser, &format!("/auth/{provider}?login=start"))
            .await
    }

    /// [`callback`](Self::callback), starting at `start` (a path with its query).
    pub async fn callback_from(&self, browser: &Browser, start: &str) -> String {
        browser.callback_from(&self.url(start)).await
    }
}
