//! Headless Chromium through chromedriver (Debian's `chromium` and `chromium-driver`), for
//! the tests that need a real browser: finding the binaries (skip, or fail under `CI`),
//! starting chromedriver on a free port, and a session with a fresh profile.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

pub type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// How long one step may wait for the page it expects.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// Chromium and chromedriver (`CHROMIUM` and `CHROMEDRIVER` name other binaries than
/// Debian's), or `None` after saying why the test is skipped; under `CI`, a panic instead.
pub fn binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing: Vec<String> = [&chromium, &chromedriver]
        .into_iter()
        .filter(|path| !path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some((chromium, chromedriver));
    }
    let reason = format!(
        "{} not found: apt-get install chromium chromium-driver",
        missing.join(" and ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{reason} (.ci/run installs them)");
    }
    eprintln!("skipped: {reason}");
    None
}

/// A fresh, empty Chromium profile directory under `target/tmp`, named for `test`.
pub fn fresh_profile(test: &str) -> PathBuf {
    let profile = target_dir()
        .join("tmp")
        .join(format!("chromium-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).expect("profile directory");
    profile
}

pub async fn find(client: &Client, locator: Locator<'_>) -> Result<fantoccini::elements::Element> {
    Ok(client
        .wait()
        .at_most(STEP_TIMEOUT)
        .for_element(locator)
        .await?)
}

pub async fn body_text(client: &Client) -> Result<String> {
    Ok(find(client, Locator::Css("body")).await?.text().await?)
}

/// `target/` (integration tests know `target/tmp` at compile time).
pub fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// The binary named by the environment variable `var`, else `default`.
fn binary(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// chromedriver on a port of its choosing (`--port=0`), read from what it prints.
pub async fn start_chromedriver(chromedriver: &Path) -> Result<(Child, u16)> {
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
pub async fn connect(port: u16, chromium: &Path, profile: &Path) -> Result<Client> {
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
