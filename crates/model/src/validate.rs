//! The import rules a configuration must satisfy: limits, ids, template references and the
//! logoff time. Every problem is reported, not only the first.

use std::collections::HashMap;
use std::fmt;

use crate::secret::template_kind_for;
use crate::section::{Configuration, SectionId};

/// At most this many event sources (domain controllers and Exchange servers together).
pub const MAX_EVENT_SOURCES: usize = 100;
/// At most this many user directories.
pub const MAX_USER_DIRECTORIES: usize = 100;
/// At most this many CSO clients.
pub const MAX_CSO_CLIENTS: usize = 10;
/// The logoff time (`probe_timeout`, minutes) must lie in this range.
pub const LOGOFF_MINUTES: std::ops::RangeInclusive<u32> = 1..=1440;

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A section holds more items than JIMS allows.
    TooMany {
        /// The limit.
        limit: usize,
        /// How many there are.
        found: usize,
    },
    /// An item has no id, or an empty one.
    EmptyId,
    /// An item's id contains `/`, which secret keys use as a separator.
    SlashInId,
    /// Two items of a section share an id.
    DuplicateId,
    /// An item names a template that does not exist.
    DanglingTemplate {
        /// The template named.
        template: String,
    },
    /// An item names a template of the wrong kind.
    TemplateKind {
        /// The template named.
        template: String,
        /// The kind the item needs.
        expected: &'static str,
        /// The template's kind.
        found: String,
    },
    /// `probe_timeout` is not a whole number of minutes in 1–1440.
    LogoffTime {
        /// The value found.
        value: String,
    },
}

/// One problem with a configuration, where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The section.
    pub section: SectionId,
    /// The item's id, where the problem is an item's.
    pub item: Option<String>,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let item = self.item.as_deref().unwrap_or("");
        match &self.kind {
            ProblemKind::TooMany { limit, found } => {
                write!(f, "{}: {found} items, but JIMS allows at most {limit}", self.section)
            }
            ProblemKind::EmptyId => write!(f, "{}: an item has no id", self.section),
            ProblemKind::SlashInId => {
                write!(f, "{}/{item}: an id may not contain '/'", self.section)
            }
            ProblemKind::DuplicateId => {
                write!(f, "{}/{item}: the id is used more than once", self.section)
            }
            ProblemKind::DanglingTemplate { template } => write!(
                f,
                "{}/{item}: uses template '{template}', which does not exist",
                self.section
            ),
            ProblemKind::TemplateKind { template, expected, found } => write!(
                f,
                "{}/{item}: uses template '{template}' of kind '{found}', but needs kind '{expected}'",
                self.section
            ),
            ProblemKind::LogoffTime { value } => write!(
                f,
                "{}: logoff time probe_timeout=\"{value}\" must be a whole number of minutes from {} to {}",
                self.section,
                LOGOFF_MINUTES.start(),
                LOGOFF_MINUTES.end()
            ),
        }
    }
}

/// Checks `config` against the import rules; returns every problem found, in document order.
pub fn validate(config: &Configuration) -> Vec<Problem> {
    let mut problems = Vec::new();
    let problem = |section, item: Option<&str>, kind| Problem {
        section,
        item: item.map(str::to_owned),
        kind,
    };
    for section in config.sections() {
        let id = section.id;
        let limit = match id {
            SectionId::EventSources => Some(MAX_EVENT_SOURCES),
            SectionId::UserDirectories => Some(MAX_USER_DIRECTORIES),
            SectionId::CsoClients => Some(MAX_CSO_CLIENTS),
            _ => None,
        };
        let count = section.item_count();
        if let Some(limit) = limit.filter(|&l| count > l) {
            problems.push(problem(id, None, ProblemKind::TooMany { limit, found: count }));
        }
        if id.has_item_ids() {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for (_, _, item) in section.items() {
                match item.attr("id") {
                    None | Some("") => problems.push(problem(id, None, ProblemKind::EmptyId)),
                    Some(item_id) => {
                        if item_id.contains('/') {
                            problems.push(problem(id, Some(item_id), ProblemKind::SlashInId));
                        }
                        let n = seen.entry(item_id).or_default();
                        *n += 1;
                        if *n == 2 {
                            problems.push(problem(id, Some(item_id), ProblemKind::DuplicateId));
                        }
                    }
                }
            }
        }
        if let Some(expected) = template_kind_for(id) {
            let templates = config.get(SectionId::Templates);
            for (_, _, item) in section.items() {
                let Some(template) = item.non_empty_attr("template") else { continue };
                let item_id = item.attr("id");
                match templates.and_then(|t| t.item(template)) {
                    None => problems.push(problem(
                        id,
                        item_id,
                        ProblemKind::DanglingTemplate { template: template.into() },
                    )),
                    Some(t) if t.attr("kind") != Some(expected) => problems.push(problem(
                        id,
                        item_id,
                        ProblemKind::TemplateKind {
                            template: template.into(),
                            expected,
                            found: t.attr("kind").unwrap_or_default().into(),
                        },
                    )),
                    Some(_) => {}
                }
            }
        }
        if id == SectionId::Session {
            for (_, _, item) in section.items() {
                if let Some(value) = item.attr("probe_timeout") {
                    let ok = value.parse::<u32>().is_ok_and(|m| LOGOFF_MINUTES.contains(&m));
                    if !ok {
                        problems.push(problem(
                            id,
                            None,
                            ProblemKind::LogoffTime { value: value.into() },
                        ));
                    }
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::Element;
    use crate::section::Section;

    fn event_sources(n: usize, template: Option<&str>) -> Section {
        let mut root = Element::new("event_sources");
        for i in 0..n {
            let mut e = Element::new("event_source").with_attr("id", format!("DC{i}"));
            if let Some(t) = template {
                e = e.with_attr("template", t);
            }
            root.children.push(e);
        }
        Section::single(SectionId::EventSources, root)
    }

    #[test]
    fn lists_every_problem_at_once() {
        let mut c = Configuration::new();
        c.insert(event_sources(101, Some("missing-template")));
        let mut dup = Element::new("clients");
        dup.children.push(Element::new("client").with_attr("id", "a"));
        dup.children.push(Element::new("client").with_attr("id", "a"));
        dup.children.push(Element::new("client").with_attr("id", "b/c"));
        dup.children.push(Element::new("client"));
        c.insert(Section::single(SectionId::AdminClients, dup));
        c.insert(Section::single(
            SectionId::Session,
            Element::new("cache")
                .with_child(Element::new("config").with_attr("probe_timeout", "0")),
        ));
        let problems = validate(&c);
        let kinds: Vec<_> = problems.iter().map(|p| &p.kind).collect();
        assert!(kinds.contains(&&ProblemKind::TooMany { limit: 100, found: 101 }));
        assert_eq!(
            problems
                .iter()
                .filter(|p| matches!(p.kind, ProblemKind::DanglingTemplate { .. }))
                .count(),
            101
        );
        assert!(kinds.contains(&&ProblemKind::DuplicateId));
        assert!(kinds.contains(&&ProblemKind::SlashInId));
        assert!(kinds.contains(&&ProblemKind::EmptyId));
        assert!(kinds.contains(&&ProblemKind::LogoffTime { value: "0".into() }));
        let text = problems[1].to_string();
        assert_eq!(
            text,
            "event_sources/DC0: uses template 'missing-template', which does not exist"
        );
    }

    #[test]
    fn template_kind_must_fit() {
        let mut c = Configuration::new();
        c.insert(event_sources(1, Some("t")));
        c.insert(Section::single(
            SectionId::Templates,
            Element::new("templates").with_child(
                Element::new("template").with_attr("id", "t").with_attr("kind", "pc_probe"),
            ),
        ));
        let problems = validate(&c);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].to_string().contains("needs kind 'event_source'"));
    }

    #[test]
    fn transport_ids_are_unique_across_both_files() {
        let mut s = Section::empty(SectionId::Transports);
        s.files[0].root.children.push(Element::new("transport").with_attr("id", "t"));
        s.files[1].root.children.push(Element::new("transport").with_attr("id", "t"));
        let mut c = Configuration::new();
        c.insert(s);
        assert_eq!(validate(&c)[0].kind, ProblemKind::DuplicateId);
    }

    #[test]
    fn a_valid_configuration_has_no_problems() {
        assert!(validate(&Configuration::empty_full()).is_empty());
    }
}
