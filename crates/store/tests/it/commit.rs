//! Commits: only changed files are written, everything else is the very same file; the audit
//! log; read-only targets.

use std::fs;
use std::os::unix::fs::MetadataExt;

use model::{Element, Section, SectionId};
use store::{ErrorKind, Target};

use crate::{config, ino, meta, native_bytes, scratch};

#[test]
fn a_commit_writes_only_the_files_that_change() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let cwd = dir.join("cwd");
    let before_bytes = native_bytes(&dir);
    let before_ino: Vec<_> = before_bytes.keys().map(|p| (*p, ino(&cwd.join(p)))).collect();

    let target = Target::open(&dir).unwrap();
    let mut new = target.configuration().clone();
    new.insert(config(3, "60").get(SectionId::EventSources).unwrap().clone());
    let report = target.commit(&new, meta(&[SectionId::EventSources])).unwrap();
    assert_eq!(report.version, 1);
    assert!(!report.created);
    assert_eq!(report.files_written, ["config/event_log_reader.xml"]);
    assert_eq!(report.files_kept.len(), 10);
    assert!(report.files_removed.is_empty());

    let after = native_bytes(&dir);
    for (path, old_ino) in before_ino {
        if path == "config/event_log_reader.xml" {
            assert_ne!(after[path], before_bytes[path]);
            let expected =
                format_xml::write_native_file(&new.get(SectionId::EventSources).unwrap().files[0])
                    .unwrap();
            assert_eq!(after[path], expected);
        } else {
            assert_eq!(ino(&cwd.join(path)), old_ino, "{path} was rewritten");
            assert_eq!(after[path], before_bytes[path]);
        }
    }
    let t = Target::open(&dir).unwrap();
    assert_eq!(t.configuration(), &new);
    assert_eq!(t.version(), 1);
}

#[test]
fn a_replaced_section_with_identical_bytes_is_linked_not_written() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let t = Target::open(&dir).unwrap();
    t.commit(&config(2, "60"), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
    let cwd = dir.join("cwd");
    let es = ino(&cwd.join("config/event_log_reader.xml"));
    let t = Target::open(&dir).unwrap();
    // The same content, rebuilt from scratch and declared replaced: every file keeps its
    // bytes, so no version is made.
    let report = t.commit(&config(2, "60"), meta(&[SectionId::EventSources])).unwrap();
    assert!(report.files_written.is_empty(), "{:?}", report.files_written);
    assert!(report.unchanged);
    assert_eq!(report.version, 1);
    assert_eq!(ino(&cwd.join("config/event_log_reader.xml")), es);
    assert_eq!(Target::open(&dir).unwrap().history().unwrap().len(), 2, "versions 0 and 1");
    // One section changed: only its file is written, the other is linked.
    let t = Target::open(&dir).unwrap();
    let report = t.commit(&config(2, "61"), meta(&[SectionId::Session])).unwrap();
    assert!(!report.unchanged);
    assert_eq!(report.version, 2);
    assert_eq!(report.files_written, ["config/cache.xml"]);
    assert_eq!(ino(&cwd.join("config/event_log_reader.xml")), es);
}

#[test]
fn hand_edited_files_and_other_files_survive_a_commit_unchanged() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let cwd = dir.join("cwd");
    let edited = "<?xml version=\"1.0\"?>\n<!-- tuned by hand -->\n<cache>\n\t<config probe_timeout=\"90\"/>\n</cache>\n";
    fs::write(cwd.join("config/cache.xml"), edited).unwrap();
    fs::write(cwd.join("notes.txt"), "keep me").unwrap();
    fs::create_dir_all(cwd.join("logs/old")).unwrap();
    fs::write(cwd.join("logs/old/a.log"), "log").unwrap();
    std::os::unix::fs::symlink("../notes.txt", cwd.join("config/notes-link")).unwrap();
    let notes = ino(&cwd.join("notes.txt"));
    let cache = ino(&cwd.join("config/cache.xml"));

    let t = Target::open(&dir).unwrap();
    assert_eq!(
        t.configuration().get(SectionId::Session).unwrap().files[0].root.children[0]
            .attr("probe_timeout"),
        Some("90")
    );
    let mut new = t.configuration().clone();
    new.insert(config(1, "1").get(SectionId::EventSources).unwrap().clone());
    t.commit(&new, meta(&[SectionId::EventSources])).unwrap();

    assert_eq!(fs::read_to_string(cwd.join("config/cache.xml")).unwrap(), edited);
    assert_eq!(ino(&cwd.join("config/cache.xml")), cache);
    assert_eq!(ino(&cwd.join("notes.txt")), notes);
    assert_eq!(fs::read_to_string(cwd.join("logs/old/a.log")).unwrap(), "log");
    assert_eq!(
        fs::read_link(cwd.join("config/notes-link")).unwrap().to_str(),
        Some("../notes.txt")
    );
    // The replaced version is kept as it was when replaced, hand edits included, and a
    // rollback restores exactly that.
    let v0 = crate::archive(&dir, 0);
    assert_eq!(v0["cwd/config/cache.xml"], edited.as_bytes());
    let names: Vec<&String> = v0.keys().collect();
    assert_eq!(names.len(), 12, "meta.json and the 11 native files only: {names:?}");
    assert!(!dir.join(".jims-import/history/0/cwd/logs").exists(), "only native files are kept");
    assert!(!dir.join(".jims-import/history/0.json").exists(), "its record is in its folder");
    // The kept file is the live one (never rewritten), history holds its own copy of it: a
    // write in place into the live file (as JIMS or vim make) cannot alter history.
    let kept = dir.join(".jims-import/history/0/cwd/config/cache.xml");
    assert_ne!(ino(&kept), ino(&cwd.join("config/cache.xml")));
    for (path, _) in crate::all_files(&dir.join(".jims-import/history/0/cwd")) {
        assert_eq!(fs::metadata(&path).unwrap().nlink(), 1, "{} is shared", path.display());
    }
    {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(cwd.join("config/cache.xml")).unwrap();
        f.write_all(b"<!-- appended in place -->\n").unwrap();
    }
    assert_eq!(fs::read(&kept).unwrap(), edited.as_bytes());
    fs::write(cwd.join("config/cache.xml"), edited).unwrap();
    let before = native_bytes(&dir);
    Target::open(&dir).unwrap().rollback(None).unwrap();
    let after = native_bytes(&dir);
    assert_eq!(after["config/cache.xml"], edited.as_bytes());
    assert_ne!(after, before);
    assert_eq!(
        crate::archive(&dir, 1)["cwd/config/event_log_reader.xml"],
        before["config/event_log_reader.xml"]
    );
}

#[test]
fn a_section_missing_from_the_new_configuration_loses_its_files() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let t = Target::open(&dir).unwrap();
    let mut new = t.configuration().clone();
    let transports = new.get_mut(SectionId::Transports).unwrap();
    transports.files.retain(|f| f.path == "config/clients_https.xml");
    transports.files[0].root = Element::new("xports")
        .with_child(Element::new("transport").with_attr("id", "https").with_attr("port", "443"));
    let report = t.commit(&new, meta(&[SectionId::Transports])).unwrap();
    assert_eq!(report.files_written, ["config/clients_https.xml"]);
    assert_eq!(report.files_removed, ["config/clients_http.xml"]);
    assert!(!dir.join("cwd/config/clients_http.xml").exists());
    let t = Target::open(&dir).unwrap();
    assert_eq!(t.configuration().get(SectionId::Transports).unwrap().files.len(), 1);
    assert_eq!(t.configuration(), &new);
}

#[test]
fn the_audit_log_has_one_line_per_version_and_no_secret() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let t = Target::open(&dir).unwrap();
    let mut new = t.configuration().clone();
    new.insert(Section::single(
        SectionId::EventSources,
        Element::new("event_sources").with_child(crate::event_source("DC1", "10.0.0.5", "hunter2")),
    ));
    let mut m = meta(&[SectionId::EventSources]);
    m.counts.items.insert(SectionId::EventSources, 1);
    m.counts.passwords.total = 1;
    t.commit(&new, m).unwrap();
    let audit = fs::read_to_string(dir.join(".jims-import/audit.log")).unwrap();
    let lines: Vec<serde_json::Value> =
        audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let last = &lines[1];
    for key in ["time", "action", "version", "export", "sections", "counts"] {
        assert!(last.get(key).is_some(), "{key} missing from {last}");
    }
    assert_eq!(last["version"], 1);
    assert_eq!(last["action"], "import");
    assert_eq!(last["sections"], serde_json::json!(["event_sources"]));
    assert_eq!(last["counts"]["items"]["event_sources"], 1);
    assert!(!audit.contains("hunter2"));
    // The current version's record; the replaced one's is in its folder.
    let meta = fs::read_to_string(dir.join(".jims-import/history/1.json")).unwrap();
    assert!(meta.contains(r#""action": "import""#), "{meta}");
    assert!(!meta.contains("hunter2"));
    let v0 = crate::archive(&dir, 0);
    assert!(String::from_utf8_lossy(&v0["meta.json"]).contains(r#""action": "init""#));
}

#[test]
fn opened_to_replace_a_section_its_old_content_is_not_parsed_but_identical_bytes_are_kept() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    Target::open(&dir)
        .unwrap()
        .commit(&config(2, "60"), meta(&[SectionId::EventSources, SectionId::Session]))
        .unwrap();
    let cwd = dir.join("cwd");
    let session = ino(&cwd.join("config/cache.xml"));
    // A replaced section's file that does not even parse is no obstacle to replacing it...
    fs::write(cwd.join("config/event_log_reader.xml"), "<event_sources><broken").unwrap();
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::Parse);
    let t = Target::open_to_replace(&dir, &[SectionId::EventSources, SectionId::Session]).unwrap();
    assert!(t.configuration().get(SectionId::EventSources).is_none());
    assert!(t.configuration().get(SectionId::Session).is_none());
    assert!(t.configuration().get(SectionId::Templates).is_some(), "the others are parsed");
    // ...and a replaced file whose new bytes are the old ones stays the same file.
    let report = t.commit(&config(3, "60"), meta(&[SectionId::EventSources, SectionId::Session]));
    let report = report.unwrap();
    assert_eq!(report.files_written, ["config/event_log_reader.xml"]);
    assert_eq!(ino(&cwd.join("config/cache.xml")), session);
    assert_eq!(Target::open(&dir).unwrap().configuration(), &config(3, "60"));
}
