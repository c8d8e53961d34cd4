//! `private_key_jwt` client authentication (RFC 7523) through the layer, against the strict
//! fake OpenID Connect provider: logins with RS256 and ES256 keys for `Oidc` and `OAuth2`,
//! and every assertion the provider must refuse, refused (by the login, and directly).

use crate::common::app::{json_of, login_with as login, serve_with, IDENTITY_COOKIE};
use crate::common::browser::{Browser, Visit};
use crate::common::client_assertion::{ClientKey, CompactJws, ASSERTION_TYPE};
use crate::common::clock;
use crate::common::fake_oidc::{self, Endpoint, FakeOidc, OidcConfig, PrivateKeyJwtClient};
use serde_json::{json, Value};
use socialauth::{AssertionAudience, ClientAssertionKey, ClientAuth, OAuth2, Oidc};

const KID: &str = "client-key-1";

/// A fake provider taking only assertions signed by `registered`, under [`KID`].
async fn fake_for(registered: &ClientKey) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_private_key_jwt(Some(PrivateKeyJwtClient::new(
        registered.public.clone(),
        Some(KID),
    )));
    fake
}

/// The layer's key for `key`: RS256 or ES256 as the key is, under [`KID`].
fn assertion_key(key: &ClientKey) -> ClientAssertionKey {
    let parsed = match key.public.alg() {
        "RS256" => ClientAssertionKey::rs256_pem(&key.pem),
        _ => ClientAssertionKey::es256_pem(&key.pem),
    };
    parsed.expect("a valid PEM key").key_id(KID)
}

/// `Oidc` for `fake` with no client secret, authenticating with `auth`.
fn oidc(fake: &FakeOidc, auth: ClientAuth) -> Oidc {
    Oidc::new(fake.issuer(), &fake.config().client_id, "").client_auth(auth)
}

/// The decoded header and claims of a JWT.
fn decode(jwt: &str) -> (Value, Value) {
    let jws = CompactJws::parse(jwt, "jwt").expect("a compact JWS");
    (jws.header, jws.claims)
}

/// The login failed at the token endpoint: 502 `provider_error`, nobody signed in, and the
/// fake refused the client for `reason`.
fn assert_client_refused(fake: &FakeOidc, browser: &Browser, visit: &Visit, reason: &str) {
    visit.assert_error(502, "provider_error");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
    let rejections = fake.rejections();
    assert!(
        rejections
            .iter()
            .any(|r| r.starts_with("Token: invalid_client") && r.contains(reason)),
        "expected a refusal for {reason:?}: {rejections:?}"
    );
}

#[tokio::test]
async fn oidc_logins_pass_with_rs256_and_es256_assertions_and_no_secret() {
    for key in [ClientKey::rs256(), ClientKey::es256()] {
        let alg = key.public.alg();
        let fake = fake_for(&key).await;
        let provider = oidc(&fake, ClientAuth::private_key_jwt(assertion_key(&key)));
        let (browser, visit, base) = login(provider, "oidc").await;
        assert_eq!(visit.status, 200, "{alg}: {:?} {}", visit.hops, visit.body);
        assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
        let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
        assert_eq!(who["user_id"], "248289761001", "{alg}");

        // What the layer sent: one assertion, as RFC 7523 §3 has it.
        let assertions = fake.client_assertions();
        assert_eq!(assertions.len(), 1, "{alg}");
        let (header, claims) = decode(&assertions[0]);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["kid"], KID);
        assert_eq!(claims["iss"], fake.config().client_id.as_str());
        assert_eq!(claims["sub"], fake.config().client_id.as_str());
        // draft-ietf-oauth-rfc7523bis: the issuer identifier, alone, as a string.
        assert_eq!(claims["aud"], fake.issuer());
        let now = clock::now();
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert!(iat <= now && now - iat < 30, "iat {iat} at {now}");
        assert_eq!(exp - iat, 60, "a short-lived assertion");
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 32));
    }
}

#[tokio::test]
async fn each_token_request_carries_a_new_jti() {
    let key = ClientKey::es256();
    let fake = fake_for(&key).await;
    let base = serve_with(oidc(
        &fake,
        ClientAuth::private_key_jwt(assertion_key(&key)),
    ))
    .await;
    for _ in 0..2 {
        let visit = Browser::new()
            .follow(&format!("{base}/auth/oidc?login=start"))
            .await;
        assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    }
    let jtis: Vec<Value> = (fake.client_assertions().iter())
        .map(|a| decode(a).1["jti"].clone())
        .collect();
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1]);
}

#[tokio::test]
async fn the_generic_oauth2_provider_authenticates_with_an_assertion_too() {
    let key = ClientKey::rs256();
    let fake = fake_for(&key).await;
    fake.set_plain_oauth2(true);
    let issuer = fake.issuer();
    let provider = OAuth2::new("corp", &fake.config().client_id, "")
        .authorize_url(format!("{issuer}/authorize"))
        .token_url(fake.token_endpoint())
        .userinfo_url(format!("{issuer}/userinfo"))
        .user_id_field("/sub")
        .client_auth(ClientAuth::private_key_jwt(assertion_key(&key)));
    let (browser, visit, base) = login(provider, "corp").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "corp");
    assert_eq!(who["user_id"], "248289761001");
    let (_, claims) = decode(&fake.client_assertions()[0]);
    assert_eq!(claims["aud"], fake.token_endpoint());
}

#[tokio::test]
async fn the_issuer_as_audience_passes_only_where_the_provider_takes_it() {
    let key = ClientKey::es256();
    let auth = ClientAuth::PrivateKeyJwt {
        key: assertion_key(&key),
        audience: AssertionAudience::Issuer,
    };
    for issuer_taken in [true, false] {
        let fake = fake_for(&key).await;
        let mut client = PrivateKeyJwtClient::new(key.public.clone(), Some(KID));
        client.issuer_audience = issuer_taken;
        client.token_endpoint_audience = !issuer_taken;
        fake.set_private_key_jwt(Some(client));
        let (browser, visit, _) = login(oidc(&fake, auth.clone()), "oidc").await;
        let (_, claims) = decode(&fake.client_assertions()[0]);
        assert_eq!(claims["aud"], fake.issuer());
        if issuer_taken {
            assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
        } else {
            assert_client_refused(&fake, &browser, &visit, "is not this server");
        }
    }
}

#[tokio::test]
async fn a_key_the_provider_does_not_know_is_502_provider_error() {
    let (registered, used) = (ClientKey::rs256(), ClientKey::rs256());
    let fake = fake_for(&registered).await;
    let provider = oidc(&fake, ClientAuth::private_key_jwt(assertion_key(&used)));
    let (browser, visit, _) = login(provider, "oidc").await;
    assert_client_refused(&fake, &browser, &visit, "does not verify");
    assert_eq!(fake.calls(Endpoint::Userinfo), 0);
}

#[tokio::test]
async fn a_key_id_the_provider_does_not_know_is_502_provider_error() {
    let key = ClientKey::es256();
    let fake = fake_for(&key).await;
    let renamed = assertion_key(&key).key_id("another-key");
    let (browser, visit, _) =
        login(oidc(&fake, ClientAuth::private_key_jwt(renamed)), "oidc").await;
    assert_client_refused(&fake, &browser, &visit, "kid must be");
}

#[tokio::test]
async fn a_client_secret_is_not_enough_where_private_key_jwt_is_required() {
    let key = ClientKey::es256();
    let fake = fake_for(&key).await;
    let cfg = fake.config();
    let provider = Oidc::new(fake.issuer(), &cfg.client_id, &cfg.client_secret);
    let (browser, visit, _) = login(provider, "oidc").await;
    assert_client_refused(&fake, &browser, &visit, "alongside private_key_jwt");
}

/// A token request with this client authentication (and a code nobody issued), straight to
/// the fake: its status and why it was refused.
async fn token_request(fake: &FakeOidc, auth: &[(&str, &str)]) -> (u16, String) {
    let verifier = "v".repeat(43);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", "code-never-issued"),
        ("redirect_uri", "http://127.0.0.1:1/auth/oidc"),
        ("code_verifier", verifier.as_str()),
    ];
    form.extend_from_slice(auth);
    let response = Browser::new().post(&fake.token_endpoint(), &form).await;
    let status = response.status().as_u16();
    let reason = response
        .headers()
        .get("x-fake-reason")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, reason)
}

#[tokio::test]
async fn the_fake_refuses_a_replayed_assertion_and_every_wrong_one() {
    let key = ClientKey::es256();
    let fake = fake_for(&key).await;
    let provider = oidc(&fake, ClientAuth::private_key_jwt(assertion_key(&key)));
    let (_, visit, _) = login(provider, "oidc").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let client_id = fake.config().client_id.clone();

    // The layer's own assertion, replayed within its minute.
    let captured = fake.client_assertions()[0].clone();
    let replayed = [
        ("client_id", client_id.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", captured.as_str()),
    ];
    let (status, reason) = token_request(&fake, &replayed).await;
    assert_eq!(status, 401, "{reason}");
    assert!(reason.contains("jti already used"), "{reason}");

    // Assertions forged with the test's own signer, each wrong in one way.
    let now = clock::now();
    let good = || {
        json!({"iss": client_id, "sub": client_id, "aud": fake.token_endpoint(),
               "jti": format!("jti-{}", rand_suffix()), "iat": now, "exp": now + 60})
    };
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": KID});
    let other_key = ClientKey::es256();
    let mut cases: Vec<(&str, String, &str)> = Vec::new();
    let mut with = |name: &'static str, claim: &str, value: Value, why: &'static str| {
        let mut claims = good();
        claims[claim] = value;
        cases.push((name, key.sign(&header, &claims), why));
    };
    with(
        "wrong aud",
        "aud",
        json!("https://attacker.example/token"),
        "is not this server",
    );
    with("expired", "exp", json!(now - 1), "expired");
    with("issued long ago", "iat", json!(now - 3600), "out of bounds");
    with(
        "issued in the future",
        "iat",
        json!(now + 600),
        "out of bounds",
    );
    with("wrong iss", "iss", json!("another-client"), "iss must be");
    with("wrong sub", "sub", json!("another-client"), "sub must be");
    with("no jti", "jti", Value::Null, "no jti");
    cases.push((
        "signed by another key",
        other_key.sign(&header, &good()),
        "does not verify",
    ));
    cases.push((
        "another alg",
        key.sign(&json!({"alg": "RS256", "kid": KID}), &good()),
        "alg must be",
    ));
    for (name, assertion, why) in &cases {
        let auth = [
            ("client_id", client_id.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        let (status, reason) = token_request(&fake, &auth).await;
        assert_eq!(status, 401, "{name}: {reason}");
        assert!(reason.contains(why), "{name}: {reason}");
    }

    // Without the assertion type, or with a secret besides.
    let fresh = key.sign(&header, &good());
    let untyped = [
        ("client_id", client_id.as_str()),
        ("client_assertion", fresh.as_str()),
    ];
    let (status, reason) = token_request(&fake, &untyped).await;
    assert_eq!(status, 401, "{reason}");
    assert!(reason.contains("client_assertion_type"), "{reason}");
    let with_secret = [
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", fresh.as_str()),
        ("client_secret", "oidc secret:+/"),
    ];
    let (status, reason) = token_request(&fake, &with_secret).await;
    assert_eq!(status, 401, "{reason}");

    // The control: the same forged assertion, well made, passes client authentication and
    // is refused only for the code.
    let typed = [
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", fresh.as_str()),
    ];
    let (status, reason) = token_request(&fake, &typed).await;
    assert_eq!(
        (status, reason.as_str()),
        (400, "invalid_grant: unknown code")
    );
}

/// A few random characters, for unique `jti`s in forged assertions.
fn rand_suffix() -> String {
    crate::common::server::random_token("", 8)
}

#[tokio::test]
async fn the_issuer_audience_is_refused_for_a_plain_oauth2_client_when_built() {
    let key = ClientKey::es256();
    let provider = OAuth2::new("corp", "id", "")
        .authorize_url("https://sso.example/authorize")
        .token_url("https://sso.example/token")
        .userinfo_url("https://sso.example/me")
        .client_auth(ClientAuth::PrivateKeyJwt {
            key: assertion_key(&key),
            audience: AssertionAudience::Issuer,
        });
    let built = socialauth::SocialAuthLayer::builder()
        .secret(crate::common::app::SECRET)
        .provider(provider)
        .build();
    assert!(
        matches!(
            built,
            Err(socialauth::ConfigError::InvalidSetting {
                setting: "client_auth",
                ..
            })
        ),
        "{built:?}"
    );
}
