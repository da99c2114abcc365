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
pub fn merge(
    current: &Configuration,
    export: &Configuration,
    selection: &Selection,
) -> Configuration {
    let mut merged = current.clone();
    merge_in_place(&mut merged, export, selection);
    merged
}

/// [`merge`] into `current` itself, without copying the sections that stay.
pub fn merge_in_place(current: &mut Configuration, export: &Configuration, selection: &Selection) {
    for &id in &selection.sections {
        if let Some(section) = export.get(id) {
            current.insert(complete(section));
        }
    }
}

/// A copy of `section` with an empty root for each native file it lacks, files in native order
/// (files of other paths, which a well-formed section does not have, keep their place at the
/// end).
fn complete(section: &Section) -> Section {
    let mut out = section.clone();
    let natives = section.id.native_files();
    for path in natives {
        if !out.files.iter().any(|f| f.path == *path) {
            out.files.push(SectionFile { path, root: section.id.empty_root() });
        }
    }
    let rank = |f: &SectionFile| natives.iter().position(|p| *p == f.path).unwrap_or(natives.len());
    out.files.sort_by_key(rank);
    out
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
        export.insert(Section {
            id: SectionId::Transports,
            files: vec![SectionFile {
                path: "config/clients_http.xml",
                root: Element::new("xports").with_child(transport("new-http")),
            }],
        });
        let sel = Selection { sections: vec![SectionId::Transports], partial: true };
        let merged = merge(&current, &export, &sel);
        let t = merged.get(SectionId::Transports).unwrap();
        assert_eq!(t.files.len(), 2);
        assert_eq!(t.files[0].path, "config/clients_https.xml");
        assert_eq!(t.files[0].root, Element::new("xports"));
        assert_eq!(t.files[1].root.children, [transport("new-http")]);
        assert_eq!(t.item_count(), 1);
    }

    #[test]
    fn a_chosen_section_the_export_lacks_is_left_alone() {
        let current = Configuration::empty_full();
        let export = Configuration::new();
        let sel = Selection { sections: vec![SectionId::Templates], partial: true };
        assert_eq!(merge(&current, &export, &sel), current);
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
