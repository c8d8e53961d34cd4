//! Sign in with Apple in headless Chromium across two sites: the fake Apple on
//! `localhost:<port>`, the app on `127.0.0.1:<port>`. Apple's callback is a real cross-site
//! form POST, on which Chromium does not send the `SameSite=Lax` flow cookie; the layer's
//! same-site re-post carries it, and the login completes with the cookie still `Lax`. The
//! login also ends on another origin (an app whose front end lives elsewhere): Chromium holds
//! the redirect answering the carried-over form to the page's `form-action`.
//!
//! Skipped without chromium and chromedriver, unless `CI` is set (see `tests/app/browser_demo.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::chromium::{
    binaries, body_text, connect, fresh_profile, start_chromedriver, Result, STEP_TIMEOUT,
};
use crate::common::fake_oidc::{self, AppleClient, FakeOidc, OidcConfig, TokenAuth};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::routing::get;
use base64::Engine as _;
use fantoccini::Client;
use serde_json::json;
use socialauth::{Apple, SocialAuthLayer, SocialAuthLayerBuilder};

const TEAM: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";

/// A fake Apple on `localhost` and the layer's builder with an `Apple` provider for it.
async fn fake_apple() -> (FakeOidc, SocialAuthLayerBuilder) {
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
    let builder = SocialAuthLayer::builder()
        .secret(crate::common::app::SECRET)
        .provider(Apple::new("com.example.web", TEAM, KEY_ID, pem).issuer_url(fake.issuer()));
    (fake, builder)
}

/// Runs `steps` in a headless Chromium session with a fresh profile, then closes it.
async fn in_chromium<T>(
    name: &str,
    steps: impl AsyncFnOnce(&Client) -> Result<T>,
) -> Option<Result<T>> {
    let (chromium, chromedriver) = binaries()?;
    let profile = fresh_profile(name);
    let (mut driver, port) = start_chromedriver(&chromedriver).await.unwrap();
    let client = connect(port, &chromium, &profile).await.unwrap();
    let outcome = steps(&client).await;
    let _ = client.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    Some(outcome)
}

/// Waits until the browser is at `url` (the page loaded), or fails saying where it stayed.
async fn wait_for_url(client: &Client, url: &str) -> Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let at = client.current_url().await?;
        if at.as_str() == url {
            return Ok(());
        }
        if Instant::now() > deadline {
            let page = body_text(client).await.unwrap_or_default();
            return Err(format!("stuck at {at} (expected {url}): {page}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apple_form_post_login_across_two_sites_in_headless_chromium() {
    if binaries().is_none() {
        return;
    }
    let (fake, builder) = fake_apple().await;
    let layer = builder.build().unwrap();
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

    let outcome = in_chromium("apple", async |client| sign_in(client, &base).await).await;
    let Some(outcome) = outcome else { return };
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
    wait_for_url(client, &format!("{base}/")).await?;
    client.goto(&format!("{base}/whoami")).await?;
    let text = body_text(client).await?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apple_login_ends_on_the_after_login_and_failure_pages_of_another_origin() {
    if binaries().is_none() {
        return;
    }
    // The app's front end, on a second loopback origin (another port).
    let front = crate::common::server::serve(
        axum::Router::new()
            .route("/landing", get(|| async { "landed" }))
            .route("/failed", get(|| async { "failed" })),
    )
    .await;
    let front = format!("http://{front}");
    let (fake, builder) = fake_apple().await;
    let layer = builder
        .after_login_redirect(format!("{front}/landing"))
        .failure_redirect(format!("{front}/failed"))
        .build()
        .unwrap();
    let app = crate::common::app::axum_app().layer(layer);
    let base = format!("http://{}", crate::common::server::serve(app).await);
    assert_ne!(base, front);

    let outcome = in_chromium("apple-origins", async |client| {
        client
            .goto(&format!("{base}/auth/apple?login=start"))
            .await?;
        wait_for_url(client, &format!("{front}/landing")).await?;
        let landed = body_text(client).await?;
        client.goto(&format!("{base}/whoami")).await?;
        let who = body_text(client).await?;
        // The user cancels at Apple: the failure page, on the other origin too.
        fake.set_user_denies(true);
        client
            .goto(&format!("{base}/auth/apple?login=start"))
            .await?;
        let failed = format!("{front}/failed?error=access_denied");
        wait_for_url(client, &failed).await?;
        let failed = body_text(client).await?;
        Ok((landed, who, failed))
    })
    .await;
    let Some(outcome) = outcome else { return };
    let (landed, who, failed) =
        outcome.unwrap_or_else(|e| panic!("{e}; fake rejections: {:?}", fake.rejections()));
    assert_eq!(landed, "landed");
    let who: serde_json::Value = serde_json::from_str(&who).expect("JSON");
    assert_eq!(who["provider"], "apple", "{who}");
    assert_eq!(failed, "failed");
}
