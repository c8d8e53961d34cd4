//! OpenID audience injection (CVE-2025-27370, CVE-2025-27371; fixed by
//! draft-ietf-oauth-rfc7523bis): a malicious authorization server the app also signs in with
//! publishes a discovery document whose `token_endpoint` (or `issuer`) names an honest server,
//! hoping the app signs a `private_key_jwt` assertion that the honest server accepts as the app.
//! draft-ietf-oauth-rfc7523bis has the client name the issuer identifier it was configured with,
//! alone, as `aud`, and the server accept only its own issuer: an assertion made for the malicious
//! server is then worthless anywhere else.
//!
//! Two strict fake OpenID Connect servers: the honest one takes assertions whose `aud` is
//! its issuer only (draft-ietf-oauth-rfc7523bis §§ on client authentication), the malicious one
//! lies in its discovery document. The app has the same client key registered at both.

use serde_json::Value;
use socialauth::{AssertionAudience, ClientAssertionKey, ClientAuth, Oidc, SocialAuthLayer};

use crate::common::app::{json_of, serve_layer, IDENTITY_COOKIE, SECRET};
use crate::common::browser::Browser;
use crate::common::client_assertion::{ClientKey, CompactJws};
use crate::common::fake_oidc::{self, Endpoint, FakeOidc, OidcConfig, PrivateKeyJwtClient};

const KID: &str = "app-key";

/// A fake taking only assertions signed by `key` whose `aud` is its issuer.
async fn honest_server(key: &ClientKey) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    let mut client = PrivateKeyJwtClient::new(key.public.clone(), Some(KID));
    client.token_endpoint_audience = false;
    client.issuer_audience = true;
    fake.set_private_key_jwt(Some(client));
    fake
}

/// `Oidc` named `name` for `fake`'s issuer, authenticating with `key` for `audience`.
fn provider(name: &str, fake: &FakeOidc, key: &ClientKey, audience: AssertionAudience) -> Oidc {
    let key = ClientAssertionKey::es256_pem(&key.pem)
        .expect("a P-256 key")
        .key_id(KID);
    Oidc::new(fake.issuer(), &fake.config().client_id, "")
        .name(name)
        .client_auth(ClientAuth::PrivateKeyJwt { key, audience })
}

/// The app, signing in with the honest and the malicious server: its base URL.
async fn app(honest: Oidc, malicious: Oidc) -> String {
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(honest)
        .provider(malicious)
        .build()
        .expect("valid configuration");
    serve_layer(layer).await
}

/// The claims of each assertion `fake` received.
fn audiences(fake: &FakeOidc) -> Vec<Value> {
    (fake.client_assertions().iter())
        .map(|jwt| CompactJws::parse(jwt, "assertion").expect("a JWS").claims["aud"].clone())
        .collect()
}

#[tokio::test]
async fn a_token_endpoint_of_another_server_in_discovery_gets_no_assertion_it_accepts() {
    let key = ClientKey::es256();
    let honest = honest_server(&key).await;
    let malicious = fake_oidc::start(OidcConfig::new()).await;
    malicious.set_discovery_token_endpoint(Some(honest.token_endpoint()));
    let base = app(
        provider("honest", &honest, &key, AssertionAudience::Standard),
        provider("evil", &malicious, &key, AssertionAudience::Standard),
    )
    .await;

    // Through the malicious server: the code goes to the honest server's token endpoint,
    // with an assertion naming the malicious issuer, which the honest server refuses.
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/evil?login=start"))
        .await;
    assert_eq!(audiences(&honest), [Value::from(malicious.issuer())]);
    visit.assert_error(502, "provider_error");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
    assert!(
        honest
            .rejections()
            .iter()
            .any(|r| r.starts_with("Token: invalid_client") && r.contains("is not this server")),
        "{:?}",
        honest.rejections()
    );
    assert_eq!(malicious.calls(Endpoint::Token), 0);

    // Through the honest server: its own issuer, accepted.
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/honest?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "honest");
    assert_eq!(
        audiences(&honest).last(),
        Some(&Value::from(honest.issuer()))
    );
}

#[tokio::test]
async fn with_the_token_endpoint_as_audience_an_assertion_names_only_where_it_is_sent() {
    // A provider that asks for its token endpoint: the assertion names the URL it is posted
    // to, so the malicious server's lie sends it to the honest server, never to itself.
    let key = ClientKey::es256();
    let honest = fake_oidc::start(OidcConfig::new()).await;
    honest.set_private_key_jwt(Some(PrivateKeyJwtClient::new(
        key.public.clone(),
        Some(KID),
    )));
    let malicious = fake_oidc::start(OidcConfig::new()).await;
    malicious.set_discovery_token_endpoint(Some(honest.token_endpoint()));
    let base = app(
        provider("honest", &honest, &key, AssertionAudience::TokenEndpoint),
        provider("evil", &malicious, &key, AssertionAudience::TokenEndpoint),
    )
    .await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/evil?login=start"))
        .await;
    // The honest server knows no such code: the login fails, nobody is signed in.
    visit.assert_error(401, "login_failed");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
    assert_eq!(audiences(&honest), [Value::from(honest.token_endpoint())]);
    assert_eq!(malicious.calls(Endpoint::Token), 0);
    assert!(malicious.client_assertions().is_empty());
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused_before_any_assertion() {
    let key = ClientKey::es256();
    let honest = honest_server(&key).await;
    let malicious = fake_oidc::start(OidcConfig::new()).await;
    // The malicious server claims the honest server's issuer (and token endpoint): were the
    // audience taken from the document, the assertion would name the honest issuer.
    malicious.set_discovery_issuer(Some(honest.issuer()));
    malicious.set_discovery_token_endpoint(Some(honest.token_endpoint()));
    let base = app(
        provider("honest", &honest, &key, AssertionAudience::Standard),
        provider("evil", &malicious, &key, AssertionAudience::Standard),
    )
    .await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/evil?login=start"))
        .await;
    visit.assert_error(502, "provider_error");
    assert_eq!(
        malicious.calls(Endpoint::Authorize),
        0,
        "refused at the start"
    );
    assert!(honest.client_assertions().is_empty());
    assert!(malicious.client_assertions().is_empty());
    assert_eq!(honest.calls(Endpoint::Token), 0);
}
