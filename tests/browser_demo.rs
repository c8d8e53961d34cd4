//! The demo (`examples/demo.rs`) in a real browser: headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`). Open the home page, click
//! "Sign in with Dev", type a name and an email at the dev provider, submit, land back on the
//! home page signed in, sign out. A PNG screenshot of each step goes to
//! `target/browser-screenshots/`.
//!
//! Without chromium and chromedriver the test is skipped with a message, unless `CI` is set:
//! then it fails (`.ci/run` installs them). `CHROMIUM` and `CHROMEDRIVER` name other
//! binaries than Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver`.

// The demo's own app-building code; this test uses only part of it.
#[allow(dead_code)]
#[path = "../examples/demo/app.rs"]
mod demo;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// How long one step may wait for the page it expects.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_out_of_the_demo_in_headless_chromium() {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing: Vec<String> = [&chromium, &chromedriver]
        .into_iter()
        .filter(|path| !path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !missing.is_empty() {
        let reason = format!(
            "{} not found: apt-get install chromium chromium-driver",
            missing.join(" and ")
        );
        if std::env::var_os("CI").is_some() {
            panic!("{reason} (.ci/run installs them)");
        }
        eprintln!("skipped: {reason}");
        return;
    }

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
    let profile = target_dir()
        .join("tmp")
        .join(format!("chromium-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();

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

    // 5. Sign out: the home page again, signed out.
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
    shoot("5-home-signed-out-again.png").await?;
    Ok(())
}

async fn find(client: &Client, locator: Locator<'_>) -> Result<fantoccini::elements::Element> {
    Ok(client
        .wait()
        .at_most(STEP_TIMEOUT)
        .for_element(locator)
        .await?)
}

async fn body_text(client: &Client) -> Result<String> {
    Ok(find(client, Locator::Css("body")).await?.text().await?)
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

/// `target/` (integration tests know `target/tmp` at compile time).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// The binary named by the environment variable `var`, else `default`.
fn binary(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// chromedriver on a port of its choosing (`--port=0`), read from what it prints.
async fn start_chromedriver(chromedriver: &Path) -> Result<(Child, u16)> {
    let mut driver = Command::new(chromedriver)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdout = driver.stdout.take().ok_or("no stdout")?;
    let mut printed = String::new();
    let deadline = Instant::now() + STEP_TIMEOUT;
    let marker = "started successfully on port ";
    loop {
        if let Some(port) = printed.find(marker).and_then(|at| {
            let rest = &printed[at + marker.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits
                .parse::<u16>()
                .ok()
                .filter(|_| rest.len() > digits.len())
        }) {
            // Keep draining its output so it never blocks on a full pipe.
            tokio::spawn(async move { tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await });
            return Ok((driver, port));
        }
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout_at(deadline.into(), stdout.read(&mut buf)).await;
        match read {
            Ok(Ok(n)) if n > 0 => printed.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => return Err(format!("chromedriver said: {printed:?}").into()),
        }
    }
}

/// A WebDriver session with headless Chromium and a fresh profile.
async fn connect(port: u16, chromium: &Path, profile: &Path) -> Result<Client> {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=900,700",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object");
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await?;
    Ok(client)
}
