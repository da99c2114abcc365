//! Sample exports shared by the tests and the bench (which includes this file by path).

use model::{Configuration, Element, Export, Header, PasswordsMode, Scope, Section, SectionFile};
use model::{SectionId, export::FORMAT_VERSION};

/// A `<password fswSpi1="…"/>` element.
pub(crate) fn fsw_password(value: &str) -> Element {
    Element::new("password").with_attr("fswSpi1", value)
}

/// An SRX item with oAuth, webapi and query.
pub(crate) fn srx(i: usize) -> Element {
    Element::new("SRX")
        .with_attr("id", format!("SRX{i}"))
        .with_attr("description", format!("edge-{i} \"branch\" firewall"))
        .with_attr("address", format!("10.0.{}.{}", i / 250, i % 250 + 1))
        .with_attr("ipv6_reports", "false")
        .with_child(
            Element::new("oAuth")
                .with_attr("id", format!("srx-edge-{i}"))
                .with_attr("token_lifetime", "28800")
                .with_child(fsw_password(&format!("{{fsw}} 1,c3eb4b{i:04x}9a0f5e2d71c8"))),
        )
        .with_child(
            Element::new("webapi")
                .with_attr("user", "jims-push")
                .with_attr("http_port", "8080")
                .with_attr("https", "on")
                .with_attr("https_port", "8443")
                .with_attr("max_rate", "1000")
                .with_attr("timeout_ms", "5000")
                .with_attr("exclude_device_only", "false")
                .with_child(fsw_password(&format!("{{capi}} 1,01000000d08c9ddf0115d111{i:04x}"))),
        )
        .with_child(
            Element::new("query")
                .with_attr("cert_hash", "9F:2C:4E:1A:7B:3D:5C:60:11:22")
                .with_attr("response_timeout_ms", "2500"),
        )
}

/// A realistic full bundle of roughly 100 KB of JSON.
pub(crate) fn realistic_export() -> Export {
    let mut c = Configuration::new();
    let mut root = SectionId::EventSources.empty_root();
    for i in 0..100 {
        let kind = if i % 5 == 0 { "exchange_server" } else { "domain_controller" };
        let mut item = Element::new("event_source")
            .with_attr("id", format!("DC{i}"))
            .with_attr("description", format!("site {} controller", i / 10));
        if i % 3 == 0 {
            item = item.with_attr("template", "dc-readers");
        }
        root.children.push(
            item.with_child(
                Element::new(kind)
                    .with_attr("server", format!("dc{i}.corp.example.com"))
                    .with_attr("username", "CORP\\JIMS-EventLogReader")
                    .with_attr("password", if i % 3 == 0 { "" } else { "{fsw} 1,0a1b2c3d4e5f" })
                    .with_attr("initial_timespan", "24"),
            ),
        );
    }
    c.insert(Section::single(SectionId::EventSources, root));

    let mut root = SectionId::UserDirectories.empty_root();
    for i in 0..100 {
        root.children.push(
            Element::new("user_info_source")
                .with_attr("id", format!("AD{i}"))
                .with_attr("description", format!("forest {i}"))
                .with_attr("template", "ad-readers")
                .with_child(
                    Element::new("active_directory")
                        .with_attr("server", format!("10.1.{}.{}", i / 200, i % 200 + 5))
                        .with_attr("username", "CORP\\JIMS-ADRemoteAccess")
                        .with_attr("ssl", "on")
                        .with_attr("priority", (i % 4).to_string())
                        .with_attr("password", "")
                        .with_attr("base_dn", "DC=corp,DC=example,DC=com"),
                ),
        );
    }
    c.insert(Section::single(SectionId::UserDirectories, root));

    let mut root = SectionId::Templates.empty_root();
    for (i, kind) in
        ["event_source", "user_directory", "pc_probe"].iter().cycle().take(12).enumerate()
    {
        root.children.push(
            Element::new("template")
                .with_attr("id", format!("tpl-{i}"))
                .with_attr("description", format!("shared {kind} account"))
                .with_attr("kind", *kind)
                .with_attr("username", format!("CORP\\svc-{kind}"))
                .with_attr(
                    "password",
                    "{aesgcm} 1,9f2c4e1a7b3d5c60,00112233445566778899aabbccddeeff",
                ),
        );
    }
    c.insert(Section::single(SectionId::Templates, root));

    let mut root = SectionId::PcProbes
        .empty_root()
        .with_attr("enabled", "true")
        .with_attr("timeout_ms", "3000");
    for i in 0..8 {
        root.children.push(
            Element::new("credential")
                .with_attr("id", format!("probe-{i}"))
                .with_attr("username", format!("CORP\\probe{i}"))
                .with_attr("password", ""),
        );
    }
    c.insert(Section::single(SectionId::PcProbes, root));

    let mut root = SectionId::SyslogSources.empty_root();
    for i in 0..20 {
        root.children.push(
            Element::new("syslog_source")
                .with_attr("id", format!("syslog-{i}"))
                .with_attr("description", "wifi controller")
                .with_attr("address", format!("10.2.0.{i}"))
                .with_attr("protocol", "udp")
                .with_attr("port", "514"),
        );
    }
    c.insert(Section::single(SectionId::SyslogSources, root));

    let mut root = SectionId::SrxClients.empty_root();
    root.children.extend((0..30).map(srx));
    c.insert(Section::single(SectionId::SrxClients, root));

    let mut root = SectionId::CsoClients.empty_root();
    for i in 0..10 {
        root.children.push(
            Element::new("CSO")
                .with_attr("id", format!("cso-{i}"))
                .with_attr("description", "orchestrator")
                .with_attr("address", format!("10.3.0.{i}"))
                .with_attr("username", "cso-api")
                .with_child(fsw_password("{fsw} 1,77aa88bb99cc")),
        );
    }
    c.insert(Section::single(SectionId::CsoClients, root));

    let root = SectionId::Session.empty_root().with_child(
        Element::new("config")
            .with_attr("probe_timeout", "60")
            .with_attr("state_timeout", "3600")
            .with_attr("incomplete_timeout_ms", "30000"),
    );
    c.insert(Section::single(SectionId::Session, root));

    let mut files = Vec::new();
    for (f, path) in SectionId::Transports.native_files().iter().enumerate() {
        let mut root = SectionId::Transports.empty_root();
        for i in 0..4 {
            root.children.push(transport(&format!("t{f}-{i}"), 1500 + 10 * f + i));
        }
        files.push(SectionFile { path, root });
    }
    c.insert(Section { id: SectionId::Transports, files });

    let mut root = SectionId::AdminClients.empty_root();
    for i in 0..10 {
        root.children.push(
            Element::new("client")
                .with_attr("id", format!("admin-{i}"))
                .with_attr("address", format!("192.168.10.{i}")),
        );
    }
    c.insert(Section::single(SectionId::AdminClients, root));

    Export {
        header: Header::new(
            Scope::Full,
            PasswordsMode::Included,
            Some("jims-hq-01"),
            Some("9f2c4e1a7b3d5c60"),
            Some("2026-11-26T10:00:00Z"),
        ),
        configuration: c,
    }
}

/// A transport item.
pub(crate) fn transport(id: &str, port: usize) -> Element {
    Element::new("transport")
        .with_attr("id", id)
        .with_attr("port", port.to_string())
        .with_attr("address", "0.0.0.0")
        .with_attr("ipv6", "false")
        .with_attr("dual_stack", "false")
        .with_attr("keep_alive", "true")
        .with_attr("max_active_messengers", "64")
        .with_attr("connections_per_thread", "16")
        .with_attr("disabled", "false")
        .with_attr("force_listen", "false")
        .with_attr("port_environment_variable", "")
}

/// The header of a partial bundle from a known server.
pub(crate) fn partial_header() -> Header {
    let mut header = Header::new(
        Scope::Partial,
        PasswordsMode::Included,
        Some("jims-hq-01"),
        Some("9f2c4e1a7b3d5c60"),
        Some("2026-11-26T10:00:00Z"),
    );
    assert_eq!(header.format_version(), Some(FORMAT_VERSION));
    header.set("comment", "written by the tests");
    header
}
