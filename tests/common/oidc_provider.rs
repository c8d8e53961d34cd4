//! panva's `oidc-provider` (OpenID Certified), run by Node.js on 127.0.0.1 from
//! `tests/interop/oidc-provider/` (`server.mjs` says what its environment configures), for
//! the interop tests: logins (`logins/interop_oidc_provider.rs`) and API access tokens
//! (`logins/interop_access_tokens.rs`).
//!
//! Needs `node` and `npm`. `npm ci` runs first when `node_modules` is missing or holds
//! another version than `package.json` pins (offline too, from a warm npm cache).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/oidc-provider")
}

/// The `oidc-provider` version `package.json` pins.
fn pinned_version(dir: &Path) -> String {
    let manifest = std::fs::read_to_string(dir.join("package.json")).expect("package.json");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("package.json");
    manifest["dependencies"]["oidc-provider"]
        .as_str()
        .expect("package.json pins oidc-provider")
        .to_owned()
}

/// The `oidc-provider` version in `node_modules`, if any.
fn installed_version(dir: &Path) -> Option<String> {
    let manifest =
        std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).ok()?;
    manifest["version"].as_str().map(str::to_owned)
}

/// Runs `npm ci` once per test binary when `node_modules` is missing or stale.
fn ensure_node_modules() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let dir = interop_dir();
        let pinned = pinned_version(&dir);
        if installed_version(&dir).as_deref() == Some(pinned.as_str()) {
            return;
        }
        // --prefer-offline: a warm npm cache is enough, no registry round trips.
        let out = std::process::Command::new("npm")
            .args(["ci", "--prefer-offline", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("this test needs Node.js and npm on PATH (npm: {e}); see .ci/run")
            });
        assert!(
            out.status.success(),
            "npm ci in {} failed ({}):\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            installed_version(&dir).as_deref(),
            Some(pinned.as_str()),
            "npm ci did not install oidc-provider {pinned}"
        );
    });
}

/// A running `node server.mjs`. Dropping it kills the process (and closes its stdin,
/// which makes the server exit by itself as well).
pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`
    pub issuer: String,
    _child: Child,
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl OidcProvider {
    /// Starts `node server.mjs` with this environment (`OIDC_*`, see `server.mjs`), on any
    /// free port.
    pub async fn start(env: &[(&str, String)]) -> Self {
        ensure_node_modules();
        let mut command = Command::new("node");
        command
            .arg("server.mjs")
            .current_dir(interop_dir())
            .env("OIDC_PORT", "0");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("this test needs Node.js on PATH (node: {e})"));

        // The server's stderr (warnings, errors) goes to the test's captured output.
        let stderr = child.stderr.take().expect("piped stderr");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("oidc-provider: {line}");
            }
        });

        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let listening = async {
            while let Some(line) = stdout.next_line().await.expect("read node's stdout") {
                if let Some(issuer) = line.strip_prefix("LISTENING ") {
                    return issuer.trim().to_owned();
                }
                eprintln!("oidc-provider (stdout): {line}");
            }
            let status = child.wait().await;
            panic!("node server.mjs exited before listening: {status:?}");
        };
        let issuer = tokio::time::timeout(Duration::from_secs(30), listening)
            .await
            .expect("oidc-provider did not print LISTENING within 30 s");
        assert!(
            issuer.starts_with("http://127.0.0.1:"),
            "unexpected issuer {issuer}"
        );
        OidcProvider {
            issuer,
            _child: child,
            _stdout: stdout,
        }
    }

    /// How many introspection requests it received (started with `OIDC_RESOURCE`).
    pub async fn introspections(&self) -> u64 {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client");
        let answer = client
            .get(format!("{}/__test/introspections", self.issuer))
            .send()
            .await
            .expect("oidc-provider answers");
        let counts: serde_json::Value =
            serde_json::from_str(&answer.text().await.expect("a body")).expect("JSON");
        counts["count"].as_u64().expect("a count")
    }
}
