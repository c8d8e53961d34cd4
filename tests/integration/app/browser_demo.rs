//! The demo (`examples/demo.rs`) in a real browser: headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`). Open the home page, click
//! "Sign in with Dev", type a name and an email at the dev provider, submit, land back on the
//! home page signed in, sign out (through the dev provider's end-session endpoint). A PNG screenshot of each step goes to
//! `target/browser-screenshots/`.
//!
//! Without chromium and chromedriver the test is skipped with a message, unless `CI` is set:
//! then it fails (`.ci/run` installs them). `CHROMIUM` and `CHROMEDRIVER` name other
//! binaries than Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver`.

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::chromium::{
    binaries, body_text, connect, find, fresh_profile, start_chromedriver, target_dir, Result,
    STEP_TIMEOUT,
};
use fantoccini::{Client, Locator};

use crate::app::demo;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_out_of_the_demo_in_headless_chromium() {
    let Some((chromium, chromedriver)) = binaries() else {
        return;
    };

    let demo = demo::build(demo::Config {
        secret: b"browser-test-secret-browser-test".to_vec(),
        dev_provider_addr: "127.0.0.1:0".parse().unwrap(),
        providers: Vec::new(),
    })
    .await
    .expect("the demo builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let home = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, demo.router).await });

    let screenshots = target_dir().join("browser-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let profile = fresh_profile("demo");

    let (mut driver, port) = start_chromedriver(&chromedriver)
        .await
        .expect("chromedriver starts");
    let client = connect(port, &chromium, &profile)
        .await
        .expect("chromium starts");
    let outcome = walk_through(&client, &home, &screenshots).await;
    // Always end the browser session, then chromedriver, whatever happened.
    let _ = client.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(error) = outcome {
        panic!("{error}\n(screenshots so far in {})", screenshots.display());
    }
    drop(demo.dev);
}

/// The steps a person takes, each checked and photographed.
async fn walk_through(client: &Client, home: &str, screenshots: &Path) -> Result<()> {
    let shoot = |name: &'static str| async move {
        let png = client.screenshot().await?;
        ensure!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(screenshots.join(name), png)?;
        Ok::<_, Box<dyn Error + Send + Sync>>(())
    };

    // 1. The home page, signed out, with a button per provider.
    client.goto(home).await?;
    let heading = find(client, Locator::Css("h1")).await?.text().await?;
    ensure!(heading == "socialauth demo", "home heading: {heading:?}");
    let page = body_text(client).await?;
    ensure!(page.contains("You are not signed in."), "home: {page}");
    shoot("1-home-signed-out.png").await?;

    // 2. "Sign in with Dev" leads to the dev provider's page.
    find(client, Locator::LinkText("Sign in with Dev"))
        .await?
        .click()
        .await?;
    let heading = wait_for_heading(client, "Sign in to the dev provider").await?;
    let url = client.current_url().await?;
    ensure!(url.path() == "/authorize", "at {url}, heading {heading:?}");
    shoot("2-dev-provider-sign-in.png").await?;

    // 3. Type a name and an email (markup in the name must come back as text).
    let name = "Ada <b>Lovelace</b>";
    find(client, Locator::Id("name"))
        .await?
        .send_keys(name)
        .await?;
    find(client, Locator::Id("email"))
        .await?
        .send_keys("ada@example.com")
        .await?;
    shoot("3-dev-provider-filled-in.png").await?;

    // 4. Submit: back on the home page, signed in.
    find(
        client,
        Locator::XPath("//button[normalize-space()='Sign in']"),
    )
    .await?
    .click()
    .await?;
    wait_for_heading(client, &format!("Hello, {name}!")).await?;
    let url = client.current_url().await?;
    ensure!(url.as_str() == home, "signed in at {url}, not {home}");
    let page = body_text(client).await?;
    for expected in ["You are signed in.", "dev", name, "ada@example.com", "dev-"] {
        ensure!(page.contains(expected), "no {expected:?} on: {page}");
    }
    let bold = client.find_all(Locator::Css("b")).await?;
    for element in bold {
        let text = element.text().await?;
        ensure!(text != "Lovelace", "the name was rendered as HTML");
    }
    shoot("4-home-signed-in.png").await?;

    // 5. Sign out: through the dev provider's end-session endpoint (the demo turns on
    // RP-initiated logout), back to the home page, signed out.
    find(
        client,
        Locator::XPath("//button[normalize-space()='Sign out']"),
    )
    .await?
    .click()
    .await?;
    wait_for_heading(client, "socialauth demo").await?;
    let page = body_text(client).await?;
    ensure!(
        page.contains("You are not signed in."),
        "after sign-out: {page}"
    );
    ensure!(!page.contains("ada@example.com"), "still shown: {page}");
    // The provider sends the browser back with the `state` the layer gave it: the proof
    // that the sign-out went through the provider rather than only clearing the cookie.
    let back = client.current_url().await?;
    ensure!(
        back.path() == "/"
            && back
                .query_pairs()
                .any(|(k, v)| k == "state" && !v.is_empty()),
        "sign-out did not come back from the dev provider's end-session endpoint: {back}"
    );
    shoot("5-home-signed-out-again.png").await?;
    Ok(())
}

/// Waits until the page's `h1` reads `expected`; the heading as it was at the end.
async fn wait_for_heading(client: &Client, expected: &str) -> Result<String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let heading = match client.find(Locator::Css("h1")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if heading == expected {
            return Ok(heading);
        }
        if Instant::now() > deadline {
            let page = body_text(client).await.unwrap_or_default();
            return Err(format!("waited for {expected:?}, heading is {heading:?}: {page}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
