//! Items 8-10: the provider refuses an injected code (`invalid_grant`) -> 401 with a
//! message of the layer's own; a mix-up between two OpenID Connect providers (RFC 9700
//! §4.4, RFC 9207 `iss`) -> refused before any code reaches a token endpoint; a user who
//! cancels, with script in the provider's description -> a clean failure, nothing reflected.

use serde_json::Value;

use crate::common::app::oidc_for;
use crate::common::app::{self, SECRET};
use crate::common::browser::Browser;
use crate::common::browser::{query_param, with_param};
use crate::common::fake_github;
use crate::common::fake_oidc::{self, CallbackIss, Endpoint, OidcConfig};
use crate::common::fault::{Fault, RawResponse};
use crate::security::support::{world, world_with, Fakes, Reply};

/// What the fakes write in their refusals; none of it may reach the browser.
const PROVIDER_WORDS: [&str; 8] = [
    "invalid_grant",
    "PKCE",
    "verifier",
    "bad_verification_code",
    "OAuthException",
    "already",
    "<script",
    "alert(",
];

/// The message the layer gives for every refused code, whatever the provider said.
const GENERIC: &str = "the provider refused to complete the login; start it again";

#[tokio::test]
async fn item_08_an_injected_code_is_refused_by_the_provider_as_401_with_a_generic_message() {
    let world = world().await;
    for provider in ["facebook", "oidc", "github", "twitter"] {
        let grant = if provider == "twitter" {
            "oauth_verifier"
        } else {
            "code"
        };
        // The attacker's own grant, from a login the attacker started and did not finish.
        let attacker = Browser::new();
        let attackers_grant =
            query_param(&world.callback(&attacker, provider).await, grant).expect("a grant");
        // Injected into the victim's callback: the victim's state and cookie are right, but
        // the grant is bound to the attacker's PKCE verifier (request token).
        let victim = Browser::new();
        let callback = world.callback(&victim, provider).await;
        let injected = with_param(&callback, grant, Some(&attackers_grant));
        let before = world.exchanges(provider);
        let reply = Reply::read(victim.get(&injected).await).await;
        reply.assert_refused(401, "login_failed", true, &PROVIDER_WORDS);
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["message"], GENERIC, "{provider}");
        assert_eq!(world.exchanges(provider), before + 1, "{provider}: retried");
        assert_eq!(
            victim.follow(&world.url("/maybe")).await.body,
            "anonymous",
            "{provider}: signed in as the attacker"
        );
    }

    // `invalid_grant` with script in the description, as a 400 (RFC 6749) and as GitHub's
    // 200: the same 401 and the same message.
    let description = "<script>alert(1)</script> the code was already redeemed";
    world.oidc.set_fault(
        Endpoint::Token,
        Fault::Status(
            400,
            serde_json::json!({"error": "invalid_grant", "error_description": description})
                .to_string(),
        ),
    );
    world.github.set_fault(
        fake_github::Endpoint::Token,
        Fault::Status(
            200,
            serde_json::json!({"error": "invalid_grant", "error_description": description,
                               "error_uri": "javascript:alert(2)"})
            .to_string(),
        ),
    );
    for provider in ["oidc", "github"] {
        let browser = Browser::new();
        let callback = world.callback(&browser, provider).await;
        let reply = Reply::read(browser.get(&callback).await).await;
        reply.assert_refused(401, "login_failed", true, &PROVIDER_WORDS);
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["message"], GENERIC, "{provider}");
    }
}

/// Starts a login at `provider` and returns the provider's callback, not visited.
async fn start_at(base: &str, provider: &str, browser: &Browser) -> String {
    let started = browser
        .get(&format!("{base}/auth/{provider}?login=start"))
        .await;
    assert_eq!(started.status(), 303);
    let authorize = started.headers()["location"].to_str().unwrap().to_owned();
    let back = browser.get(&authorize).await;
    back.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn item_09_a_mix_up_between_two_openid_providers_is_refused_before_any_exchange() {
    // The honest provider `a` and the attacker's `b`, both configured in the app, both
    // sending RFC 9207 `iss`.
    let honest = fake_oidc::start(OidcConfig::new()).await;
    let attacker = fake_oidc::start(OidcConfig::new()).await;
    for fake in [&honest, &attacker] {
        fake.set_advertise_iss_parameter(true);
        fake.set_callback_iss(CallbackIss::Correct);
    }
    let layer = socialauth::SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(oidc_for(&honest).name("a"))
        .provider(oidc_for(&attacker).name("b"))
        .build()
        .unwrap();
    let base = app::serve_layer(layer).await;

    let victim = Browser::new();
    // The victim means to sign in with `b`; `b` sends the browser to `a`, which answers
    // with a code for `a`, its own `iss`, and (as the attacker arranged) `b`'s state.
    let b_callback = start_at(&base, "b", &victim).await;
    let a_callback = start_at(&base, "a", &victim).await;
    let b_state = query_param(&b_callback, "state").unwrap();
    let a_code = query_param(&a_callback, "code").unwrap();
    let mixed = with_param(
        &with_param(&b_callback, "code", Some(&a_code)),
        "state",
        Some(&b_state),
    );
    let mixed = with_param(&mixed, "iss", Some(&honest.issuer()));
    let reply = Reply::read(victim.get(&mixed).await).await;
    reply.assert_refused(400, "invalid_request", true, &[&honest.issuer(), &a_code]);

    // The other way round: `a`'s callback carrying `b`'s issuer.
    let spoofed = with_param(&a_callback, "iss", Some(&attacker.issuer()));
    let reply = Reply::read(victim.get(&spoofed).await).await;
    reply.assert_refused(400, "invalid_request", true, &[&attacker.issuer()]);
    // An `iss` that only looks like the issuer.
    for lookalike in [
        format!("{}/", honest.issuer()),
        honest.issuer().to_uppercase(),
        format!("{} ", honest.issuer()),
        honest.issuer().replace("http://", "https://"),
    ] {
        let fresh = Browser::new();
        let callback = start_at(&base, "a", &fresh).await;
        let reply = Reply::read(
            fresh
                .get(&with_param(&callback, "iss", Some(&lookalike)))
                .await,
        )
        .await;
        reply.assert_refused(400, "invalid_request", true, &[]);
    }
    assert_eq!(
        honest.calls(Endpoint::Token),
        0,
        "a code reached a's token endpoint"
    );
    assert_eq!(
        attacker.calls(Endpoint::Token),
        0,
        "a code reached the attacker"
    );

    // The same app and providers log in normally.
    let visit = Browser::new()
        .follow(&format!("{base}/auth/a?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(honest.calls(Endpoint::Token), 1);
}

#[tokio::test]
async fn item_10_a_cancelled_login_is_a_clean_failure_that_reflects_nothing() {
    let script = "<script>alert(1)</script>";
    let world = world().await;
    for provider in ["facebook", "oidc", "github"] {
        let browser = Browser::new();
        let callback = world.callback(&browser, provider).await;
        let state = query_param(&callback, "state").unwrap();
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let cancelled = world.url(&format!(
            "/auth/{provider}?error=access_denied&error_description={}&error_uri={}&state={}",
            enc(&format!("{script}{}", "x".repeat(10_000))),
            enc("javascript:alert(2)"),
            enc(&state)
        ));
        let reply = Reply::read(browser.get(&cancelled).await).await;
        reply.assert_refused(
            401,
            "access_denied",
            true,
            &[script, "alert(", "javascript:"],
        );
        // An error code that is itself script: refused as a failed login, not reflected.
        let callback = world.callback(&browser, provider).await;
        let state = query_param(&callback, "state").unwrap();
        let odd = world.url(&format!(
            "/auth/{provider}?error={}&state={}",
            enc(script),
            enc(&state)
        ));
        let reply = Reply::read(browser.get(&odd).await).await;
        reply.assert_refused(401, "login_failed", true, &[script, "alert("]);
    }
    // Twitter's `denied=<request token>`, and a `denied` value that is script.
    let browser = Browser::new();
    let callback = world.callback(&browser, "twitter").await;
    let token = query_param(&callback, "oauth_token").unwrap();
    for denied in [token.as_str(), script] {
        let enc: String = form_urlencoded::byte_serialize(denied.as_bytes()).collect();
        let reply = Reply::read(
            browser
                .get(&world.url(&format!("/auth/twitter?denied={enc}")))
                .await,
        )
        .await;
        reply.assert_refused(401, "access_denied", true, &[script, "alert("]);
    }
    assert!(
        !browser.cookies().iter().any(|(n, _, _)| n.contains("flow")),
        "the cancelled attempt's flow cookie is left"
    );
    assert_eq!(world.all_exchanges(), 0, "a token endpoint was called");

    // With a failure redirect: only the layer's code travels, never the description.
    let world = world_with(Fakes::default(), |b| {
        b.failure_redirect("/maybe?from=login")
    })
    .await;
    let browser = Browser::new();
    let callback = world.callback(&browser, "github").await;
    let state = query_param(&callback, "state").unwrap();
    let cancelled = world.url(&format!(
        "/auth/github?error=access_denied&error_description=%3Cscript%3E&state={state}"
    ));
    let reply = Reply::read(browser.get(&cancelled).await).await;
    assert_eq!(reply.status, 303);
    assert_eq!(
        reply.location(),
        Some("/maybe?from=login&error=access_denied")
    );
    assert!(reply.clears_a_flow_cookie());
}

/// A `429` with `Retry-After` on the token endpoint: the code is not sent again after the
/// wait it asks for, and the provider's words stay out of the answer.
#[tokio::test]
async fn item_08_a_rate_limited_token_endpoint_is_not_retried() {
    let world = world().await;
    for body in [r#"{"message":"slow down"}"#, r#"{"error":"slow_down"}"#] {
        world.oidc.set_fault(
            Endpoint::Token,
            Fault::Raw(RawResponse::new(429, "application/json", body).header("retry-after", "1")),
        );
        let before = world.exchanges("oidc");
        let browser = Browser::new();
        let callback = world.callback(&browser, "oidc").await;
        let reply = Reply::read(browser.get(&callback).await).await;
        assert!(matches!(reply.status, 401 | 502), "{}", reply.body);
        let code = reply.error_code();
        reply.assert_refused(reply.status, &code, true, &["slow"]);
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(
            world.exchanges("oidc"),
            before + 1,
            "the code was sent again"
        );
    }
}

/// Found by this battery: a `429` whose JSON body has an `error` member is answered 401
/// `login_failed` ("the provider refused to complete the login"), as if the code had been
/// refused, where any other 429 (and every 5xx) is 502 `provider_error`. Rate limiting is
/// the provider failing, not refusing: `TokenRequest::exchange_with` (src/provider/oauth2.rs)
/// should read `error` as a refusal only with 400/401 (RFC 6749 §5.2) or GitHub's 200.
#[tokio::test]
async fn item_15_a_429_with_an_error_member_is_a_provider_error() {
    let world = world().await;
    world.oidc.set_fault(
        Endpoint::Token,
        Fault::Raw(
            RawResponse::new(429, "application/json", r#"{"error":"slow_down"}"#)
                .header("retry-after", "1"),
        ),
    );
    let browser = Browser::new();
    let callback = world.callback(&browser, "oidc").await;
    let reply = Reply::read(browser.get(&callback).await).await;
    reply.assert_refused(502, "provider_error", true, &["slow_down"]);
}
