//! Configurations shared by the tests: a target server's current configuration and an export
//! from another server that differs from it in known ways.

use model::{
    Configuration, Element, Export, Header, PasswordsMode, Scope, Section, SectionFile, SectionId,
};

/// A plaintext password carried by the export; it must never show in a plan.
pub(crate) const PLAINTEXT: &str = "hunter2-secret";
/// An opaque password of the export; it must never show in a plan either.
pub(crate) const FSW: &str = "{fsw} 1,c3eb4b5a";
/// A sealed password of the target.
pub(crate) const SEALED: &str = "{aesgcm} 1,9f2c4e1a7b3d5c60,00112233445566778899";

fn el(name: &str, attrs: &[(&str, &str)]) -> Element {
    attrs.iter().fold(Element::new(name), |e, (n, v)| e.with_attr(*n, *v))
}

fn single(id: SectionId, children: Vec<Element>) -> Section {
    single_with_root(id, el(id.root_name(), &[]), children)
}

fn single_with_root(id: SectionId, root: Element, children: Vec<Element>) -> Section {
    Section::single(id, children.into_iter().fold(root, Element::with_child))
}

fn transports(https: Vec<Element>, http: Vec<Element>) -> Section {
    let root =
        |items: Vec<Element>| items.into_iter().fold(Element::new("xports"), Element::with_child);
    Section {
        id: SectionId::Transports,
        files: vec![
            SectionFile { path: "config/clients_https.xml", root: root(https) },
            SectionFile { path: "config/clients_http.xml", root: root(http) },
        ],
    }
}

fn dc(id: &str, description: &str, server: &str, password: &str) -> Element {
    el("event_source", &[("id", id), ("description", description)]).with_child(el(
        "domain_controller",
        &[
            ("server", server),
            ("username", "CORP\\svc"),
            ("password", password),
            ("initial_timespan", "24"),
        ],
    ))
}

fn template(id: &str, kind: &str, password: &str) -> Element {
    el(
        "template",
        &[
            ("id", id),
            ("description", "shared"),
            ("kind", kind),
            ("username", "CORP\\svc"),
            ("password", password),
        ],
    )
}

fn credential(id: &str) -> Element {
    el("credential", &[("id", id), ("username", "CORP\\probe"), ("password", "")])
}

fn password(value: &str) -> Element {
    el("password", &[("fswSpi1", value)])
}

fn transport(id: &str, port: &str) -> Element {
    el("transport", &[("id", id), ("port", port), ("address", "0.0.0.0")])
}

/// The target's configuration before the import: every section, each with something in it.
pub(crate) fn current() -> Configuration {
    let mut c = Configuration::new();
    c.insert(single(
        SectionId::EventSources,
        vec![
            dc("DC1", "first dc", "10.0.0.5", SEALED),
            el("event_source", &[("id", "EX1"), ("description", "mail")])
                .with_child(el("exchange_server", &[("server", "10.0.0.9"), ("password", SEALED)])),
        ],
    ));
    c.insert(single(
        SectionId::UserDirectories,
        vec![el("user_info_source", &[("id", "AD1"), ("description", "corp forest")]).with_child(
            el("active_directory", &[("server", "10.0.0.5"), ("ssl", "on"), ("password", SEALED)]),
        )],
    ));
    c.insert(single(
        SectionId::Templates,
        vec![template("t1", "event_source", SEALED), template("t2", "user_directory", "")],
    ));
    c.insert(single_with_root(
        SectionId::PcProbes,
        el("pc_probe", &[("enabled", "true"), ("timeout_ms", "500")]),
        vec![credential("c1"), credential("c2")],
    ));
    c.insert(single(
        SectionId::SyslogSources,
        vec![el(
            "syslog_source",
            &[("id", "s1"), ("address", "10.0.2.1"), ("protocol", "udp"), ("port", "514")],
        )],
    ));
    c.insert(single(
        SectionId::SrxClients,
        vec![
            el("SRX", &[("id", "SRX1"), ("description", "edge-1"), ("address", "10.0.1.1")])
                .with_child(
                    el("oAuth", &[("id", "srx-edge"), ("token_lifetime", "28800")])
                        .with_child(password(SEALED)),
                )
                .with_child(el("query", &[("cert_hash", ""), ("response_timeout_ms", "2500")])),
        ],
    ));
    c.insert(single(
        SectionId::CsoClients,
        vec![
            el("CSO", &[("id", "CSO1"), ("address", "10.0.3.1"), ("username", "cso")])
                .with_child(password(SEALED)),
        ],
    ));
    c.insert(single(
        SectionId::Session,
        vec![el(
            "config",
            &[("probe_timeout", "60"), ("state_timeout", "30"), ("incomplete_timeout_ms", "500")],
        )],
    ));
    c.insert(transports(vec![transport("https", "1505")], vec![transport("http", "1506")]));
    c.insert(single(
        SectionId::AdminClients,
        vec![el("client", &[("id", "a1"), ("address", "10.0.9.1")])],
    ));
    c
}

/// The configuration of the export: [`current`] with changes in most sections.
pub(crate) fn exported() -> Configuration {
    let mut c = current();
    // event_sources: DC1 changed (description, server, password), EX1 removed, DC2 added.
    c.insert(single(
        SectionId::EventSources,
        vec![dc("DC1", "renamed dc", "10.0.0.6", FSW), dc("DC2", "second dc", "10.0.0.7", "")],
    ));
    // templates: t1's password is now plaintext, t2 as it was, t3 added with an unknown field.
    c.insert(single(
        SectionId::Templates,
        vec![
            template("t1", "event_source", PLAINTEXT),
            template("t2", "user_directory", ""),
            template("t3", "pc_probe", "").with_attr("future_field", "x"),
        ],
    ));
    // pc_probes: a setting changed and the credentials swapped.
    c.insert(single_with_root(
        SectionId::PcProbes,
        el("pc_probe", &[("enabled", "true"), ("timeout_ms", "900")]),
        vec![credential("c2"), credential("c1")],
    ));
    // srx_clients: new oAuth password, a webapi added, an unknown child element.
    c.insert(single(
        SectionId::SrxClients,
        vec![
            el("SRX", &[("id", "SRX1"), ("description", "edge-1"), ("address", "10.0.1.1")])
                .with_child(
                    el("oAuth", &[("id", "srx-edge"), ("token_lifetime", "28800")])
                        .with_child(password(FSW)),
                )
                .with_child(
                    el("webapi", &[("user", "api"), ("https", "true")])
                        .with_child(password(PLAINTEXT)),
                )
                .with_child(el("query", &[("cert_hash", "ab12"), ("response_timeout_ms", "2500")]))
                .with_child(el("future", &[("foo", "1")])),
        ],
    ));
    // session: the logoff time.
    c.insert(single(
        SectionId::Session,
        vec![el(
            "config",
            &[("probe_timeout", "120"), ("state_timeout", "30"), ("incomplete_timeout_ms", "500")],
        )],
    ));
    // transports: the http listener moved to the https file.
    c.insert(transports(vec![transport("https", "1505"), transport("http", "1506")], vec![]));
    // syslog_sources: emptied.
    c.insert(single(SectionId::SyslogSources, vec![]));
    c
}

/// An export of `sections` of [`exported`] with the header's `scope`.
pub(crate) fn export(scope: Scope, sections: &[SectionId]) -> Export {
    let all = exported();
    let mut configuration = Configuration::new();
    for id in sections {
        configuration.insert(all.get(*id).expect("exported() has every section").clone());
    }
    Export {
        header: Header::new(
            scope,
            PasswordsMode::Included,
            Some("jims-hq-01"),
            Some("1111222233334444"),
            None,
        ),
        configuration,
    }
}

/// The sections of the partial export used by the tests.
pub(crate) const PARTIAL: [SectionId; 3] =
    [SectionId::EventSources, SectionId::Templates, SectionId::SrxClients];

/// `ids` as owned strings, as the CLI hands them over.
pub(crate) fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}
