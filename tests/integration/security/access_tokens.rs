//! Provider access tokens that must not sign anyone in, against the strict fake provider:
//! JWTs for another audience, expired or not yet valid, signed with an algorithm not
//! allowed (`none`, HMAC keyed with the public key, one outside the list), naming their own
//! keys, an ID token or a logout token presented as an access token, a token of another
//! issuer with the same `kid`, a token bound to a key of the client; introspection answers
//! that are not an active token for this API. Each is `401 invalid_token` on a route that
//! needs a user and anonymous elsewhere, beside a genuine token that works; made-up key ids
//! cost one key fetch; no token reaches the logs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use socialauth::AccessTokens;

use crate::common::api::{self, challenge, Api, API};
use crate::common::browser::Browser;
use crate::common::captured_logs;
use crate::common::clock;
use crate::common::fake_oidc::{self, Endpoint, OidcConfig};

/// `claims` with `changes` applied (a `null` removes the claim).
fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().expect("an object") {
        match value {
            Value::Null => {
                claims.as_object_mut().map(|c| c.remove(name));
            }
            _ => claims[name] = value.clone(),
        }
    }
    claims
}

/// `token` is refused: `401 invalid_token` with its challenge on a route that needs a user,
/// anonymous on one that does not.
async fn assert_refused(api: &Api, token: &str, what: &str) {
    let guarded = api.get("/api/orders", token).await;
    assert_eq!(guarded.status(), 401, "{what}");
    assert_eq!(
        challenge(&guarded).as_deref(),
        Some(r#"Bearer error="invalid_token""#),
        "{what}"
    );
    assert_eq!(api.who(token).await, "anonymous", "{what}");
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn jwt_access_tokens_are_refused_by_each_rule() {
    let api = api::start().await;
    let now = clock::now();
    let good = api.fake.access_token_claims(API, "orders:read");
    let kid = api.fake.rsa_kid();
    // The genuine token works: each refusal below is the rule's, not the setup's.
    assert_eq!(
        api.get("/api/orders", &api.fake.jwt_access_token(&good))
            .await
            .status(),
        200
    );

    let signed = |claims: &Value| api.fake.jwt_access_token(claims);
    let under = |header: Value, claims: &Value| api.fake.jwt_with_header(header, claims);
    let public_der = api.fake.rsa_public_key_der();
    let hmac_with_public_key = {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
        let signing_input = format!("{}.{}", b64(header.to_string()), b64(good.to_string()));
        let mut mac = Hmac::<Sha256>::new_from_slice(&public_der).unwrap();
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(mac.finalize().into_bytes()))
    };
    let genuine = signed(&good);
    let (signing_input, signature) = genuine.rsplit_once('.').unwrap();
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
    flipped[7] ^= 1;
    let flipped = format!("{signing_input}.{}", b64(flipped));
    let cases: Vec<(&str, String)> = vec![
        (
            "another audience",
            signed(&with(good.clone(), json!({"aud": "https://other.example"}))),
        ),
        (
            "the audience as a prefix",
            signed(&with(good.clone(), json!({"aud": format!("{API}/admin")}))),
        ),
        (
            "expired",
            signed(&with(
                good.clone(),
                json!({"exp": now - 120, "iat": now - 420}),
            )),
        ),
        (
            "not yet valid",
            signed(&with(good.clone(), json!({"nbf": now + 600}))),
        ),
        (
            "another issuer, the same key",
            signed(&with(
                good.clone(),
                json!({"iss": "https://attacker.example"}),
            )),
        ),
        (
            "sub of the wrong type",
            signed(&with(good.clone(), json!({"sub": 42}))),
        ),
        (
            "bound to a client key",
            signed(&with(
                good.clone(),
                json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}),
            )),
        ),
        (
            "at+jwt without client_id",
            signed(&with(good.clone(), json!({"client_id": null}))),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(json!({"alg": "none", "typ": "at+jwt"}).to_string()),
                b64(good.to_string())
            ),
        ),
        ("HS256 keyed with the public key", hmac_with_public_key),
        (
            "an algorithm outside the list",
            under(json!({"alg": "RS512", "typ": "at+jwt", "kid": kid}), &good),
        ),
        (
            "its own key in jwk",
            under(
                json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
                &good,
            ),
        ),
        (
            "its own keys at jku",
            under(
                json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "jku": api.fake.evil_jwks_url()}),
                &good,
            ),
        ),
        ("a flipped signature", flipped),
        (
            "another token type",
            under(
                json!({"alg": "RS256", "typ": "secevent+jwt", "kid": kid}),
                &good,
            ),
        ),
    ];
    for (what, token) in &cases {
        assert_refused(&api, token, what).await;
    }
    assert_eq!(
        api.fake.calls(Endpoint::EvilJwks),
        0,
        "jku is never followed"
    );
    assert_eq!(
        api.fake.introspections(),
        0,
        "no JWT of the issuer is introspected"
    );
}

#[tokio::test]
async fn an_id_token_or_a_logout_token_is_not_an_access_token() {
    // The audience is the client id, which the provider's ID tokens name too: only the
    // token's type tells them apart.
    let fake_client = OidcConfig::new().client_id;
    let api = api::start_provider(
        OidcConfig::new(),
        |oidc| oidc.access_tokens(AccessTokens::jwt(&fake_client)),
        |builder| builder,
    )
    .await;
    let access = api
        .fake
        .jwt_access_token(&api.fake.access_token_claims(&fake_client, "orders:read"));
    assert_eq!(api.get("/api/orders", &access).await.status(), 200);

    // A real ID token from a login at the provider (signed, for this client, unexpired).
    let browser = Browser::new();
    let login = browser.follow(&api.url("/auth/oidc?login=start")).await;
    assert_eq!(login.status, 200, "{:?} {}", login.hops, login.body);
    let id_token = api
        .fake
        .issued_tokens()
        .into_iter()
        .find(|token| token.matches('.').count() == 2)
        .expect("the login's ID token");
    assert_refused(&api, &id_token, "an ID token").await;

    // An ID token without nonce or hashes (a refresh's): still no access token's claim.
    let now = clock::now();
    let kid = api.fake.rsa_kid();
    let bare_id_token = api.fake.jwt_with_header(
        json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        &json!({"iss": api.fake.issuer(), "sub": "u", "aud": fake_client, "exp": now + 300,
                "iat": now, "azp": fake_client, "name": "Jane"}),
    );
    assert_refused(&api, &bare_id_token, "an ID token without nonce").await;

    // A logout token (OpenID Connect Back-Channel Logout 1.0 §2.4).
    let logout_token = api.fake.jwt_with_header(
        json!({"alg": "RS256", "typ": "logout+jwt", "kid": kid}),
        &json!({"iss": api.fake.issuer(), "sub": "u", "aud": fake_client, "iat": now,
                "exp": now + 120, "jti": "j", "sid": "s",
                "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
    );
    assert_refused(&api, &logout_token, "a logout token").await;
}

#[tokio::test]
async fn a_token_of_another_issuer_with_the_same_kid_is_refused() {
    // Two providers whose tokens the layer takes, `oidc` and `other`; `other`'s key is its
    // own, and its tokens name `oidc`'s kid.
    let other = fake_oidc::start(OidcConfig {
        issuer_path: "/other".into(),
        ..OidcConfig::new()
    })
    .await;
    other.rotate_keys();
    let other_provider = crate::common::app::oidc_for(&other)
        .name("other")
        .access_tokens(AccessTokens::jwt(API));
    let api = api::start_with(
        |accepted| accepted,
        move |builder| builder.provider(other_provider),
    )
    .await;
    let shared_kid = api.fake.rsa_kid();
    assert_ne!(shared_kid, other.rsa_kid());
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": shared_kid});

    // Claiming `oidc`: verified with `oidc`'s key of that kid, which did not sign it.
    let as_ours = other.jwt_with_header(
        header.clone(),
        &api.fake.access_token_claims(API, "orders:read"),
    );
    assert_refused(&api, &as_ours, "another issuer's key under our kid").await;
    // Claiming `other`: `other` publishes no key of that kid.
    let as_theirs = other.jwt_with_header(header, &other.access_token_claims(API, "orders:read"));
    assert_refused(&api, &as_theirs, "the wrong kid at its own issuer").await;
    // `other`'s genuine token signs its user in, as `other`'s.
    let genuine = other.jwt_access_token(&other.access_token_claims(API, "orders:read"));
    let grant = api.get("/grant", &genuine).await;
    assert_eq!(grant.status(), 200);
    assert_eq!(
        crate::common::app::json_of(&grant.text().await.unwrap())["client_id"],
        other.config().client_id
    );

    // A layer that takes `oidc`'s tokens only never asks `other` for its keys.
    let alone = api::start().await;
    let before = other.calls(Endpoint::Jwks);
    assert_refused(
        &alone,
        &genuine,
        "a token of an issuer the layer does not take",
    )
    .await;
    assert_eq!(other.calls(Endpoint::Jwks), before);
}

#[tokio::test]
async fn introspection_answers_that_are_not_an_active_token_for_this_api_refuse_it() {
    let api = api::start().await;
    let good = api.fake.active_answer(API, "orders:read");
    let now = clock::now();
    assert_eq!(
        api.get("/api/orders", &api.fake.opaque_access_token(good.clone()))
            .await
            .status(),
        200
    );
    let cases = [
        ("inactive", json!({"active": false})),
        (
            "another audience",
            with(good.clone(), json!({"aud": "https://other.example"})),
        ),
        ("no audience", with(good.clone(), json!({"aud": null}))),
        (
            "another issuer",
            with(good.clone(), json!({"iss": "https://attacker.example"})),
        ),
        ("expired", with(good.clone(), json!({"exp": now - 120}))),
        ("no exp", with(good.clone(), json!({"exp": null}))),
        (
            "a refresh token",
            with(good.clone(), json!({"token_type": "refresh_token"})),
        ),
        (
            "bound to a client key",
            with(good.clone(), json!({"cnf": {"x5t#S256": "x"}})),
        ),
    ];
    for (what, answer) in cases {
        let token = api.fake.opaque_access_token(answer);
        assert_refused(&api, &token, what).await;
    }
    // A token the provider never issued.
    assert_refused(&api, "2YotnFZFEjr1zCsicMWpAA", "unknown").await;
    // Not even a bearer token (RFC 6750 §2.1): refused without a call.
    let before = api.fake.introspections();
    for malformed in ["a,b", "tok\"en", "=abc"] {
        assert_refused(&api, malformed, malformed).await;
    }
    assert_eq!(api.fake.introspections(), before);
}

#[tokio::test]
async fn made_up_key_ids_cost_one_key_fetch() {
    let api = api::start().await;
    let claims = api.fake.access_token_claims(API, "orders:read");
    assert_eq!(
        api.get("/api/orders", &api.fake.jwt_access_token(&claims))
            .await
            .status(),
        200
    );
    let tokens: Vec<String> = (0..200)
        .map(|i| {
            let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": format!("made-up-{i}")});
            api.fake.jwt_with_header(header, &claims)
        })
        .collect();
    let statuses = api.get_all("/api/orders", &tokens).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        api.fake.calls(Endpoint::Jwks) <= 2,
        "{} key fetches",
        api.fake.calls(Endpoint::Jwks)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn no_access_token_reaches_the_logs() {
    let captured = captured_logs::capture();
    let api = api::start().await;
    let jwt = api.jwt("orders:read");
    let opaque = api.opaque("orders:read");
    let refused = api.fake.opaque_access_token(json!({"active": false}));
    let expired = api.fake.jwt_access_token(&with(
        api.fake.access_token_claims(API, "orders:read"),
        json!({"exp": clock::now() - 600}),
    ));
    for token in [&jwt, &opaque, &refused, &expired] {
        api.get("/api/orders", token).await;
    }
    let logs = captured.text();
    assert!(
        logs.contains("access token"),
        "no access token events in:\n{logs}"
    );
    for token in [&jwt, &opaque, &refused, &expired] {
        // The signature or the random part: what makes the token a credential.
        let secret = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(secret), "the logs hold a token:\n{logs}");
    }
}
