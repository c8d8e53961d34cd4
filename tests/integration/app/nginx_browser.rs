//! Logins keeping Keycloak-sized and Entra ID-sized provider tokens, in headless Chromium
//! through a real nginx (Debian's) reverse proxy on loopback, started by the test.
//!
//! First behind nginx with every buffer at its default (`large_client_header_buffers 4 8k`,
//! `proxy_buffer_size` 4k): with the default cookie budget both logins work, and so do five
//! signed-in requests after each (one past the access token's expiry, refreshing), each
//! answered by the app, not by nginx. Without the budget the login's answer is larger than
//! nginx takes from the app and it answers `502` itself.
//!
//! Then behind nginx with 16 KiB buffers and the budget raised to match (as the README
//! advises): every token kept, the tokens cookie in chunks, the ID token available, the
//! earlier login's tokens cookie gone from the browser. Without the chunking, the full set
//! does not fit one cookie and less is kept.
//!
//! Skipped without chromium, chromedriver or nginx, unless `CI` is set (see
//! `tests/common/chromium.rs` and `tests/common/nginx.rs`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fantoccini::Client;

use crate::common::app::TOKENS_COOKIE;
use crate::common::chromium::{
    binaries, body_text, connect, fresh_profile, start_chromedriver, Result, STEP_TIMEOUT,
};
use crate::common::clock::Shifted;
use crate::common::fake_oidc::FakeOidc;
use crate::common::kept_tokens::{self, fake, provider_accepts, ACCESS_TOKEN_LIFETIME, RAISED};
use crate::common::nginx::{self, Nginx, Site};
use crate::common::server;
use crate::common::token_shapes::TokenShape;
use socialauth::SocialAuthLayerBuilder;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

/// nginx's buffers raised to 16 KiB, request and response headers alike.
const LARGE_BUFFERS: &str =
    "large_client_header_buffers 4 16k; proxy_buffer_size 16k; proxy_buffers 8 16k;";

/// What one signed-in request showed.
struct Seen {
    kept: String,
    id_token: bool,
    cookie_bytes: u64,
}

async fn serve(builder: SocialAuthLayerBuilder) -> SocketAddr {
    let layer = builder.build().expect("valid configuration");
    server::serve(kept_tokens::app().layer(layer)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_sized_logins_keeping_tokens_work_in_chromium_behind_nginx() {
    let Some((chromium, chromedriver)) = binaries() else {
        return;
    };
    if nginx::binary().is_none() {
        return;
    }
    let keycloak = fake(Some(TokenShape::Keycloak)).await;
    let entra = fake(Some(TokenShape::entra_large())).await;
    // An app per login, each on its own clock (moved past the access token's expiry while
    // the fakes' ID tokens follow the real one).
    let clocks = [Shifted::default(), Shifted::default(), Shifted::default()];
    let keycloak_app = serve(kept_tokens::builder(&[("keycloak", &keycloak)], &clocks[0])).await;
    let entra_app = serve(kept_tokens::builder(&[("entra", &entra)], &clocks[1])).await;
    let raised_app = serve(
        kept_tokens::builder(&[("entra", &entra)], &clocks[2])
            .secret(b"another-secret-another-secret-32")
            .cookie_budget(RAISED),
    )
    .await;
    let site = |upstream, directives| Site {
        upstream,
        directives,
    };
    let sites = [
        site(keycloak_app, ""),
        site(entra_app, ""),
        site(raised_app, LARGE_BUFFERS),
    ];
    let proxy = Nginx::start("tokens", &sites).await.expect("nginx");

    let profile = fresh_profile("nginx-tokens");
    let (mut driver, port) = start_chromedriver(&chromedriver).await.unwrap();
    let client = connect(port, &chromium, &profile).await.unwrap();
    let outcome = walk_through(&client, &proxy, &clocks, &keycloak, &entra).await;
    let _ = client.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(error) = outcome {
        panic!("{error}\nnginx's error log:\n{}", proxy.error_log());
    }
}

async fn walk_through(
    client: &Client,
    proxy: &Nginx,
    clocks: &[Shifted; 3],
    keycloak: &FakeOidc,
    entra: &FakeOidc,
) -> Result<()> {
    // A default nginx, the default budget: the refresh token alone fits, for both.
    for (site, name, fake) in [(0, "keycloak", keycloak), (1, "entra", entra)] {
        let default_nginx = proxy.url(site);
        sign_in(client, &default_nginx, name).await?;
        let seen = five_requests(client, &default_nginx, &clocks[site], fake).await?;
        ensure!(
            seen.kept == "RefreshTokenOnly",
            "{name}: kept {}",
            seen.kept
        );
        ensure!(!seen.id_token, "{name}: an ID token");
        eprintln!(
            "{name} behind a default nginx: Cookie header {} B",
            seen.cookie_bytes
        );
        ensure!(
            seen.cookie_bytes <= 6 * 1024,
            "{name}: {} B",
            seen.cookie_bytes
        );
    }

    // nginx with 16 KiB buffers, the budget raised to match: everything, in chunks.
    let large_nginx = proxy.url(2);
    sign_in(client, &large_nginx, "entra").await?;
    let seen = five_requests(client, &large_nginx, &clocks[2], entra).await?;
    ensure!(
        seen.kept == "All" && seen.id_token,
        "kept {} ({})",
        seen.kept,
        seen.id_token
    );
    eprintln!(
        "entra behind nginx with 16k buffers: Cookie header {} B",
        seen.cookie_bytes
    );
    let names: Vec<String> = (client.get_all_cookies().await?.into_iter())
        .map(|cookie| cookie.name().to_owned())
        .filter(|name| name.starts_with(TOKENS_COOKIE))
        .collect();
    ensure!(
        names.len() >= 2 && names.iter().all(|name| name.contains('.')),
        "the tokens cookies in Chromium: {names:?}"
    );
    Ok(())
}

/// Starts the login of `provider` at `base` and waits for the app's home page after it.
async fn sign_in(client: &Client, base: &str, provider: &str) -> Result<()> {
    client
        .goto(&format!("{base}/auth/{provider}?login=start"))
        .await?;
    let home = format!("{base}/");
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let at = client.current_url().await?;
        let page = body_text(client).await.unwrap_or_default();
        if at.as_str() == home && page == "home" {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{provider}: stuck at {at} (expected the app's {home}): {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Five signed-in requests to `/tokens`, the fourth past the access token's expiry: each
/// must be the app's JSON with an access token `fake` takes.
async fn five_requests(
    client: &Client,
    base: &str,
    time: &Shifted,
    fake: &FakeOidc,
) -> Result<Seen> {
    let mut seen = None;
    for request in 1..=5 {
        if request == 4 {
            time.advance(ACCESS_TOKEN_LIFETIME + 1);
        }
        client.goto(&format!("{base}/tokens")).await?;
        let page = body_text(client).await?;
        let body: serde_json::Value = serde_json::from_str(&page)
            .map_err(|_| format!("request {request} was not answered by the app: {page}"))?;
        let access_token = body["access_token"].as_str().unwrap_or_default();
        ensure!(
            provider_accepts(fake, access_token).await,
            "request {request}: the provider refuses {body}"
        );
        seen = Some(Seen {
            kept: body["kept"].as_str().unwrap_or_default().to_owned(),
            id_token: body["id_token"] == true,
            cookie_bytes: body["cookie_bytes"].as_u64().unwrap_or_default(),
        });
    }
    seen.ok_or_else(|| "no request".into())
}
