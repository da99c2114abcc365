//! `init`, opening new, empty, unmanaged and damaged folders, and refused symbolic links.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use model::{Configuration, SectionId};
use store::{ErrorKind, Target};

use crate::{config, meta, native_bytes, scratch};

#[test]
fn init_makes_the_whole_layout_with_a_private_key() {
    let (_t, dir) = scratch("srv");
    let report = store::init(&dir, Some("jims-hq-01")).unwrap();
    assert_eq!(report.server_id, "jims-hq-01");
    assert_eq!(report.sealed, 0);
    let files = native_bytes(&dir);
    assert_eq!(files.len(), 11, "{:?}", files.keys());
    let state = dir.join(".jims-import");
    let key = fs::metadata(state.join("server.key")).unwrap();
    assert_eq!(key.mode() & 0o777, 0o600);
    let key_text = fs::read_to_string(state.join("server.key")).unwrap();
    assert_eq!(key_text.len(), 65);
    assert!(key_text.ends_with('\n') && key_text[..64].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(fs::metadata(&state).unwrap().mode() & 0o777, 0o700);
    let toml = fs::read_to_string(state.join("server.toml")).unwrap();
    assert!(toml.contains("server_id = \"jims-hq-01\""), "{toml}");
    assert!(toml.contains(&format!("key_id = \"{}\"", report.key_id)), "{toml}");
    assert!(toml.contains("layout_version = 3"), "{toml}");
    // The lock is the state folder itself: no lock file that could be removed from under it.
    assert!(!state.join("lock").exists());
    // Only the current version's record: nothing is archived until it is replaced.
    let history: Vec<_> =
        fs::read_dir(state.join("history")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(history, ["0.json"]);
    let v0 = fs::read_to_string(state.join("history/0.json")).unwrap();
    assert!(v0.contains(r#""action": "init""#), "{v0}");
    let audit = fs::read_to_string(state.join("audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 1);
    assert!(audit.contains(r#""action":"init""#), "{audit}");
    // Nothing left over from the building.
    let siblings: Vec<_> = fs::read_dir(dir.parent().unwrap()).unwrap().collect();
    assert_eq!(siblings.len(), 1);
    assert!(!state.join("staging").exists() && !state.join("journal.json").exists());

    let t = Target::open_read(&dir).unwrap();
    assert_eq!(t.key_id(), &report.key_id);
    assert_eq!(t.server_id(), "jims-hq-01");
    assert_eq!(t.version(), 0);
    assert!(!t.is_new());
    assert_eq!(t.configuration(), &Configuration::empty_full());
    let history = t.history().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].version, history[0].action.as_str(), history[0].current),
        (0, "init", true)
    );
}

#[test]
fn init_names_the_server_after_its_folder_by_default() {
    let (_t, dir) = scratch("jims-branch-7");
    assert_eq!(store::init(&dir, None).unwrap().server_id, "jims-branch-7");
    let (_t, dir) = scratch("x");
    assert_eq!(store::init(&dir, Some("")).unwrap_err().kind(), ErrorKind::InvalidServerId);
    assert!(!dir.exists());
}

#[test]
fn init_into_an_existing_empty_folder_works_in_place_and_keeps_its_mode() {
    let (_t, dir) = scratch("srv");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
    store::init(&dir, None).unwrap();
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o750);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".jims-import", "cwd"]);
    assert_eq!(Target::open(&dir).unwrap().version(), 0);
}

#[test]
fn init_refuses_managed_folders_and_jims_folders() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    assert_eq!(store::init(&dir, None).unwrap_err().kind(), ErrorKind::AlreadyManaged);
    let (_t, dir) = scratch("jims");
    fs::create_dir_all(dir.join("cwd/config")).unwrap();
    let err = store::init(&dir, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotManaged);
    assert!(err.to_string().contains("--adopt"), "{err}");
    assert!(!dir.join(".jims-import").exists());
}

#[test]
fn opening_a_missing_folder_writes_nothing_until_commit() {
    let (t, dir) = scratch("new");
    let target = Target::open(&dir).unwrap();
    assert!(target.is_new());
    assert_eq!(target.version(), 0);
    assert_eq!(target.configuration(), &Configuration::empty_full());
    assert!(target.history().unwrap().is_empty());
    assert!(!dir.exists());
    assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    let key_id = target.key_id().clone();
    drop(target);
    assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);

    let target = Target::open(&dir).unwrap();
    assert_ne!(target.key_id(), &key_id, "a new folder gets a fresh key each time");
    let key_id = target.key_id().clone();
    let new = config(2, "60");
    let report = target.commit(&new, meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
    assert!(report.created);
    assert_eq!(report.version, 1);
    assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1, "no temporary folder is left");
    let t2 = Target::open(&dir).unwrap();
    assert_eq!(t2.key_id(), &key_id);
    assert_eq!(t2.configuration(), &new);
    let h = t2.history().unwrap();
    let actions: Vec<_> = h.iter().map(|v| (v.version, v.action.as_str())).collect();
    assert_eq!(actions, [(1, "import")], "a folder made by an import starts at version 1");
    assert_eq!(h[0].export.as_deref(), Some("export.xml"));
    assert_eq!(h[0].sections, [SectionId::EventSources, SectionId::Session]);
}

#[test]
fn an_empty_folder_opens_as_new_and_is_filled_in_place() {
    let (_t, dir) = scratch("empty");
    fs::create_dir(&dir).unwrap();
    let target = Target::open(&dir).unwrap();
    assert!(target.is_new());
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    let report = target.commit(&config(1, "30"), meta(&[SectionId::EventSources])).unwrap();
    assert!(report.created);
    assert_eq!(Target::open(&dir).unwrap().configuration(), &config(1, "30"));
}

#[test]
fn unmanaged_and_foreign_folders_are_refused() {
    let (_t, dir) = scratch("jims");
    fs::create_dir_all(dir.join("cwd/config")).unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotManaged);
    assert!(err.to_string().contains("server init --adopt"), "{err}");
    assert_eq!(Target::open_read(&dir).unwrap_err().kind(), ErrorKind::NotManaged);

    let (_t, dir) = scratch("docs");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("README"), "hello").unwrap();
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::NotManaged);

    let (_t, dir) = scratch("nothing");
    let err = Target::open_read(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("server init"), "{err}");
    assert!(!dir.exists());
}

#[test]
fn symbolic_links_in_the_folder_are_refused_and_named() {
    let (t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let elsewhere = t.path().join("elsewhere");
    fs::rename(dir.join("cwd"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("cwd")).unwrap();
    for err in [Target::open(&dir).unwrap_err(), Target::open_read(&dir).unwrap_err()] {
        assert_eq!(err.kind(), ErrorKind::Symlink);
        assert!(err.to_string().contains(&dir.join("cwd").display().to_string()), "{err}");
    }
    fs::remove_file(dir.join("cwd")).unwrap();
    fs::rename(&elsewhere, dir.join("cwd")).unwrap();

    // A native file that is a link.
    let cache = dir.join("cwd/config/cache.xml");
    fs::rename(&cache, t.path().join("cache.xml")).unwrap();
    std::os::unix::fs::symlink(t.path().join("cache.xml"), &cache).unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Symlink);
    assert!(err.to_string().contains("cache.xml"), "{err}");
    fs::remove_file(&cache).unwrap();
    fs::rename(t.path().join("cache.xml"), &cache).unwrap();

    // A history entry that is a link.
    let h0 = dir.join(".jims-import/history/0.json");
    fs::rename(&h0, t.path().join("h0")).unwrap();
    std::os::unix::fs::symlink(t.path().join("h0"), &h0).unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Symlink, "{err}");
    fs::remove_file(&h0).unwrap();
    fs::rename(t.path().join("h0"), &h0).unwrap();

    // The state folder itself.
    let state = dir.join(".jims-import");
    fs::rename(&state, t.path().join("state")).unwrap();
    std::os::unix::fs::symlink(t.path().join("state"), &state).unwrap();
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::Symlink);
}

#[test]
fn a_damaged_or_exposed_key_is_refused() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let key = dir.join(".jims-import/server.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.to_string().contains("chmod 600"), "{err}");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let other = crypto::ServerKey::generate().unwrap();
    fs::write(&key, other.to_key_file().as_bytes()).unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.to_string().contains("server.toml"), "{err}");
    assert!(!err.to_string().contains(&other.to_key_file()[..64]), "the key is never shown");
}

#[test]
fn a_malformed_native_file_is_a_parse_error_with_its_path() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    fs::write(dir.join("cwd/config/syslog.xml"), "<syslog_sources>\n  <oops\n").unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse);
    let shown = err.to_string();
    assert!(shown.contains("cwd/config/syslog.xml:"), "{shown}");
}
