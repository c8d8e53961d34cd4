//! End to end, as a deployment sees it: the same tiny axum `/whoami` app served bare, behind
//! `SocialAuthLayer`, and behind `tower-sessions` with a `MemoryStore`, each in its own
//! process pinned to CPU 0 with one tokio thread, driven by `wrk` pinned to CPU 1.
//!
//! ```text
//! cargo bench --features axum --bench e2e
//! E2E_ROUNDS=3 E2E_SECS=3 E2E_RSS_SECS=0 cargo bench --features axum --bench e2e
//! ```
//!
//! Three parts, each printed as a table:
//!
//! 1. **Load**: rounds of `wrk -t1 -cE2E_CONNECTIONS` over keep-alive, every stack once per
//!    round in turn (so drift hits all alike), after a warm-up; medians over the rounds of
//!    requests per second, of the ratio to bare in the same round, and of the app's CPU time
//!    per request (`utime + stime` of `/proc/<pid>/stat` over the measured seconds). Every
//!    stack gets its requests from the same `wrk` Lua script, so the load costs the same;
//!    "bare" is sent the very cookie the layer gets, so the difference is the layer's work.
//! 2. **Instructions**: each stack again, under `valgrind --tool=callgrind`, sent requests
//!    over one keep-alive connection by this process; user-space instructions per request
//!    are the difference between a run of `W + N` requests and one of `W`, divided by `N`
//!    (startup and warm-up cancel out). Deterministic, so the figure to optimise against on a
//!    shared machine; HMAC-SHA256 runs in software under valgrind, so the table also gives
//!    the instructions of SHA-256's compression function (`callgrind_annotate`'s count for
//!    `sha2`'s `compress256`) and the layer's cost beyond them.
//! 3. **Memory**: a fresh layer process under 200,000 distinct valid tokens in rotation for
//!    `E2E_RSS_SECS` (more than the verified-token cache holds, 131,072, so it churns), its
//!    resident set sampled every 5 seconds.
//!
//! `wrk` is installed from Debian (`apt-get install -y wrk`) when missing; `valgrind` is
//! needed for part 2 (skipped without it).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `E2E_PARTS` | `load,instructions,memory` | which parts to run |
//! | `E2E_SECS` | 5 | measured seconds per stack and round |
//! | `E2E_WARMUP_SECS` | 1 | warm-up seconds before each measurement |
//! | `E2E_ROUNDS` | 5 | rounds of the load part |
//! | `E2E_CONNECTIONS` | 16 | `wrk` keep-alive connections |
//! | `E2E_USERS` | 3000 | distinct signed-in users of the rotation stack |
//! | `E2E_CALLGRIND_REQUESTS` | 5000 | `N` of part 2 (0 skips it); `W` is 4000 |
//! | `E2E_KEEP_CALLGRIND` | unset | when set, part 2's callgrind files are kept (their paths printed), for `callgrind_annotate` |
//! | `E2E_RSS_SECS` | 60 | seconds of part 3 (0 skips it) |
//! | `E2E_RSS_USERS` | 200000 | distinct tokens of part 3 |
//!
//! `E2E_SERVE=bare|layer|sessions` runs one app (printing its address; it exits when stdin
//! closes) and `E2E_PRINT_COOKIES=<prefix>:<count>` prints identity cookies, for profiling a
//! stack by hand (`valgrind --tool=callgrind`, `perf record`).

// The tests' harness; a bench uses a small part of it, and the test suites show its dead code.
#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use http::StatusCode;
use socialauth::{Identity, SocialAuthLayer, Twitter};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

use support::{env_u64, sign_identity, unix_now, IdentitySigner, IDENTITY_COOKIE};

/// The CPU the apps run on; `wrk` runs on the next one.
const APP_CPU: usize = 0;
const LOAD_CPU: usize = 1;
/// The user id of the single-user stacks.
const USER_ID: &str = "10001";
/// Warm-up requests of each callgrind run, at least: the rotation's runs have three passes
/// over its tokens and 1,000 requests more (the verified-token cache grows its sets in use as
/// tokens come; a token whose sets moved is checked once more, in the second pass at the
/// latest), so its measured requests are all of tokens already kept.
const CALLGRIND_WARMUP: u64 = 4000;

fn main() {
    if let Ok(stack) = std::env::var("E2E_SERVE") {
        return serve(&stack);
    }
    // `E2E_PRINT_COOKIES=<prefix>:<count>`: print identity cookies for other tools and exit.
    if let Ok(spec) = std::env::var("E2E_PRINT_COOKIES") {
        let (prefix, count) = spec.split_once(':').unwrap_or((&spec, "1"));
        for cookie in identity_cookies(prefix, count.parse().unwrap_or(1)) {
            println!("{cookie}");
        }
        return;
    }
    drive();
}

// ---- the apps ----------------------------------------------------------------------------

/// The handler of the bare and the layered app.
async fn whoami(user: Option<Identity>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.user_id().to_owned())
}

/// The same handler, reading the user from the session.
async fn session_whoami(session: Session) -> String {
    let user = session.get::<String>("user").await.ok().flatten();
    user.unwrap_or_else(|| "anonymous".to_owned())
}

/// Signs the user in, as a login handler does with tower-sessions.
async fn session_login(session: Session) -> StatusCode {
    match session.insert("user", USER_ID).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn app(stack: &str) -> Router {
    let whoami_app = Router::new().route("/whoami", get(whoami));
    match stack {
        "bare" => whoami_app,
        "layer" => {
            // No provider is ever contacted: the load only reads identities.
            let layer = SocialAuthLayer::builder()
                .secret(common::app::SECRET)
                .provider(Twitter::new("key", "secret"))
                .build()
                .expect("valid configuration");
            whoami_app.layer(layer)
        }
        "sessions" => Router::new()
            .route("/whoami", get(session_whoami))
            .route("/login", get(session_login))
            .layer(SessionManagerLayer::new(MemoryStore::default())),
        other => panic!("unknown stack {other}"),
    }
}

/// Serves one stack on one thread, prints its address, and exits when stdin closes (so a
/// process under valgrind exits normally and writes its counts).
fn serve(stack: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("address"));
        std::io::stdout().flush().expect("stdout");
        std::thread::spawn(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            std::process::exit(0);
        });
        axum::serve(listener, app(stack)).await.expect("serve");
    });
}

// ---- the driver --------------------------------------------------------------------------

/// A stack's server process.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
}

impl Server {
    /// Starts `stack` pinned to the app CPU, under `wrapper` (e.g. valgrind) if given.
    fn start(stack: &str, wrapper: &[&str]) -> Self {
        let exe = std::env::current_exe().expect("this benchmark's path");
        let mut command = Command::new("taskset");
        command.arg("-c").arg(APP_CPU.to_string());
        command.args(wrapper).arg(exe);
        command
            .env("E2E_SERVE", stack)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command
            .spawn()
            .expect("start the app (is taskset installed?)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("address");
        let addr = line.trim().parse().expect("the app printed its address");
        let stdin = child.stdin.take();
        Self { child, stdin, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes stdin and waits for the app to exit.
    fn stop(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// One thing measured: a server and the `Cookie` headers its requests carry in turn.
struct Stack<'a> {
    name: &'static str,
    server: &'a Server,
    cookies: Vec<String>,
    expect: &'static str,
}

/// One blocking keep-alive HTTP/1.1 connection, for checks and the callgrind part.
struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// `GET path`; the status, the `Set-Cookie` values and the body.
    fn get(&mut self, path: &str, cookie: Option<&str>) -> (u16, Vec<String>, String) {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if let Some(cookie) = cookie {
            let _ = write!(request, "Cookie: {cookie}\r\n");
        }
        request.push_str("\r\n");
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .expect("send");
        let (mut status, mut length, mut cookies) = (0, 0, Vec::new());
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).expect("read");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(code) = line.strip_prefix("HTTP/1.1 ") {
                status = code.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            } else if let Some((name, value)) = line.split_once(": ") {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().expect("length"),
                    "set-cookie" => cookies.push(value.to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).expect("body");
        (status, cookies, String::from_utf8_lossy(&body).into_owned())
    }
}

/// `count` identity cookies of distinct users, valid for an hour.
fn identity_cookies(prefix: &str, count: u64) -> Vec<String> {
    let now = unix_now();
    let signer = IdentitySigner::new();
    (0..count)
        .map(|i| {
            let token = signer.sign(&format!("{prefix}{i}"), now, now + 3600);
            format!("{IDENTITY_COOKIE}={token}")
        })
        .collect()
}

fn ensure_wrk() {
    let present = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present("wrk") {
        return;
    }
    eprintln!("wrk not found: apt-get install -y wrk");
    let install = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install(&["install", "-y", "-qq", "wrk"]) {
        let _ = install(&["update", "-qq"]);
        install(&["install", "-y", "-qq", "wrk"]);
    }
    assert!(
        present("wrk"),
        "wrk is needed: apt-get install -y wrk (as root)"
    );
}

/// A `wrk` script sending `cookies` in turn (none: no cookie), read from a file next to it.
fn wrk_script(dir: &Path, name: &str, cookies: &[String]) -> PathBuf {
    let list = dir.join(format!("{name}.cookies"));
    std::fs::write(&list, cookies.join("\n")).expect("write cookies");
    let script = dir.join(format!("{name}.lua"));
    let lua = format!(
        r#"local requests = {{}}
local i = 0
init = function(args)
  for cookie in io.lines("{}") do
    requests[#requests + 1] = wrk.format("GET", "/whoami", {{ Cookie = cookie }})
  end
  if #requests == 0 then requests[1] = wrk.format("GET", "/whoami") end
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
"#,
        list.display()
    );
    std::fs::write(&script, lua).expect("write script");
    script
}

/// What one `wrk` run reported.
struct Run {
    requests: u64,
    secs: f64,
    errors: u64,
}

fn wrk(addr: SocketAddr, script: &Path, secs: u64, connections: u64) -> Run {
    let output = Command::new("taskset")
        .args(["-c", &LOAD_CPU.to_string(), "wrk", "-t1"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(script)
        .arg(format!("http://{addr}/whoami"))
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut run = Run {
        requests: 0,
        secs: secs as f64,
        errors: 0,
    };
    for line in text.lines().map(str::trim) {
        // "123456 requests in 5.00s, 12.34MB read"
        if let Some((count, rest)) = line.split_once(" requests in ") {
            run.requests = count.trim().parse().unwrap_or(0);
            let secs = rest.split(',').next().unwrap_or("").trim();
            run.secs = match secs.strip_suffix("ms") {
                Some(ms) => ms.parse::<f64>().unwrap_or(0.0) / 1000.0,
                None => secs.trim_end_matches('s').parse().unwrap_or(run.secs),
            };
        } else if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.errors += count.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(errors) = line.strip_prefix("Socket errors:") {
            run.errors += errors
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    run
}

/// `utime + stime` of a process, in seconds.
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // Fields 14 and 15 of stat(5), counted from the state (field 3).
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    ticks as f64 / clock_ticks()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Resident set of a process, in KiB.
fn process_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Checks that a stack answers as expected before measuring it.
fn check(stack: &Stack<'_>) {
    let mut client = Client::open(stack.server.addr);
    let cookie = stack.cookies.first().map(String::as_str);
    let (status, _, body) = client.get("/whoami", cookie);
    assert_eq!(
        (status, body.as_str()),
        (200, stack.expect),
        "{} answers wrong",
        stack.name
    );
}

fn drive() {
    let secs = env_u64("E2E_SECS", 5);
    let warmup = env_u64("E2E_WARMUP_SECS", 1);
    let rounds = env_u64("E2E_ROUNDS", 5).max(1);
    let connections = env_u64("E2E_CONNECTIONS", 16);
    let users = env_u64("E2E_USERS", 3000);
    let callgrind_requests = env_u64("E2E_CALLGRIND_REQUESTS", 5000);
    let rss_secs = env_u64("E2E_RSS_SECS", 60);
    let rss_users = env_u64("E2E_RSS_USERS", 200_000);
    let parts = std::env::var("E2E_PARTS").unwrap_or_else(|_| "load,instructions,memory".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    ensure_wrk();
    let dir = std::env::temp_dir().join(format!("socialauth-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    let bare = Server::start("bare", &[]);
    let layer = Server::start("layer", &[]);
    let sessions = Server::start("sessions", &[]);
    let now = unix_now();
    let identity = format!(
        "{IDENTITY_COOKIE}={}",
        sign_identity(USER_ID, now, now + 3600)
    );
    let (status, cookies, _) = Client::open(sessions.addr).get("/login", None);
    assert_eq!(status, 204, "tower-sessions login");
    let session = cookies
        .iter()
        .find_map(|c| c.split(';').next().filter(|pair| pair.starts_with("id=")))
        .expect("session cookie")
        .to_owned();
    let rotation = identity_cookies("user-", users);
    let stacks = [
        Stack {
            name: "bare axum (cookie sent)",
            server: &bare,
            cookies: vec![identity.clone()],
            expect: "anonymous",
        },
        Stack {
            name: "layer, valid cookie",
            server: &layer,
            cookies: vec![identity.clone()],
            expect: USER_ID,
        },
        Stack {
            name: "layer, no cookie",
            server: &layer,
            cookies: Vec::new(),
            expect: "anonymous",
        },
        Stack {
            name: "layer, users in rotation",
            server: &layer,
            cookies: rotation.clone(),
            expect: "user-0",
        },
        Stack {
            name: "tower-sessions MemoryStore",
            server: &sessions,
            cookies: vec![session.clone()],
            expect: USER_ID,
        },
    ];
    for stack in &stacks {
        check(stack);
    }
    println!(
        "e2e: {} | apps on CPU {APP_CPU} (one tokio thread), wrk -t1 -c{connections} on CPU \
         {LOAD_CPU} | {rounds} rounds of {warmup} s warm-up + {secs} s | rotation: {users} users",
        support::machine()
    );
    if part("load") {
        load(&stacks, &dir, rounds, warmup, secs, connections);
    }
    if part("instructions") && callgrind_requests > 0 {
        instructions(&stacks, users, callgrind_requests);
    }
    for server in [bare, layer, sessions] {
        server.stop();
    }
    if part("memory") && rss_secs > 0 {
        memory(&dir, rss_users, rss_secs, connections);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Part 1: interleaved `wrk` rounds.
fn load(stacks: &[Stack<'_>], dir: &Path, rounds: u64, warmup: u64, secs: u64, conns: u64) {
    let scripts: Vec<PathBuf> = stacks
        .iter()
        .enumerate()
        .map(|(i, s)| wrk_script(dir, &format!("stack{i}"), &s.cookies))
        .collect();
    let mut rates = vec![Vec::new(); stacks.len()];
    let mut ratios = vec![Vec::new(); stacks.len()];
    let mut cpu = vec![Vec::new(); stacks.len()];
    let mut errors = vec![0; stacks.len()];
    for round in 0..rounds {
        let mut bare_rate = 0.0;
        for (i, (stack, script)) in stacks.iter().zip(&scripts).enumerate() {
            if warmup > 0 {
                wrk(stack.server.addr, script, warmup, conns);
            }
            let before = process_cpu(stack.server.pid());
            let run = wrk(stack.server.addr, script, secs, conns);
            let used = process_cpu(stack.server.pid()) - before;
            let rate = run.requests as f64 / run.secs.max(1e-9);
            if i == 0 {
                bare_rate = rate;
            }
            rates[i].push(rate);
            ratios[i].push(rate / bare_rate.max(1e-9));
            cpu[i].push(used * 1e6 / (run.requests.max(1) as f64));
            errors[i] += run.errors;
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    let bare_cpu = median(&cpu[0]);
    println!();
    println!(
        "{:<28} {:>10} {:>9} {:>12} {:>9} {:>7}",
        "stack", "req/s", "x bare", "app µs/req", "Δ µs", "errors"
    );
    for (i, stack) in stacks.iter().enumerate() {
        let us = median(&cpu[i]);
        println!(
            "{:<28} {:>10.0} {:>9.3} {:>12.2} {:>+9.2} {:>7}",
            stack.name,
            median(&rates[i]),
            median(&ratios[i]),
            us,
            us - bare_cpu,
            errors[i]
        );
    }
    println!("(medians over {rounds} rounds; x bare: median of each round's ratio)");
}

/// Instructions of a callgrind run: the total, and those in SHA-256's compression function.
struct Counts {
    total: u64,
    sha256: u64,
}

/// Whether a function is SHA-256's block compression (`sha2`'s software one, which runs
/// under valgrind, or the one with the CPU's SHA instructions).
fn is_sha256_compression(function: &str) -> bool {
    function.contains("compress256")
        || function.contains("sha256::soft")
        || function.contains("sha256::x86::digest_blocks")
}

/// The instructions of the SHA-256 compression functions in a callgrind output file (their
/// own, not what they call), as `callgrind_annotate` attributes them.
fn sha256_instructions(out: &Path) -> u64 {
    let Ok(output) = Command::new("callgrind_annotate")
        .args(["--inclusive=no", "--threshold=100"])
        .arg(out)
        .output()
    else {
        return 0;
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| is_sha256_compression(line))
        .filter_map(|line| {
            line.split_whitespace()
                .next()?
                .replace(',', "")
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// User-space instructions of a callgrind run of `stack` sent `requests` requests.
fn callgrind_total(stack: &str, cookies: &[String], expect: &str, requests: u64) -> Counts {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!(
        "socialauth-e2e-callgrind-{}-{run}-{stack}-{requests}.out",
        std::process::id()
    ));
    let out_arg = format!("--callgrind-out-file={}", out.display());
    let server = Server::start(stack, &["valgrind", "--tool=callgrind", "-q", &out_arg]);
    let mut client = Client::open(server.addr);
    // A session lives in its process: sign in on this one (in both runs alike).
    let session: Vec<String> = if stack == "sessions" {
        let (_, set, _) = client.get("/login", None);
        set.iter()
            .filter_map(|c| c.split(';').next())
            .map(str::to_owned)
            .collect()
    } else {
        cookies.to_vec()
    };
    let cookies = &session;
    for i in 0..requests {
        let cookie = (!cookies.is_empty()).then(|| cookies[i as usize % cookies.len()].as_str());
        let (status, _, body) = client.get("/whoami", cookie);
        assert_eq!(status, 200, "{stack}: {body}");
        if i == 0 {
            assert!(body.starts_with(expect), "{stack}: {body}");
        }
    }
    drop(client);
    server.stop();
    let text = std::fs::read_to_string(&out).expect("callgrind output");
    let sha256 = sha256_instructions(&out);
    if std::env::var_os("E2E_KEEP_CALLGRIND").is_some() {
        eprintln!("kept {}", out.display());
    } else {
        let _ = std::fs::remove_file(&out);
    }
    let total = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("callgrind totals");
    Counts { total, sha256 }
}

/// Part 2: instructions per request under callgrind.
fn instructions(stacks: &[Stack<'_>], users: u64, n: u64) {
    if !Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        println!("\nvalgrind not found: instruction counts skipped (apt-get install -y valgrind)");
        return;
    }
    let w = CALLGRIND_WARMUP.max(3 * users + 1000);
    // A token never seen before on every request.
    let fresh = identity_cookies("fresh-", w + n);
    let mut rows: Vec<(&str, &str, Vec<String>, &str)> = stacks
        .iter()
        .map(|s| {
            let stack = if s.server.addr == stacks[0].server.addr {
                "bare"
            } else if s.name.starts_with("tower") {
                "sessions"
            } else {
                "layer"
            };
            (s.name, stack, s.cookies.clone(), s.expect)
        })
        .collect();
    rows.insert(
        2,
        ("layer, token never seen before", "layer", fresh, "fresh-0"),
    );
    println!();
    println!(
        "{:<32} {:>12} {:>12} {:>12} {:>14}   (valgrind --tool=callgrind, {n} requests after {w}, one connection)",
        "stack", "instr/req", "Δ bare", "SHA-256", "Δ bare - SHA"
    );
    let mut bare = 0.0;
    for (name, stack, cookies, expect) in rows {
        let started = Instant::now();
        let short = callgrind_total(stack, &cookies, expect, w);
        let long = callgrind_total(stack, &cookies, expect, w + n);
        let per = long.total.saturating_sub(short.total) as f64 / n as f64;
        // SHA-256's compression function (the HMAC's), in software under valgrind.
        let sha256 = long.sha256.saturating_sub(short.sha256) as f64 / n as f64;
        if stack == "bare" {
            bare = per;
        }
        println!(
            "{:<32} {:>12.0} {:>+12.0} {:>12.0} {:>+14.0}   ({:.0} s)",
            name,
            per,
            per - bare,
            sha256,
            per - bare - sha256,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "(SHA-256: instructions in its compression function, as callgrind_annotate attributes \
         them; Δ bare - SHA: the layer's cost beyond them)"
    );
}

/// Part 3: the layer's resident set under many distinct tokens.
fn memory(dir: &Path, users: u64, secs: u64, conns: u64) {
    let cookies = identity_cookies("rss-", users);
    let script = wrk_script(dir, "rss", &cookies);
    let server = Server::start("layer", &[]);
    wrk(server.addr, &script, 5, conns);
    let pid = server.pid();
    let start = process_rss_kib(pid);
    let mut load = Command::new("taskset")
        .args(["-c", &LOAD_CPU.to_string(), "wrk", "-t1"])
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{}/whoami", server.addr))
        .stdout(Stdio::null())
        .spawn()
        .expect("run wrk");
    let mut samples = vec![start];
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(5));
        samples.push(process_rss_kib(pid));
    }
    let _ = load.wait();
    let end = process_rss_kib(pid);
    samples.push(end);
    server.stop();
    let max = samples.iter().copied().max().unwrap_or(0);
    let min = samples.iter().copied().min().unwrap_or(0);
    println!();
    println!(
        "memory: layer under {users} distinct valid tokens for {secs} s (after 5 s warm-up): \
         RSS {start} KiB at start, {end} KiB at end, {min}..{max} KiB over {} samples, \
         end - start {:+} KiB",
        samples.len(),
        end as i64 - start as i64
    );
}
