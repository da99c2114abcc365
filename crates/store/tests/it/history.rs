//! History and rollback.

use store::{ErrorKind, Target};

use model::SectionId;

use crate::{config, meta, native_bytes, scratch};

#[test]
fn rollback_restores_exact_bytes_as_a_new_version_that_can_be_undone() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let v0 = native_bytes(&dir);
    Target::open(&dir).unwrap().commit(&config(1, "10"), meta(&[SectionId::EventSources])).unwrap();
    let v1 = native_bytes(&dir);
    Target::open(&dir).unwrap().commit(&config(4, "20"), meta(&[SectionId::EventSources])).unwrap();
    let v2 = native_bytes(&dir);
    assert_ne!(v1, v2);

    let report = Target::open(&dir).unwrap().rollback(None).unwrap();
    assert_eq!(report.version, 3);
    assert_eq!(native_bytes(&dir), v1);
    assert_eq!(Target::open(&dir).unwrap().configuration(), &config(1, "10"));

    // The rollback is itself undone by rolling back again.
    Target::open(&dir).unwrap().rollback(None).unwrap();
    assert_eq!(native_bytes(&dir), v2);
    Target::open(&dir).unwrap().rollback(Some(0)).unwrap();
    assert_eq!(native_bytes(&dir), v0);

    let t = Target::open_read(&dir).unwrap();
    let h = t.history().unwrap();
    let rows: Vec<_> =
        h.iter().map(|v| (v.version, v.action.as_str(), v.restored, v.current)).collect();
    assert_eq!(
        rows,
        [
            (0, "init", None, false),
            (1, "import", None, false),
            (2, "import", None, false),
            (3, "rollback", Some(1), false),
            (4, "rollback", Some(2), false),
            (5, "rollback", Some(0), true),
        ]
    );
    assert_eq!(h[3].sections, [SectionId::EventSources, SectionId::Session]);
    let json = serde_json::to_value(&h[3]).unwrap();
    assert_eq!(json["sections"], serde_json::json!(["event_sources", "session"]));
    assert!(json["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn rollback_refuses_versions_that_do_not_exist() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let err = Target::open(&dir).unwrap().rollback(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSuchVersion);
    assert!(err.to_string().contains("version 0"), "{err}");
    let err = Target::open(&dir).unwrap().rollback(Some(7)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSuchVersion);
    assert!(err.to_string().contains("version 7"), "{err}");
    let (_t, new) = scratch("new");
    assert_eq!(
        Target::open(&new).unwrap().rollback(None).unwrap_err().kind(),
        ErrorKind::NoSuchVersion
    );
    assert!(!new.exists());
}
