//! Forged identity tokens and flow cookies, made with the layer's own keys derived from a
//! secret as the crate derives them: what only someone holding the secret can do. Forged
//! tokens copy the JOSE header of a token the layer issued at a real login, so they follow
//! the layer's format (its `kid`) whatever it is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cookie::{Cookie, CookieJar};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::app::{self, SECRET};
use super::browser::Browser;
use super::clock;

/// The identity token key: the signing half of `cookie::Key::derive_from(secret)`.
pub fn identity_key(secret: &[u8]) -> Vec<u8> {
    cookie::Key::derive_from(secret).signing().to_vec()
}

/// `b64(header).b64(claims).b64(HMAC-SHA256(key, ...))`, the raw texts (or any bytes) as
/// given.
pub fn sign_with_key(header: &str, claims: impl AsRef<[u8]>, key: &[u8]) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// [`sign_with_key`] with the layer's identity key for `secret`.
pub fn sign_raw(header: &str, claims: impl AsRef<[u8]>, secret: &[u8]) -> String {
    sign_with_key(header, claims, &identity_key(secret))
}

/// A token with the genuine header and these claims, signed with `secret`'s identity key:
/// the layer accepts it exactly when it accepts the claims and the secret.
pub async fn forge_with(claims: &str, secret: &[u8]) -> String {
    sign_raw(&genuine_header().await, claims, secret)
}

/// [`forge_with`] the test secret.
pub async fn forge(claims: &str) -> String {
    forge_with(claims, SECRET).await
}

/// Valid identity claims for user `sub` (a Facebook user "Ada", issued now, for ten
/// minutes).
pub fn identity_claims(sub: &str) -> serde_json::Value {
    let now = clock::now();
    serde_json::json!({
        "iss": "socialauth", "aud": "socialauth:identity", "sub": sub, "provider": "facebook",
        "name": "Ada", "iat": now, "exp": now + 600,
    })
}

/// [`identity_claims`] as raw JSON.
pub fn claims_for(sub: &str) -> String {
    identity_claims(sub).to_string()
}

/// An identity token the layer issued at a real login (Facebook fake, test secret).
pub async fn issued_identity_token() -> String {
    let app = app::start().await;
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;
    assert_eq!(visit.status, 200, "login failed: {}", visit.body);
    browser
        .cookie("__Host-socialauth")
        .expect("an identity cookie after the login")
}

/// The JOSE header (decoded JSON text) of the tokens the layer issues with the test secret,
/// read from a real login once per test binary.
pub async fn genuine_header() -> String {
    static HEADER: OnceCell<String> = OnceCell::const_new();
    HEADER
        .get_or_init(|| async {
            let token = issued_identity_token().await;
            let header = token.split('.').next().expect("a header segment");
            String::from_utf8(URL_SAFE_NO_PAD.decode(header).expect("base64url header"))
                .expect("UTF-8 header")
        })
        .await
        .clone()
}

/// The name of the flow cookie for `provider`'s attempt with this `state` (or OAuth 1.0a
/// request token): `__Host-socialauth-flow-<provider>-<b64url(sha256(state)[..9])>`.
pub fn flow_cookie_name(provider: &str, state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    format!(
        "__Host-socialauth-flow-{provider}-{}",
        URL_SAFE_NO_PAD.encode(&digest[..9])
    )
}

/// Seals `value` as the flow cookie `name` with the test secret's flow key, as the layer
/// does (the `cookie` crate's private jar: AES-256-GCM, the name authenticated).
pub fn seal_flow(name: &str, value: &str) -> String {
    let key = cookie::Key::derive_from(SECRET);
    let mut jar = CookieJar::new();
    jar.private_mut(&key)
        .add(Cookie::new(name.to_owned(), value.to_owned()));
    jar.get(name).expect("sealed").value().to_owned()
}
