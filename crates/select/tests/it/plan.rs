//! The plan of a merge: items added, removed and changed, field paths, secret fields named but
//! never valued, and the JSON the CLI prints.

use model::{Scope, SectionId};
use select::{Action, FieldChange, ItemChange, Plan, Selection, choose, merge, plan};

use crate::support::{FSW, PLAINTEXT, SEALED, current, export, exported, strings};

fn full_plan() -> Plan {
    let e = export(Scope::Full, &SectionId::ALL);
    let sel = choose(&e, None).unwrap();
    let current = current();
    let merged = merge(&current, &e.configuration, &sel);
    plan(&current, &merged, &sel)
}

fn field(name: &str, secret: bool) -> FieldChange {
    FieldChange { field: name.to_owned(), secret }
}

#[test]
fn items_added_removed_and_changed_with_field_paths() {
    let p = full_plan();
    let es = p.section(SectionId::EventSources).unwrap();
    assert_eq!(es.action, Action::Replaced);
    assert_eq!((es.items_before, es.items_after), (2, 2));
    assert_eq!(es.added, ["DC2"]);
    assert_eq!(es.removed, ["EX1"]);
    assert_eq!(
        es.changed,
        [ItemChange {
            id: "DC1".into(),
            fields: vec![
                field("description", false),
                field("domain_controller.server", false),
                field("domain_controller.password", true),
            ],
        }]
    );

    let t = p.section(SectionId::Templates).unwrap();
    assert_eq!((t.items_before, t.items_after), (2, 3));
    assert_eq!(t.added, ["t3"]);
    assert!(t.removed.is_empty());
    assert_eq!(t.changed, [ItemChange { id: "t1".into(), fields: vec![field("password", true)] }]);

    let srx = p.section(SectionId::SrxClients).unwrap();
    assert_eq!(
        srx.changed,
        [ItemChange {
            id: "SRX1".into(),
            fields: vec![
                field("oAuth.password", true),
                field("query.cert_hash", false),
                field("webapi", false),
                field("future", false),
            ],
        }]
    );

    let syslog = p.section(SectionId::SyslogSources).unwrap();
    assert_eq!((syslog.items_before, syslog.items_after), (1, 0));
    assert_eq!(syslog.removed, ["s1"]);
}

#[test]
fn session_is_the_config_item() {
    let p = full_plan();
    let s = p.section(SectionId::Session).unwrap();
    assert_eq!((s.items_before, s.items_after), (1, 1));
    assert_eq!(
        s.changed,
        [ItemChange { id: "config".into(), fields: vec![field("probe_timeout", false)] }]
    );
}

#[test]
fn transports_match_across_files_and_name_a_move() {
    let p = full_plan();
    let t = p.section(SectionId::Transports).unwrap();
    assert!(t.added.is_empty() && t.removed.is_empty(), "{t:?}");
    assert_eq!(
        t.changed,
        [ItemChange { id: "http".into(), fields: vec![field(select::MOVED_FILE_FIELD, false)] }]
    );
    assert!(!t.reordered);
}

#[test]
fn pc_probe_settings_and_order() {
    let p = full_plan();
    let pc = p.section(SectionId::PcProbes).unwrap();
    assert_eq!(pc.settings, [field("timeout_ms", false)]);
    assert!(pc.reordered);
    assert!(pc.changed.is_empty());
}

#[test]
fn unchanged_sections_are_noops_and_the_helpers_agree() {
    let p = full_plan();
    assert!(!p.is_noop());
    assert_eq!(p.replaced().count(), 10);
    assert_eq!(p.untouched().count(), 0);
    for id in [SectionId::UserDirectories, SectionId::CsoClients, SectionId::AdminClients] {
        assert!(p.section(id).unwrap().is_noop(), "{id}");
    }
    let order: Vec<SectionId> = p.sections.iter().map(|s| s.section).collect();
    assert_eq!(order, SectionId::ALL);
}

#[test]
fn reimporting_the_same_content_is_a_noop() {
    let current = current();
    let sel =
        Selection { sections: SectionId::ALL.to_vec(), partial: false, merge_event_sources: false };
    let merged = merge(&current, &current, &sel);
    let p = plan(&current, &merged, &sel);
    assert!(p.is_noop(), "{p:?}");
    assert_eq!(p.replaced().count(), 10);
}

#[test]
fn secret_values_never_appear_in_the_plan() {
    let p = full_plan();
    let debug = format!("{p:?}");
    let json = serde_json::to_string(&p).unwrap();
    for secret in [PLAINTEXT, FSW, SEALED, "c3eb4b5a", "9f2c4e1a7b3d5c60"] {
        assert!(!debug.contains(secret), "{secret} in Debug");
        assert!(!json.contains(secret), "{secret} in JSON");
    }
    // The secret fields are named, though.
    assert!(json.contains("\"oAuth.password\""));
    assert!(json.contains("\"domain_controller.password\""));
    // And the export really carried those values, so their absence above means something.
    let exported = exported();
    let values: Vec<&str> =
        exported.secret_fields().iter().map(|f| exported.secret_value(&f.location)).collect();
    assert!(values.contains(&PLAINTEXT) && values.contains(&FSW), "{}", values.len());
}

#[test]
fn partial_plan_json_snapshot() {
    let e = export(Scope::Full, &SectionId::ALL);
    let sel =
        choose(&e, Some(&strings(&["event_sources", "templates", "srx_clients", "transports"])))
            .unwrap()
            .replacing_event_sources();
    let current = current();
    let merged = merge(&current, &e.configuration, &sel);
    let p = plan(&current, &merged, &sel);
    insta::assert_snapshot!(serde_json::to_string_pretty(&p).unwrap());
}

/// The same partial import without `--replace-event-sources`: the event sources are merged,
/// and the plan names each one kept.
#[test]
fn merged_plan_json_snapshot() {
    let e = export(Scope::Full, &SectionId::ALL);
    let sel = choose(&e, Some(&strings(&["event_sources", "templates"]))).unwrap();
    let current = current();
    let merged = merge(&current, &e.configuration, &sel);
    let mut p = plan(&current, &merged, &sel);
    p.note_kept(select::kept(&current, &e.configuration, &sel));
    let es = p.section(SectionId::EventSources).unwrap();
    assert_eq!(es.action, Action::Merged);
    assert!(es.removed.is_empty() && es.changed.is_empty(), "{es:?}");
    insta::assert_snapshot!(serde_json::to_string_pretty(&p).unwrap());
}

#[test]
fn selection_serializes_ids() {
    let e = export(Scope::Full, &SectionId::ALL);
    let sel = choose(&e, Some(&strings(&["session", "templates"]))).unwrap();
    assert_eq!(
        serde_json::to_value(&sel).unwrap(),
        serde_json::json!({"sections": ["templates", "session"], "partial": true})
    );
}
