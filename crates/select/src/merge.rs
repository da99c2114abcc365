//! The merge: each chosen section of the target's configuration is cleared and replaced by the
//! export's; every other section is left exactly as it was. The one exception is JIMS's own: in
//! a partial import the event sources are merged ([`Selection::merge_event_sources`]): the
//! target's are kept as they are and the export's whose ids are new are added after them.

use model::{Configuration, Section, SectionFile, SectionId};

use crate::choose::Selection;

/// The target's configuration `current` with each section of `selection` cleared and replaced
/// by `export`'s; every other section is left as it was (present or absent).
///
/// A replaced section keeps every native file of its section: a native file that the export's
/// section lacks (one of the two `transports` files, say) is cleared to an empty root, so that
/// nothing of the old section survives. A chosen section that `export` does not hold is left as
/// it was; [`crate::choose`] never chooses one.
///
/// This copies the sections it takes from `export`; an import that no longer needs the export's
/// configuration calls [`merge_owned`], which moves them instead. Only the sections of `current`
/// that stay are copied.
pub fn merge(
    current: &Configuration,
    export: &Configuration,
    selection: &Selection,
) -> Configuration {
    let taken: Vec<Section> = selection
        .sections
        .iter()
        .filter_map(|&id| export.get(id).map(|s| taking(current, s.clone(), selection)))
        .collect();
    merge_taken(current, taken)
}

/// [`merge`], taking `export` by value: the sections of `selection` are moved out of it rather
/// than copied, and the rest of `export` is dropped. The result is the same as [`merge`]'s.
pub fn merge_owned(
    current: &Configuration,
    mut export: Configuration,
    selection: &Selection,
) -> Configuration {
    let taken: Vec<Section> = selection
        .sections
        .iter()
        .filter_map(|&id| export.remove(id).map(|s| taking(current, s, selection)))
        .collect();
    merge_taken(current, taken)
}

/// [`merge`] into `current` itself, without copying the sections that stay.
pub fn merge_in_place(current: &mut Configuration, export: &Configuration, selection: &Selection) {
    for &id in &selection.sections {
        if let Some(section) = export.get(id) {
            let section = taking(current, section.clone(), selection);
            current.insert(complete(section));
        }
    }
}

/// The ids of the export's items that a merge leaves out because the target already has an
/// item with that id (kept as the target has it), per merged section, in the export's order.
/// Empty for every section that is replaced.
pub fn kept(
    current: &Configuration,
    export: &Configuration,
    selection: &Selection,
) -> Vec<(SectionId, Vec<String>)> {
    let mut out = Vec::new();
    for &id in &selection.sections {
        let (Some(theirs), Some(ours)) = (export.get(id), current.get(id)) else { continue };
        if !selection.merges(id) {
            continue;
        }
        let ids: Vec<String> = theirs
            .items()
            .filter_map(|(_, _, e)| e.attr("id"))
            .filter(|item| ours.item(item).is_some())
            .map(str::to_owned)
            .collect();
        if !ids.is_empty() {
            out.push((id, ids));
        }
    }
    out
}

/// What a merge puts in place of `current`'s section for the export's `section`: the section
/// itself when it replaces, or, when `selection` merges it, the target's section with the
/// export's items whose ids are new appended (to the same native file).
fn taking(current: &Configuration, section: Section, selection: &Selection) -> Section {
    let id = section.id;
    let Some(ours) = current.get(id).filter(|_| selection.merges(id)) else { return section };
    let mut merged = ours.clone();
    let item_name = id.item_name();
    for mut file in section.files {
        for item in std::mem::take(&mut file.root.children) {
            if item.name != item_name {
                continue; // the section's own settings stay the target's
            }
            if item.attr("id").is_some_and(|i| ours.item(i).is_some()) {
                continue; // kept: already on the target
            }
            match merged.files.iter_mut().find(|f| f.path == file.path) {
                Some(f) => f.root.children.push(item),
                None => merged
                    .files
                    .push(SectionFile { path: file.path, root: id.empty_root().with_child(item) }),
            }
        }
    }
    merged
}

/// `current` with each of the export's sections `taken` (one per id) cleared and replaced in
/// its place (a section `current` lacks goes at the end, as [`merge_in_place`] puts it); the
/// sections of `current` that are replaced are never copied.
fn merge_taken(current: &Configuration, mut taken: Vec<Section>) -> Configuration {
    let mut merged = Configuration::new();
    for section in current.sections() {
        match taken.iter().position(|t| t.id == section.id) {
            Some(i) => merged.insert(complete(taken.remove(i))),
            None => merged.insert(section.clone()),
        };
    }
    for section in taken {
        merged.insert(complete(section));
    }
    merged
}

/// `section` with an empty root for each native file it lacks, files in native order (files of
/// other paths, which a well-formed section does not have, keep their place at the end).
fn complete(mut section: Section) -> Section {
    let id = section.id;
    let natives = id.native_files();
    for path in natives {
        if !section.files.iter().any(|f| f.path == *path) {
            section.files.push(SectionFile { path, root: id.empty_root() });
        }
    }
    let rank = |f: &SectionFile| natives.iter().position(|p| *p == f.path).unwrap_or(natives.len());
    section.files.sort_by_key(rank);
    section
}

#[cfg(test)]
mod tests {
    use model::Element;

    use super::*;

    fn transport(id: &str) -> Element {
        Element::new("transport").with_attr("id", id).with_attr("port", "1505")
    }

    #[test]
    fn a_missing_transport_file_is_cleared() {
        let mut current = Configuration::empty_full();
        current.insert(Section {
            id: SectionId::Transports,
            files: vec![
                SectionFile {
                    path: "config/clients_https.xml",
                    root: Element::new("xports").with_child(transport("old-https")),
                },
                SectionFile {
                    path: "config/clients_http.xml",
                    root: Element::new("xports").with_child(transport("old-http")),
                },
            ],
        });
        let mut export = Configuration::new();
        export.insert(new_http_only());
        let sel = Selection {
            sections: vec![SectionId::Transports],
            partial: true,
            merge_event_sources: false,
        };
        let merged = merge(&current, &export, &sel);
        let t = merged.get(SectionId::Transports).unwrap();
        assert_eq!(t.files.len(), 2);
        assert_eq!(t.files[0].path, "config/clients_https.xml");
        assert_eq!(t.files[0].root, Element::new("xports"));
        assert_eq!(t.files[1].root.children, [transport("new-http")]);
        assert_eq!(t.item_count(), 1);
    }

    /// A transports section holding only `clients_http.xml`, with the transport `new-http`.
    fn new_http_only() -> Section {
        Section {
            id: SectionId::Transports,
            files: vec![SectionFile {
                path: "config/clients_http.xml",
                root: Element::new("xports").with_child(transport("new-http")),
            }],
        }
    }

    #[test]
    fn a_chosen_section_the_export_lacks_is_left_alone() {
        let current = Configuration::empty_full();
        let export = Configuration::new();
        let sel = Selection {
            sections: vec![SectionId::Templates],
            partial: true,
            merge_event_sources: false,
        };
        assert_eq!(merge(&current, &export, &sel), current);
    }

    #[test]
    fn merge_owned_gives_what_merge_gives() {
        let mut current = Configuration::empty_full();
        current.insert(Section::single(
            SectionId::AdminClients,
            Element::new("clients").with_child(Element::new("client").with_attr("id", "old")),
        ));
        current.remove(SectionId::Session);
        let mut export = Configuration::new();
        export.insert(new_http_only());
        export.insert(Section::single(
            SectionId::AdminClients,
            Element::new("clients").with_child(Element::new("client").with_attr("id", "new")),
        ));
        export.insert(Section::empty(SectionId::Session));
        export.insert(Section::empty(SectionId::Templates));
        let selections = [
            vec![SectionId::Transports, SectionId::AdminClients, SectionId::Session],
            vec![SectionId::AdminClients],
            vec![SectionId::Session, SectionId::EventSources],
            vec![SectionId::Templates, SectionId::Templates],
            vec![],
        ];
        for sections in selections {
            let sel = Selection { sections, partial: true, merge_event_sources: false };
            let by_copy = merge(&current, &export, &sel);
            assert_eq!(merge_owned(&current, export.clone(), &sel), by_copy, "{sel:?}");
            let mut in_place = current.clone();
            merge_in_place(&mut in_place, &export, &sel);
            assert_eq!(in_place, by_copy, "{sel:?}");
        }
    }

    #[test]
    fn a_section_absent_from_the_target_is_added() {
        let current = Configuration::new();
        let mut export = Configuration::new();
        export.insert(Section::empty(SectionId::Session));
        export.insert(Section::empty(SectionId::Templates));
        let sel = Selection {
            sections: vec![SectionId::Session],
            partial: true,
            merge_event_sources: false,
        };
        let merged = merge(&current, &export, &sel);
        assert_eq!(merged.ids(), [SectionId::Session]);
    }

    fn event_sources(items: &[(&str, &str)]) -> Section {
        let mut root = Element::new("event_sources").with_attr("own", "target");
        for (id, d) in items {
            root = root.with_child(
                Element::new("event_source").with_attr("id", *id).with_attr("description", *d),
            );
        }
        Section::single(SectionId::EventSources, root)
    }

    #[test]
    fn a_partial_import_merges_event_sources_and_reports_those_kept() {
        let mut current = Configuration::empty_full();
        current.insert(event_sources(&[("a", "old"), ("b", "old")]));
        let mut export = Configuration::new();
        let mut theirs = event_sources(&[("c", "new"), ("a", "new")]);
        theirs.files[0].root.set_attr("own", "export");
        export.insert(theirs);
        let sel = Selection {
            sections: vec![SectionId::EventSources],
            partial: true,
            merge_event_sources: true,
        };
        let want = {
            let mut s = event_sources(&[("a", "old"), ("b", "old"), ("c", "new")]);
            s.files[0].root.set_attr("own", "target");
            s
        };
        assert_eq!(merge(&current, &export, &sel).get(SectionId::EventSources), Some(&want));
        assert_eq!(
            merge_owned(&current, export.clone(), &sel).get(SectionId::EventSources),
            Some(&want)
        );
        let mut in_place = current.clone();
        merge_in_place(&mut in_place, &export, &sel);
        assert_eq!(in_place.get(SectionId::EventSources), Some(&want));
        assert_eq!(
            kept(&current, &export, &sel),
            [(SectionId::EventSources, vec!["a".to_owned()])]
        );

        let replacing = sel.replacing_event_sources();
        let replaced = merge(&current, &export, &replacing);
        assert_eq!(replaced.get(SectionId::EventSources), export.get(SectionId::EventSources));
        assert!(kept(&current, &export, &replacing).is_empty());
    }

    #[test]
    fn merged_event_sources_into_a_target_without_them_are_the_exports() {
        let current = Configuration::new();
        let mut export = Configuration::new();
        export.insert(event_sources(&[("c", "new")]));
        let sel = Selection {
            sections: vec![SectionId::EventSources],
            partial: true,
            merge_event_sources: true,
        };
        assert_eq!(
            merge(&current, &export, &sel).get(SectionId::EventSources),
            export.get(SectionId::EventSources)
        );
    }
}
