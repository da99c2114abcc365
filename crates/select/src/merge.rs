//! The merge: each chosen section of the target's configuration is cleared and replaced by the
//! export's; every other section is left exactly as it was.

use model::{Configuration, Section, SectionFile};

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
    let taken: Vec<Section> =
        selection.sections.iter().filter_map(|&id| export.get(id).cloned()).collect();
    merge_taken(current, taken)
}

/// [`merge`], taking `export` by value: the sections of `selection` are moved out of it rather
/// than copied, and the rest of `export` is dropped. The result is the same as [`merge`]'s.
pub fn merge_owned(
    current: &Configuration,
    mut export: Configuration,
    selection: &Selection,
) -> Configuration {
    let taken: Vec<Section> =
        selection.sections.iter().filter_map(|&id| export.remove(id)).collect();
    merge_taken(current, taken)
}

/// [`merge`] into `current` itself, without copying the sections that stay.
pub fn merge_in_place(current: &mut Configuration, export: &Configuration, selection: &Selection) {
    for &id in &selection.sections {
        if let Some(section) = export.get(id) {
            current.insert(complete(section.clone()));
        }
    }
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
    use model::{Element, SectionId};

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
        let sel = Selection { sections: vec![SectionId::Transports], partial: true };
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
        let sel = Selection { sections: vec![SectionId::Templates], partial: true };
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
            let sel = Selection { sections, partial: true };
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
        let sel = Selection { sections: vec![SectionId::Session], partial: true };
        let merged = merge(&current, &export, &sel);
        assert_eq!(merged.ids(), [SectionId::Session]);
    }
}
