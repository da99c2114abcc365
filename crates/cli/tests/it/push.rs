//! `remote` and `push` over real TLS on 127.0.0.1, against a fake JIMS (the `fake-jims` crate)
//! started by each test: what is sent, in which order, how failures are put back, and every
//! bad input's exit code and message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    cmd, fixture, fixture_passwords, full_secrets, import_into, remote_set, remote_set_args, run,
    tmp, tree,
};

/// The administrator's password the fake JIMS expects.
pub(crate) const ADMIN_PW: &str = "Adm1n-Pw-7c41e2";

/// A managed folder with `full.xml` imported, a secrets file holding the administrator's
/// password, and a folder for what the fake JIMS receives.
pub(crate) struct Setup {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) target: PathBuf,
    pub(crate) received: PathBuf,
    /// `file:…` with `remote/127.0.0.1`.
    pub(crate) admin: String,
    /// A certificate and key (PEM files) every server of this setup serves, so that the pin
    /// stays the same across restarts.
    cert: (PathBuf, PathBuf),
    pub(crate) pin: String,
    pub(crate) port: u16,
}

pub(crate) fn import(target: &Path, export: &str) {
    let r = import_into(export, target, &["--secrets", &full_secrets(), "--accept-warning"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Setup {
    pub(crate) fn new() -> Setup {
        let dir = tmp();
        let target = dir.path().join("srv");
        import(&target, "exports/full.xml");
        let admin_file = dir.path().join("admin.json");
        std::fs::write(
            &admin_file,
            serde_json::json!({"remote": {"127.0.0.1": ADMIN_PW}}).to_string(),
        )
        .unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
        let pin = sha256_colons(made.cert.der());
        Setup {
            received: dir.path().join("jims"),
            admin: format!("file:{}", admin_file.display()),
            target,
            cert: (cert, key),
            pin,
            port: free_port(),
            dir,
        }
    }

    /// A setup with a fake JIMS started and set as the folder's remote.
    pub(crate) fn serving() -> (Setup, fake_jims::Server) {
        let s = Setup::new();
        let server = s.start(|_| {});
        s.set_remote();
        (s, server)
    }

    pub(crate) fn t(&self) -> String {
        self.target.display().to_string()
    }

    /// Options for a server on this setup's port, folder and certificate.
    pub(crate) fn options(&self) -> fake_jims::Options {
        fake_jims::Options {
            dir: self.received.clone(),
            port: self.port,
            credentials: Some(("admin".to_owned(), ADMIN_PW.as_bytes().to_vec())),
            cert: Some(self.cert.0.clone()),
            key: Some(self.cert.1.clone()),
            ..fake_jims::Options::default()
        }
    }

    /// Starts a server (the port may still be held for a moment by the one just stopped).
    pub(crate) fn start(&self, change: impl FnOnce(&mut fake_jims::Options)) -> fake_jims::Server {
        let mut options = self.options();
        change(&mut options);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match fake_jims::start(&options) {
                Ok(s) => return s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("fake-jims: {e}"),
            }
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub(crate) fn set_remote(&self) {
        let r = self.remote_set(&[]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }

    /// `jimsctl remote set` of this setup's target, server and pin, with `extra` arguments.
    pub(crate) fn remote_set(&self, extra: &[&str]) -> crate::support::Run {
        let (t, url) = (self.t(), self.url());
        remote_set(&t, &url, "admin", &[&["--pin-sha256", &self.pin], extra].concat())
    }

    pub(crate) fn push(&self, extra: &[&str]) -> crate::support::Run {
        let t = self.t();
        let mut args = vec!["push", "--target", &t, "--secrets", &self.admin, "--timeout", "10"];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        r
    }

    /// What the fake JIMS holds: path under `cwd/` → bytes.
    pub(crate) fn held(&self) -> BTreeMap<String, Vec<u8>> {
        tree(&self.received.join("cwd")).into_iter().filter(|(p, _)| !p.contains(".tmp")).collect()
    }

    fn state(&self, name: &str) -> PathBuf {
        self.target.join(".jims-import").join(name)
    }
}

fn sha256_colons(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The endpoints in the order a full push sends them (admin_clients left out).
const ORDER: [&str; 10] = [
    "templates",
    "event_log_reader",
    "user_directory",
    "pc_probe",
    "syslog",
    "srx_interface",
    "cso_interface",
    "cache",
    "clients_https",
    "clients_http",
];

fn puts(log: &[String]) -> Vec<String> {
    log.iter()
        .map(|l| l.strip_prefix("PUT /config/").unwrap_or(l).split(' ').next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_first_push_sends_every_section_but_admin_clients_in_order_with_plaintext_passwords() {
    let (s, server) = Setup::serving();
    let r = s.push(&["--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "pushed");
    assert_eq!(v["remote"], s.url());
    assert_eq!(v["version"], 1);
    let sections = v["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 10);
    assert!(sections.iter().all(|e| e["result"] == "sent" && e["http_status"] == 200));
    let endpoints: Vec<&str> = sections.iter().map(|e| e["endpoint"].as_str().unwrap()).collect();
    assert_eq!(endpoints, ORDER.map(|n| format!("/config/{n}")));
    assert_eq!(puts(&server.log()), ORDER);
    assert!(server.log().iter().all(|l| l.ends_with(" 200")));
    // Each body: the declaration first, no line breaks, plaintext passwords, no {aesgcm}.
    let held = s.held();
    assert_eq!(held.len(), 10);
    assert!(!held.contains_key("system/init/admin_whitelist_static.xml"));
    let known = fixture_passwords();
    let mut found = 0;
    for (path, bytes) in &held {
        assert!(bytes.starts_with(b"<?xml version=\"1.0\"?><"), "{path}");
        assert!(!bytes.contains(&b'\n') && !bytes.contains(&b'\r'), "{path}");
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("{aesgcm}"), "{path}");
        found += known.iter().filter(|p| text.contains(p.as_str())).count();
    }
    assert!(found > 40, "the passwords arrive in plaintext ({found})");
    let dc10 = String::from_utf8(held["config/event_log_reader.xml"].clone()).unwrap();
    assert!(dc10.contains("password=\"Fx-bf1a16a62eeec235\""), "DC10's own password");
    // Recorded: remote.json, no journal, one audit line.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.state("remote.json")).unwrap()).unwrap();
    assert_eq!(record["version"], 1);
    assert_eq!(record["files"].as_object().unwrap().len(), 10);
    assert!(!s.state("push.journal").exists());
    let audit = std::fs::read_to_string(s.state("audit.log")).unwrap();
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!((last["action"].as_str(), last["version"].as_u64()), (Some("push"), Some(1)));
    assert_eq!(last["remote"], s.url());
}

#[test]
fn a_second_push_sends_only_what_changed_and_then_nothing_without_connecting() {
    let (s, server) = Setup::serving();
    assert_eq!(s.push(&[]).code, 0);
    let before = s.held();
    // A partial import that changes something (the same values again would change nothing and
    // make no version).
    let partial = std::fs::read_to_string(fixture("exports/partial.xml")).unwrap();
    let edited = partial.replace("description=\"Forest 1\"", "description=\"Forest 1, moved\"");
    assert_ne!(edited, partial);
    let changed_export = s.target.with_file_name("changed.xml");
    std::fs::write(&changed_export, edited).unwrap();
    import(&s.target, &changed_export.display().to_string());
    let changed: Vec<String> = {
        let old: BTreeMap<String, Vec<u8>> =
            crate::support::archived_cwd(&s.target, 1).into_iter().collect();
        tree(&s.target.join("cwd"))
            .into_iter()
            .filter(|(p, b)| old.get(p) != Some(b))
            .map(|(p, _)| p)
            .collect()
    };
    assert!(!changed.is_empty());
    let r = s.push(&["--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    let files: Vec<String> = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(sorted, changed, "only the changed native files are sent");
    assert!(v["sections"].as_array().unwrap().iter().all(|e| e["plan"] == "changed"));
    assert_eq!(puts(&server.log()).len(), 10 + files.len());
    let after = s.held();
    for (path, bytes) in &after {
        let rel = path.as_str();
        if !changed.iter().any(|c| c == rel) {
            assert_eq!(Some(bytes), before.get(path), "{path} untouched");
        }
    }
    // Nothing changed: no connection at all, even with the server gone.
    server.stop();
    let r = s.push(&["--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["status"], "up-to-date");
    let r = s.push(&[]);
    assert!(r.stdout.contains("up to date"), "{}", r.stdout);
}

#[test]
fn a_dry_run_prints_the_order_and_plan_and_connects_nowhere() {
    let s = Setup::new();
    s.set_remote();
    // No server at all: a dry run never connects.
    let r = s.push(&["--dry-run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Dry run"), "{}", r.stdout);
    let first = r.stdout.find("/config/templates").unwrap();
    let second = r.stdout.find("/config/event_log_reader").unwrap();
    assert!(first < second, "templates first:\n{}", r.stdout);
    assert!(r.stdout.contains("never pushed"));
    let r = s.push(&["--dry-run", "--format", "json", "--include-admin-clients"]);
    let v = r.json();
    assert_eq!(v["status"], "dry-run");
    let sections = v["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 11);
    assert_eq!(sections.last().unwrap()["endpoint"], "/config/admin_whitelist_static");
    assert!(sections.iter().all(|e| e["result"] == "planned" && e["http_status"].is_null()));
    assert!(v["warnings"][0].as_str().unwrap().contains("restart"), "the whitelist warning: {v}");
    assert!(!s.received.exists());
    assert!(!s.state("push.journal").exists() && !s.state("remote.json").exists());
}

#[test]
fn a_wrong_pin_or_an_unknown_ca_sends_nothing() {
    let s = Setup::new();
    let server = s.start(|_| {});
    let other = "ab".repeat(32);
    let t = s.t();
    let r = remote_set(&t, &s.url(), "admin", &["--pin-sha256", &other]);
    assert_eq!(r.code, 0);
    let r = s.push(&["--format", "json"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "refused");
    assert!(v["message"].as_str().unwrap().contains("not the pinned"), "{v}");
    assert!(v["sections"].as_array().unwrap().iter().all(|e| e["result"] == "not-sent"));
    assert!(server.log().is_empty(), "nothing reached the server: {:?}", server.log());
    // A CA file whose CA did not sign the server's certificate.
    let ca = rcgen::generate_simple_self_signed(vec!["elsewhere".to_owned()]).unwrap();
    let ca_file = s.dir.path().join("other-ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let r = remote_set(&t, &s.url(), "admin", &["--ca-file", ca_file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = s.push(&[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("TLS") && r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert!(server.log().is_empty());
    assert!(!s.received.join("cwd").exists());
}

#[test]
fn a_ca_file_checks_the_chain_and_the_host_name() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let s = Setup::new();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let (cert, key, ca_file) =
        (s.dir.path().join("leaf.pem"), s.dir.path().join("leaf.key"), s.dir.path().join("ca.pem"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let server = s.start(|o| {
        o.cert = Some(cert.clone());
        o.key = Some(key.clone());
    });
    let t = s.t();
    let set = |host: &str| {
        remote_set(
            &t,
            &format!("https://{host}:{}", s.port),
            "admin",
            &["--ca-file", ca_file.to_str().unwrap()],
        )
    };
    // By name "localhost" the certificate (for 127.0.0.1 only) does not match: refused.
    assert_eq!(set("localhost").code, 0);
    let admin = s.dir.path().join("admin-localhost.json");
    std::fs::write(&admin, serde_json::json!({"account": {"admin": ADMIN_PW}}).to_string())
        .unwrap();
    let admin = format!("file:{}", admin.display());
    let r = run(&["push", "--target", &t, "--secrets", &admin]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(server.log().is_empty());
    assert_eq!(set("127.0.0.1").code, 0);
    let r = run(&["push", "--target", &t, "--secrets", &admin]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(server.log().len(), 10);
}

#[test]
fn a_wrong_administrator_password_stops_after_one_request() {
    let (s, server) = Setup::serving();
    let wrong = s.dir.path().join("wrong.json");
    std::fs::write(&wrong, r#"{"account": {"admin": "not-it"}}"#).unwrap();
    let t = s.t();
    let r = run(&["push", "--target", &t, "--secrets", &format!("file:{}", wrong.display())]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("refused the administrator's credentials"), "{}", r.stderr);
    assert!(!r.stderr.contains("not-it") && !r.stdout.contains("not-it"));
    assert_eq!(server.log(), ["PUT /config/templates 401"]);
    assert!(!s.received.join("cwd").exists());
    assert!(!s.state("remote.json").exists() && !s.state("push.journal").exists());
}

#[test]
fn a_missing_administrator_password_is_exit_3_with_its_row() {
    let (s, server) = Setup::serving();
    let t = s.t();
    let r = run(&["push", "--target", &t]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    let row = r.stdout.lines().find(|l| l.contains("Remote")).unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["1", "Remote", "admin", "127.0.0.1", "admin", "missing"], "{}", r.stdout);
    assert!(r.stderr.contains("remote/127.0.0.1") && r.stderr.contains("account/admin"));
    let r = run(&["push", "--target", &t, "--format", "json"]);
    assert_eq!(r.code, 3);
    let v = r.json();
    assert_eq!(v["status"], "missing-passwords");
    assert_eq!(v["missing"][0]["type"], "Remote");
    assert_eq!(v["missing"][0]["key"], "remote/127.0.0.1");
    assert!(server.log().is_empty());
}

/// Pushes version 1 everywhere, imports the partial export (version 2), then fails the
/// `--all` push at position `k` with `spoil`; returns the run.
fn fail_at(s: &Setup, spoil: impl FnOnce(&mut fake_jims::Options)) -> crate::support::Run {
    let server = s.start(spoil);
    let r = s.push(&["--all", "--format", "json"]);
    server.stop();
    r
}

#[test]
fn a_failure_at_any_position_puts_back_what_was_sent_byte_for_byte() {
    let s = Setup::new();
    {
        let _server = s.start(|_| {});
        s.set_remote();
        assert_eq!(s.push(&[]).code, 0);
    }
    import(&s.target, "exports/partial.xml");
    let before = s.held();
    let record = std::fs::read(s.state("remote.json")).unwrap();
    for k in 1..=10u64 {
        for drop in [false, true] {
            let r = fail_at(&s, |o| {
                if drop {
                    o.drop_after = Some(k - 1);
                } else {
                    o.fail_after = Some(k - 1);
                }
            });
            let what = format!("k={k} drop={drop}: {}{}", r.stdout, r.stderr);
            let v = r.json();
            assert_eq!(r.code, 1, "{what}");
            assert_eq!(v["status"], if k == 1 { "failed" } else { "restored" }, "{what}");
            let results: Vec<&str> = v["sections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["result"].as_str().unwrap())
                .collect();
            let k = k as usize;
            assert!(results[..k - 1].iter().all(|r| *r == "restored"), "{what}");
            assert_eq!(results[k - 1], "failed", "{what}");
            assert!(results[k..].iter().all(|r| *r == "not-sent"), "{what}");
            assert_eq!(s.held(), before, "{what}: put back byte for byte");
            assert_eq!(std::fs::read(s.state("remote.json")).unwrap(), record);
            assert!(!s.state("push.journal").exists());
            if !drop && k > 1 {
                // The 500 answer quotes the body sent: shown, with its passwords hidden.
                let message = v["message"].as_str().unwrap();
                assert!(message.contains("HTTP/1.1 500"), "{message}");
                for pw in fixture_passwords() {
                    assert!(!message.contains(&pw), "{what}");
                }
            }
        }
    }
    // Then it goes through.
    let _server = s.start(|_| {});
    assert_eq!(s.push(&[]).code, 0);
}

#[test]
fn a_put_back_that_fails_too_is_exit_7_naming_what_holds_what() {
    let s = Setup::new();
    {
        let _server = s.start(|_| {});
        s.set_remote();
        assert_eq!(s.push(&[]).code, 0);
    }
    import(&s.target, "exports/partial.xml");
    // Request 4 fails, and so does everything after it: the three put-backs too.
    let r = fail_at(&s, |o| {
        o.fail_after = Some(3);
        o.fail_times = 100;
    });
    assert_eq!(r.code, 7, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "mixed");
    let results: Vec<&str> =
        v["sections"].as_array().unwrap().iter().map(|e| e["result"].as_str().unwrap()).collect();
    assert_eq!(&results[..4], ["not-restored", "not-restored", "not-restored", "failed"]);
    assert!(results[4..].iter().all(|r| *r == "not-sent"));
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains(
            "new content in config/templates.xml, config/event_log_reader.xml, \
                          config/user_directory.xml"
        ),
        "{message}"
    );
    assert!(message.contains("the old in config/syslog.xml"), "{message}");
    // Text output says the same, on stderr, with exit 7.
    let r = fail_at(&s, |o| {
        o.fail_after = Some(3);
        o.fail_times = 100;
    });
    let r2 = {
        let server = s.start(|o| {
            o.fail_after = Some(1);
            o.fail_times = 100;
        });
        let r = s.push(&["--all"]);
        server.stop();
        r
    };
    assert_eq!((r.code, r2.code), (7, 7));
    assert!(r2.stderr.contains("holds a mix"), "{}", r2.stderr);
    // A first push that fails after its first section cannot put anything back: mixed.
    let fresh = Setup::new();
    let server = fresh.start(|o| o.fail_after = Some(1));
    fresh.set_remote();
    let r = fresh.push(&["--format", "json"]);
    assert_eq!(r.code, 7, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["sections"][0]["result"], "not-restored");
    assert!(r.json()["sections"][0]["note"].as_str().unwrap().contains("never pushed"));
    assert_eq!(server.log().len(), 2);
}

#[test]
fn a_push_killed_after_any_request_then_pushed_again_converges() {
    let s = Setup::new();
    s.set_remote();
    // What a clean push of this version leaves on a server.
    let clean = Setup::new();
    let expected = {
        let server = clean.start(|_| {});
        let r = clean.remote_set(&[]);
        assert_eq!(r.code, 0);
        assert_eq!(clean.push(&[]).code, 0);
        server.stop();
        clean.held()
    };
    let t = s.t();
    for k in [1usize, 4, 9] {
        let server = s.start(|o| o.delay = Duration::from_millis(300));
        let mut child = cmd()
            .args(["push", "--target", &t, "--secrets", &s.admin, "--all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.log().len() < k {
            assert!(Instant::now() < deadline, "k={k}: {:?}", server.log());
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        server.stop();
        assert!(s.state("push.journal").exists(), "k={k}: the journal stays");
        let server = s.start(|_| {});
        let r = s.push(&["--format", "json"]);
        assert_eq!(r.code, 0, "k={k}: {}{}", r.stdout, r.stderr);
        let v = r.json();
        assert_eq!(v["interrupted"], true);
        assert_eq!(v["sections"].as_array().unwrap().len(), 10, "k={k}: every section again");
        assert!(r.stderr.is_empty() || !r.stderr.contains("panicked"));
        assert_eq!(server.log().len(), 10);
        assert!(!s.state("push.journal").exists());
        server.stop();
        assert_eq!(s.held(), expected, "k={k}: the server converged");
    }
}

#[test]
fn a_push_or_an_import_while_a_push_runs_is_busy() {
    let s = Setup::new();
    let server = s.start(|o| o.delay = Duration::from_millis(400));
    s.set_remote();
    let t = s.t();
    let mut child = cmd()
        .args(["push", "--target", &t, "--secrets", &s.admin])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s.state("push.journal").exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = s.push(&["--format", "json"]);
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["status"], "busy");
    let r = import_into("exports/partial.xml", &s.target, &["--secrets", &full_secrets()]);
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    let r = run(&["remote", "unset", "--target", &t]);
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    assert!(child.wait().unwrap().success());
    assert_eq!(server.log().len(), 10);
}

#[test]
fn a_404_names_the_endpoint_and_how_to_map_or_skip_it() {
    let s = Setup::new();
    let server = s.start(|_| {});
    let r = s.remote_set(&["--endpoint", "templates=jims_templates"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = s.push(&[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("/config/jims_templates"), "{}", r.stderr);
    assert!(r.stderr.contains("--endpoint templates=NAME"), "{}", r.stderr);
    assert!(r.stderr.contains("--endpoint templates=-"), "{}", r.stderr);
    assert_eq!(server.log(), ["PUT /config/jims_templates 404"]);
    // Skipped: never sent.
    let r = s.remote_set(&["--endpoint", "templates=-", "--endpoint", "clients_http=-"]);
    assert_eq!(r.code, 0);
    let r = s.push(&["--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["sections"].as_array().unwrap().len(), 8);
    let r = s.push(&["--sections", "templates"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("never sent"), "{}", r.stderr);
}

#[test]
fn sections_and_all_choose_what_is_sent() {
    let (s, server) = Setup::serving();
    let r = s.push(&["--sections", "session,transports", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(puts(&server.log()), ["cache", "clients_https", "clients_http"]);
    assert_eq!(s.push(&[]).code, 0);
    assert_eq!(server.log().len(), 10, "the other seven, never pushed");
    let r = s.push(&["--all", "--format", "json"]);
    assert_eq!(r.code, 0);
    assert!(r.json()["sections"].as_array().unwrap().iter().all(|e| e["plan"] == "unchanged"));
    assert_eq!(server.log().len(), 20);
    for (args, needle) in [
        (vec!["--sections", "nope"], "nope"),
        (vec!["--sections", "admin_clients"], "--include-admin-clients"),
        (vec!["--all", "--sections", "session"], "cannot be used with"),
    ] {
        let r = s.push(&args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    }
    let t = s.t();
    let r = run(&["push", "--target", &t, "--secrets", &s.admin, "--timeout", "0"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("above 0"), "{}", r.stderr);
    let r = s.push(&["--sections", "admin_clients", "--include-admin-clients"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.received.join("cwd/system/init/admin_whitelist_static.xml").exists());
    assert!(r.stderr.contains("restart"), "{}", r.stderr);
}

#[test]
fn a_sealed_value_that_does_not_open_sends_nothing() {
    let (s, server) = Setup::serving();
    let file = s.target.join("cwd/config/event_log_reader.xml");
    let text = std::fs::read_to_string(&file).unwrap();
    let at = text.find("{aesgcm} 1,").unwrap() + "{aesgcm} 1,".len() + 20;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    std::fs::write(&file, bytes).unwrap();
    let r = s.push(&["--format", "json"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "invalid");
    assert!(v["error"].as_str().unwrap().contains("nothing was sent"), "{v}");
    assert!(server.log().is_empty());
}

#[test]
fn remote_set_show_unset_keep_or_drop_the_last_push() {
    let s = Setup::new();
    let server = s.start(|_| {});
    let t = s.t();
    // The port defaults to 1505.
    let r = remote_set(
        &t,
        "https://jims.example",
        "admin",
        &["--pin-sha256", &s.pin, "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["remote"]["url"], "https://jims.example:1505");
    assert!(!r.stdout.contains(ADMIN_PW));
    s.set_remote();
    assert_eq!(s.push(&[]).code, 0);
    // Same URL, another pin spelled without colons: the record stays.
    let r = remote_set(
        &t,
        &format!("{}/", s.url()),
        "admin",
        &["--pin-sha256", &s.pin.replace(':', "").to_lowercase()],
    );
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("record of the last push is kept"), "{}", r.stdout);
    let r = run(&["remote", "show", "--target", &t, "--format", "json"]);
    let v = r.json();
    assert_eq!(v["remote"]["url"], s.url());
    assert_eq!(v["last_push"]["version"], 1);
    assert_eq!(v["interrupted"], false);
    let text = run(&["remote", "show", "--target", &t]).stdout;
    assert!(text.contains("Last push: version 1"), "{text}");
    assert_eq!(s.push(&["--format", "json"]).json()["status"], "up-to-date");
    // A new URL: a new server, no record.
    let r = remote_set(&t, "https://localhost:1", "admin", &["--pin-sha256", &s.pin]);
    assert!(r.stdout.contains("next push sends every section"), "{}", r.stdout);
    assert!(
        run(&["remote", "show", "--target", &t, "--format", "json"]).json()["last_push"].is_null()
    );
    assert!(
        !s.state("remote.toml").exists() || {
            let toml = std::fs::read_to_string(s.state("remote.toml")).unwrap();
            !toml.contains(ADMIN_PW) && toml.contains("localhost")
        }
    );
    assert_eq!(run(&["remote", "unset", "--target", &t]).code, 0);
    assert!(!s.state("remote.toml").exists() && !s.state("remote.json").exists());
    let r = run(&["remote", "show", "--target", &t]);
    assert!(r.stdout.contains("has no remote"), "{}", r.stdout);
    let r = s.push(&[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("remote set"), "{}", r.stderr);
    drop(server);
}

#[test]
fn remote_set_refuses_every_bad_input_with_exit_2() {
    let s = Setup::new();
    let t = s.t();
    let pin = s.pin.clone();
    let missing_ca = s.dir.path().join("none.pem").display().to_string();
    let not_pem = s.dir.path().join("admin.json").display().to_string();
    let nowhere = s.dir.path().join("nowhere").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--url", "http://h", "--user", "a", "--pin-sha256", &pin], "HTTPS only"),
        (vec!["--url", "h:1505", "--user", "a", "--pin-sha256", &pin], "not a URL"),
        (vec!["--url", "https://h:99999", "--user", "a", "--pin-sha256", &pin], "port"),
        (vec!["--url", "https://u@h", "--user", "a", "--pin-sha256", &pin], "--user"),
        (vec!["--url", "https://h/x", "--user", "a", "--pin-sha256", &pin], "path"),
        (vec!["--url", "https://h", "--user", "a", "--pin-sha256", "abcd"], "64 hex digits"),
        (vec!["--url", "https://h", "--user", "a"], "--pin-sha256"),
        (
            vec!["--url", "https://h", "--user", "a", "--pin-sha256", &pin, "--ca-file", "x"],
            "cannot be used with",
        ),
        (vec!["--url", "https://h", "--user", "a", "--ca-file", &missing_ca], "could not read"),
        (vec!["--url", "https://h", "--user", "a", "--ca-file", &not_pem], "no certificate"),
        (vec!["--url", "https://h", "--user", "a:b", "--pin-sha256", &pin], "':'"),
        (
            vec!["--url", "https://h", "--user", "a", "--pin-sha256", &pin, "--endpoint", "x=y"],
            "neither a section",
        ),
        (
            vec!["--url", "https://h", "--user", "a", "--pin-sha256", &pin, "--endpoint", "cache"],
            "SECTION=NAME",
        ),
        (
            vec![
                "--url",
                "https://h",
                "--user",
                "a",
                "--pin-sha256",
                &pin,
                "--endpoint",
                "cache=../x",
            ],
            "not an endpoint name",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["remote", "set", "--target", &t];
        all.extend(args.iter().copied());
        let r = run(&all);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    }
    assert!(!s.state("remote.toml").exists());
    // Not a managed folder.
    let r = remote_set(&nowhere, "https://h", "a", &["--pin-sha256", &pin]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&["push", "--target", &nowhere]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn remote_fingerprint_shows_the_certificate_without_trusting_or_sending() {
    let s = Setup::new();
    let server = s.start(|_| {});
    let r = run(&["remote", "fingerprint", &s.url()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&s.pin), "{}", r.stdout);
    assert!(r.stdout.contains("Valid:"), "{}", r.stdout);
    let block: Vec<&str> = r.stdout.lines().take(5).collect();
    assert!(block[4].starts_with("Names:"), "{}", r.stdout);
    crate::support::assert_aligned(&block);
    let v = run(&["remote", "fingerprint", &s.url(), "--format", "json"]).json();
    assert_eq!(v["sha256"], s.pin.as_str());
    assert_eq!(v["names"][0], "127.0.0.1");
    assert!(server.log().is_empty(), "nothing sent");
    server.stop();
    let r = run(&["remote", "fingerprint", &s.url(), "--timeout", "5"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("could not connect"), "{}", r.stderr);
    let r = run(&["remote", "fingerprint", "http://127.0.0.1"]);
    assert_eq!(r.code, 2);
}

#[test]
fn a_batch_pushes_every_target_it_imports_and_one_server_down_stops_no_other() {
    let s = Setup::new();
    let exports = s.dir.path().join("exports");
    let targets = s.dir.path().join("targets");
    std::fs::create_dir(&exports).unwrap();
    for name in ["up1", "up2", "down", "noremote"] {
        std::fs::copy(fixture("exports/full.xml"), exports.join(format!("{name}.xml"))).unwrap();
    }
    let secrets = full_secrets();
    let (e, t) = (exports.display().to_string(), targets.display().to_string());
    let batch = |extra: &[&str]| {
        let mut args = vec![
            "batch",
            "--exports",
            &e,
            "--targets",
            &t,
            "--secrets",
            &secrets,
            "--secrets",
            &s.admin,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    assert_eq!(batch(&[]).code, 0);
    // Two servers up, one down (nothing listens on its port), one target without a remote.
    let up = s.start(|_| {});
    let other = Setup::new();
    let up2 = {
        let mut o = s.options();
        o.dir = s.dir.path().join("jims2");
        o.port = other.port;
        fake_jims::start(&o).unwrap()
    };
    let down_port = free_port();
    for (name, port) in [("up1", s.port), ("up2", other.port), ("down", down_port)] {
        let target = targets.join(name).display().to_string();
        let r = remote_set(
            &target,
            &format!("https://127.0.0.1:{port}"),
            "admin",
            &["--pin-sha256", &s.pin],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let report = s.dir.path().join("report.json");
    let r = batch(&["--push", "--push-jobs", "2", "--report", report.to_str().unwrap()]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Pushes: 2 pushed or up to date, 2 failed"), "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let by_name = |name: &str| {
        v["imports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["target"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    for name in ["up1", "up2"] {
        let entry = by_name(name);
        // The same export again changes nothing; the target is pushed all the same.
        assert_eq!(entry["status"], "unchanged");
        assert_eq!(entry["push"]["status"], "pushed", "{entry}");
        assert_eq!(entry["push"]["exit_code"], 0);
        assert_eq!(entry["push"]["sections"].as_array().unwrap().len(), 10);
        assert!(entry["push"]["seconds"].as_f64().is_some());
    }
    assert_eq!(up.log().len(), 10);
    assert_eq!(up2.log().len(), 10);
    let down = by_name("down");
    assert_eq!(
        (down["push"]["status"].as_str(), down["push"]["exit_code"].as_u64()),
        (Some("failed"), Some(1))
    );
    assert!(down["push"]["error"].as_str().unwrap().contains("could not connect"), "{down}");
    let none = by_name("noremote");
    assert_eq!(none["status"], "unchanged");
    assert_eq!(
        (none["push"]["status"].as_str(), none["push"]["exit_code"].as_u64()),
        (Some("invalid"), Some(2))
    );
    assert!(none["push"]["error"].as_str().unwrap().contains("no remote"));
    assert_eq!(v["totals"]["push"]["failed"], 2);
    let r = batch(&["--push-jobs", "2"]);
    assert_eq!(r.code, 2, "--push-jobs needs --push");
}

#[test]
fn a_request_that_takes_longer_than_the_timeout_fails_the_push() {
    let s = Setup::new();
    let server = s.start(|o| o.delay = Duration::from_millis(2000));
    s.set_remote();
    let t = s.t();
    let started = Instant::now();
    let r = run(&["push", "--target", &t, "--secrets", &s.admin, "--timeout", "0.3"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
    assert!(r.stderr.contains("Nothing else was sent"), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(2), "it did not wait for the answer");
    drop(server);
}

/// Runs `jimsctl ARGS` aborting at its `n`-th filesystem step (the store's fault hook).
fn run_aborting_at(n: usize, args: &[&str]) -> crate::support::Run {
    let out = cmd()
        .current_dir(crate::support::fixtures())
        .env("JIMSCTL_FAULT_STEP", n.to_string())
        .args(args)
        .output()
        .unwrap();
    crate::support::Run::of(out)
}

#[test]
fn remote_set_aborted_at_any_step_leaves_the_old_remote_or_the_new_one() {
    let (s, server) = Setup::serving();
    assert_eq!(s.push(&[]).code, 0);
    let t = s.t();
    let new_url = "https://localhost:9";
    let mut n = 1;
    loop {
        let r =
            run_aborting_at(n, &remote_set_args(&t, new_url, "admin", &["--pin-sha256", &s.pin]));
        let v = run(&["remote", "show", "--target", &t, "--format", "json"]).json();
        let url = v["remote"]["url"].as_str().unwrap().to_owned();
        assert!(url == s.url() || url == new_url, "step {n}: {v}");
        if url != s.url() {
            assert!(v["last_push"].is_null(), "step {n}: a new server has no record: {v}");
        }
        if r.code == 0 {
            assert_eq!(url, new_url);
            break;
        }
        assert!(r.stderr.contains("fault-injection"), "step {n}: {}", r.stderr);
        // Back to the first remote and its record, for the next step.
        s.set_remote();
        if run(&["remote", "show", "--target", &t, "--format", "json"]).json()["last_push"]
            .is_null()
        {
            assert_eq!(s.push(&["--all"]).code, 0);
        }
        n += 1;
        assert!(n < 40, "remote set never completed");
    }
    assert!(n > 3, "remote set took {n} steps");
    drop(server);
}

#[test]
fn a_push_aborted_at_any_step_of_its_records_converges_on_the_next() {
    let (s, server) = Setup::serving();
    let t = s.t();
    let mut n = 1;
    loop {
        let r = run_aborting_at(n, &["push", "--target", &t, "--secrets", &s.admin, "--all"]);
        let done = r.code == 0;
        if !done {
            assert!(r.stderr.contains("fault-injection"), "step {n}: {}{}", r.stdout, r.stderr);
        }
        // Whatever the step, the next push succeeds and leaves no journal behind.
        let again = s.push(&["--format", "json"]);
        assert_eq!(again.code, 0, "step {n}: {}{}", again.stdout, again.stderr);
        let v = again.json();
        if s.state("push.journal").exists() {
            panic!("step {n}: the journal stayed");
        }
        if !done && v["interrupted"] == true {
            assert_eq!(v["sections"].as_array().unwrap().len(), 10, "step {n}");
        }
        if done {
            break;
        }
        n += 1;
        assert!(n < 40, "push never completed");
    }
    assert!(n > 4, "push took {n} steps");
    let audit = std::fs::read_to_string(s.state("audit.log")).unwrap();
    for line in audit.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("whole audit lines");
    }
    drop(server);
}

/// Replaces the password of the item `id` in the folder's native file `rel`.
fn set_password(target: &Path, rel: &str, id: &str, value: &str) {
    let path = target.join("cwd").join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let item = text.find(&format!("id=\"{id}\"")).unwrap();
    let start = item + text[item..].find("password=\"").unwrap() + "password=\"".len();
    let end = start + text[start..].find('"').unwrap();
    std::fs::write(&path, format!("{}{value}{}", &text[..start], &text[end..])).unwrap();
}

#[test]
fn plaintext_goes_as_it_is_and_machine_bound_values_unchanged_with_a_warning() {
    let (s, server) = Setup::serving();
    set_password(&s.target, "config/pc_probe.xml", "P2", "{fsw} 1,4394f44695021004");
    set_password(&s.target, "config/templates.xml", "probe-admins", "Hand-Plain-77");
    let r = s.push(&["--sections", "pc_probes,templates"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("pc_probes/P2 password ({fsw})"), "{}", r.stderr);
    assert!(r.stderr.contains("only that machine"), "{}", r.stderr);
    assert!(r.stdout.contains("1 plaintext, 1 machine-bound"), "{}", r.stdout);
    let body = String::from_utf8(s.held()["config/pc_probe.xml"].clone()).unwrap();
    assert!(body.contains("password=\"{fsw} 1,4394f44695021004\""), "{body}");
    let templates = String::from_utf8(s.held()["config/templates.xml"].clone()).unwrap();
    assert!(templates.contains("password=\"Hand-Plain-77\""), "{templates}");
    assert!(!body.contains("{aesgcm}") && !templates.contains("{aesgcm}"));
    let v = s.push(&["--sections", "pc_probes,templates", "--format", "json"]).json();
    assert_eq!(
        (v["passwords"]["plaintext"].as_u64(), v["passwords"]["machine_bound"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(server.log().len(), 4);
}

#[test]
fn a_password_left_to_a_template_is_counted_apart_from_an_empty_one() {
    let (s, _server) = Setup::serving();
    // The fixture's 48 items that name a template leave their password to it (P1 among them);
    // P2 has none of its own and no template: the one empty password.
    set_password(&s.target, "config/pc_probe.xml", "P2", "");
    let v = s.push(&["--format", "json"]).json();
    assert_eq!(v["exit_code"], 0, "{v}");
    assert_eq!(
        (v["passwords"]["from_template"].as_u64(), v["passwords"]["missing"].as_u64()),
        (Some(48), Some(1))
    );
    let r = s.push(&["--sections", "pc_probes"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(", 1 from a template, 1 empty."), "{}", r.stdout);
}

#[test]
fn export_plain_opens_passwords_through_the_same_door_and_refuses_an_altered_one() {
    let s = Setup::new();
    let t = s.t();
    let out = s.dir.path().join("plain.xml").display().to_string();
    let r = run(&["export", "--target", &t, "--out", &out, "--passwords", "plain"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("Fx-bf1a16a62eeec235") && !text.contains("{aesgcm}"));
    let file = s.target.join("cwd/config/event_log_reader.xml");
    let original = std::fs::read_to_string(&file).unwrap();
    let at = original.find("{aesgcm} 1,").unwrap() + "{aesgcm} 1,".len() + 20;
    let mut bytes = original.into_bytes();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    std::fs::write(&file, bytes).unwrap();
    let out2 = s.dir.path().join("plain2.xml").display().to_string();
    let r = run(&["export", "--target", &t, "--out", &out2, "--passwords", "plain"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("event_sources/") && r.stderr.contains("does not open"),
        "{}",
        r.stderr
    );
    assert!(!Path::new(&out2).exists());
}

#[test]
fn hostile_names_reach_no_terminal_raw() {
    let s = Setup::new();
    let hostile = s.dir.path().join("ev\x1b[2Jil\x07\u{9b}1m\u{202e}x");
    std::fs::rename(&s.target, &hostile).unwrap();
    let ca = s.dir.path().join("ca\x1b]0;owned\x07.pem");
    std::fs::write(&ca, rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap().cert.pem())
        .unwrap();
    let t = hostile.display().to_string();
    let mut runs = vec![
        remote_set(&t, "https://h", "a", &["--ca-file", ca.to_str().unwrap()]),
        run(&["remote", "show", "--target", &t]),
        run(&["remote", "show", "--target", &t, "--format", "json"]),
        run(&["push", "--target", &t]),
        run(&["push", "--target", &t, "--format", "json"]),
        remote_set(&t, "https://h\x1b[2J", "a", &["--pin-sha256", &s.pin]),
        remote_set(&t, "https://h", "a\x1b", &["--pin-sha256", &s.pin]),
        remote_set(&t, "https://h", "a", &["--pin-sha256", "\x1b[2J"]),
        remote_set(&t, "https://h", "a", &["--pin-sha256", &s.pin, "--endpoint", "cache=\x1b"]),
    ];
    runs.push(run(&["remote", "unset", "--target", &t]));
    for r in &runs {
        crate::escapes::assert_clean("remote, push (stdout)", &r.stdout);
        crate::escapes::assert_clean("remote, push (stderr)", &r.stderr);
        assert_ne!(r.code, 101, "{}", r.stderr);
    }
    assert_eq!(runs[0].code, 0, "{}", runs[0].stderr);
    assert_eq!(runs[3].code, 3);
}
