//! The import rules a configuration must satisfy: limits, ids, the elements that hold an item's
//! credentials, template kinds and references, and the logoff time. Every problem is reported,
//! not only the first.

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
/// The kinds a template may have.
pub const TEMPLATE_KINDS: [&str; 3] = ["event_source", "user_directory", "pc_probe"];

/// An element that holds an item's credentials: its name(s), how a message names it, and
/// whether the item must have one (it may never have more than one).
struct HolderRule {
    names: &'static [&'static str],
    element: &'static str,
    required: bool,
}

/// The holder elements of the items of `section` (docs/configuration.md, "Sections").
fn holder_rules(section: SectionId) -> &'static [HolderRule] {
    match section {
        SectionId::EventSources => &[HolderRule {
            names: &["domain_controller", "exchange_server"],
            element: "domain_controller or exchange_server",
            required: true,
        }],
        SectionId::UserDirectories => &[HolderRule {
            names: &["active_directory"],
            element: "active_directory",
            required: true,
        }],
        SectionId::SrxClients => &[
            HolderRule { names: &["oAuth"], element: "oAuth", required: true },
            HolderRule { names: &["webapi"], element: "webapi", required: false },
        ],
        _ => &[],
    }
}

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
    /// An item lacks the element that holds its credentials (e.g. an event source with no
    /// `domain_controller` or `exchange_server`, an SRX client with no `oAuth`).
    MissingHolder {
        /// The element(s) expected, e.g. `domain_controller or exchange_server`.
        element: &'static str,
    },
    /// An item has more than one element of a kind it may hold only once.
    ExtraHolder {
        /// The element(s), e.g. `active_directory`.
        element: &'static str,
        /// How many there are.
        found: usize,
    },
    /// A template's `kind` is absent, empty or not one of [`TEMPLATE_KINDS`].
    UnknownTemplateKind {
        /// The kind found (empty when absent).
        kind: String,
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
            ProblemKind::MissingHolder { element } => write!(
                f,
                "{}/{item}: has no {element} element, which holds its credentials; add one",
                self.section
            ),
            ProblemKind::ExtraHolder { element, found } => write!(
                f,
                "{}/{item}: has {found} {element} elements, but JIMS allows only one; keep one",
                self.section
            ),
            ProblemKind::UnknownTemplateKind { kind } if kind.is_empty() => write!(
                f,
                "{}/{item}: has no kind; set kind to event_source, user_directory or pc_probe",
                self.section
            ),
            ProblemKind::UnknownTemplateKind { kind } => write!(
                f,
                "{}/{item}: kind '{kind}' is not one JIMS knows; set kind to event_source, \
                 user_directory or pc_probe",
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
    for section in config.sections_in_table_order() {
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
        let rules = holder_rules(id);
        if !rules.is_empty() {
            for (_, _, item) in section.items() {
                for rule in rules {
                    let found = item
                        .children
                        .iter()
                        .filter(|c| rule.names.contains(&c.name.as_str()))
                        .count();
                    let kind = match found {
                        0 if rule.required => ProblemKind::MissingHolder { element: rule.element },
                        0 | 1 => continue,
                        _ => ProblemKind::ExtraHolder { element: rule.element, found },
                    };
                    problems.push(problem(id, item.attr("id"), kind));
                }
            }
        }
        if id == SectionId::Templates {
            for (_, _, item) in section.items() {
                let kind = item.attr("kind").unwrap_or_default();
                if !TEMPLATE_KINDS.contains(&kind) {
                    problems.push(problem(
                        id,
                        item.attr("id"),
                        ProblemKind::UnknownTemplateKind { kind: kind.into() },
                    ));
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
            let mut e = Element::new("event_source")
                .with_attr("id", format!("DC{i}"))
                .with_child(Element::new("domain_controller").with_attr("server", "10.0.0.1"));
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

    fn messages(c: &Configuration) -> Vec<String> {
        validate(c).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_source_holds_exactly_one_credential_element() {
        let dc = || Element::new("domain_controller").with_attr("server", "a");
        let ex = || Element::new("exchange_server").with_attr("server", "b");
        let ad = || Element::new("active_directory").with_attr("server", "c");
        let mut c = Configuration::new();
        c.insert(Section::single(
            SectionId::EventSources,
            Element::new("event_sources")
                .with_child(Element::new("event_source").with_attr("id", "E1"))
                .with_child(Element::new("event_source").with_attr("id", "E2").with_child(dc()))
                .with_child(Element::new("event_source").with_attr("id", "E3").with_child(ex()))
                .with_child(
                    Element::new("event_source")
                        .with_attr("id", "E4")
                        .with_child(dc())
                        .with_child(Element::new("filter"))
                        .with_child(ex()),
                ),
        ));
        c.insert(Section::single(
            SectionId::UserDirectories,
            Element::new("user_info_sources")
                .with_child(Element::new("user_info_source").with_attr("id", "A1"))
                .with_child(Element::new("user_info_source").with_attr("id", "A2").with_child(ad()))
                .with_child(
                    Element::new("user_info_source")
                        .with_attr("id", "A3")
                        .with_child(ad())
                        .with_child(ad()),
                ),
        ));
        assert_eq!(
            messages(&c),
            [
                "event_sources/E1: has no domain_controller or exchange_server element, which \
                 holds its credentials; add one",
                "event_sources/E4: has 2 domain_controller or exchange_server elements, but JIMS \
                 allows only one; keep one",
                "user_directories/A1: has no active_directory element, which holds its \
                 credentials; add one",
                "user_directories/A3: has 2 active_directory elements, but JIMS allows only one; \
                 keep one",
            ]
        );
    }

    #[test]
    fn an_srx_client_holds_one_oauth_and_at_most_one_webapi() {
        let srx = |id: &str, children: &[&str]| {
            let mut e = Element::new("SRX").with_attr("id", id).with_attr("address", "10.0.1.1");
            for name in children {
                e = e.with_child(Element::new(*name));
            }
            e
        };
        let mut c = Configuration::new();
        c.insert(Section::single(
            SectionId::SrxClients,
            Element::new("SRXes")
                .with_child(srx("S1", &["oAuth", "query"]))
                .with_child(srx("S2", &["webapi", "oAuth", "query"]))
                .with_child(srx("S3", &["webapi", "query"]))
                .with_child(srx("S4", &["oAuth", "oAuth", "webapi", "webapi", "webapi"])),
        ));
        let problems = validate(&c);
        let seen: Vec<_> = problems.iter().map(|p| (p.item.as_deref(), &p.kind)).collect();
        assert_eq!(
            seen,
            [
                (Some("S3"), &ProblemKind::MissingHolder { element: "oAuth" }),
                (Some("S4"), &ProblemKind::ExtraHolder { element: "oAuth", found: 2 }),
                (Some("S4"), &ProblemKind::ExtraHolder { element: "webapi", found: 3 }),
            ]
        );
        assert_eq!(
            problems[0].to_string(),
            "srx_clients/S3: has no oAuth element, which holds its credentials; add one"
        );
    }

    #[test]
    fn every_template_has_a_known_kind_even_when_unused() {
        let template = |id: &str, kind: Option<&str>| {
            let e = Element::new("template").with_attr("id", id);
            match kind {
                Some(k) => e.with_attr("kind", k),
                None => e,
            }
        };
        let mut c = Configuration::new();
        c.insert(Section::single(
            SectionId::Templates,
            Element::new("templates")
                .with_child(template("t1", Some("event_source")))
                .with_child(template("t2", Some("user_directory")))
                .with_child(template("t3", Some("pc_probe")))
                .with_child(template("t4", Some("exchange")))
                .with_child(template("t5", Some("")))
                .with_child(template("t6", None)),
        ));
        assert_eq!(
            messages(&c),
            [
                "templates/t4: kind 'exchange' is not one JIMS knows; set kind to event_source, \
                 user_directory or pc_probe",
                "templates/t5: has no kind; set kind to event_source, user_directory or pc_probe",
                "templates/t6: has no kind; set kind to event_source, user_directory or pc_probe",
            ]
        );
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
