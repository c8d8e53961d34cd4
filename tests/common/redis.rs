//! A real `redis-server` (Debian's package) on a free 127.0.0.1 port, one per test, with no
//! persistence: killed, it comes back empty. It can also speak TLS, with a throwaway PKI. And a TCP proxy in front of it that a test can
//! cut, to take one replica off Redis while the others stay on. Highly available set-ups
//! too: a primary, its replica and three sentinels ([`SentinelSet`]), and a Redis Cluster
//! ([`RedisCluster`], made by `redis-cli --cluster create`, Debian's redis-tools).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::test_pki::TestPki;

/// A running `redis-server`; killed when dropped.
pub struct RedisServer {
    pub port: u16,
    /// The TLS port, when started by [`start_tls`](Self::start_tls).
    pub tls_port: Option<u16>,
    /// What [`cli`](Self::cli) authenticates with.
    password: Option<String>,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl RedisServer {
    /// Starts one on a free port.
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts one on `port` (again, after [`kill`](Self::kill)): empty.
    pub async fn start_on(port: u16) -> Self {
        Self::start_with(port, None, &[]).await
    }

    /// Starts one that also speaks TLS on a second free port ([`tls_url`](Self::tls_url)),
    /// with `pki`'s server certificate, and asks TLS clients for a certificate its CA signed
    /// (`tls-auth-clients yes`). The plain port stays open for [`command`](Self::command).
    pub async fn start_tls(pki: &TestPki) -> Self {
        let tls_port = free_port();
        let path = |file: &str| pki.path(file).to_string_lossy().into_owned();
        let tls_args = [
            "--tls-port".to_owned(),
            tls_port.to_string(),
            "--tls-cert-file".to_owned(),
            path("server.pem"),
            "--tls-key-file".to_owned(),
            path("server.key"),
            "--tls-ca-cert-file".to_owned(),
            path("ca.pem"),
            "--tls-auth-clients".to_owned(),
            "yes".to_owned(),
        ];
        Self::start_with(free_port(), Some(tls_port), &tls_args).await
    }

    /// Starts one on a free port with `extra` arguments (a password, a replica's primary, a
    /// cluster node's settings); `password` is what [`cli`](Self::cli) authenticates with.
    pub async fn start_args(extra: &[String], password: Option<&str>) -> Self {
        let mut server = Self::start_with(free_port(), None, extra).await;
        server.password = password.map(str::to_owned);
        server
    }

    async fn start_with(port: u16, tls_port: Option<u16>, extra: &[String]) -> Self {
        // Empty, whatever a process on this port left (a cluster node's nodes.conf).
        let dir = std::env::temp_dir().join(format!("socialauth-redis-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("redis dir");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(extra)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; .ci/run installs it)");
        let server = Self {
            port,
            tls_port,
            password: None,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        // Up when it answers, be it only to ask for a password.
        let up = |answer: Option<String>| {
            answer.is_some_and(|a| a == "+PONG" || a.starts_with("-NOAUTH"))
        };
        while !up(server.command(&["PING"]).await) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `rediss://127.0.0.1:<tls port>/`.
    pub fn tls_url(&self) -> String {
        let port = self.tls_port.expect("started with start_tls");
        format!("rediss://127.0.0.1:{port}/")
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server (SIGKILL): its data is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs one command through `redis-cli` (authenticated when the server has a password):
    /// its output, one value a line.
    pub async fn cli(&self, args: &[&str]) -> String {
        cli(self.port, self.password.as_deref(), args).await
    }

    /// Sends one command (RESP, no argument may hold CR or LF) and returns the first line of
    /// the answer, or `None` when nothing answers.
    pub async fn command(&self, args: &[&str]) -> Option<String> {
        let mut stream = TcpStream::connect(self.addr()).await.ok()?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = vec![0u8; 64 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer))
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(answer.get(..n)?).into_owned();
        text.lines().next().map(str::to_owned)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy to `upstream` that [`cut`](Self::cut) severs (open connections closed, new
/// ones closed at once) until [`restore`](Self::restore).
pub struct CuttableProxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl CuttableProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let cut = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (flag, open) = (cut.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                open.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            addr,
            cut,
            connections,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Runs `redis-cli -p <port> [-a <password>] <args>` on 127.0.0.1: its output (empty when it
/// fails).
pub async fn cli(port: u16, password: Option<&str>, args: &[&str]) -> String {
    let mut command = tokio::process::Command::new("redis-cli");
    command.args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(password) = password {
        command.args(["-a", password, "--no-auth-warning"]);
    }
    let output = tokio::time::timeout(Duration::from_secs(5), command.args(args).output())
        .await
        .expect("redis-cli answers")
        .expect("redis-cli (Debian's redis-tools; .ci/run installs it)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value after the line `name` in `redis-cli`'s output of a map (`SENTINEL MASTER`), or
/// after `name:` in an `INFO` section.
pub fn field(output: &str, name: &str) -> Option<String> {
    let mut lines = output.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == name {
            return lines.next().map(str::to_owned);
        }
        if let Some(value) = line.strip_prefix(name).and_then(|l| l.strip_prefix(':')) {
            return Some(value.to_owned());
        }
    }
    None
}

/// Polls `check` every 50 ms until it holds, for at most `limit`: how long it took.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// The name the sentinels know the primary by.
pub const PRIMARY_NAME: &str = "socialauth-primary";
/// The password of the primary and its replica.
pub const PRIMARY_PASSWORD: &str = "primary-secret";
/// The sentinels' own password.
pub const SENTINEL_PASSWORD: &str = "sentinel-secret";

/// A primary and one replica, both with a password, watched by three sentinels (quorum two)
/// that give up on a primary after 500 ms. The replica replicates through a
/// [`CuttableProxy`], so a test can keep a write from reaching it.
pub struct SentinelSet {
    pub primary: RedisServer,
    pub replica: RedisServer,
    pub replication: CuttableProxy,
    pub sentinels: Vec<RedisServer>,
}

impl SentinelSet {
    /// Starts it and waits until the replica is in sync and every sentinel knows the replica
    /// and the two other sentinels (a failover needs them).
    pub async fn start() -> Self {
        let auth = |extra: &[&str]| -> Vec<String> {
            [
                "--requirepass",
                PRIMARY_PASSWORD,
                "--masterauth",
                PRIMARY_PASSWORD,
            ]
            .iter()
            .chain(extra)
            .map(|arg| (*arg).to_owned())
            .collect()
        };
        // Without the 5 s a primary waits by default for more replicas before a full sync.
        let primary = RedisServer::start_args(
            &auth(&["--repl-diskless-sync-delay", "0"]),
            Some(PRIMARY_PASSWORD),
        )
        .await;
        let replication = CuttableProxy::start(primary.addr()).await;
        let through = replication.addr.port().to_string();
        let replica = RedisServer::start_args(
            &auth(&["--replicaof", "127.0.0.1", &through]),
            Some(PRIMARY_PASSWORD),
        )
        .await;
        // In sync before the sentinels start: they learn of replicas from the primary's INFO,
        // which they read once at once, then every 10 s.
        wait_for("the replica in sync", Duration::from_secs(10), || async {
            let info = replica.cli(&["INFO", "replication"]).await;
            field(&info, "master_link_status").as_deref() == Some("up")
        })
        .await;
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            sentinels.push(start_sentinel(primary.port).await);
        }
        let set = Self {
            primary,
            replica,
            replication,
            sentinels,
        };
        for sentinel in &set.sentinels {
            wait_for(
                "the sentinels know each other",
                Duration::from_secs(10),
                || async {
                    let master = sentinel.cli(&["SENTINEL", "MASTER", PRIMARY_NAME]).await;
                    field(&master, "num-other-sentinels").as_deref() == Some("2")
                        && field(&master, "num-slaves").as_deref() == Some("1")
                },
            )
            .await;
        }
        set
    }

    /// The sentinels' URLs, with their password.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("redis://:{SENTINEL_PASSWORD}@127.0.0.1:{}", s.port))
            .collect()
    }

    /// The port of the node the sentinels name as primary now.
    pub async fn primary_port(&self) -> Option<u16> {
        let sentinel = self.sentinels.first()?;
        let answer = sentinel
            .cli(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", PRIMARY_NAME])
            .await;
        answer.lines().nth(1)?.trim().parse().ok()
    }
}

/// A sentinel on a free port watching the primary on `primary_port`.
async fn start_sentinel(primary_port: u16) -> RedisServer {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("socialauth-sentinel-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("sentinel dir");
    let config = dir.join("sentinel.conf");
    let name = PRIMARY_NAME;
    std::fs::write(
        &config,
        format!(
            "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\n\
             requirepass {SENTINEL_PASSWORD}\nsentinel sentinel-pass {SENTINEL_PASSWORD}\n\
             sentinel monitor {name} 127.0.0.1 {primary_port} 2\n\
             sentinel auth-pass {name} {PRIMARY_PASSWORD}\n\
             sentinel down-after-milliseconds {name} 500\n\
             sentinel failover-timeout {name} 5000\n",
            dir = dir.display()
        ),
    )
    .expect("sentinel config");
    let child = Command::new("redis-server")
        .arg(&config)
        .arg("--sentinel")
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (Debian's redis-server package; .ci/run installs it)");
    let sentinel = RedisServer {
        port,
        tls_port: None,
        password: Some(SENTINEL_PASSWORD.to_owned()),
        child: Some(child),
    };
    wait_for("a sentinel up", Duration::from_secs(10), || async {
        sentinel.cli(&["PING"]).await.trim() == "PONG"
    })
    .await;
    sentinel
}

/// A Redis Cluster of primaries only, each announcing 127.0.0.1, made by
/// `redis-cli --cluster create`.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `size` (at least 3) nodes and makes them one cluster, then waits until every
    /// node says the cluster is up.
    pub async fn start(size: usize) -> Self {
        let args: Vec<String> = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-announce-ip",
            "127.0.0.1",
            "--cluster-node-timeout",
            "2000",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut nodes = Vec::new();
        for _ in 0..size {
            nodes.push(RedisServer::start_args(&args, None).await);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut create = tokio::process::Command::new("redis-cli");
        create
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .arg("--cluster-yes");
        let output = tokio::time::timeout(Duration::from_secs(30), create.output())
            .await
            .expect("redis-cli --cluster create finishes")
            .expect("redis-cli (Debian's redis-tools; .ci/run installs it)");
        assert!(
            output.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Self { nodes };
        for node in &cluster.nodes {
            wait_for("the cluster up", Duration::from_secs(10), || async {
                let info = node.cli(&["CLUSTER", "INFO"]).await;
                field(&info, "cluster_state").as_deref() == Some("ok")
                    && field(&info, "cluster_known_nodes") == Some(size.to_string())
            })
            .await;
        }
        cluster
    }

    /// The URL of node `index`.
    pub fn url(&self, index: usize) -> String {
        format!("redis://127.0.0.1:{}/", self.nodes[index].port)
    }
}
