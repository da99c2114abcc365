//! Adopting a JIMS folder: plaintext passwords are sealed, everything else is kept.

use std::fs;

use model::{SecretState, SectionId};
use store::{ErrorKind, Target};

use crate::{all_files, ino, scratch};

const EVENT_LOG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<event_sources>
  <event_source id="DC1" description="first">
    <domain_controller server="10.0.0.5" username="CORP\svc" password="hunter2" initial_timespan="24"/>
  </event_source>
  <event_source id="DC2" description="second">
    <domain_controller server="10.0.0.6" username="CORP\svc" password="{capi} 1,01000000d08c"/>
  </event_source>
</event_sources>
"#;

const SRX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SRXes>
  <SRX id="SRX1" description="edge" address="10.0.1.1" ipv6_reports="false">
    <oAuth id="srx-edge" token_lifetime="28800"><password fswSpi1="s3cr3t-oauth"/></oAuth>
    <query cert_hash="" response_timeout_ms="2500"/>
  </SRX>
</SRXes>
"#;

const CACHE: &str = "<cache>\n  <!-- by hand -->\n  <config probe_timeout=\"60\"/>\n</cache>\n";

/// A JIMS folder as an installation leaves it: some native files, one transports file, and
/// other files.
pub(crate) fn jims_folder(dir: &std::path::Path) {
    let cwd = dir.join("cwd");
    fs::create_dir_all(cwd.join("config")).unwrap();
    fs::write(cwd.join("config/event_log_reader.xml"), EVENT_LOG).unwrap();
    fs::write(cwd.join("config/srx_interface.xml"), SRX).unwrap();
    fs::write(cwd.join("config/cache.xml"), CACHE).unwrap();
    fs::write(cwd.join("config/clients_https.xml"), "<xports/>\n").unwrap();
    fs::create_dir_all(cwd.join("bin")).unwrap();
    fs::write(cwd.join("bin/resetConfig.cmd"), "@echo off\r\n").unwrap();
}

#[test]
fn adopt_seals_plaintext_and_keeps_everything_else() {
    let (_t, dir) = scratch("jims");
    jims_folder(&dir);
    let cwd = dir.join("cwd");
    let cache_ino = ino(&cwd.join("config/cache.xml"));
    let cmd_ino = ino(&cwd.join("bin/resetConfig.cmd"));
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::NotManaged);

    let report = store::adopt(&dir, Some("jims-hq-01")).unwrap();
    assert_eq!(report.sealed, 2);
    assert_eq!(report.server_id, "jims-hq-01");

    // No plaintext anywhere in the folder, history and audit log included.
    for (path, bytes) in all_files(&dir) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hunter2") && !text.contains("s3cr3t-oauth"), "{}", path.display());
    }
    assert_eq!(ino(&cwd.join("config/cache.xml")), cache_ino, "a file without secrets is kept");
    assert_eq!(fs::read_to_string(cwd.join("config/cache.xml")).unwrap(), CACHE);
    assert_eq!(ino(&cwd.join("bin/resetConfig.cmd")), cmd_ino);
    // Missing native files are added, so the folder holds a full configuration.
    assert!(cwd.join("config/clients_http.xml").is_file());
    assert!(cwd.join("system/init/admin_whitelist_static.xml").is_file());

    let t = Target::open(&dir).unwrap();
    assert_eq!(t.key_id(), &report.key_id);
    assert_eq!(t.version(), 0);
    assert!(t.configuration().is_full());
    let fields = t.configuration().secret_fields();
    let mut opened = Vec::new();
    for f in &fields {
        let value = t.configuration().secret_value(&f.location);
        match SecretState::classify(value) {
            SecretState::Sealed { key_id } => {
                assert_eq!(key_id, Some(report.key_id.as_str()));
                let pw = t.open_sealed(value, f.binding().as_bytes()).unwrap();
                opened.push((f.item_id.clone(), pw.expose_str().unwrap().to_owned()));
            }
            SecretState::Capi => assert_eq!(f.item_id, "DC2"),
            other => panic!("unexpected state {other:?} for {}", f.item_id),
        }
    }
    assert_eq!(
        opened,
        [("DC1".to_owned(), "hunter2".to_owned()), ("SRX1".to_owned(), "s3cr3t-oauth".to_owned())]
    );
    let h = t.history().unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].action, "adopt");
    assert!(h[0].sections.contains(&SectionId::EventSources));
    assert!(!h[0].sections.contains(&SectionId::Session));
    let audit = fs::read_to_string(dir.join(".jims-import/audit.log")).unwrap();
    assert!(audit.contains(r#""sealed":2"#), "{audit}");
}

#[test]
fn adopt_refuses_what_it_cannot_take_over() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    assert_eq!(store::adopt(&dir, None).unwrap_err().kind(), ErrorKind::AlreadyManaged);
    let (_t, dir) = scratch("empty");
    fs::create_dir(&dir).unwrap();
    let err = store::adopt(&dir, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("without --adopt"), "{err}");
    let (_t, dir) = scratch("missing");
    assert_eq!(store::adopt(&dir, None).unwrap_err().kind(), ErrorKind::NotFound);
    assert!(!dir.exists());
}

#[test]
fn adopt_of_a_malformed_file_changes_nothing() {
    let (_t, dir) = scratch("jims");
    jims_folder(&dir);
    fs::write(dir.join("cwd/config/syslog.xml"), "<syslog_sources><x></syslog_sources>").unwrap();
    let before = all_files(&dir);
    let err = store::adopt(&dir, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert!(err.to_string().contains("syslog.xml"), "{err}");
    let mut after = all_files(&dir);
    let mut before = before;
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert!(!dir.join(".jims-import").exists());
}
