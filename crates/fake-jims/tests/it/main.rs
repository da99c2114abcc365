//! The `fake-jims` binary as a user starts it: what it prints, what it accepts and refuses,
//! what it writes, and what it logs (never a body).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Running {
    child: Child,
    url: remote::Url,
    fingerprint: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn client(&self, user: &str, password: &str) -> remote::Client {
        let pin = remote::Pin::parse(&self.fingerprint).unwrap();
        remote::Client::new(
            &self.url,
            &remote::Trust::Pin(pin),
            user,
            password.as_bytes(),
            Duration::from_secs(10),
        )
        .unwrap()
    }

    /// Stops the server and returns its log (stderr).
    fn log(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
        log
    }
}

fn start(dir: &std::path::Path, extra: &[&str]) -> Running {
    let password = dir.join("pw");
    std::fs::write(&password, "s3cret-Adm1n\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-jims"))
        .args(["--dir", dir.join("jims").to_str().unwrap(), "--port", "0", "--user", "admin"])
        .args(["--password-file", password.to_str().unwrap()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("https://")).unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "loopback only: {first}");
    let second = lines.next().unwrap().unwrap();
    let fingerprint = second.strip_prefix("SHA-256 fingerprint: ").unwrap().to_owned();
    Running { child, url: remote::Url::parse(&url).unwrap(), fingerprint }
}

const CACHE: &str = r#"<?xml version="1.0"?><cache><config timeout="5"/></cache>"#;

#[test]
fn it_serves_the_verified_api_over_tls_and_writes_what_it_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    // The fingerprint printed is the certificate's.
    let seen = remote::fingerprint(&server.url, Duration::from_secs(10)).unwrap();
    assert_eq!(seen.sha256.to_string(), server.fingerprint);
    let ok = server.client("admin", "s3cret-Adm1n");
    let r = ok.put("/config/cache", CACHE.as_bytes()).unwrap();
    assert_eq!(r.status, 200);
    let written = std::fs::read(dir.path().join("jims/cwd/config/cache.xml")).unwrap();
    assert_eq!(written, CACHE.as_bytes());
    let whitelist =
        r#"<?xml version="1.0"?><clients><client id="a" address="10.0.0.1"/></clients>"#;
    let r = ok.put("/config/admin_whitelist_static", whitelist.as_bytes()).unwrap();
    assert_eq!(r.status, 200);
    assert!(dir.path().join("jims/cwd/system/init/admin_whitelist_static.xml").exists());
    // Refusals.
    let wrong = server.client("admin", "nope");
    assert_eq!(wrong.put("/config/cache", CACHE.as_bytes()).unwrap().status, 401);
    assert_eq!(
        server.client("root", "s3cret-Adm1n").put("/config/cache", b"x").unwrap().status,
        401
    );
    assert_eq!(ok.put("/config/passwd", CACHE.as_bytes()).unwrap().status, 404);
    assert_eq!(ok.put("/other", CACHE.as_bytes()).unwrap().status, 404);
    let r = ok.put("/config/cache", b"<?xml version=\"1.0\"?><cache>").unwrap();
    assert_eq!(r.status, 400);
    let r = ok.put("/config/templates", CACHE.as_bytes()).unwrap();
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("root"), "{r:?}");
    let sealed = r#"<?xml version="1.0"?><pc_probe><credential id="p" username="u" password="{aesgcm} 1,0011223344556677,abcd"/></pc_probe>"#;
    let r = ok.put("/config/pc_probe", sealed.as_bytes()).unwrap();
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("{aesgcm}"));
    assert!(!dir.path().join("jims/cwd/config/pc_probe.xml").exists());
    let plain = r#"<?xml version="1.0"?><pc_probe><credential id="p" username="u" password="Body-Pw-91"/></pc_probe>"#;
    assert_eq!(ok.put("/config/pc_probe", plain.as_bytes()).unwrap().status, 200);
    // The log: method, path, status; never a body nor a password.
    let log = server.log();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines,
        [
            "PUT /config/cache 200",
            "PUT /config/admin_whitelist_static 200",
            "PUT /config/cache 401",
            "PUT /config/cache 401",
            "PUT /config/passwd 404",
            "PUT /other 404",
            "PUT /config/cache 400",
            "PUT /config/templates 400",
            "PUT /config/pc_probe 400",
            "PUT /config/pc_probe 200",
        ]
    );
    for secret in ["Body-Pw-91", "s3cret-Adm1n", "timeout"] {
        assert!(!log.contains(secret));
    }
}

#[test]
fn its_fault_flags_fail_drop_and_delay_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["--fail-after", "1", "--fail-times", "2"]);
    let c = server.client("admin", "s3cret-Adm1n");
    let statuses: Vec<u16> =
        (0..4).map(|_| c.put("/config/cache", CACHE.as_bytes()).unwrap().status).collect();
    assert_eq!(statuses, [200, 500, 500, 200]);
    drop(server);
    let server = start(dir.path(), &["--drop-after", "0", "--delay-ms", "300"]);
    let c = server.client("admin", "s3cret-Adm1n");
    let e = c.put("/config/cache", CACHE.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), remote::ErrorKind::Dropped, "{e}");
    let t = std::time::Instant::now();
    assert_eq!(c.put("/config/cache", CACHE.as_bytes()).unwrap().status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let quick = remote::Client::new(
        &server.url,
        &remote::Trust::Pin(remote::Pin::parse(&server.fingerprint).unwrap()),
        "admin",
        b"s3cret-Adm1n",
        Duration::from_millis(100),
    )
    .unwrap();
    let e = quick.put("/config/cache", CACHE.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), remote::ErrorKind::Timeout, "{e}");
    assert!(server.log().contains("dropped"));
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fake-jims"))
        .args(["--dir", dir.path().to_str().unwrap(), "--user", "admin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_fake-jims"))
        .args(["--dir", dir.path().to_str().unwrap(), "--port", "0", "--user", "a"])
        .args(["--password-file", dir.path().join("missing").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password file"));
}
