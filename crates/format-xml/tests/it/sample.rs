//! A realistic generated configuration, shared by the tests and the bench.

use model::{
    Configuration, Element, Export, Header, PasswordsMode, Scope, Section, SectionFile, SectionId,
};

fn el(name: &str, attrs: &[(&str, &str)]) -> Element {
    let mut e = Element::new(name);
    for (n, v) in attrs {
        e = e.with_attr(*n, *v);
    }
    e
}

fn secret(value: &str) -> Element {
    el("password", &[("fswSpi1", value)])
}

/// A full configuration of about `scale` × 100 KB of XML: 100 event sources, 100 user
/// directories, templates, PC-probe credentials, syslog sources, 30 SRX clients, CSO clients,
/// session settings, transports in both files and admin clients, with unknown attributes.
pub(crate) fn configuration(scale: usize) -> Configuration {
    let mut c = Configuration::new();
    let n = 100 * scale;
    let mut events = Element::new("event_sources");
    for i in 0..n {
        let id = format!("DC{i:03}");
        let mut item = el(
            "event_source",
            &[
                ("id", &id),
                ("description", &format!("domain controller, site {i} & branch office")),
                ("location", &format!("HQ datacenter, rack {}", i % 40)),
            ],
        );
        if i % 3 == 0 {
            item = item.with_attr("template", "el-readers");
        }
        let kind = if i % 5 == 0 { "exchange_server" } else { "domain_controller" };
        let password =
            if i % 3 == 0 { String::new() } else { format!("{{capi}} 1,01000000d08c9ddf{i:04x}") };
        item = item.with_child(el(
            kind,
            &[
                ("server", &format!("10.0.{}.{}", i / 250, i % 250 + 1)),
                ("username", "CORP\\JIMS-EventLogReader"),
                ("password", &password),
                ("initial_timespan", "24"),
                ("x_future_field", "keep me"),
            ],
        ));
        item = item.with_child(el(
            "x_event_filter",
            &[("ids", "4624,4625,4768,4769,4770,4776"), ("enabled", "true")],
        ));
        events.children.push(item);
    }
    c.insert(Section::single(SectionId::EventSources, events));

    let mut dirs = Element::new("user_info_sources");
    for i in 0..n {
        let mut item = el(
            "user_info_source",
            &[
                ("id", &format!("AD{i:03}")),
                ("description", &format!("forest \"{i}\"")),
                ("location", &format!("HQ datacenter, rack {}", i % 40)),
            ],
        );
        if i % 2 == 0 {
            item = item.with_attr("template", "ad-readers");
        }
        item = item.with_child(el(
            "active_directory",
            &[
                ("server", &format!("ad{i}.corp.example.com")),
                ("username", "CORP\\JIMS-ADRemoteAccess"),
                ("ssl", "on"),
                ("priority", &i.to_string()),
                ("password", ""),
                ("base_dn", "DC=corp,DC=example,DC=com"),
                ("domain", "corp.example.com"),
            ],
        ));
        item = item.with_child(el("x_sync", &[("interval_s", "300"), ("page_size", "1000")]));
        dirs.children.push(item);
    }
    c.insert(Section::single(SectionId::UserDirectories, dirs));

    let templates = Element::new("templates")
        .with_child(el(
            "template",
            &[
                ("id", "el-readers"),
                ("description", "event log readers"),
                ("kind", "event_source"),
                ("username", "CORP\\JIMS-EventLogReader"),
                ("password", "{fsw} 1,aa01bb02cc03"),
            ],
        ))
        .with_child(el(
            "template",
            &[
                ("id", "ad-readers"),
                ("description", "AD readers"),
                ("kind", "user_directory"),
                ("username", "CORP\\JIMS-ADRemoteAccess"),
                ("password", "{fsw} 1,dd04ee05ff06"),
            ],
        ))
        .with_child(el(
            "template",
            &[
                ("id", "probes"),
                ("description", "PC probe"),
                ("kind", "pc_probe"),
                ("username", "CORP\\JIMS-PCProbe"),
                ("password", ""),
            ],
        ));
    c.insert(Section::single(SectionId::Templates, templates));

    let mut probe = el("pc_probe", &[("enabled", "true"), ("timeout_ms", "5000")]);
    for i in 0..5 {
        probe.children.push(el(
            "credential",
            &[
                ("id", &format!("cred{i}")),
                ("username", &format!("CORP\\probe{i}")),
                ("password", ""),
            ],
        ));
    }
    c.insert(Section::single(SectionId::PcProbes, probe));

    let mut syslog = Element::new("syslog_sources");
    for i in 0..20 {
        syslog.children.push(el(
            "syslog_source",
            &[
                ("id", &format!("sys{i}")),
                ("description", "syslog relay"),
                ("address", &format!("192.168.7.{i}")),
                ("protocol", if i % 2 == 0 { "udp" } else { "tcp" }),
                ("port", "514"),
            ],
        ));
    }
    c.insert(Section::single(SectionId::SyslogSources, syslog));

    let mut srxes = Element::new("SRXes");
    for i in 0..30 * scale {
        let mut srx = el(
            "SRX",
            &[
                ("id", &format!("SRX{i}")),
                ("description", &format!("edge-{i}")),
                ("address", &format!("10.1.{}.1", i % 250)),
                ("ipv6_reports", "false"),
            ],
        )
        .with_child(
            el("oAuth", &[("id", &format!("srx-edge-{i}")), ("token_lifetime", "28800")])
                .with_child(secret(&format!("{{fsw}} 1,c3eb4b{i:04x}"))),
        );
        if i % 2 == 0 {
            srx = srx.with_child(
                el(
                    "webapi",
                    &[
                        ("user", "api"),
                        ("http_port", "8080"),
                        ("https", "true"),
                        ("https_port", "8443"),
                        ("max_rate", "100"),
                        ("timeout_ms", "3000"),
                        ("exclude_device_only", "false"),
                    ],
                )
                .with_child(secret("")),
            );
        }
        srx = srx.with_child(el("query", &[("cert_hash", ""), ("response_timeout_ms", "2500")]));
        srxes.children.push(srx);
    }
    c.insert(Section::single(SectionId::SrxClients, srxes));

    let mut csos = Element::new("CSOs");
    for i in 0..5 {
        csos.children.push(
            el(
                "CSO",
                &[
                    ("id", &format!("cso{i}")),
                    ("description", "CSO"),
                    ("address", &format!("172.16.0.{i}")),
                    ("username", "cso-admin"),
                ],
            )
            .with_child(secret("")),
        );
    }
    c.insert(Section::single(SectionId::CsoClients, csos));

    c.insert(Section::single(
        SectionId::Session,
        Element::new("cache").with_child(el(
            "config",
            &[("probe_timeout", "60"), ("state_timeout", "300"), ("incomplete_timeout_ms", "2000")],
        )),
    ));

    let transport = |id: &str, port: &str| {
        el(
            "transport",
            &[
                ("id", id),
                ("port", port),
                ("address", "0.0.0.0"),
                ("ipv6", "false"),
                ("dual_stack", "true"),
                ("keep_alive", "true"),
                ("max_active_messengers", "64"),
                ("connections_per_thread", "16"),
                ("disabled", "false"),
                ("force_listen", "false"),
                ("port_environment_variable", ""),
            ],
        )
    };
    c.insert(Section {
        id: SectionId::Transports,
        files: vec![
            SectionFile {
                path: "config/clients_https.xml",
                root: Element::new("xports")
                    .with_child(transport("https-main", "443"))
                    .with_child(transport("https-alt", "8443")),
            },
            SectionFile {
                path: "config/clients_http.xml",
                root: Element::new("xports").with_child(transport("http-main", "80")),
            },
        ],
    });

    let mut clients = Element::new("clients");
    for i in 0..100 {
        clients.children.push(el(
            "client",
            &[("id", &format!("admin{i}")), ("address", &format!("10.9.9.{i}"))],
        ));
    }
    c.insert(Section::single(SectionId::AdminClients, clients));
    c
}

/// The full configuration as an export with a header.
pub(crate) fn export(scale: usize) -> Export {
    Export {
        header: Header::new(
            Scope::Full,
            PasswordsMode::Included,
            Some("jims-hq-01"),
            Some("9f2c4e1a7b3d5c60"),
            Some("2026-11-26T10:00:00Z"),
        ),
        configuration: configuration(scale),
    }
}
