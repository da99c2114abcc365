//! The KeePass plugin on databases made by the real `keepassxc-cli` (see
//! `fixtures/make-fixture.sh`), linked directly: opening, paths, precedence, errors.

use std::path::{Path, PathBuf};

use keepass_plugin::KeePass;
use plugin_api::abi::status;
use plugin_api::{Plugin, Request};

const MASTER: &str = "jimsctl fixture master password";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn jims() -> KeePass {
    KeePass::open(&fixture("jims.kdbx"), Some(MASTER), None).expect("the fixture opens")
}

fn request(keys: &[&str]) -> Request {
    let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    Request::from_json(&format!(r#"{{"keys":[{}],"index":1}}"#, keys.join(","))).unwrap()
}

fn answer(db: &KeePass, keys: &[&str]) -> Option<String> {
    db.resolve(&request(keys))
        .expect("no error")
        .map(|p| String::from_utf8(p.as_bytes().to_vec()).unwrap())
}

#[test]
fn the_fixture_is_kdbx_4() {
    for name in ["jims.kdbx", "jims-keyfile.kdbx"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        assert_eq!(&bytes[..4], &[0x03, 0xd9, 0xa2, 0x9a], "{name}: KeePass signature");
        assert_eq!(&bytes[8..12], &[0, 0, 4, 0], "{name}: KDBX 4.0");
    }
}

#[test]
fn entries_answer_their_path() {
    let db = jims();
    assert_eq!(answer(&db, &["event_sources/DC1"]).as_deref(), Some("Kp-dc1-3f9a61c2"));
    assert_eq!(
        answer(&db, &["account/CORP\\JIMS-ADRemoteAccess"]).as_deref(),
        Some("Kp-corp-adremote-0e6d2b94")
    );
    assert_eq!(answer(&db, &["srx_clients/SRX1/oauth"]).as_deref(), Some("Kp-srx1-oauth-a8d4f215"));
    // The root group is not part of a path; unknown keys and titles alone are not found.
    assert_eq!(answer(&db, &["Root/event_sources/DC1"]), None);
    assert_eq!(answer(&db, &["DC1"]), None);
    assert_eq!(answer(&db, &["event_sources/DC2"]), None);
    assert_eq!(db.len(), 11);
}

#[test]
fn the_most_specific_key_wins() {
    let db = jims();
    // The template's own entry beats the account's.
    assert_eq!(
        answer(&db, &["templates/dc-readers", "account/CORP\\JIMS-EventLogReader"]).as_deref(),
        Some("Kp-dcreaders-51c4a9e7")
    );
    // No entry for the template: the account answers.
    assert_eq!(
        answer(&db, &["templates/exchange-readers", "account/CORP\\JIMS-EventLogReader"])
            .as_deref(),
        Some("Kp-corp-eventlog-c7a1f350")
    );
    // An empty password is no answer: the next key is tried.
    assert_eq!(
        answer(&db, &["event_sources/EMPTY", "account/CORP\\JIMS-PCProbe"]).as_deref(),
        Some("Kp-corp-pcprobe-9d02e6b8")
    );
    assert_eq!(answer(&db, &["event_sources/EMPTY"]), None);
}

#[test]
fn two_entries_with_one_path_are_an_error() {
    let e = jims().resolve(&request(&["dupes/twin"])).unwrap_err();
    assert_eq!(e.status(), status::INVALID_CONFIG);
    assert!(e.message().contains("2 entries") && e.message().contains("`dupes/twin`"), "{e}");
    assert!(!e.message().contains("Kp-twin"), "{e}");
}

#[test]
fn a_key_file_alone_opens_its_database() {
    let db = KeePass::open(&fixture("jims-keyfile.kdbx"), None, Some(&fixture("jims.keyx")))
        .expect("the key file opens it");
    assert_eq!(answer(&db, &["event_sources/DC1"]).as_deref(), Some("Kp-keyfile-dc1-e5b7c930"));
}

#[test]
fn wrong_keys_and_bad_files_are_config_errors_that_say_which() {
    let cases: Vec<(Result<KeePass, plugin_api::PluginError>, &str)> = vec![
        (
            KeePass::open(&fixture("jims.kdbx"), Some("not the master password"), None),
            "wrong master password: the master password (JIMSCTL_KEEPASS_PASSWORD) does not open \
             the KeePass database",
        ),
        (
            KeePass::open(&fixture("jims-keyfile.kdbx"), Some(MASTER), None),
            "does not open the KeePass database",
        ),
        (KeePass::open(&fixture("missing.kdbx"), Some(MASTER), None), "no such file"),
        (
            KeePass::open(&fixture("make-fixture.sh"), Some(MASTER), None),
            "is not a KeePass database that can be read (KDBX 3.1 or 4)",
        ),
        (KeePass::open(&fixture("jims.kdbx"), None, None), "set JIMSCTL_KEEPASS_PASSWORD"),
        (
            KeePass::open(&fixture("jims.kdbx"), None, Some(&fixture("no.keyx"))),
            "cannot read the key file",
        ),
    ];
    for (result, expected) in cases {
        let e = result.unwrap_err();
        assert_eq!(e.status(), status::INVALID_CONFIG, "{e}");
        assert!(e.message().contains(expected), "{e}\nexpected: {expected}");
        assert!(!e.message().contains(MASTER), "{e}");
    }
}

#[test]
fn kdbx_3_1_as_keepassxc_cli_writes_it_is_read() {
    let bytes = std::fs::read(fixture("jims-kdbx3.kdbx")).unwrap();
    assert_eq!(&bytes[..4], &[0x03, 0xd9, 0xa2, 0x9a], "KeePass signature");
    assert_eq!(&bytes[8..12], &[1, 0, 3, 0], "KDBX 3.1");
    let db = KeePass::open(&fixture("jims-kdbx3.kdbx"), Some(MASTER), None).expect("opens");
    assert_eq!(answer(&db, &["templates/dc-readers"]).as_deref(), Some("Kp-dcreaders-51c4a9e7"));
    assert_eq!(
        answer(&db, &["user_directories/nope", "account/CORP\\JIMS-ADRemoteAccess"]).as_deref(),
        Some("Kp-corp-adremote-0e6d2b94")
    );
}

#[test]
fn a_wrong_master_password_says_so_in_kdbx_3_1_and_4() {
    for name in ["jims-kdbx3.kdbx", "jims.kdbx"] {
        for wrong in ["not the master password", "", "jimsctl fixture master passwor"] {
            let e = KeePass::open(&fixture(name), Some(wrong), None).unwrap_err();
            assert_eq!(e.status(), status::INVALID_CONFIG, "{name}: {e}");
            assert!(e.message().starts_with("wrong master password: "), "{name}: {e}");
            assert!(!e.message().contains("Padding"), "{name}: {e}");
            assert!(!e.message().contains("not a KeePass database"), "{name}: {e}");
        }
    }
}

#[test]
fn create_needs_a_path() {
    for config in [None, Some(""), Some("  ")] {
        let e = KeePass::create(config).unwrap_err();
        assert!(e.message().contains("plugin:keepass:PATH"), "{e}");
    }
}
