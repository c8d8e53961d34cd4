//! Sign in with Apple in headless Chromium across two sites: the fake Apple on
//! `localhost:<port>`, the app on `127.0.0.1:<port>`. Apple's callback is a real cross-site
//! form POST, on which Chromium does not send the `SameSite=Lax` flow cookie; the layer's
//! same-site re-post carries it, and the login completes with the cookie still `Lax`.
//!
//! Skipped without chromium and chromedriver, unless `CI` is set (see `tests/app/browser_demo.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::chromium::{
    binaries, body_text, connect, fresh_profile, start_chromedriver, Result, STEP_TIMEOUT,
};
use crate::common::fake_oidc::{self, AppleClient, OidcConfig, TokenAuth};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;
use fantoccini::Client;
use serde_json::json;
use socialauth::{Apple, SocialAuthLayer};

const TEAM: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apple_form_post_login_across_two_sites_in_headless_chromium() {
    let Some((chromium, chromedriver)) = binaries() else {
        return;
    };
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let der = key.to_pkcs8v1().unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der.as_ref())
    );
    let fake = fake_oidc::start(OidcConfig {
        client_id: "com.example.web".into(),
        client_auth: TokenAuth::Post,
        issuer_host: Some("localhost".into()),
        ..OidcConfig::new()
    })
    .await;
    fake.set_apple(Some(AppleClient {
        team_id: TEAM.into(),
        key_id: KEY_ID.into(),
        public_key: key.public_key().as_ref().to_vec(),
        user: Some(r#"{"name":{"firstName":"Ada","lastName":"Lovelace"}}"#.into()),
    }));
    fake.set_profile_in_id_token(false);
    fake.set_extra_claims(
        json!({"email": "ada@privaterelay.appleid.com", "email_verified": "true"}),
    );
    assert!(fake.issuer().starts_with("http://localhost:"));

    let layer = SocialAuthLayer::builder()
        .secret(crate::common::app::SECRET)
        .provider(Apple::new("com.example.web", TEAM, KEY_ID, pem).issuer_url(fake.issuer()))
        .build()
        .unwrap();
    // Counts the POSTs reaching the Apple route: Apple's, then the carried-over one.
    let posts = Arc::new(AtomicUsize::new(0));
    let counted = posts.clone();
    let app = crate::common::app::axum_app()
        .layer(layer)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let counted = counted.clone();
                async move {
                    if request.method() == http::Method::POST
                        && request.uri().path() == "/auth/apple"
                    {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    next.run(request).await
                }
            },
        ));
    let addr = crate::common::server::serve(app).await;
    let base = format!("http://{addr}");

    let profile = fresh_profile("apple");
    let (mut driver, port) = start_chromedriver(&chromedriver).await.unwrap();
    let client = connect(port, &chromium, &profile).await.unwrap();
    let outcome = sign_in(&client, &base).await;
    let _ = client.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    let who = outcome.unwrap_or_else(|e| panic!("{e}; fake rejections: {:?}", fake.rejections()));
    assert_eq!(who["provider"], "apple", "{who}");
    assert_eq!(who["name"], "Ada Lovelace");
    assert_eq!(who["email"], "ada@privaterelay.appleid.com");
    assert_eq!(
        posts.load(Ordering::SeqCst),
        2,
        "Apple's cross-site POST came without the flow cookie and was carried over once"
    );
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
}

/// Starts the login, lets the fake Apple post back, and reads `/whoami`.
async fn sign_in(client: &Client, base: &str) -> Result<serde_json::Value> {
    client
        .goto(&format!("{base}/auth/apple?login=start"))
        .await?;
    // Apple's page posts at once; the layer's page posts again; then the app's home page.
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let url = client.current_url().await?;
        if url.as_str() == format!("{base}/") {
            break;
        }
        if Instant::now() > deadline {
            let page = body_text(client).await.unwrap_or_default();
            return Err(format!("stuck at {url}: {page}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.goto(&format!("{base}/whoami")).await?;
    let text = body_text(client).await?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?)
}
