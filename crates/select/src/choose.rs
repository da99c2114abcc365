//! Choosing the sections to import: every section of the export, or the subset given by
//! `--sections` (the brief's Advanced chooser), and whether the import is partial.

use std::fmt;

use model::{Export, Scope, SectionId};
use serde::Serialize;

/// The warning a partial import shows, word for word from the brief. The import goes ahead only
/// once it is accepted.
pub const PARTIAL_WARNING: &str =
    "You are choosing to import a partial configuration, only those elements will be overwritten.";

/// The sections an import takes from its export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Selection {
    /// The sections imported, in document order, without repeats.
    #[serde(serialize_with = "serialize_ids")]
    pub sections: Vec<SectionId>,
    /// Whether the import is partial: the export's scope is partial, or not every section is
    /// imported. A partial import must show [`PARTIAL_WARNING`].
    pub partial: bool,
}

impl Selection {
    /// Whether section `id` is imported.
    pub fn contains(&self, id: SectionId) -> bool {
        self.sections.contains(&id)
    }

    /// The canonical ids of the sections imported, in document order.
    pub fn ids(&self) -> Vec<&'static str> {
        self.sections.iter().map(|s| s.as_str()).collect()
    }

    /// The warning to show before this import, when it is partial.
    pub fn warning(&self) -> Option<&'static str> {
        self.partial.then_some(PARTIAL_WARNING)
    }
}

fn serialize_ids<S: serde::Serializer>(ids: &[SectionId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| id.as_str()))
}

/// What is wrong with a choice of sections.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An id that names no section.
    UnknownSection {
        /// The id given.
        id: String,
        /// Every valid id, in document order.
        valid: Vec<&'static str>,
    },
    /// A section that the export does not hold.
    NotInFile {
        /// The section asked for.
        id: SectionId,
        /// The sections the export holds, in document order.
        held: Vec<SectionId>,
    },
    /// The list of sections was empty.
    Empty,
    /// The export holds no section at all, so there is nothing to import.
    NoSections,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnknownSection { id, valid } => {
                write!(f, "unknown section '{id}'")?;
                if let Some(near) = nearest(id, valid) {
                    write!(f, " (did you mean '{near}'?)")?;
                }
                write!(f, "; valid sections: {}", valid.join(", "))
            }
            ErrorKind::NotInFile { id, held } => {
                write!(f, "section '{id}' is not in this export; ")?;
                write_held(f, held)
            }
            ErrorKind::Empty => f.write_str(
                "the list of sections is empty; name at least one section, or leave the list \
                 out to import every section of the export",
            ),
            ErrorKind::NoSections => {
                f.write_str("the export holds no section, so there is nothing to import")
            }
        }
    }
}

fn write_held(f: &mut fmt::Formatter<'_>, held: &[SectionId]) -> fmt::Result {
    if held.is_empty() {
        return f.write_str("it holds no section");
    }
    f.write_str("it holds: ")?;
    for (i, id) in held.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(id.as_str())?;
    }
    Ok(())
}

/// Why the sections could not be chosen: every problem found, in the order the ids were
/// given. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    problems: Vec<ErrorKind>,
}

impl Error {
    /// The first problem; see [`Error::problems`] for all of them.
    pub fn kind(&self) -> &ErrorKind {
        &self.problems[0]
    }

    /// Every problem found, in the order the ids were given.
    pub fn problems(&self) -> &[ErrorKind] {
        &self.problems
    }
}

impl fmt::Display for Error {
    /// One problem reads as its own sentence. Several are grouped: the unknown ids together with
    /// the list of valid ids, then the ids the export lacks together with what it holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [one] = self.problems.as_slice() {
            return one.fmt(f);
        }
        let mut unknown = Vec::new();
        let mut valid: &[&str] = &[];
        let mut absent = Vec::new();
        let mut held: &[SectionId] = &[];
        let mut others = Vec::new();
        for p in &self.problems {
            match p {
                ErrorKind::UnknownSection { id, valid: v } => {
                    unknown.push(id.as_str());
                    valid = v;
                }
                ErrorKind::NotInFile { id, held: h } => {
                    absent.push(id.as_str());
                    held = h;
                }
                other => others.push(other),
            }
        }
        let mut parts = Vec::new();
        if !unknown.is_empty() {
            let noun = if unknown.len() == 1 { "section" } else { "sections" };
            let hints: Vec<String> = unknown
                .iter()
                .filter_map(|id| nearest(id, valid).map(|n| format!("'{n}' for '{id}'")))
                .collect();
            let mut s = format!("unknown {noun} {}", quoted(&unknown));
            if !hints.is_empty() {
                s.push_str(&format!(" (did you mean {}?)", hints.join(", ")));
            }
            s.push_str(&format!("; valid sections: {}", valid.join(", ")));
            parts.push(s);
        }
        if !absent.is_empty() {
            let verb = if absent.len() == 1 { "section" } else { "sections" };
            let are = if absent.len() == 1 { "is" } else { "are" };
            let mut s = format!("{verb} {} {are} not in this export; ", quoted(&absent));
            s.push_str(&HeldList(held).to_string());
            parts.push(s);
        }
        parts.extend(others.iter().map(|o| o.to_string()));
        f.write_str(&parts.join(". "))
    }
}

impl std::error::Error for Error {}

struct HeldList<'a>(&'a [SectionId]);

impl fmt::Display for HeldList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_held(f, self.0)
    }
}

/// The valid id closest to `id`, when it is near enough to be a typo (at most two edits).
fn nearest<'a>(id: &str, valid: &[&'a str]) -> Option<&'a str> {
    let id = id.to_ascii_lowercase();
    valid
        .iter()
        .map(|v| (edit_distance(&id, v), *v))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

fn quoted(ids: &[&str]) -> String {
    ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(", ")
}

/// Chooses the sections to import from `export`.
///
/// `requested` holds the ids given by `--sections`; `None` takes every section of the file.
/// Ids are trimmed, blank entries (as in `templates,`) are skipped and repeats count once; the
/// result is in document order whatever the order given.
///
/// The import is partial when the export's scope is partial or when not every section is
/// imported (so a subset of a full file is partial, and so is a file that claims to be full
/// but lacks a section).
///
/// # Errors
/// Every problem at once: an unknown id (with the valid ids), an id the export does not hold
/// (with the ids it holds), an empty list, or an export that holds no section.
pub fn choose(export: &Export, requested: Option<&[String]>) -> Result<Selection, Error> {
    // In the order of docs/configuration.md's sections table, whatever the file's order.
    let mut held = export.configuration.ids();
    held.sort();
    let sections = match requested {
        None => {
            if held.is_empty() {
                return Err(Error { problems: vec![ErrorKind::NoSections] });
            }
            held
        }
        Some(list) => {
            let mut problems = Vec::new();
            let mut chosen = Vec::new();
            let mut any = false;
            for raw in list {
                let id = raw.trim();
                if id.is_empty() {
                    continue;
                }
                any = true;
                match SectionId::parse(id) {
                    None => {
                        let problem = ErrorKind::UnknownSection {
                            id: id.to_owned(),
                            valid: SectionId::ALL.iter().map(|s| s.as_str()).collect(),
                        };
                        if !problems.contains(&problem) {
                            problems.push(problem);
                        }
                    }
                    Some(s) if !held.contains(&s) => {
                        let problem = ErrorKind::NotInFile { id: s, held: held.clone() };
                        if !problems.contains(&problem) {
                            problems.push(problem);
                        }
                    }
                    Some(s) => chosen.push(s),
                }
            }
            if !any {
                problems.push(ErrorKind::Empty);
            }
            if !problems.is_empty() {
                return Err(Error { problems });
            }
            chosen.sort();
            chosen.dedup();
            chosen
        }
    };
    let partial = export.scope() == Scope::Partial || sections.len() < SectionId::ALL.len();
    Ok(Selection { sections, partial })
}

#[cfg(test)]
mod tests {
    use model::{Configuration, Header, PasswordsMode, Section};

    use super::*;

    fn export(scope: Scope, ids: &[SectionId]) -> Export {
        let mut configuration = Configuration::new();
        for id in ids {
            configuration.insert(Section::empty(*id));
        }
        Export {
            header: Header::new(scope, PasswordsMode::Included, None, None, None),
            configuration,
        }
    }

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn ids_are_trimmed_deduplicated_and_ordered() {
        let e = export(Scope::Full, &SectionId::ALL);
        let req = strings(&[" session", "templates", "", "session "]);
        let sel = choose(&e, Some(&req)).unwrap();
        assert_eq!(sel.sections, [SectionId::Templates, SectionId::Session]);
        assert!(sel.partial);
        assert_eq!(sel.warning(), Some(PARTIAL_WARNING));
        assert_eq!(sel.ids(), ["templates", "session"]);
    }

    #[test]
    fn every_section_of_a_full_file_is_not_partial() {
        let e = export(Scope::Full, &SectionId::ALL);
        let all: Vec<String> = SectionId::ALL.iter().rev().map(|s| s.to_string()).collect();
        let sel = choose(&e, Some(&all)).unwrap();
        assert_eq!(sel.sections, SectionId::ALL);
        assert!(!sel.partial);
        assert_eq!(sel.warning(), None);
    }

    #[test]
    fn a_full_header_over_a_missing_section_is_still_partial() {
        let e = export(Scope::Full, &SectionId::ALL[1..]);
        let sel = choose(&e, None).unwrap();
        assert_eq!(sel.sections.len(), 9);
        assert!(sel.partial);
    }

    #[test]
    fn blank_list_is_empty() {
        let e = export(Scope::Full, &SectionId::ALL);
        for req in [strings(&[]), strings(&["", "  "])] {
            let err = choose(&e, Some(&req)).unwrap_err();
            assert_eq!(err.problems(), [ErrorKind::Empty]);
            assert!(err.to_string().starts_with("the list of sections is empty"), "{err}");
        }
    }

    #[test]
    fn an_export_without_sections_has_nothing_to_import() {
        let e = export(Scope::Partial, &[]);
        let err = choose(&e, None).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::NoSections);
        let err = choose(&e, Some(&strings(&["templates"]))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "section 'templates' is not in this export; it holds no section"
        );
    }

    #[test]
    fn one_problem_reads_as_the_brief_says() {
        let e = export(Scope::Partial, &[SectionId::UserDirectories, SectionId::Templates]);
        let err = choose(&e, Some(&strings(&["cso_clients"]))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "section 'cso_clients' is not in this export; it holds: user_directories, templates"
        );
        let err = choose(&e, Some(&strings(&["foo"]))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown section 'foo'; valid sections: event_sources, user_directories, templates, \
             pc_probes, syslog_sources, srx_clients, cso_clients, session, transports, \
             admin_clients"
        );
    }

    #[test]
    fn a_typo_gets_a_suggestion() {
        let e = export(Scope::Full, &SectionId::ALL);
        let err = choose(&e, Some(&strings(&["Templets"]))).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "unknown section 'Templets' (did you mean 'templates'?); valid sections: "
            ),
            "{err}"
        );
        let err = choose(&e, Some(&strings(&["sesion", "xyz"]))).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "unknown sections 'sesion', 'xyz' (did you mean 'session' for 'sesion'?); "
            ),
            "{err}"
        );
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = export(Scope::Partial, &[SectionId::Templates]);
        let req = strings(&["foo", "session", "templates", "bar", "foo", "cso_clients"]);
        let err = choose(&e, Some(&req)).unwrap_err();
        assert_eq!(err.problems().len(), 4, "{:?}", err.problems());
        assert!(matches!(err.kind(), ErrorKind::UnknownSection { id, .. } if id == "foo"));
        assert_eq!(
            err.to_string(),
            "unknown sections 'foo', 'bar'; valid sections: event_sources, user_directories, \
             templates, pc_probes, syslog_sources, srx_clients, cso_clients, session, \
             transports, admin_clients. sections 'session', 'cso_clients' are not in this \
             export; it holds: templates"
        );
    }
}
