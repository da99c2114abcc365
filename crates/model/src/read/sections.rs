//! The rules of a bundle's sections: which ids exist, each at most once; how the two
//! `transports` files are named, each at most once; no password outside its field; and a bundle
//! that says its scope is full holds every section.

use super::error::{Error, ErrorKind};
use crate::export::{Header, Scope};
use crate::misplaced::{Misplaced, misplaced_secrets};
use crate::section::{Configuration, Section, SectionFile, SectionId};
use crate::text::quoted;

/// The section whose id is `id`; an unknown id is refused, naming the ten.
pub fn section_id(id: &str) -> Result<SectionId, Error> {
    SectionId::parse(id).ok_or_else(|| {
        let known: Vec<&str> = SectionId::ALL.into_iter().map(SectionId::as_str).collect();
        Error::new(
            ErrorKind::UnknownSection,
            format!("unknown section id {}; the sections are {}", quoted(id), known.join(", ")),
        )
    })
}

/// Refuses the section `id` when `config` already holds it: a bundle holds a section once.
pub fn check_new_section(config: &Configuration, id: SectionId) -> Result<(), Error> {
    if !config.contains(id) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::DuplicateSection,
        format!("section {id} appears twice in the bundle; keep one"),
    ))
}

/// The name a bundle gives the `transports` native file at `path`: its file name
/// (`config/clients_http.xml` → `clients_http.xml`), the XML's `file` attribute and the JSON's
/// member name.
pub fn transports_file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The names of the two `transports` files, in document order, for messages:
/// `clients_https.xml, clients_http.xml` with `separator` `", "`.
pub fn transports_file_names(separator: &str) -> String {
    let names: Vec<&str> =
        SectionId::Transports.native_files().iter().map(|p| transports_file_name(p)).collect();
    names.join(separator)
}

/// The native path of the `transports` file a bundle names `name`; any other name is refused.
pub fn transports_file(name: &str) -> Result<&'static str, Error> {
    let natives = SectionId::Transports.native_files();
    natives.iter().copied().find(|p| transports_file_name(p) == name).ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownSection,
            format!(
                "unknown transports file {}; the transports files are {}",
                quoted(name),
                transports_file_names(", ")
            ),
        )
    })
}

/// Refuses the `transports` file at `path` when `files` already holds it.
pub fn check_new_transports_file(files: &[SectionFile], path: &str) -> Result<(), Error> {
    if !files.iter().any(|f| f.path == path) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::DuplicateSection,
        format!(
            "the transports file {} appears twice in the bundle; keep one",
            transports_file_name(path)
        ),
    ))
}

/// The first password-like attribute or element of `section` that is not one of its secret
/// fields ([`crate::misplaced`]), and the error that refuses it; the reader places it with the
/// [`Misplaced`]'s file and path.
pub fn first_misplaced_secret(section: &Section) -> Option<(Misplaced, Error)> {
    let m = misplaced_secrets(section).into_iter().next()?;
    let error = Error::new(ErrorKind::MisplacedSecret, m.to_string());
    Some((m, error))
}

/// Refuses a configuration that lacks sections when `header` says the scope is full, naming the
/// missing ones.
pub fn check_full_scope(header: &Header, config: &Configuration) -> Result<(), Error> {
    if header.scope() != Some(Scope::Full) || config.is_full() {
        return Ok(());
    }
    let missing: Vec<&str> = SectionId::ALL
        .into_iter()
        .filter(|s| !config.contains(*s))
        .map(SectionId::as_str)
        .collect();
    Err(Error::new(
        ErrorKind::MissingSections,
        format!(
            "the header says scope full, but the bundle lacks the section{} {}; a full bundle \
             holds every section (an empty one too): add them, or make the scope partial",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::{Attribute, Element};

    #[test]
    fn section_ids() {
        assert_eq!(section_id("session"), Ok(SectionId::Session));
        let e = section_id("bogus\u{1b}").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::UnknownSection);
        assert_eq!(
            e.message(),
            "unknown section id \"bogus\\x1b\"; the sections are event_sources, \
             user_directories, templates, pc_probes, syslog_sources, srx_clients, cso_clients, \
             session, transports, admin_clients"
        );
        let mut config = Configuration::new();
        assert_eq!(check_new_section(&config, SectionId::Session), Ok(()));
        config.insert(Section::empty(SectionId::Session));
        let e = check_new_section(&config, SectionId::Session).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::DuplicateSection);
        assert_eq!(e.message(), "section session appears twice in the bundle; keep one");
    }

    #[test]
    fn transports_files() {
        assert_eq!(transports_file("clients_http.xml"), Ok("config/clients_http.xml"));
        assert_eq!(transports_file_name("config/clients_https.xml"), "clients_https.xml");
        assert_eq!(transports_file_names(" or "), "clients_https.xml or clients_http.xml");
        let e = transports_file("config/clients_http.xml").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::UnknownSection);
        assert_eq!(
            e.message(),
            "unknown transports file \"config/clients_http.xml\"; the transports files are \
             clients_https.xml, clients_http.xml"
        );
        let files = [SectionFile { path: "config/clients_http.xml", root: Element::new("xports") }];
        assert_eq!(check_new_transports_file(&files, "config/clients_https.xml"), Ok(()));
        let e = check_new_transports_file(&files, "config/clients_http.xml").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::DuplicateSection);
        assert_eq!(
            e.message(),
            "the transports file clients_http.xml appears twice in the bundle; keep one"
        );
    }

    #[test]
    fn full_scope_names_what_is_missing() {
        let mut header = Header::default();
        let mut config = Configuration::empty_full();
        config.remove(SectionId::Templates);
        assert_eq!(check_full_scope(&header, &config), Ok(()), "no scope: partial");
        header.attributes.push(Attribute::new("scope", "full"));
        let e = check_full_scope(&header, &config).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::MissingSections);
        assert!(e.message().starts_with(
            "the header says scope full, but the bundle lacks the section templates;"
        ));
        config.remove(SectionId::Session);
        let e = check_full_scope(&header, &config).unwrap_err();
        assert!(e.message().contains("lacks the sections templates, session;"), "{e}");
        assert_eq!(check_full_scope(&header, &Configuration::empty_full()), Ok(()));
    }

    #[test]
    fn a_misplaced_secret_is_refused_with_its_place() {
        let mut root = Element::new("cache");
        root.children.push(Element::new("config").with_attr("password", "x"));
        let section = Section::single(SectionId::Session, root);
        let (m, e) = first_misplaced_secret(&section).expect("refused");
        assert_eq!(m.path, [0]);
        assert_eq!(e.kind(), &ErrorKind::MisplacedSecret);
        assert_eq!(e.message(), m.to_string());
        let clean = Section::empty(SectionId::Session);
        assert!(first_misplaced_secret(&clean).is_none());
    }
}
