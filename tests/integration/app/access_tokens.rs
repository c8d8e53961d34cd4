//! API clients holding the provider's own access tokens (`Oidc::access_tokens`): a JWT or an
//! opaque token reaches the app as an `Identity` that says so, with the token's scopes and
//! client; an opaque token is introspected once for many requests, and again only when its
//! verdict is stale, never past its `exp`; routes that need a user answer RFC 6750's
//! challenges, and `503` (never anonymous, never signed in) when the provider cannot be asked.

use std::time::{Duration, Instant};

use crate::common::api::{self, challenge, API};
use crate::common::app::json_of;
use crate::common::browser::Browser;
use crate::common::fake_oidc::Endpoint;
use crate::common::fault::Fault;

#[tokio::test]
async fn a_jwt_access_token_is_an_identity_with_its_scopes_and_client() {
    let api = api::start().await;
    let token = api.jwt("orders:read profile");

    let grant = api.get("/grant", &token).await;
    assert_eq!(grant.status(), 200);
    assert!(
        grant.headers().get("set-cookie").is_none(),
        "no cookie for an API client"
    );
    let grant = json_of(&grant.text().await.unwrap());
    assert_eq!(grant["method"], "ProviderAccessToken");
    assert_eq!(grant["user_id"], api.fake.config().sub);
    assert_eq!(grant["client_id"], api.fake.config().client_id);
    assert_eq!(
        grant["scopes"],
        serde_json::json!(["orders:read", "profile"])
    );
    assert_eq!(api.get("/api/orders", &token).await.status(), 200);
    assert_eq!(api.get("/api/tokens-only", &token).await.status(), 200);
    // Verified in the process: the provider is not asked.
    assert_eq!(api.fake.introspections(), 0);
    assert_eq!(api.fake.calls(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn an_opaque_token_is_introspected_once_for_many_requests() {
    let api = api::start().await;
    let token = api.opaque("orders:read");

    // Twenty requests at once wait for one introspection; twenty more find its verdict.
    let answers = api.get_all("/api/orders", &vec![token.clone(); 20]).await;
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");
    for _ in 0..20 {
        assert_eq!(api.get("/grant", &token).await.status(), 200);
    }
    assert_eq!(api.fake.introspections(), 1);
    let grant = json_of(&api.get("/grant", &token).await.text().await.unwrap());
    assert_eq!(grant["method"], "ProviderAccessToken");
    assert_eq!(grant["scopes"], serde_json::json!(["orders:read"]));

    // Past the cache TTL (30 s), the provider is asked again.
    api.clock.advance(31);
    assert_eq!(api.get("/api/orders", &token).await.status(), 200);
    assert_eq!(api.fake.introspections(), 2);
}

#[tokio::test]
async fn a_verdict_is_never_kept_past_the_tokens_exp() {
    let api = api::start_with(
        |accepted| accepted.cache_ttl(Duration::from_secs(3600)),
        |builder| builder,
    )
    .await;
    let mut answer = api.fake.active_answer(API, "orders:read");
    let exp = answer["exp"].as_u64().unwrap();
    answer["exp"] = serde_json::json!(exp - 240); // one minute from now
    let token = api.fake.opaque_access_token(answer);
    assert_eq!(api.get("/api/orders", &token).await.status(), 200);
    api.clock.advance(50);
    assert_eq!(api.get("/api/orders", &token).await.status(), 200);
    assert_eq!(api.fake.introspections(), 1, "kept until exp");
    // Past exp (and its leeway): asked again, and refused as expired.
    api.clock.advance(80);
    let late = api.get("/api/orders", &token).await;
    assert_eq!(late.status(), 401);
    assert_eq!(api.fake.introspections(), 2);
}

#[tokio::test]
async fn routes_that_need_a_user_answer_rfc_6750_challenges() {
    let api = api::start().await;

    // No credentials: 401, a challenge without an error code.
    let none = api.get_authorized("/api/orders", None).await;
    assert_eq!(none.status(), 401);
    assert_eq!(challenge(&none).as_deref(), Some("Bearer"));
    assert_eq!(
        json_of(&none.text().await.unwrap())["error"],
        "unauthenticated"
    );

    // A refused token: invalid_token.
    let junk = api
        .get("/api/orders", "not-a-token-the-provider-knows")
        .await;
    assert_eq!(junk.status(), 401);
    assert_eq!(
        challenge(&junk).as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(
        json_of(&junk.text().await.unwrap())["error"],
        "invalid_token"
    );
    // The extractor answers the same; a route that does not need a user is anonymous.
    let whoami = api.get("/whoami", "not-a-token-the-provider-knows").await;
    assert_eq!(whoami.status(), 401);
    assert_eq!(
        challenge(&whoami).as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(api.who("not-a-token-the-provider-knows").await, "anonymous");

    // A valid token without the scope: 403 insufficient_scope, naming the scope.
    let narrow = api.get("/api/orders", &api.jwt("profile")).await;
    assert_eq!(narrow.status(), 403);
    assert_eq!(
        challenge(&narrow).as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="orders:read""#)
    );
    assert_eq!(
        json_of(&narrow.text().await.unwrap())["error"],
        "insufficient_scope"
    );
    assert_eq!(
        api.get("/api/orders", &api.jwt("orders:read"))
            .await
            .status(),
        200
    );

    // A signed-in browser holds no scopes: refused by a scope, unless the route lets it
    // pass; refused by a route for access tokens only.
    let browser = Browser::new();
    let login = browser.follow(&api.url("/auth/oidc?login=start")).await;
    assert_eq!(login.status, 200, "{:?} {}", login.hops, login.body);
    let cookie_orders = browser.get(&api.url("/api/orders")).await;
    assert_eq!(cookie_orders.status(), 403);
    assert_eq!(browser.get(&api.url("/api/either")).await.status(), 200);
    let cookie_tokens_only = browser.get(&api.url("/api/tokens-only")).await;
    assert_eq!(cookie_tokens_only.status(), 401);
    assert_eq!(challenge(&cookie_tokens_only).as_deref(), Some("Bearer"));
    // A token still needs its scope on the lenient route.
    assert_eq!(
        api.get("/api/either", &api.jwt("profile")).await.status(),
        403
    );
}

/// One introspection fault: a route that needs a user answers 503 with `Retry-After`, the
/// extractor 503, a route that does not is anonymous; while the outage pause lasts, no
/// further call reaches the provider.
async fn introspection_down_is_503(fault: Option<Fault>, delay: Option<Duration>) {
    let api = api::start().await;
    if let Some(fault) = fault {
        api.fake.set_fault(Endpoint::Introspect, fault);
    }
    if let Some(delay) = delay {
        api.fake.set_delay(Endpoint::Introspect, delay);
    }
    let token = api.opaque("orders:read");
    let started = Instant::now();
    let down = api.get("/api/orders", &token).await;
    assert_eq!(down.status(), 503);
    assert_eq!(down.headers()["retry-after"], "5");
    assert_eq!(
        json_of(&down.text().await.unwrap())["error"],
        "token_check_unavailable"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the provider timeout bounds it"
    );
    assert_eq!(api.get("/whoami", &token).await.status(), 503);
    assert_eq!(api.who(&token).await, "anonymous");
    assert_eq!(api.fake.introspections(), 1, "paused after the failure");

    // The provider back, the pause over: the token works.
    api.fake.set_fault(Endpoint::Introspect, Fault::None);
    api.fake.set_delay(Endpoint::Introspect, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(api.get("/api/orders", &token).await.status(), 200);
}

#[tokio::test]
async fn introspection_answering_500_is_503() {
    let body = r#"{"error":"server_error"}"#.to_owned();
    introspection_down_is_503(Some(Fault::Status(500, body)), None).await;
}

#[tokio::test]
async fn introspection_answering_html_is_503() {
    introspection_down_is_503(Some(Fault::Html), None).await;
}

#[tokio::test]
async fn introspection_answering_slowly_is_503() {
    introspection_down_is_503(None, Some(Duration::from_secs(3))).await;
}

#[tokio::test]
async fn a_thousand_junk_tokens_cost_a_bounded_number_of_introspections() {
    let rate = 20;
    let api = api::start_with(
        |accepted| accepted.max_introspections_per_second(rate),
        |builder| builder,
    )
    .await;
    // A client whose token was checked before the flood.
    let good = api.opaque("orders:read");
    assert_eq!(api.get("/api/orders", &good).await.status(), 200);
    let before = api.fake.introspections();

    let started = Instant::now();
    let mut statuses = Vec::new();
    for batch in 0..20 {
        let junk: Vec<String> = (0..50).map(|i| format!("junk-{batch}-{i}-x")).collect();
        statuses.extend(api.get_all("/api/orders", &junk).await);
        // The good client is served throughout, from the kept verdict.
        assert_eq!(api.get("/api/orders", &good).await.status(), 200);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let calls = api.fake.introspections() - before;
    assert_eq!(statuses.len(), 1000);
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "junk is refused or unavailable, never admitted: {statuses:?}"
    );
    let bound = f64::from(rate) * (1.0 + elapsed.ceil());
    eprintln!("1,000 junk tokens in {elapsed:.2} s: {calls} introspections (bound {bound})");
    assert!(
        (calls as f64) <= bound,
        "{calls} introspections for 1,000 junk tokens in {elapsed:.1} s (bound {bound})"
    );
    assert!(calls < 1000, "{calls}");
    // The junk the provider refused again: refused from the kept verdicts, at no cost.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refused: Vec<String> = (0..1000)
        .filter(|at| statuses[*at] == 401)
        .take(50)
        .map(|at| format!("junk-{}-{}-x", at / 50, at % 50))
        .collect();
    assert!(!refused.is_empty());
    let again = api.fake.introspections();
    let statuses = api.get_all("/api/orders", &refused).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(api.fake.introspections(), again);
}

#[tokio::test]
async fn introspection_authenticates_the_app_as_its_token_requests_do() {
    use crate::common::client_assertion::ClientKey;
    use crate::common::fake_oidc::{OidcConfig, PrivateKeyJwtClient, TokenAuth};
    use socialauth::{AccessTokens, AssertionAudience, ClientAssertionKey, ClientAuth};

    let introspected =
        |oidc: socialauth::Oidc| oidc.access_tokens(AccessTokens::introspection(API));
    // client_secret_basic (the default) and client_secret_post, as the fake's client is
    // registered: the strict fake refuses any other way.
    for (registered, auth) in [
        (TokenAuth::Basic, ClientAuth::Basic),
        (TokenAuth::Post, ClientAuth::Post),
    ] {
        let config = OidcConfig {
            client_auth: registered,
            ..OidcConfig::new()
        };
        let api =
            api::start_provider(config, |oidc| introspected(oidc.client_auth(auth)), |b| b).await;
        let token = api.opaque("orders:read");
        assert_eq!(
            api.get("/api/orders", &token).await.status(),
            200,
            "{registered:?}"
        );
        assert!(
            api.fake.rejections().is_empty(),
            "{:?}",
            api.fake.rejections()
        );
    }
    // private_key_jwt, with the issuer or the endpoint called as the assertion's audience.
    let key = ClientKey::es256();
    for audience in [
        AssertionAudience::Standard,
        AssertionAudience::TokenEndpoint,
    ] {
        let signing = ClientAssertionKey::es256_pem(&key.pem)
            .unwrap()
            .key_id("k1");
        let auth = ClientAuth::PrivateKeyJwt {
            key: signing,
            audience,
        };
        let api = api::start_provider(
            OidcConfig::new(),
            |oidc| introspected(oidc.client_auth(auth)),
            |b| b,
        )
        .await;
        let mut client = PrivateKeyJwtClient::new(key.public.clone(), Some("k1"));
        client.token_endpoint_audience = audience == AssertionAudience::TokenEndpoint;
        client.issuer_audience = audience == AssertionAudience::Standard;
        api.fake.set_private_key_jwt(Some(client));
        let token = api.opaque("orders:read");
        assert_eq!(
            api.get("/api/orders", &token).await.status(),
            200,
            "{audience:?}"
        );
        assert!(
            api.fake.rejections().is_empty(),
            "{:?}",
            api.fake.rejections()
        );
    }
    // A client the endpoint does not know: 503 (and an error in the logs), never 401.
    let api = api::start_provider(
        OidcConfig::new(),
        |oidc| introspected(oidc.client_auth(ClientAuth::Post)),
        |b| b,
    )
    .await;
    let token = api.opaque("orders:read");
    assert_eq!(api.get("/api/orders", &token).await.status(), 503);
}

#[tokio::test]
async fn a_provider_without_an_introspection_endpoint_is_503_until_one_is_set() {
    let api = api::start().await;
    api.fake.set_introspection_advertised(false);
    let token = api.opaque("orders:read");
    assert_eq!(api.get("/api/orders", &token).await.status(), 503);
    assert_eq!(api.fake.introspections(), 0);

    let endpoint = api.fake.introspection_endpoint();
    let configured = api::start_with(
        move |accepted| accepted.introspection_endpoint(endpoint),
        |builder| builder,
    )
    .await;
    configured.fake.set_introspection_advertised(false);
    // The endpoint is the first fake's: the token is its, and its answer names no issuer
    // (RFC 7662 makes `iss` optional), since that fake's issuer is not this provider's.
    let mut answer = api.fake.active_answer(API, "orders:read");
    answer.as_object_mut().unwrap().remove("iss");
    let token = api.fake.opaque_access_token(answer);
    assert_eq!(configured.get("/api/orders", &token).await.status(), 200);
    assert_eq!(api.fake.introspections(), 1);
}

#[tokio::test]
async fn a_kept_verdict_is_answered_at_once_a_new_token_waits_for_its_check() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use socialauth::{AccessTokens, Identity, SocialAuthLayer};
    use tower::{Layer, Service, ServiceExt};

    use crate::common::fake_oidc::{self, OidcConfig};

    let fake = fake_oidc::start(OidcConfig::new()).await;
    let layer = SocialAuthLayer::builder()
        .secret(crate::common::app::SECRET)
        .provider(
            crate::common::app::oidc_for(&fake)
                .access_tokens(AccessTokens::jwt_or_introspection(API)),
        )
        .build()
        .unwrap();
    // An app that answers at once, with the identity it was given in the extensions.
    let mut service = layer.layer(tower::service_fn(|request: http::Request<String>| {
        let identity = request.extensions().get::<Identity>().cloned();
        async move {
            let mut response = http::Response::new(String::new());
            if let Some(identity) = identity {
                response.extensions_mut().insert(identity);
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    }));
    let token = fake.opaque_access_token(fake.active_answer(API, "orders:read"));
    let request = || {
        http::Request::get("/")
            .header("authorization", format!("Bearer {token}"))
            .body(String::new())
            .unwrap()
    };
    let poll_once = |service: &mut _| {
        let service: &mut socialauth::SocialAuth<_> = service;
        let future = std::pin::pin!(service.call(request()));
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(response)) => Some(response.extensions().get::<Identity>().cloned()),
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => None,
        }
    };
    // A token not seen before waits for its introspection.
    service.ready().await.unwrap();
    assert!(
        poll_once(&mut service).is_none(),
        "a new token answered without its check"
    );
    let first = service
        .ready()
        .await
        .unwrap()
        .call(request())
        .await
        .unwrap();
    let identity = first.extensions().get::<Identity>().expect("signed in");
    assert_eq!(identity.scopes(), ["orders:read"]);
    // Then its verdict is kept, and answered on the first poll.
    service.ready().await.unwrap();
    let again = poll_once(&mut service).expect("a kept verdict answers at once");
    assert_eq!(
        again.as_ref().map(Identity::user_id),
        Some(identity.user_id())
    );
    assert_eq!(fake.introspections(), 1);
}

#[tokio::test]
async fn provider_keys_out_of_reach_are_503_for_a_jwt() {
    let api = api::start().await;
    api.fake.set_fault(
        Endpoint::Jwks,
        Fault::Status(503, r#"{"error":"temporarily_unavailable"}"#.to_owned()),
    );
    let token = api.jwt("orders:read");
    let down = api.get("/api/orders", &token).await;
    assert_eq!(down.status(), 503);
    assert_eq!(
        json_of(&down.text().await.unwrap())["error"],
        "token_check_unavailable"
    );
    assert_eq!(api.who(&token).await, "anonymous");
    api.fake.set_fault(Endpoint::Jwks, Fault::None);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(api.get("/api/orders", &token).await.status(), 200);
}
