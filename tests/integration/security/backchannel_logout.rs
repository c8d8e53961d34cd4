//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0) against a strict fake
//! provider: every check of §2.6 refuses its own bad logout token with `400` and leaves the
//! session working; a valid token ends exactly the sessions it names, once.

use serde_json::{json, Value};
use socialauth::revocation::{InMemoryStore, Revocations};
use socialauth::{ConfigError, SocialAuthLayer};

use crate::common::app::{self, json_of, oidc_for, IDENTITY_COOKIE};
use crate::common::browser::Browser;
use crate::common::clock;
use crate::common::fake_oidc::{self, FakeOidc, LogoutSignature, OidcConfig};

/// The provider session the fake's ID tokens name (`sid`).
const SID: &str = "op-session-1";

struct Setup {
    fake: FakeOidc,
    base: String,
}

impl Setup {
    fn route(&self) -> String {
        format!("{}/auth/oidc/backchannel-logout", self.base)
    }

    /// POSTs `logout_token` as the provider does (§2.5).
    async fn post(&self, token: &str) -> reqwest::Response {
        post_form(&self.route(), &[("logout_token", token)]).await
    }

    /// Signs the fake's user in, in a browser of its own: the identity cookie.
    async fn sign_in(&self) -> String {
        let browser = Browser::new();
        let visit = browser
            .follow(&format!("{}/auth/oidc?login=start", self.base))
            .await;
        assert_eq!(visit.status, 200, "{:?}\n{}", visit.hops, visit.body);
        browser.cookie(IDENTITY_COOKIE).expect("signed in")
    }

    /// The user id `cookie` signs in as, or `anonymous`.
    async fn who(&self, cookie: &str) -> String {
        let response = reqwest::Client::new()
            .get(format!("{}/whoami", self.base))
            .header("cookie", format!("{IDENTITY_COOKIE}={cookie}"))
            .send()
            .await
            .expect("whoami answers");
        match response.status().as_u16() {
            200 => json_of(&response.text().await.unwrap())["user_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            _ => "anonymous".to_owned(),
        }
    }
}

/// POSTs `fields` form-urlencoded to `url`.
async fn post_form(url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the route answers")
}

async fn start() -> Setup {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_extra_claims(json!({"sid": SID}));
    let revocations = Revocations::builder(InMemoryStore::new())
        .start()
        .await
        .expect("in-memory store");
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(oidc_for(&fake).backchannel_logout(true))
        .revocation(revocations)
        .build()
        .expect("valid configuration");
    let base = app::serve_layer(layer).await;
    Setup { fake, base }
}

/// A refusal as §2.8 wants it: `400`, a JSON error, not cached, no cookie, no redirect.
async fn assert_refused(response: reqwest::Response, case: &str) -> Value {
    assert_eq!(response.status(), 400, "{case}");
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store", "{case}");
    assert!(headers.get("set-cookie").is_none(), "{case}");
    assert!(headers.get("location").is_none(), "{case}");
    let body = json_of(&response.text().await.unwrap());
    assert_eq!(body["error"], "invalid_request", "{case}: {body}");
    body
}

#[tokio::test]
async fn each_check_of_section_2_6_refuses_its_token_and_the_session_goes_on() {
    let setup = start().await;
    let cookie = setup.sign_in().await;
    let user = setup.fake.config().sub.clone();
    assert_eq!(setup.who(&cookie).await, user);
    let fake = &setup.fake;
    let genuine = |claims: &Value| fake.logout_token(json!({}), claims, LogoutSignature::Genuine);
    let valid = || fake.logout_claims(Some(SID));
    let changed = |name: &str, value: Value| {
        let mut claims = valid();
        match value {
            Value::Null => {
                claims.as_object_mut().unwrap().remove(name);
            }
            value => claims[name] = value,
        }
        claims
    };
    let now = clock::now();
    let id_token = fake
        .issued_tokens()
        .last()
        .cloned()
        .expect("the login's ID token");

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong signature",
            fake.logout_token(json!({}), &valid(), LogoutSignature::Attacker),
            "bad signature",
        ),
        (
            "alg none",
            fake.logout_token(json!({}), &valid(), LogoutSignature::AlgNone),
            "alg",
        ),
        (
            "HMAC keyed with the public key",
            fake.logout_token(json!({}), &valid(), LogoutSignature::Hs256WithPublicKey),
            "alg not allowed",
        ),
        (
            "wrong iss",
            genuine(&changed("iss", json!("https://evil.example/idp"))),
            "iss",
        ),
        (
            "wrong aud",
            genuine(&changed("aud", json!("another-client"))),
            "aud",
        ),
        (
            "old iat",
            genuine(&{
                let mut claims = changed("iat", json!(now - 3600));
                claims.as_object_mut().unwrap().remove("exp");
                claims
            }),
            "iat too old",
        ),
        (
            "expired",
            genuine(&changed("exp", json!(now - 300))),
            "expired",
        ),
        ("no jti", genuine(&changed("jti", Value::Null)), "no jti"),
        (
            "no events",
            genuine(&changed("events", Value::Null)),
            "no events",
        ),
        (
            "another event",
            genuine(&changed(
                "events",
                json!({"http://schemas.openid.net/event/session-revoked": {}}),
            )),
            "back-channel logout event",
        ),
        ("a nonce", genuine(&changed("nonce", json!("n-1"))), "nonce"),
        (
            "neither sid nor sub",
            genuine(&{
                let mut claims = changed("sid", Value::Null);
                claims.as_object_mut().unwrap().remove("sub");
                claims
            }),
            "neither sid nor sub",
        ),
        (
            "another typ",
            fake.logout_token(json!({"typ": "at+jwt"}), &valid(), LogoutSignature::Genuine),
            "typ",
        ),
        ("an ID token (typ JWT)", id_token, "logout token refused"),
        ("not a JWT", "not-a-jwt".to_owned(), "logout token refused"),
    ];
    for (case, token, says) in &cases {
        let body = assert_refused(setup.post(token).await, case).await;
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{case}: {message}");
        assert_eq!(setup.who(&cookie).await, user, "{case} ended the session");
    }

    // Not a POST of a form, a form without the token or with two, a huge body.
    let client = reqwest::Client::new();
    let get = client.get(setup.route()).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert!(get.headers().get("set-cookie").is_none());
    let token = genuine(&valid());
    let json_body = client
        .post(setup.route())
        .header("content-type", "application/json")
        .body(json!({"logout_token": token}).to_string())
        .send()
        .await
        .unwrap();
    assert_refused(json_body, "a JSON body").await;
    assert_refused(setup.post("").await, "an empty token").await;
    let two = post_form(
        &setup.route(),
        &[
            ("logout_token", token.as_str()),
            ("logout_token", token.as_str()),
        ],
    )
    .await;
    assert_refused(two, "two tokens").await;
    let huge = post_form(&setup.route(), &[("logout_token", &"a".repeat(64 * 1024))]).await;
    assert_refused(huge, "a 64 KiB body").await;
    assert_eq!(setup.who(&cookie).await, user);

    // The valid token: 200, not cached, no cookie; the session is over.
    let accepted = setup.post(&token).await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.headers()["cache-control"], "no-store");
    assert!(accepted.headers().get("set-cookie").is_none());
    assert!(accepted.headers().get("location").is_none());
    assert_eq!(setup.who(&cookie).await, "anonymous");

    // The same token again: its jti was recorded.
    let body = assert_refused(setup.post(&token).await, "replayed jti").await;
    assert!(
        body["message"].as_str().unwrap().contains("jti replayed"),
        "{body}"
    );
}

#[tokio::test]
async fn a_sid_token_ends_that_provider_session_and_a_sub_token_every_session_of_the_user() {
    let setup = start().await;
    let first = setup.sign_in().await;
    // A second sign-in from another provider session.
    setup.fake.set_extra_claims(json!({"sid": "op-session-2"}));
    let second = setup.sign_in().await;
    let user = setup.fake.config().sub.clone();

    let token = |sid: Option<&str>, sub: bool| {
        let mut claims = setup.fake.logout_claims(sid);
        if !sub {
            claims.as_object_mut().unwrap().remove("sub");
        }
        setup
            .fake
            .logout_token(json!({}), &claims, LogoutSignature::Genuine)
    };
    // A sid the layer never saw ends nothing; sid alone ends that session only.
    assert_eq!(
        setup.post(&token(Some("unknown"), true)).await.status(),
        200
    );
    assert_eq!(setup.who(&first).await, user);
    assert_eq!(setup.post(&token(Some(SID), false)).await.status(), 200);
    assert_eq!(setup.who(&first).await, "anonymous");
    assert_eq!(setup.who(&second).await, user);

    // sub alone: every session of the user at this provider, begun until now.
    assert_eq!(setup.post(&token(None, true)).await.status(), 200);
    assert_eq!(setup.who(&second).await, "anonymous");
    let after = setup.sign_in().await;
    assert_eq!(setup.who(&after).await, user);
}

#[tokio::test]
async fn back_channel_logout_without_revocation_is_a_config_error_and_off_is_404() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    let refused = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(oidc_for(&fake).backchannel_logout(true))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ConfigError::InvalidSetting {
                setting: "backchannel_logout",
                ..
            }
        ),
        "{refused:?}"
    );
    // Off (the default), the route does not exist.
    let base = app::serve_with(oidc_for(&fake)).await;
    let response = post_form(
        &format!("{base}/auth/oidc/backchannel-logout"),
        &[("logout_token", "x")],
    )
    .await;
    assert_eq!(response.status(), 404);
}

/// The other way round: a logout token (its `events`, or its `logout+jwt` type) sent as the
/// ID token of a login signs nobody in (Back-Channel Logout 1.0 §2.4 and RFC 8725 §3.11).
#[tokio::test]
async fn a_logout_token_is_never_taken_for_an_id_token() {
    let setup = start().await;
    let login = || async {
        let browser = Browser::new();
        let visit = browser
            .follow(&format!("{}/auth/oidc?login=start", setup.base))
            .await;
        (browser, visit)
    };
    let (_, genuine) = login().await;
    assert_eq!(genuine.status, 200, "{}", genuine.body);

    setup.fake.set_extra_claims(json!({
        "sid": SID,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }));
    let (browser, visit) = login().await;
    assert_eq!(visit.status, 401, "events: {}", visit.body);
    assert_eq!(json_of(&visit.body)["error"], "login_failed");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);

    setup.fake.set_extra_claims(json!({"sid": SID}));
    let header = json!({"alg": "RS256", "typ": "logout+jwt", "kid": "rsa-0"});
    setup
        .fake
        .set_id_token_header(Some((header, fake_oidc::IdSignature::Real)));
    let (browser, visit) = login().await;
    assert_eq!(visit.status, 401, "typ logout+jwt: {}", visit.body);
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
}

/// Two replicas sharing a real Redis: a logout token accepted by one is a replay for the
/// other (§2.6 step 8, across replicas), and the session it ended is over on both.
#[tokio::test]
async fn a_logout_token_is_accepted_once_across_replicas_sharing_redis() {
    use socialauth::revocation::RedisStore;

    let redis = crate::common::redis::RedisServer::start().await;
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_extra_claims(json!({"sid": SID}));
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::connect(&redis.url()).await.expect("redis");
        let revocations = Revocations::builder(store).start().await.expect("load");
        let layer = SocialAuthLayer::builder()
            .secret(app::SECRET)
            .provider(oidc_for(&fake).backchannel_logout(true))
            .revocation(revocations)
            .build()
            .expect("valid configuration");
        replicas.push(app::serve_layer(layer).await);
    }
    // Clones of a fake share its state.
    let on = |base: &String| Setup {
        fake: fake.clone(),
        base: base.clone(),
    };
    let (a, b) = (on(&replicas[0]), on(&replicas[1]));
    let cookie = a.sign_in().await;
    let user = fake.config().sub.clone();
    assert_eq!(b.who(&cookie).await, user);

    let token = fake.logout_token(
        json!({}),
        &fake.logout_claims(Some(SID)),
        LogoutSignature::Genuine,
    );
    assert_eq!(a.post(&token).await.status(), 200);
    let body = assert_refused(b.post(&token).await, "replayed on the other replica").await;
    assert!(
        body["message"].as_str().unwrap().contains("jti replayed"),
        "{body}"
    );
    let started = std::time::Instant::now();
    while b.who(&cookie).await != "anonymous" {
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(a.who(&cookie).await, "anonymous");
}
