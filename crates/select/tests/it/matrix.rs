//! File scope (full, partial) × chooser (none, subset, a section the file lacks, an unknown
//! id): the selection, its `partial` flag, and the merge replacing exactly the chosen sections.

use model::{Configuration, Export, Scope, SectionId};
use select::{Action, ErrorKind, PARTIAL_WARNING, Selection, choose, merge, merge_in_place, plan};

use crate::support::{PARTIAL, current, export, strings};

/// Checks that `merged` holds the export's version of each chosen section and the current
/// version of every other, and that the plan says so.
fn assert_merged(export: &Export, selection: &Selection) {
    let current = current();
    let merged = merge(&current, &export.configuration, selection);
    for id in SectionId::ALL {
        let got = merged.get(id).expect("the target holds every section");
        if selection.merges(id) {
            let ours = current.get(id).unwrap();
            let theirs = export.configuration.get(id).unwrap();
            for (_, _, item) in ours.items() {
                assert_eq!(got.item(item.attr("id").unwrap()), Some(item), "{id}: target's kept");
            }
            for (_, _, item) in theirs.items() {
                let item_id = item.attr("id").unwrap();
                if ours.item(item_id).is_none() {
                    assert_eq!(got.item(item_id), Some(item), "{id}: a new id is added");
                }
            }
        } else if selection.contains(id) {
            assert_eq!(Some(got), export.configuration.get(id), "{id} should be replaced");
        } else {
            assert_eq!(Some(got), current.get(id), "{id} should be untouched");
        }
    }
    let mut in_place = current.clone();
    merge_in_place(&mut in_place, &export.configuration, selection);
    assert_eq!(in_place, merged);

    let plan = plan(&current, &merged, selection);
    assert_eq!(plan.sections.len(), SectionId::ALL.len());
    let replaced: Vec<SectionId> = plan.replaced().map(|s| s.section).collect();
    assert_eq!(replaced, selection.sections);
    for s in plan.untouched() {
        assert_eq!(s.action, Action::Untouched);
        assert!(s.is_noop(), "untouched {} must not change: {s:?}", s.section);
        assert_eq!(s.items_before, s.items_after);
    }
}

#[test]
fn full_file_no_chooser_imports_everything_without_warning() {
    let e = export(Scope::Full, &SectionId::ALL);
    let sel = choose(&e, None).unwrap();
    assert_eq!(sel.sections, SectionId::ALL);
    assert!(!sel.partial);
    assert_eq!(sel.warning(), None);
    assert_merged(&e, &sel);
}

#[test]
fn full_file_subset_is_partial() {
    let e = export(Scope::Full, &SectionId::ALL);
    let sel = choose(&e, Some(&strings(&["session", "templates"]))).unwrap();
    assert_eq!(sel.sections, [SectionId::Templates, SectionId::Session]);
    assert!(sel.partial);
    assert_eq!(sel.warning(), Some(PARTIAL_WARNING));
    assert_merged(&e, &sel);
}

#[test]
fn full_file_lacking_a_section_refuses_it() {
    // A file that says "full" but lacks cso_clients: the chooser still refuses it.
    let held: Vec<SectionId> =
        SectionId::ALL.into_iter().filter(|s| *s != SectionId::CsoClients).collect();
    let e = export(Scope::Full, &held);
    let err = choose(&e, Some(&strings(&["templates", "cso_clients"]))).unwrap_err();
    assert_eq!(err.problems(), [ErrorKind::NotInFile { id: SectionId::CsoClients, held }]);
    assert!(
        err.to_string()
            .starts_with("section 'cso_clients' is not in this export; it holds: event_sources, ")
    );
}

#[test]
fn full_file_unknown_id_lists_the_valid_ids() {
    let e = export(Scope::Full, &SectionId::ALL);
    let err = choose(&e, Some(&strings(&["templates", "foo"]))).unwrap_err();
    match err.kind() {
        ErrorKind::UnknownSection { id, valid } => {
            assert_eq!(id, "foo");
            assert_eq!(valid.len(), 10);
            assert_eq!(valid[0], "event_sources");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("unknown section 'foo'; valid sections: event_sources, user_directories")
    );
}

#[test]
fn partial_file_no_chooser_imports_its_sections_with_warning() {
    let e = export(Scope::Partial, &PARTIAL);
    let sel = choose(&e, None).unwrap();
    assert_eq!(sel.sections, PARTIAL);
    assert!(sel.partial);
    assert_eq!(sel.warning(), Some(PARTIAL_WARNING));
    assert_merged(&e, &sel);
}

#[test]
fn partial_file_subset() {
    let e = export(Scope::Partial, &PARTIAL);
    let sel = choose(&e, Some(&strings(&["srx_clients"]))).unwrap();
    assert_eq!(sel.sections, [SectionId::SrxClients]);
    assert!(sel.partial);
    assert_merged(&e, &sel);
}

#[test]
fn partial_file_holding_every_section_is_still_partial() {
    // The file's word counts: a "partial" file is partial even when it holds every section.
    let e = export(Scope::Partial, &SectionId::ALL);
    let sel = choose(&e, None).unwrap();
    assert_eq!(sel.sections, SectionId::ALL);
    assert!(sel.partial);
}

#[test]
fn partial_file_lacking_a_section_lists_what_it_holds() {
    let e = export(Scope::Partial, &PARTIAL);
    let err = choose(&e, Some(&strings(&["cso_clients"]))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "section 'cso_clients' is not in this export; it holds: event_sources, templates, srx_clients"
    );
}

#[test]
fn partial_file_unknown_and_lacking_are_reported_together() {
    let e = export(Scope::Partial, &PARTIAL);
    let err = choose(&e, Some(&strings(&["templets", "session", "templates"]))).unwrap_err();
    assert_eq!(err.problems().len(), 2);
    assert!(matches!(&err.problems()[0], ErrorKind::UnknownSection { id, .. } if id == "templets"));
    assert!(matches!(&err.problems()[1], ErrorKind::NotInFile { id: SectionId::Session, .. }));
    let text = err.to_string();
    assert!(text.contains("unknown section 'templets'"), "{text}");
    assert!(text.contains("section 'session' is not in this export"), "{text}");
}

#[test]
fn untouched_sections_stay_absent_when_the_target_lacks_them() {
    let e = export(Scope::Partial, &PARTIAL);
    let sel = choose(&e, Some(&strings(&["templates"]))).unwrap();
    let mut target = Configuration::new();
    target.insert(current().get(SectionId::Session).unwrap().clone());
    let merged = merge(&target, &e.configuration, &sel);
    // The target's sections keep their place; one it lacked comes after them.
    assert_eq!(merged.ids(), [SectionId::Session, SectionId::Templates]);
    let p = plan(&target, &merged, &sel);
    let t = p.section(SectionId::Templates).unwrap();
    assert_eq!((t.action, t.items_before, t.items_after), (Action::Replaced, 0, 3));
    assert_eq!(t.added, ["t1", "t2", "t3"]);
    assert_eq!(p.section(SectionId::Session).unwrap().action, Action::Untouched);
}
