//! OpenID Connect logins through the layer, against a strict fake provider that signs real
//! RS256 and ES256 ID tokens and can make them wrong in every way the layer must notice.

use crate::common::app::{self, json_of, oidc_for, serve_with, IDENTITY_COOKIE};
use crate::common::browser::{query_param, Browser, Visit};
use crate::common::captured_logs;
use crate::common::fake_oidc::{
    self, CallbackIss, Endpoint, FakeOidc, IdTokenFault, OidcConfig, SigningAlg, TokenAuth,
};
use crate::common::fault::Fault;
use crate::common::server;
use socialauth::{Algorithm, ClientAuth, Google, Oidc, SocialAuthLayer};

async fn start(cfg: OidcConfig) -> (FakeOidc, String) {
    let fake = fake_oidc::start(cfg).await;
    let base = serve_with(oidc_for(&fake)).await;
    (fake, base)
}

async fn login(base: &str) -> (Browser, Visit) {
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/oidc?login=start"))
        .await;
    (browser, visit)
}

/// Nobody is signed in, and the attempt's flow cookie is gone.
async fn assert_signed_out(browser: &Browser, base: &str) {
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None, "identity cookie set");
    assert_eq!(
        browser.follow(&format!("{base}/maybe")).await.body,
        "anonymous"
    );
    let flows: Vec<_> = browser
        .cookies()
        .into_iter()
        .filter(|(name, _, _)| name.contains("socialauth-flow"))
        .collect();
    assert!(flows.is_empty(), "flow cookie left behind: {flows:?}");
}

#[tokio::test]
async fn oidc_login_then_whoami_with_rs256_and_es256() {
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        let (fake, base) = start(OidcConfig::new()).await;
        fake.set_signing_alg(alg);
        let (browser, visit) = login(&base).await;
        let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
        assert_eq!(
            statuses,
            [303, 302, 303, 200],
            "{alg:?}: {:?} {}",
            visit.hops,
            visit.body
        );
        assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());

        let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
        assert_eq!(who["provider"], "oidc", "{alg:?}");
        assert_eq!(who["user_id"], "248289761001");
        assert_eq!(who["name"], "Jane Doe");
        assert_eq!(who["email"], "janedoe@example.com");

        let params = fake.last_authorize_params();
        assert_eq!(
            server::param(&params, "scope"),
            Some("openid email profile")
        );
        assert_eq!(
            server::param(&params, "redirect_uri"),
            Some(format!("{base}/auth/oidc").as_str())
        );
        assert!(server::param(&params, "nonce").is_some_and(|n| n.len() >= 43));
        assert_ne!(
            server::param(&params, "nonce"),
            server::param(&params, "state")
        );
        assert_eq!(
            fake.calls(Endpoint::Userinfo),
            0,
            "the ID token said enough"
        );
    }
}

#[tokio::test]
async fn each_login_sends_a_fresh_nonce() {
    let (fake, base) = start(OidcConfig::new()).await;
    login(&base).await;
    let first = server::param(&fake.last_authorize_params(), "nonce").map(str::to_owned);
    login(&base).await;
    let second = server::param(&fake.last_authorize_params(), "nonce").map(str::to_owned);
    assert!(first.is_some());
    assert_ne!(first, second);
}

#[tokio::test]
async fn discovery_and_keys_are_fetched_once_over_two_logins() {
    let (fake, base) = start(OidcConfig::new()).await;
    for _ in 0..2 {
        let (_, visit) = login(&base).await;
        assert_eq!(visit.status, 200, "{}", visit.body);
    }
    assert_eq!(fake.calls(Endpoint::Discovery), 1);
    assert_eq!(fake.calls(Endpoint::Jwks), 1);
    assert_eq!(fake.calls(Endpoint::Token), 2);
}

#[tokio::test]
async fn building_the_layer_makes_no_request() {
    let (fake, _base) = start(OidcConfig::new()).await;
    assert_eq!(fake.calls(Endpoint::Discovery), 0);
}

#[tokio::test]
async fn a_failed_discovery_is_502_for_a_short_pause_then_tried_again() {
    let (fake, base) = start(OidcConfig::new()).await;
    fake.set_fault(
        Endpoint::Discovery,
        Fault::Status(503, "unavailable".into()),
    );
    let (browser, visit) = login(&base).await;
    visit.assert_error(502, "provider_error");
    assert_signed_out(&browser, &base).await;

    // Within the pause after a failure, logins fail at once without asking the issuer.
    fake.set_fault(Endpoint::Discovery, Fault::None);
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 502);
    assert_eq!(fake.calls(Endpoint::Discovery), 1);

    // After it (1 s after a first failure), the next login fetches again.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(fake.calls(Endpoint::Discovery), 2);
}

#[tokio::test]
async fn fifty_logins_against_a_blackholed_issuer_all_answer_within_about_one_timeout() {
    // An issuer that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(socket);
        }
    });
    let layer = SocialAuthLayer::builder()
        .secret(crate::common::app::SECRET)
        .provider(socialauth::Oidc::new(&issuer, "client", "secret"))
        .provider_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    let base = format!(
        "http://{}",
        crate::common::server::serve(crate::common::app::axum_app().layer(layer)).await
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let logins = (0..50).map(|_| {
        let (client, url) = (client.clone(), format!("{base}/auth/oidc?login=start"));
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_join_all(logins).await;
    let elapsed = started.elapsed();
    assert!(
        statuses.iter().all(|s| *s == 502 || *s == 504),
        "{statuses:?}"
    );
    // One timeout (1 s) and the shared failure, not fifty timeouts one after another (50 s);
    // the margin is for a loaded machine.
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Runs the futures concurrently, their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("task"));
    }
    outputs
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_502() {
    let (fake, base) = start(OidcConfig::new()).await;
    fake.set_discovery_issuer(Some(format!("{}/", fake.issuer())));
    let (browser, visit) = login(&base).await;
    visit.assert_error(502, "provider_error");
    assert_eq!(fake.calls(Endpoint::Authorize), 0);
    assert_signed_out(&browser, &base).await;
}

#[tokio::test]
async fn every_bad_id_token_is_refused_and_nobody_is_signed_in() {
    use IdTokenFault::*;
    let (fake, base) = start(OidcConfig::new()).await;
    let cases = [
        (WrongIssuer, 401),
        (WrongAudience, 401),
        (SeveralAudiencesWithoutAzp, 401),
        (WrongAzp, 401),
        (WrongNonce, 401),
        (MissingNonce, 401),
        (Expired, 401),
        (IssuedInTheFuture, 401),
        (NotYetValid, 401),
        (AlgNone, 401),
        (Hs256WithPublicKey, 401),
        (FlippedSignature, 401),
        (JkuHeader, 401),
        (EmbeddedJwk, 401),
        (EmptySub, 401),
        (UnknownKid, 401),
        // The provider's own mistakes: a signed token with a claim of the wrong type, and
        // no ID token at all.
        (NumericSub, 502),
        (Missing, 502),
    ];
    for (fault, status) in cases {
        fake.set_id_token_fault(fault);
        let (browser, visit) = login(&base).await;
        assert_eq!(visit.status, status, "{fault:?}: {}", visit.body);
        let expected = if status == 401 {
            "login_failed"
        } else {
            "provider_error"
        };
        assert_eq!(json_of(&visit.body)["error"], expected, "{fault:?}");
        assert_signed_out(&browser, &base).await;
    }
    assert_eq!(
        fake.calls(Endpoint::EvilJwks),
        0,
        "a jku header was followed"
    );

    // The same provider, the same layer, a good token: the login works.
    fake.set_id_token_fault(IdTokenFault::None);
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
}

#[tokio::test]
async fn a_login_after_a_key_rotation_refetches_the_keys_once() {
    let (fake, base) = start(OidcConfig::new()).await;
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 200);
    assert_eq!(fake.calls(Endpoint::Jwks), 1);

    fake.rotate_keys();
    let (browser, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(fake.calls(Endpoint::Jwks), 2);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["user_id"], "248289761001");

    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 200);
    assert_eq!(fake.calls(Endpoint::Jwks), 2, "the new keys are kept");
}

#[tokio::test]
async fn a_key_still_unknown_after_the_refetch_is_401_and_refetches_are_rate_limited() {
    let (fake, base) = start(OidcConfig::new()).await;
    login(&base).await;
    assert_eq!(fake.calls(Endpoint::Jwks), 1);
    fake.set_id_token_fault(IdTokenFault::UnknownKid);
    for attempt in 0..3 {
        let (browser, visit) = login(&base).await;
        assert_eq!(visit.status, 401, "attempt {attempt}: {}", visit.body);
        assert_signed_out(&browser, &base).await;
    }
    assert_eq!(
        fake.calls(Endpoint::Jwks),
        2,
        "one refetch, then none for a minute"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_logins_with_an_unknown_kid_share_one_refetch() {
    let (fake, base) = start(OidcConfig::new()).await;
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 200);
    assert_eq!(fake.calls(Endpoint::Jwks), 1);

    fake.rotate_keys();
    let base = std::sync::Arc::new(base);
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let base = base.clone();
        logins.spawn(async move { login(&base).await.1.status });
    }
    let statuses: Vec<u16> = logins.join_all().await;
    assert_eq!(statuses, vec![200; 20]);
    assert_eq!(fake.calls(Endpoint::Jwks), 2, "exactly one refetch");
}

#[tokio::test]
async fn rfc_9207_a_callback_from_another_issuer_is_400_before_any_token_request() {
    let (fake, base) = start(OidcConfig::new()).await;
    fake.set_advertise_iss_parameter(true);
    for iss in [CallbackIss::Wrong, CallbackIss::Omit] {
        fake.set_callback_iss(iss);
        let (browser, visit) = login(&base).await;
        visit.assert_error(400, "invalid_request");
        assert_signed_out(&browser, &base).await;
    }
    assert_eq!(
        fake.calls(Endpoint::Token),
        0,
        "a code went to the token endpoint"
    );

    fake.set_callback_iss(CallbackIss::Correct);
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(fake.calls(Endpoint::Token), 1);
}

#[tokio::test]
async fn rfc_9207_a_wrong_iss_is_refused_even_when_not_advertised() {
    let (fake, base) = start(OidcConfig::new()).await;
    fake.set_callback_iss(CallbackIss::Wrong);
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 400, "{}", visit.body);
    assert_eq!(fake.calls(Endpoint::Token), 0);
}

#[tokio::test]
async fn rfc_9207_an_error_response_from_another_issuer_is_400_not_access_denied() {
    let (fake, base) = start(OidcConfig::new()).await;
    let browser = crate::common::browser::Browser::new();
    let visit = browser
        .follow(&format!(
            "{base}/auth/oidc?error=access_denied&state=s&iss=https%3A%2F%2Fevil.example"
        ))
        .await;
    visit.assert_error(400, "invalid_request");
    assert_eq!(fake.calls(Endpoint::Token), 0);
}

#[tokio::test]
async fn userinfo_fills_in_what_the_id_token_lacks() {
    let (fake, base) = start(OidcConfig::new()).await;
    fake.set_profile_in_id_token(false);
    let (browser, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(fake.calls(Endpoint::Userinfo), 1);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["name"], "Jane Doe");
    assert_eq!(who["email"], "janedoe@example.com");
}

#[tokio::test]
async fn userinfo_about_another_user_is_refused() {
    let (fake, base) = start(OidcConfig::new()).await;
    fake.set_profile_in_id_token(false);
    fake.set_userinfo_sub(Some("someone-else".into()));
    let (browser, visit) = login(&base).await;
    visit.assert_error(401, "login_failed");
    assert_eq!(fake.calls(Endpoint::Userinfo), 1);
    assert_signed_out(&browser, &base).await;
}

#[tokio::test]
async fn userinfo_can_be_required_or_turned_off() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_userinfo_sub(Some("someone-else".into()));
    // Always read: the mismatch is caught even though the ID token said enough.
    let base = serve_with(oidc_for(&fake).userinfo(true)).await;
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 401, "{}", visit.body);

    // Never read: the ID token alone describes the user.
    fake.set_profile_in_id_token(false);
    let base = serve_with(oidc_for(&fake).userinfo(false)).await;
    let before = fake.calls(Endpoint::Userinfo);
    let (browser, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(fake.calls(Endpoint::Userinfo), before);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["user_id"], "248289761001");
    assert_eq!(who["email"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_unverified_email_is_left_out() {
    let (_fake, base) = start(OidcConfig {
        email_verified: Some(false),
        ..OidcConfig::new()
    })
    .await;
    let (browser, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["email"], serde_json::Value::Null);
    assert_eq!(who["name"], "Jane Doe");
}

#[tokio::test]
async fn client_secret_post_is_chosen_from_discovery_or_configured() {
    let fake = fake_oidc::start(OidcConfig {
        client_auth: TokenAuth::Post,
        ..OidcConfig::new()
    })
    .await;
    // Discovery lists only client_secret_post: used without being configured.
    let base = serve_with(oidc_for(&fake)).await;
    let (_, visit) = login(&base).await;
    assert_eq!(visit.status, 200, "{}", visit.body);

    // Configured Basic wins over discovery, and this server refuses it.
    let base = serve_with(oidc_for(&fake).client_auth(ClientAuth::Basic)).await;
    let (browser, visit) = login(&base).await;
    visit.assert_error(502, "provider_error");
    assert_signed_out(&browser, &base).await;
}

#[tokio::test]
async fn only_the_allowed_algorithms_are_accepted() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_signing_alg(SigningAlg::ES256);
    let base = serve_with(oidc_for(&fake).allowed_algorithms(&[Algorithm::RS256])).await;
    let (browser, visit) = login(&base).await;
    assert_eq!(visit.status, 401, "{}", visit.body);
    assert_signed_out(&browser, &base).await;

    for hmac in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let built = SocialAuthLayer::builder()
            .secret(app::SECRET)
            .provider(oidc_for(&fake).allowed_algorithms(&[Algorithm::RS256, hmac]))
            .build();
        assert!(built.is_err(), "{hmac:?} accepted");
    }
}

#[tokio::test]
async fn google_preset_uses_its_issuer_and_logs_in_like_any_oidc_provider() {
    assert_eq!(
        Oidc::from(Google::new("id.apps.googleusercontent.com", "secret")).issuer(),
        "https://accounts.google.com"
    );
    let built = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(Google::new("id.apps.googleusercontent.com", "secret"))
        .build();
    assert!(built.is_ok(), "{built:?}");

    let fake = fake_oidc::start(OidcConfig::new()).await;
    let cfg = fake.config();
    let base =
        serve_with(Google::new(&cfg.client_id, &cfg.client_secret).issuer_url(fake.issuer())).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/google?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "google");
    assert_eq!(who["user_id"], "248289761001");
}

#[test]
fn misconfigured_oidc_providers_do_not_build() {
    let build = |oidc: Oidc| {
        SocialAuthLayer::builder()
            .secret(app::SECRET)
            .provider(oidc)
            .build()
    };
    assert!(build(Oidc::new("http://sso.example.com", "id", "secret")).is_err());
    assert!(build(Oidc::new("https://sso.example.com", "id", "secret").scope("email")).is_err());
    assert!(build(
        Oidc::new("https://sso.example.com", "id", "secret").authorize_param("nonce", "fixed")
    )
    .is_err());
    assert!(build(Oidc::new("https://sso.example.com", "id", "secret")).is_ok());
}

#[tokio::test(flavor = "current_thread")]
async fn oidc_steps_and_rejections_are_logged_without_any_secret() {
    let captured = captured_logs::capture();

    let (fake, base) = start(OidcConfig::new()).await;
    fake.set_profile_in_id_token(false); // so userinfo is read too
    let browser = Browser::new();
    let callback = browser
        .callback_from(&format!("{base}/auth/oidc?login=start"))
        .await;
    assert_eq!(browser.follow(&callback).await.status, 200);
    let identity = browser.cookie(IDENTITY_COOKIE).unwrap();
    let params = fake.last_authorize_params();
    let code = query_param(&callback, "code").unwrap();
    // A rejected token too.
    fake.set_id_token_fault(IdTokenFault::WrongNonce);
    assert_eq!(login(&base).await.1.status, 401);

    let logs = captured.text();
    for step in [
        "OpenID Connect discovery document fetched",
        "JWKS fetched",
        "ID token verified",
        "userinfo read",
        "ID token rejected",
        "nonce is not this login's",
    ] {
        assert!(logs.contains(step), "no {step:?} event in:\n{logs}");
    }
    let mut secrets = vec![
        ("client secret", fake.config().client_secret.clone()),
        ("code", code),
        ("state", server::param(&params, "state").unwrap().to_owned()),
        ("nonce", server::param(&params, "nonce").unwrap().to_owned()),
        ("identity token", identity),
    ];
    for token in fake.issued_tokens() {
        secrets.push(("issued token", token));
    }
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "the logs hold the {what}:\n{logs}");
    }
}
