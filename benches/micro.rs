//! Microbenchmarks of the layer, with divan:
//!
//! ```text
//! cargo bench --features axum --bench micro -- --sample-count 300 --sample-size 256
//! cargo bench --features axum --bench micro -- pass_through    # one group
//! ```
//!
//! (divan picks samples of one or two iterations for sub-microsecond benchmarks on this
//! machine's 20 ns timer; `--sample-size 256` makes the figures steady.)
//!
//! - `pass_through`: one request through `SocialAuth` wrapping a trivial `service_fn`, with a
//!   valid identity cookie (from a real login against the fake Facebook), an expired one, a
//!   tampered one (one signature bit flipped), garbage, and none; `bare` is the same inner
//!   service alone, given the same request, so the difference is the layer's cost per
//!   request. The same token is sent on every iteration, as a browser does, so
//!   `valid_cookie` is the steady state: after the first request its verification is served
//!   by the codec's cache of verified tokens (`expired_cookie` and `tampered_cookie` never
//!   enter it and show the full verification).
//! - `pass_through_metered` (with `--features axum,metrics`): `valid_cookie` and `no_cookie`
//!   through a layer built after a Prometheus recorder was installed, so each request counts
//!   its identity check; against `pass_through` without the feature, the counter's cost.
//! - `access_tokens`: the same trivial service behind a layer that also takes the fake OpenID
//!   Connect provider's access tokens (`Oidc::access_tokens`): an RFC 9068 JWT whose verdict
//!   is kept (the same token each time, as an API client sends it), a new JWT each time (its
//!   RS256 signature and claims checked with the provider's keys, fetched once before, and
//!   its verdict kept), an opaque token whose introspection verdict is kept, and the valid
//!   identity cookie and no cookie through this layer, against `pass_through`'s.
//! - `axum_whoami`: the end-to-end benchmark's `/whoami` handler (`Option<Identity>`) in an
//!   axum `Router`, called in-process: bare, behind the layer with a valid cookie and with
//!   none, and behind `tower-sessions` with a `MemoryStore` session holding the user.
//! - `flow_start`: `GET /auth/facebook?login=start` (redirect + encrypted flow cookie; no
//!   network for Facebook).
//! - `callback`: a complete Facebook callback (flow cookie check, code exchange and `/me` on
//!   the loopback fake, identity token, cookies). The layer, the fake and the loopback
//!   traffic all run on the one benchmark thread (a current-thread runtime), so the time is
//!   the CPU cost of both ends together: an upper bound for the layer's.
//! - `oauth1`: `request_token` signing with the `oauth1-request` crate directly, configured
//!   as `src/provider/oauth1.rs` configures it (HMAC-SHA1, callback, version), and a whole
//!   Twitter login start through the public API against the loopback fake Twitter (which
//!   verifies the signature), again all on one thread.
//!
//! The fixtures (fakes, a logged-in cookie) are made once, on a current-thread runtime kept
//! in a static; their tasks only run while a benchmark blocks on that runtime.

// The tests' harness; a bench uses a small part of it, and the test suites show its dead code.
#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::convert::Infallible;
use std::future::Ready;
use std::sync::LazyLock;

use divan::Bencher;
use http::header::{COOKIE, HOST};
use http::{HeaderValue, Request, Response, StatusCode};
use socialauth::{Identity, SocialAuth, SocialAuthLayer};
use tokio::runtime::Runtime;
use tower::{Layer, Service};

use common::fake_facebook::{self, FacebookConfig, FakeFacebook};
use common::fake_twitter::{self, FakeTwitter, TwitterConfig};
use common::{app, server};
use support::{ready_now, sign_identity, unix_now, IDENTITY_COOKIE};

fn main() {
    LazyLock::force(&FIXTURE);
    divan::main();
}

struct Fixture {
    rt: Runtime,
    twitter: FakeTwitter,
    facebook: FakeFacebook,
    layer: SocialAuthLayer,
    /// `Cookie` header values for the pass-through cases.
    valid: HeaderValue,
    expired: HeaderValue,
    tampered: HeaderValue,
    garbage: HeaderValue,
    /// A client for the fake's dialog (the browser's part of a login).
    client: reqwest::Client,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (twitter, facebook, layer, token) = rt.block_on(async {
        let twitter = fake_twitter::start(TwitterConfig::new()).await;
        let facebook = fake_facebook::start(FacebookConfig::new()).await;
        let layer = app::builder(&twitter, &facebook)
            .build()
            .expect("valid configuration");
        // A real login, through the layer served on loopback, for the valid cookie.
        let addr = server::serve(app::axum_app().layer(layer.clone())).await;
        let token = support::facebook_login_cookie(&format!("http://{addr}")).await;
        (twitter, facebook, layer, token)
    });
    let now = unix_now();
    let expired = sign_identity("10001", now - 8 * 86_400, now - 86_400);
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII token");
    let garbage: String = (0..token.len())
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    let cookie = |value: &str| {
        HeaderValue::from_str(&format!("{IDENTITY_COOKIE}={value}")).expect("valid header")
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("reqwest client");
    Fixture {
        rt,
        twitter,
        facebook,
        layer,
        valid: cookie(&token),
        expired: cookie(&expired),
        tampered: cookie(&tampered),
        garbage: cookie(&garbage),
        client,
    }
});

// ---------------------------------------------------------------------------------------
// (a) pass-through: the layer's per-request cost

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

fn request(cookie: Option<&HeaderValue>) -> Request<String> {
    let mut request = Request::get("/whoami")
        .body(String::new())
        .expect("valid request");
    request
        .headers_mut()
        .insert(HOST, HeaderValue::from_static("app.example.com"));
    if let Some(cookie) = cookie {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    request
}

fn layered() -> SocialAuth<Inner> {
    FIXTURE.layer.layer(inner())
}

/// Benchmarks `service` on requests carrying `cookie`, after checking that the inner service
/// sees an identity exactly when `signed_in`.
fn pass_through<S, B>(
    bencher: Bencher,
    mut service: S,
    cookie: Option<&HeaderValue>,
    signed_in: bool,
) where
    S: Service<Request<String>, Response = Response<B>, Error = Infallible>,
{
    let answer = ready_now(service.call(request(cookie))).expect("infallible");
    let expected = if signed_in {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    };
    assert_eq!(
        answer.status(),
        expected,
        "identity seen by the inner service"
    );
    bencher
        .with_inputs(|| request(cookie))
        .bench_local_values(|request| ready_now(service.call(request)));
}

#[divan::bench_group]
mod pass_through {
    use super::*;

    /// The inner service alone: no layer.
    #[divan::bench]
    fn bare(bencher: Bencher) {
        pass_through(bencher, inner(), Some(&FIXTURE.valid), false);
    }

    #[divan::bench]
    fn valid_cookie(bencher: Bencher) {
        pass_through(bencher, layered(), Some(&FIXTURE.valid), true);
    }

    /// A valid token the layer has not seen yet (a new one each time): the full
    /// verification, plus putting it in the cache.
    #[divan::bench]
    fn valid_cookie_first_seen(bencher: Bencher) {
        let mut service = layered();
        let now = unix_now();
        let mut next = 0u64;
        let mut fresh = move || {
            next += 1;
            let token = sign_identity(&format!("{}", 10_000_000 + next), now, now + 3600);
            HeaderValue::from_str(&format!("{IDENTITY_COOKIE}={token}")).expect("valid header")
        };
        let answer = ready_now(service.call(request(Some(&fresh())))).expect("infallible");
        assert_eq!(
            answer.status(),
            StatusCode::OK,
            "identity seen by the inner service"
        );
        bencher
            .with_inputs(|| request(Some(&fresh())))
            .bench_local_values(|request| ready_now(service.call(request)));
    }

    #[divan::bench]
    fn expired_cookie(bencher: Bencher) {
        pass_through(bencher, layered(), Some(&FIXTURE.expired), false);
    }

    #[divan::bench]
    fn tampered_cookie(bencher: Bencher) {
        pass_through(bencher, layered(), Some(&FIXTURE.tampered), false);
    }

    #[divan::bench]
    fn garbage_cookie(bencher: Bencher) {
        pass_through(bencher, layered(), Some(&FIXTURE.garbage), false);
    }

    #[divan::bench]
    fn no_cookie(bencher: Bencher) {
        pass_through(bencher, layered(), None, false);
    }
}

/// The pass-through cases with the `metrics` feature and a real recorder (Prometheus's,
/// as `examples/metrics.rs` installs it): the identity-check counter's cost. Compare with
/// `pass_through` built without the feature.
#[cfg(feature = "metrics")]
#[divan::bench_group]
mod pass_through_metered {
    use super::*;

    /// A layer built after the recorder was installed, so its counters are live.
    static METERED: LazyLock<SocialAuthLayer> = LazyLock::new(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("the only recorder of this process");
        app::builder(&FIXTURE.twitter, &FIXTURE.facebook)
            .build()
            .expect("valid configuration")
    });

    #[divan::bench]
    fn valid_cookie(bencher: Bencher) {
        pass_through(bencher, METERED.layer(inner()), Some(&FIXTURE.valid), true);
    }

    #[divan::bench]
    fn no_cookie(bencher: Bencher) {
        pass_through(bencher, METERED.layer(inner()), None, false);
    }
}

/// The fake OpenID Connect provider whose access tokens [`access_layer`]s take, and a JWT
/// and an opaque token of it.
struct Access {
    fake: common::fake_oidc::FakeOidc,
    /// `Authorization` header values.
    jwt: HeaderValue,
    opaque: HeaderValue,
}

/// The API the access tokens are for.
const ACCESS_API: &str = "https://api.example/orders";

static ACCESS: LazyLock<Access> = LazyLock::new(|| {
    use common::fake_oidc::{self, OidcConfig};
    FIXTURE.rt.block_on(async {
        let fake = fake_oidc::start(OidcConfig::new()).await;
        let bearer =
            |token: &str| HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
        let jwt = bearer(&fake.jwt_access_token(&fake.access_token_claims(ACCESS_API, "read")));
        let opaque = bearer(&fake.opaque_access_token(fake.active_answer(ACCESS_API, "read")));
        Access { fake, jwt, opaque }
    })
});

/// A new layer (its own verdict cache) that also takes [`ACCESS`]'s tokens, its keys and
/// discovery document fetched and both tokens checked once.
fn access_layer() -> SocialAuthLayer {
    // Made first: it blocks on the runtime too.
    LazyLock::force(&ACCESS);
    FIXTURE.rt.block_on(async {
        let layer = app::builder(&FIXTURE.twitter, &FIXTURE.facebook)
            .provider(
                app::oidc_for(&ACCESS.fake)
                    .access_tokens(socialauth::AccessTokens::jwt_or_introspection(ACCESS_API)),
            )
            .build()
            .expect("valid configuration");
        let mut service = layer.layer(inner());
        for token in [&ACCESS.jwt, &ACCESS.opaque] {
            let answer = service
                .call(access_request(token))
                .await
                .expect("infallible");
            assert_eq!(answer.status(), StatusCode::OK, "the token signs in");
        }
        layer
    })
}

fn access_request(authorization: &HeaderValue) -> Request<String> {
    let mut request = request(None);
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, authorization.clone());
    request
}

#[divan::bench_group]
mod access_tokens {
    use super::*;

    /// Benchmarks the access-token layer on requests from `request`.
    fn through_access_layer(bencher: Bencher, request: impl Fn() -> Request<String>) {
        let mut service = access_layer().layer(inner());
        let answer = ready_now(service.call(request())).expect("infallible");
        assert_eq!(answer.status(), StatusCode::OK, "identity seen");
        bencher
            .with_inputs(request)
            .bench_local_values(|request| ready_now(service.call(request)));
    }

    /// A JWT access token whose verdict is kept: an API client's steady state.
    #[divan::bench]
    fn jwt_kept(bencher: Bencher) {
        through_access_layer(bencher, || access_request(&ACCESS.jwt));
    }

    /// An opaque token whose introspection verdict is kept.
    #[divan::bench]
    fn opaque_kept(bencher: Bencher) {
        through_access_layer(bencher, || access_request(&ACCESS.opaque));
    }

    /// A new JWT each time (signed outside the timing): RS256 verification with the kept
    /// keys, the claims, the verdict kept.
    #[divan::bench]
    fn jwt_first_seen(bencher: Bencher) {
        let fake = &ACCESS.fake;
        let claims = fake.access_token_claims(ACCESS_API, "read");
        let mut next = 0u64;
        let mut fresh = move || {
            next += 1;
            let mut claims = claims.clone();
            claims["jti"] = serde_json::json!(format!("bench-{next}"));
            let token = fake.jwt_access_token(&claims);
            access_request(&HeaderValue::from_str(&format!("Bearer {token}")).expect("header"))
        };
        let mut service = access_layer().layer(inner());
        let answer = ready_now(service.call(fresh())).expect("infallible");
        assert_eq!(answer.status(), StatusCode::OK, "identity seen");
        bencher
            .with_inputs(fresh)
            .bench_local_values(|request| ready_now(service.call(request)));
    }

    /// The identity cookie through a layer that also takes access tokens.
    #[divan::bench]
    fn valid_cookie(bencher: Bencher) {
        through_access_layer(bencher, || request(Some(&FIXTURE.valid)));
    }

    /// No credentials through a layer that also takes access tokens.
    #[divan::bench]
    fn no_cookie(bencher: Bencher) {
        let mut service = access_layer().layer(inner());
        let answer = ready_now(service.call(request(None))).expect("infallible");
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        bencher
            .with_inputs(|| request(None))
            .bench_local_values(|request| ready_now(service.call(request)));
    }
}

// ---------------------------------------------------------------------------------------
// (b) login start: redirect + encrypted flow cookie

fn start_request(provider: &str) -> Request<String> {
    let mut request = Request::get(format!("/auth/{provider}?login=start"))
        .body(String::new())
        .expect("valid request");
    request
        .headers_mut()
        .insert(HOST, HeaderValue::from_static("127.0.0.1:3000"));
    request
}

#[divan::bench]
fn flow_start_facebook(bencher: Bencher) {
    // The start waits for a provider slot with a tokio timer, which needs a runtime in
    // context (nothing waits: a slot is free, so the call is ready at once).
    let _runtime = FIXTURE.rt.enter();
    let mut service = layered();
    let answer = ready_now(service.call(start_request("facebook"))).expect("infallible");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    bencher
        .with_inputs(|| start_request("facebook"))
        .bench_local_values(|request| ready_now(service.call(request)));
}

// ---------------------------------------------------------------------------------------
// (c) a complete callback against the loopback fake Facebook

/// Starts a login through `service` and lets the fake's dialog approve it: the callback
/// request the browser would then send, flow cookie included.
async fn approved_callback(
    service: &mut SocialAuth<Inner>,
    client: &reqwest::Client,
) -> Request<String> {
    let start = service
        .call(start_request("facebook"))
        .await
        .expect("infallible");
    let location = start.headers()[http::header::LOCATION]
        .to_str()
        .expect("ASCII Location")
        .to_owned();
    let flow_cookie = start.headers()[http::header::SET_COOKIE]
        .to_str()
        .expect("ASCII Set-Cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned();
    let dialog = client
        .get(&location)
        .send()
        .await
        .expect("fake dialog answers");
    assert_eq!(dialog.status(), StatusCode::FOUND, "fake dialog approves");
    let callback = dialog.headers()[http::header::LOCATION]
        .to_str()
        .expect("ASCII Location")
        .split('#')
        .next()
        .expect("URL")
        .to_owned();
    let path = callback
        .strip_prefix("http://127.0.0.1:3000")
        .expect("callback to the app's origin");
    let mut request = Request::get(path)
        .body(String::new())
        .expect("valid request");
    request
        .headers_mut()
        .insert(HOST, HeaderValue::from_static("127.0.0.1:3000"));
    request.headers_mut().insert(
        COOKIE,
        HeaderValue::from_str(&flow_cookie).expect("valid cookie"),
    );
    request
}

#[divan::bench(sample_count = 200)]
fn callback_facebook(bencher: Bencher) {
    let fixture = &*FIXTURE;
    let mut service = layered();
    let check = fixture.rt.block_on(async {
        let request = approved_callback(&mut service, &fixture.client).await;
        service.call(request).await.expect("infallible")
    });
    assert_eq!(check.status(), StatusCode::SEE_OTHER, "login completes");
    assert!(
        fixture.facebook.rejections().is_empty(),
        "{:?}",
        fixture.facebook.rejections()
    );
    let mut setup_service = layered();
    bencher
        .with_inputs(|| {
            fixture
                .rt
                .block_on(approved_callback(&mut setup_service, &fixture.client))
        })
        .bench_local_values(|request| fixture.rt.block_on(service.call(request)));
}

// ---------------------------------------------------------------------------------------
// (d) OAuth 1.0a signing

/// `oauth1-request` alone, as `src/provider/oauth1.rs` uses it for `request_token`: HMAC-SHA1,
/// `oauth_callback`, `oauth_version=1.0`, fresh nonce and timestamp, no other parameters.
#[divan::bench]
fn oauth1_sign_request_token(bencher: Bencher) {
    use oauth1_request::signature_method::HmacSha1;
    let config = TwitterConfig::new();
    bencher.bench_local(|| {
        let client = oauth1_request::Credentials::new(
            config.consumer_key.as_str(),
            config.consumer_secret.as_str(),
        );
        let mut builder: oauth1_request::Builder<'_, HmacSha1, &str, &str> =
            oauth1_request::Builder::new(client, HmacSha1::new());
        builder
            .callback(Some("http://127.0.0.1:3000/auth/twitter"))
            .version(true);
        builder.authorize(
            "POST",
            divan::black_box("https://api.twitter.com/oauth/request_token"),
            &(),
        )
    });
}

/// A whole Twitter login start through the layer: signing, `request_token` on the loopback
/// fake (which checks the signature and nonce), redirect and flow cookie.
#[divan::bench(sample_count = 200)]
fn twitter_start_via_loopback_fake(bencher: Bencher) {
    let fixture = &*FIXTURE;
    let mut service = layered();
    let answer = fixture
        .rt
        .block_on(service.call(start_request("twitter")))
        .expect("infallible");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "twitter start");
    assert!(
        fixture.twitter.rejections().is_empty(),
        "{:?}",
        fixture.twitter.rejections()
    );
    bencher
        .with_inputs(|| start_request("twitter"))
        .bench_local_values(|request| fixture.rt.block_on(service.call(request)));
}

// ---------------------------------------------------------------------------------------
// The same through axum: the whoami handler of the end-to-end benchmark, without the network

#[divan::bench_group]
mod axum_whoami {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn whoami(user: Option<Identity>) -> String {
        user.map_or_else(|| "anonymous".to_owned(), |u| u.user_id().to_owned())
    }

    fn router() -> axum::Router {
        axum::Router::new().route("/whoami", get(whoami))
    }

    fn bench(bencher: Bencher, app: axum::Router, cookie: Option<&HeaderValue>) {
        let rt = &FIXTURE.rt;
        let check = rt
            .block_on(app.clone().oneshot(request_body(cookie)))
            .expect("infallible");
        assert_eq!(check.status(), StatusCode::OK);
        bencher
            .with_inputs(|| request_body(cookie))
            .bench_local_values(|request| {
                ready_now(async {
                    let response = app.clone().oneshot(request).await.expect("infallible");
                    axum::body::to_bytes(response.into_body(), 64).await
                })
            });
    }

    fn request_body(cookie: Option<&HeaderValue>) -> Request<axum::body::Body> {
        request(cookie).map(|_| axum::body::Body::empty())
    }

    #[divan::bench]
    fn bare(bencher: Bencher) {
        bench(bencher, router(), Some(&FIXTURE.valid));
    }

    #[divan::bench]
    fn valid_cookie(bencher: Bencher) {
        bench(
            bencher,
            router().layer(FIXTURE.layer.clone()),
            Some(&FIXTURE.valid),
        );
    }

    #[divan::bench]
    fn no_cookie(bencher: Bencher) {
        bench(bencher, router().layer(FIXTURE.layer.clone()), None);
    }

    /// tower-sessions with a `MemoryStore` session holding the user, read by the handler.
    #[divan::bench]
    fn tower_sessions(bencher: Bencher) {
        use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
        async fn whoami(session: Session) -> String {
            session
                .get::<String>("user")
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| "anonymous".to_owned())
        }
        async fn login(session: Session) -> StatusCode {
            match session.insert("user", "10001").await {
                Ok(()) => StatusCode::OK,
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
        let app = axum::Router::new()
            .route("/whoami", get(whoami))
            .route("/login", get(login))
            .layer(SessionManagerLayer::new(MemoryStore::default()));
        let login = FIXTURE.rt.block_on(async {
            let mut request = request_body(None);
            *request.uri_mut() = http::Uri::from_static("/login");
            app.clone().oneshot(request).await.expect("infallible")
        });
        let cookie = login.headers()[http::header::SET_COOKIE]
            .to_str()
            .expect("ASCII")
            .split(';')
            .next()
            .expect("id=value")
            .to_owned();
        let cookie = HeaderValue::from_str(&cookie).expect("valid header");
        bench(bencher, app, Some(&cookie));
    }
}
