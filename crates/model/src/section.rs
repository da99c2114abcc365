//! The ten sections of a JIMS configuration, their native files, and the configuration that
//! holds them.

use std::fmt;

use crate::element::Element;

/// A section of the configuration: the unit of a partial import.
///
/// The order of the variants is the order of docs/configuration.md's sections table, which is
/// also the order of the Add Missing Passwords table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SectionId {
    /// Domain controllers and Exchange servers whose event logs JIMS reads.
    EventSources,
    /// Active Directory sources.
    UserDirectories,
    /// Data-source templates shared by several sources.
    Templates,
    /// PC-probe settings and their ordered credentials.
    PcProbes,
    /// Syslog sources.
    SyslogSources,
    /// SRX firewalls served by JIMS.
    SrxClients,
    /// CSO clients.
    CsoClients,
    /// Session cache settings (logoff time and timeouts).
    Session,
    /// HTTPS and HTTP listeners.
    Transports,
    /// Addresses allowed on the admin interface.
    AdminClients,
}

impl SectionId {
    /// Every section, in document order.
    pub const ALL: [SectionId; 10] = [
        SectionId::EventSources,
        SectionId::UserDirectories,
        SectionId::Templates,
        SectionId::PcProbes,
        SectionId::SyslogSources,
        SectionId::SrxClients,
        SectionId::CsoClients,
        SectionId::Session,
        SectionId::Transports,
        SectionId::AdminClients,
    ];

    /// The canonical id used on the command line, in JSON and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SectionId::EventSources => "event_sources",
            SectionId::UserDirectories => "user_directories",
            SectionId::Templates => "templates",
            SectionId::PcProbes => "pc_probes",
            SectionId::SyslogSources => "syslog_sources",
            SectionId::SrxClients => "srx_clients",
            SectionId::CsoClients => "cso_clients",
            SectionId::Session => "session",
            SectionId::Transports => "transports",
            SectionId::AdminClients => "admin_clients",
        }
    }

    /// The section with this canonical id.
    pub fn parse(id: &str) -> Option<SectionId> {
        SectionId::ALL.into_iter().find(|s| s.as_str() == id)
    }

    /// The section's native files, relative to a server's `cwd/` folder. Only `transports` has
    /// two.
    pub fn native_files(self) -> &'static [&'static str] {
        match self {
            SectionId::EventSources => &["config/event_log_reader.xml"],
            SectionId::UserDirectories => &["config/user_directory.xml"],
            SectionId::Templates => &["config/templates.xml"],
            SectionId::PcProbes => &["config/pc_probe.xml"],
            SectionId::SyslogSources => &["config/syslog.xml"],
            SectionId::SrxClients => &["config/srx_interface.xml"],
            SectionId::CsoClients => &["config/cso_interface.xml"],
            SectionId::Session => &["config/cache.xml"],
            SectionId::Transports => &["config/clients_https.xml", "config/clients_http.xml"],
            SectionId::AdminClients => &["system/init/admin_whitelist_static.xml"],
        }
    }

    /// The section that owns the native file at `path` (relative to `cwd/`), if any.
    pub fn for_native_file(path: &str) -> Option<SectionId> {
        SectionId::ALL.into_iter().find(|s| s.native_files().contains(&path))
    }

    /// The name of the root element of the section's native file(s).
    pub fn root_name(self) -> &'static str {
        match self {
            SectionId::EventSources => "event_sources",
            SectionId::UserDirectories => "user_info_sources",
            SectionId::Templates => "templates",
            SectionId::PcProbes => "pc_probe",
            SectionId::SyslogSources => "syslog_sources",
            SectionId::SrxClients => "SRXes",
            SectionId::CsoClients => "CSOs",
            SectionId::Session => "cache",
            SectionId::Transports => "xports",
            SectionId::AdminClients => "clients",
        }
    }

    /// The name of the item elements under the root.
    pub fn item_name(self) -> &'static str {
        match self {
            SectionId::EventSources => "event_source",
            SectionId::UserDirectories => "user_info_source",
            SectionId::Templates => "template",
            SectionId::PcProbes => "credential",
            SectionId::SyslogSources => "syslog_source",
            SectionId::SrxClients => "SRX",
            SectionId::CsoClients => "CSO",
            SectionId::Session => "config",
            SectionId::Transports => "transport",
            SectionId::AdminClients => "client",
        }
    }

    /// The Type column of the Add Missing Passwords table, for sections that hold secrets.
    pub fn type_label(self) -> &'static str {
        match self {
            SectionId::EventSources => "Event Source",
            SectionId::UserDirectories => "User Directory",
            SectionId::Templates => "Template",
            SectionId::PcProbes => "PC Probe",
            SectionId::SyslogSources => "Syslog Source",
            SectionId::SrxClients => "SRX Client",
            SectionId::CsoClients => "CSO Client",
            SectionId::Session => "Session",
            SectionId::Transports => "Transport",
            SectionId::AdminClients => "Admin Client",
        }
    }

    /// Whether items of this section carry an `id` that must be unique (all but `session`).
    pub fn has_item_ids(self) -> bool {
        self != SectionId::Session
    }

    /// An empty root element for this section's native file at `file`.
    pub fn empty_root(self) -> Element {
        Element::new(self.root_name())
    }
}

impl fmt::Display for SectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One native file of a section: its path under `cwd/` and its root element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionFile {
    /// The native file, relative to `cwd/`, one of [`SectionId::native_files`].
    pub path: &'static str,
    /// The file's root element.
    pub root: Element,
}

/// A section: its id and the root element of each of its native files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Which section this is.
    pub id: SectionId,
    /// Its native files in order: one, or for `transports` up to two.
    pub files: Vec<SectionFile>,
}

impl Section {
    /// A section whose every native file holds an empty root element.
    pub fn empty(id: SectionId) -> Section {
        let files = id
            .native_files()
            .iter()
            .map(|path| SectionFile { path, root: id.empty_root() })
            .collect();
        Section { id, files }
    }

    /// A section of one native file (every section but `transports`).
    pub fn single(id: SectionId, root: Element) -> Section {
        Section { id, files: vec![SectionFile { path: id.native_files()[0], root }] }
    }

    /// The items of the section across its files, in order: `(file index, item index in the
    /// root's children, item)`. Children of the root that are not items are not listed.
    pub fn items(&self) -> impl Iterator<Item = (usize, usize, &Element)> {
        let item_name = self.id.item_name();
        self.files.iter().enumerate().flat_map(move |(f, file)| {
            file.root
                .children
                .iter()
                .enumerate()
                .filter(move |(_, c)| c.name == item_name)
                .map(move |(i, c)| (f, i, c))
        })
    }

    /// The number of items in the section.
    pub fn item_count(&self) -> usize {
        self.items().count()
    }

    /// The item with this `id`, if any.
    pub fn item(&self, id: &str) -> Option<&Element> {
        self.items().map(|(_, _, e)| e).find(|e| e.attr("id") == Some(id))
    }
}

/// A JIMS configuration: at most one of each section, in the order they were inserted, which
/// for a bundle that was read is the order of its file (docs/formats.md: lossless, "in
/// order"), so that a bundle written back keeps it. [`Configuration::sections_in_table_order`]
/// gives them in the order of docs/configuration.md's sections table, as the Add Missing Passwords
/// table and the validation list them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Configuration {
    sections: Vec<Section>,
}

impl Configuration {
    /// A configuration with no sections at all.
    pub fn new() -> Configuration {
        Configuration::default()
    }

    /// A configuration with every section present and empty (a freshly initialised server).
    pub fn empty_full() -> Configuration {
        Configuration { sections: SectionId::ALL.into_iter().map(Section::empty).collect() }
    }

    /// The section `id`, if present.
    pub fn get(&self, id: SectionId) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The section `id`, mutably, if present.
    pub fn get_mut(&mut self, id: SectionId) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.id == id)
    }

    /// Inserts `section`: in the place of a section with the same id (returned), else after
    /// every section present.
    pub fn insert(&mut self, section: Section) -> Option<Section> {
        match self.sections.iter().position(|s| s.id == section.id) {
            Some(i) => Some(std::mem::replace(&mut self.sections[i], section)),
            None => {
                self.sections.push(section);
                None
            }
        }
    }

    /// Removes and returns section `id`.
    pub fn remove(&mut self, id: SectionId) -> Option<Section> {
        let i = self.sections.iter().position(|s| s.id == id)?;
        Some(self.sections.remove(i))
    }

    /// Whether section `id` is present.
    pub fn contains(&self, id: SectionId) -> bool {
        self.get(id).is_some()
    }

    /// The ids of the sections present, in their order (see [`Configuration`]).
    pub fn ids(&self) -> Vec<SectionId> {
        self.sections.iter().map(|s| s.id).collect()
    }

    /// The sections present, in their order (see [`Configuration`]).
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The sections present, in the order of docs/configuration.md's sections table
    /// ([`SectionId`]'s).
    pub fn sections_in_table_order(&self) -> Vec<&Section> {
        let mut sections: Vec<&Section> = self.sections.iter().collect();
        sections.sort_by_key(|s| s.id);
        sections
    }

    /// The sections present, mutably, in their order (see [`Configuration`]).
    pub fn sections_mut(&mut self) -> &mut [Section] {
        &mut self.sections
    }

    /// Whether every section is present.
    pub fn is_full(&self) -> bool {
        self.sections.len() == SectionId::ALL.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_order() {
        for id in SectionId::ALL {
            assert_eq!(SectionId::parse(id.as_str()), Some(id));
        }
        let mut sorted = SectionId::ALL;
        sorted.sort();
        assert_eq!(sorted, SectionId::ALL);
        assert_eq!(SectionId::parse("nope"), None);
    }

    #[test]
    fn insert_keeps_the_order_of_insertion_and_table_order_sorts() {
        let mut c = Configuration::new();
        c.insert(Section::empty(SectionId::Session));
        c.insert(Section::empty(SectionId::EventSources));
        c.insert(Section::empty(SectionId::Templates));
        assert_eq!(c.ids(), [SectionId::Session, SectionId::EventSources, SectionId::Templates]);
        assert!(c.insert(Section::empty(SectionId::EventSources)).is_some());
        assert_eq!(c.ids(), [SectionId::Session, SectionId::EventSources, SectionId::Templates]);
        let table: Vec<SectionId> = c.sections_in_table_order().iter().map(|s| s.id).collect();
        assert_eq!(table, [SectionId::EventSources, SectionId::Templates, SectionId::Session]);
    }

    #[test]
    fn every_native_file_maps_back_to_its_section() {
        for id in SectionId::ALL {
            for f in id.native_files() {
                assert_eq!(SectionId::for_native_file(f), Some(id));
            }
        }
    }
}
