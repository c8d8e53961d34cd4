//! Item 6: JWS header attacks, on the identity cookie and on OpenID Connect ID tokens.
//! `alg: none` in any case, HMAC keyed with the provider's RSA public key, unknown `crit`,
//! `kid` values that are paths, SQL, 10 KB long or not strings, and `jku`/`x5u`/`jwk`
//! headers: all refused, and nothing is fetched from the URLs they name.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::common::app::SECRET;
use crate::common::browser::Browser;
use crate::common::fake_oidc::{Endpoint, IdSignature};
use crate::common::forge::{claims_for, genuine_header, identity_key, sign_raw, sign_with_key};
use crate::security::support::{direct_default, who_with_cookie, world, Reply};

/// `kid` values an attacker tries: paths, URLs, SQL, a 10 KB string, and non-strings.
fn hostile_kids() -> Vec<Value> {
    vec![
        json!("../../../../../../../../etc/passwd"),
        json!("/dev/null"),
        json!("file:///etc/passwd"),
        json!("http://127.0.0.1:9/jwks"),
        json!("' OR '1'='1"),
        json!("x'; DROP TABLE keys; --"),
        json!("\u{0}"),
        json!("k".repeat(10 * 1024)),
        json!(42),
        json!({"kid": "rsa-0"}),
        json!(["rsa-0"]),
        json!(true),
    ]
}

/// PEM of an SPKI DER public key, as the "HS256 with the public key" attack uses it.
fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn item_06_identity_cookie_headers_other_than_the_layers_are_refused() {
    let world = world().await;
    let evil = world.oidc.evil_jwks_url();
    let genuine = genuine_header().await;
    let claims = claims_for("victim");
    let key = identity_key(SECRET);
    let rsa_der = world.oidc.rsa_public_key_der();
    // The genuine header's members in their order (the layer may compare bytes).
    let members: Vec<(String, Value)> = {
        let parsed: serde_json::Map<String, Value> = serde_json::from_str(&genuine).unwrap();
        let mut members: Vec<(String, Value)> = parsed.into_iter().collect();
        members.sort_by_key(|(name, _)| genuine.find(&format!("\"{name}\":")));
        members
    };
    let with = |member: &str, value: Value| {
        let mut header = members.clone();
        match header.iter_mut().find(|(name, _)| name == member) {
            Some(slot) => slot.1 = value,
            None => header.push((member.to_owned(), value)),
        }
        let inner: Vec<String> = header
            .iter()
            .map(|(name, value)| format!("{}:{value}", json!(name)))
            .collect();
        format!("{{{}}}", inner.join(","))
    };
    assert_eq!(
        with(
            "alg",
            members.iter().find(|(n, _)| n == "alg").unwrap().1.clone()
        ),
        genuine
    );
    // (what, header JSON, signing key; `None` for an empty signature)
    let mut cases: Vec<(String, String, Option<Vec<u8>>)> = Vec::new();
    for alg in ["none", "None", "nOnE", "NONE", ""] {
        cases.push((
            format!("alg {alg:?}"),
            with("alg", json!(alg)),
            Some(key.clone()),
        ));
        cases.push((
            format!("alg {alg:?}, no signature"),
            with("alg", json!(alg)),
            None,
        ));
        cases.push((
            format!("only alg {alg:?}"),
            json!({"alg": alg}).to_string(),
            None,
        ));
    }
    for alg in [
        "HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA", "hs256",
    ] {
        cases.push((
            format!("alg {alg}"),
            with("alg", json!(alg)),
            Some(key.clone()),
        ));
    }
    cases.push((
        "HS256 keyed with the RSA public key (DER)".into(),
        with("alg", json!("HS256")),
        Some(rsa_der.clone()),
    ));
    cases.push((
        "HS256 keyed with the RSA public key (PEM)".into(),
        with("alg", json!("HS256")),
        Some(pem(&rsa_der).into_bytes()),
    ));
    cases.push((
        "RS256 header, HMAC with the RSA public key".into(),
        with("alg", json!("RS256")),
        Some(pem(&rsa_der).into_bytes()),
    ));
    for crit in [
        json!(["exp"]),
        json!(["x-unknown"]),
        json!([]),
        json!("exp"),
    ] {
        cases.push((
            format!("crit {crit}"),
            with("crit", crit),
            Some(key.clone()),
        ));
    }
    for kid in hostile_kids() {
        let shown: String = kid.to_string().chars().take(40).collect();
        cases.push((format!("kid {shown}"), with("kid", kid), Some(key.clone())));
    }
    let attacker_key = b"attacker-chosen-hmac-key-32-bytes!".to_vec();
    cases.push(("jku".into(), with("jku", json!(evil)), Some(key.clone())));
    cases.push(("x5u".into(), with("x5u", json!(evil)), Some(key.clone())));
    cases.push((
        "jku, signed with the attacker's key".into(),
        with("jku", json!(evil)),
        Some(attacker_key.clone()),
    ));
    cases.push((
        "an embedded jwk of the attacker's key".into(),
        with(
            "jwk",
            json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(&attacker_key)}),
        ),
        Some(attacker_key.clone()),
    ));
    cases.push((
        "x5c".into(),
        with("x5c", json!([STANDARD.encode(&rsa_der)])),
        Some(key.clone()),
    ));
    cases.push((
        "typ of another token".into(),
        with("typ", json!("at+jwt")),
        Some(key.clone()),
    ));
    cases.push((
        "the header twice".into(),
        format!("{},{}", genuine, genuine),
        Some(key.clone()),
    ));
    cases.push(("not JSON".into(), "HS256".into(), Some(key.clone())));

    let layer = direct_default();
    let control = sign_raw(&genuine, &claims, SECRET);
    assert_eq!(
        who_with_cookie(&layer, &format!("__Host-socialauth={control}")).await,
        "victim",
        "the control token must be accepted, or this test proves nothing"
    );
    for (what, header, signing_key) in cases {
        let token = match signing_key {
            Some(signing_key) => sign_with_key(&header, &claims, &signing_key),
            None => format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(&header),
                URL_SAFE_NO_PAD.encode(&claims)
            ),
        };
        let who = who_with_cookie(&layer, &format!("__Host-socialauth={token}")).await;
        assert_eq!(who, "anonymous", "{what}");
    }
    assert_eq!(
        world.oidc.calls(Endpoint::EvilJwks),
        0,
        "a header URL was fetched"
    );
}

#[tokio::test]
async fn item_06_id_tokens_with_hostile_headers_are_refused_and_nothing_is_fetched() {
    let world = world().await;
    let fake = &world.oidc;
    let login = || async {
        let browser = Browser::new();
        let visit = browser.follow(&world.url("/auth/oidc?login=start")).await;
        (browser, visit)
    };
    // A good login first: the keys are cached.
    let (_, visit) = login().await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(fake.calls(Endpoint::Jwks), 1);

    let evil = fake.evil_jwks_url();
    let rsa_der = fake.rsa_public_key_der();
    let genuine = json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-0"});
    let with = |member: &str, value: Value| {
        let mut header = genuine.clone();
        header[member] = value;
        header
    };
    let attacker_jwk = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"attacker")});
    // (what, header, signature). `Real` is the provider's own key: even a token the
    // provider really signed is refused with these headers.
    let mut cases: Vec<(String, Value, IdSignature)> = Vec::new();
    for alg in ["none", "None", "nOnE", "NONE", ""] {
        cases.push((
            format!("alg {alg:?}"),
            with("alg", json!(alg)),
            IdSignature::Empty,
        ));
        cases.push((
            format!("alg {alg:?}, really signed"),
            with("alg", json!(alg)),
            IdSignature::Real,
        ));
    }
    for (what, key) in [
        ("DER", rsa_der.clone()),
        ("PEM", pem(&rsa_der).into_bytes()),
        ("the JWK's n", {
            // The modulus bytes, another form the attack uses.
            rsa_der[rsa_der.len().saturating_sub(270)..].to_vec()
        }),
    ] {
        for alg in ["HS256", "HS384", "HS512"] {
            cases.push((
                format!("{alg} keyed with the RSA public key ({what})"),
                with("alg", json!(alg)),
                IdSignature::Hmac(key.clone()),
            ));
        }
    }
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!(["x-unknown"]),
        json!([]),
    ] {
        cases.push((
            format!("crit {crit}"),
            with("crit", crit),
            IdSignature::Real,
        ));
    }
    cases.push(("jku".into(), with("jku", json!(evil)), IdSignature::Real));
    cases.push(("x5u".into(), with("x5u", json!(evil)), IdSignature::Real));
    cases.push((
        "jwk of the attacker".into(),
        with("jwk", attacker_jwk.clone()),
        IdSignature::Hmac(b"attacker".to_vec()),
    ));
    cases.push((
        "jwk of the attacker, alg HS256".into(),
        {
            let mut h = with("jwk", attacker_jwk);
            h["alg"] = json!("HS256");
            h
        },
        IdSignature::Hmac(b"attacker".to_vec()),
    ));
    for kid in hostile_kids() {
        let shown: String = kid.to_string().chars().take(40).collect();
        cases.push((format!("kid {shown}"), with("kid", kid), IdSignature::Real));
    }
    // A kid that names the right key, on a token signed by someone else.
    cases.push((
        "the real kid, an HMAC signature".into(),
        with("alg", json!("HS256")),
        IdSignature::Hmac(b"guess".to_vec()),
    ));

    for (what, header, signature) in cases {
        fake.set_id_token_header(Some((header, signature)));
        let (browser, visit) = login().await;
        let reply = Reply {
            status: visit.status,
            headers: visit.headers.clone(),
            body: visit.body.clone(),
        };
        assert_eq!(visit.status, 401, "{what}: {}", visit.body);
        reply.assert_refused(401, "login_failed", true, &[&evil, "etc/passwd", "DROP"]);
        assert_eq!(
            browser.follow(&world.url("/maybe")).await.body,
            "anonymous",
            "{what}"
        );
    }
    assert_eq!(
        fake.calls(Endpoint::EvilJwks),
        0,
        "a header URL was fetched"
    );
    // Unknown kids may refetch the provider's own JWKS once (rate-limited), never more.
    assert!(
        fake.calls(Endpoint::Jwks) <= 2,
        "{} JWKS fetches",
        fake.calls(Endpoint::Jwks)
    );

    // `kid: null` is JSON for "no kid": the key is found by algorithm, and a token the
    // provider really signed is accepted, as any genuine token is.
    fake.set_id_token_header(Some((with("kid", Value::Null), IdSignature::Real)));
    let (_, visit) = login().await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    fake.set_id_token_header(None);
    let (_, visit) = login().await;
    assert_eq!(visit.status, 200, "{}", visit.body);
}

/// Found by fuzzing (`fuzz/corpus/provider_json/seed-header-array`): `serde` reads a struct
/// from a JSON array too, member by member, so an ID token whose JOSE header is
/// `["RS256","rsa-0"]`, or whose claims are an array in `Claims`' field order, is accepted
/// when the provider's key signed it. RFC 7515 §4 and RFC 7519 §7.2 want JSON objects; every
/// other JOSE library refuses these, and the identity token parser (token.rs) already
/// refuses arrays. Only the provider's key can sign such a token, so this is hygiene (a
/// parser differential), not a forgery. Proposed fix (src/provider/oidc/id_token.rs): read
/// the header and the claims only when their first non-blank byte is `{` (or deserialize a
/// `serde_json::Map` first); the token response and the discovery document (oauth2.rs,
/// discovery.rs) have the same leniency.
#[tokio::test]
async fn item_06_id_tokens_whose_header_or_claims_are_arrays_are_refused() {
    let world = world().await;
    let login = || async {
        Browser::new()
            .follow(&world.url("/auth/oidc?login=start"))
            .await
    };
    world
        .oidc
        .set_id_token_header(Some((json!(["RS256", "rsa-0"]), IdSignature::Real)));
    let visit = login().await;
    assert_eq!(visit.status, 401, "header as an array: {}", visit.body);
    world.oidc.set_id_token_header(None);
    world
        .oidc
        .set_id_token_claims(Some(std::sync::Arc::new(|claims: &Value| {
            let field = |name: &str| claims[name].clone();
            json!([
                field("iss"),
                field("sub"),
                field("aud"),
                field("exp"),
                field("iat"),
                null,
                field("nonce")
            ])
            .to_string()
        })));
    let visit = login().await;
    // Correctly signed, but not a claims object: the provider's fault (502), as for claims of
    // the wrong type; above all, nobody is signed in.
    assert_eq!(visit.status, 502, "claims as an array: {}", visit.body);
    assert!(visit.body.contains("provider_error"), "{}", visit.body);
}
