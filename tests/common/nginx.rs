//! A real nginx (Debian's `nginx` package) as a reverse proxy on a free 127.0.0.1 port in
//! front of an app, started by the test: in the foreground as one process (`daemon off`,
//! `master_process off`, so killing it leaves no worker behind), with its configuration, pid
//! file, logs and temporary directories in a directory of its own. It runs as whoever runs
//! the test: without a `user` directive, and with no worker processes to hand to another
//! user when that is root (CI), nothing needs another user's access.
//!
//! Each site is a `server` block proxying everything to one upstream, with only the
//! directives the test gives: otherwise every buffer keeps nginx's default
//! (`large_client_header_buffers 4 8k`, `proxy_buffer_size` one memory page).
//!
//! Without nginx the test is skipped with a message, unless `CI` is set: then it fails
//! (`.ci/run` installs it). `NGINX` names another binary than `/usr/sbin/nginx`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// One `server` block: everything proxied to `upstream`, with `directives` added.
pub struct Site {
    pub upstream: SocketAddr,
    /// Directives in the `server` block, e.g. `"proxy_buffer_size 16k;"`; empty for the
    /// defaults.
    pub directives: &'static str,
}

/// A running nginx; killed, and its directory removed, when dropped.
pub struct Nginx {
    /// The port of each site, in the order given.
    pub ports: Vec<u16>,
    dir: PathBuf,
    child: Child,
}

/// The nginx binary, or `None` after saying why the test is skipped; under `CI`, a panic.
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("NGINX").map_or_else(|| "/usr/sbin/nginx".into(), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    let reason = format!("{} not found: apt-get install nginx", path.display());
    if std::env::var_os("CI").is_some() {
        panic!("{reason} (.ci/run installs it)");
    }
    eprintln!("skipped: {reason}");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl Nginx {
    /// Starts nginx serving `sites`, each on a free port; `None` when nginx is not installed
    /// (outside CI).
    pub async fn start(name: &str, sites: &[Site]) -> Option<Self> {
        let binary = binary()?;
        let dir =
            std::env::temp_dir().join(format!("socialauth-nginx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("logs")).expect("nginx directory");
        let ports: Vec<u16> = sites.iter().map(|_| free_port()).collect();
        let servers: String = sites
            .iter()
            .zip(&ports)
            .map(|(site, port)| {
                format!(
                    "  server {{\n    listen 127.0.0.1:{port};\n    {}\n    location / {{\n      \
                     proxy_pass http://{};\n      proxy_set_header Host $http_host;\n    }}\n  }}\n",
                    site.directives, site.upstream
                )
            })
            .collect();
        let d = dir.display();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/logs/error.log info;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/client_body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{servers}}}\n"
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).expect("nginx.conf");
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx { ports, dir, child };
        nginx.wait_until_listening().await;
        Some(nginx)
    }

    async fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        for port in self.ports.clone() {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("nginx exited ({status}): {}", self.error_log());
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx is not listening on {port}: {}",
                    self.error_log()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// `http://127.0.0.1:<port>` of site `index`.
    pub fn url(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[index])
    }

    /// What nginx has logged so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
