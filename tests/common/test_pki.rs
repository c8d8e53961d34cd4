//! A throwaway PKI made with the `openssl` command (Debian's `openssl` package): a CA, a
//! server certificate for 127.0.0.1 and localhost, and a client certificate, all P-256, in a
//! fresh directory of their own.

use std::path::PathBuf;
use std::process::Command;

/// `openssl req` arguments for a new P-256 key, unencrypted.
const NEW_P256_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// The files: `ca.pem`, `server.pem` / `server.key`, `client.pem` / `client.key`.
pub struct TestPki {
    pub dir: PathBuf,
}

impl TestPki {
    /// Makes a new CA and the two certificates it signs, in `<temp>/<name>-<random>`.
    pub fn create(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{name}-{:016x}", rand_suffix()));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let pki = Self { dir };
        let subject = "/CN=socialauth test CA";
        let ca = [
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", subject,
        ];
        pki.openssl(&[&["req", "-x509"][..], &NEW_P256_KEY, &ca].concat());
        pki.issue(
            "server",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        pki.issue("client", "extendedKeyUsage=clientAuth\n");
        pki
    }

    /// The bytes of one of the files.
    pub fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(file)).expect("pki file")
    }

    /// The path of one of the files.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// `<name>.key` and `<name>.pem`, signed by the CA, with the extensions in `extensions`.
    fn issue(&self, name: &str, extensions: &str) {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(self.dir.join(&ext), extensions).expect("extensions file");
        let subject = format!("/CN=socialauth test {name}");
        let request = ["-keyout", &key, "-out", &csr, "-subj", &subject];
        self.openssl(&[&["req"][..], &NEW_P256_KEY, &request].concat());
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ]);
    }

    fn openssl(&self, args: &[&str]) {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("the openssl command (Debian's openssl package; .ci/run installs it)");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}
