//! The writer's exact layout, as an insta snapshot. Secret values are redacted in the snapshot
//! and checked by assertion instead.

use format_xml::{read_bundle, write_bundle};
use model::{
    Configuration, Element, Export, Header, PasswordsMode, Scope, Section, SectionFile, SectionId,
};

fn small_bundle() -> Export {
    let mut c = Configuration::new();
    c.insert(Section::single(
        SectionId::Templates,
        Element::new("templates").with_child(
            Element::new("template")
                .with_attr("id", "ad-readers")
                .with_attr("description", "AD \"readers\" & co")
                .with_attr("kind", "user_directory")
                .with_attr("username", "CORP\\JIMS-ADRemoteAccess")
                .with_attr("password", "{capi} 1,01000000d08c"),
        ),
    ));
    c.insert(Section::single(
        SectionId::SrxClients,
        Element::new("SRXes").with_child(
            Element::new("SRX")
                .with_attr("id", "SRX1")
                .with_attr("description", "edge-1\nrack 4")
                .with_attr("address", "10.0.1.1")
                .with_attr("ipv6_reports", "false")
                .with_attr("x_future", "<kept>")
                .with_child(
                    Element::new("oAuth")
                        .with_attr("id", "srx-edge")
                        .with_attr("token_lifetime", "28800")
                        .with_child(
                            Element::new("password").with_attr("fswSpi1", "{fsw} 1,c3eb4b"),
                        ),
                )
                .with_child(
                    Element::new("query")
                        .with_attr("cert_hash", "")
                        .with_attr("response_timeout_ms", "2500"),
                ),
        ),
    ));
    let transport = |id: &str, port: &str| {
        Element::new("transport")
            .with_attr("id", id)
            .with_attr("port", port)
            .with_attr("disabled", "false")
    };
    c.insert(Section {
        id: SectionId::Transports,
        files: vec![
            SectionFile {
                path: "config/clients_https.xml",
                root: Element::new("xports").with_child(transport("https-main", "443")),
            },
            SectionFile {
                path: "config/clients_http.xml",
                root: Element::new("xports").with_child(transport("http-main", "80")),
            },
        ],
    });
    Export {
        header: Header::new(
            Scope::Partial,
            PasswordsMode::Included,
            Some("jims-hq-01"),
            Some("9f2c4e1a7b3d5c60"),
            Some("2026-11-26T10:00:00Z"),
        ),
        configuration: c,
    }
}

#[test]
fn writer_layout() {
    let export = small_bundle();
    let bytes = write_bundle(&export).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    // The secrets are written exactly, in place...
    assert!(
        text.contains(
            "\n        <oAuth id=\"srx-edge\" token_lifetime=\"28800\">\n          \
             <password fswSpi1=\"{fsw} 1,c3eb4b\"/>\n        </oAuth>\n"
        ),
        "{text}"
    );
    assert!(text.contains(" password=\"{capi} 1,01000000d08c\"/>\n"), "{text}");
    // ...and read back unchanged.
    assert_eq!(read_bundle(&bytes).unwrap(), export);
    // ...but the snapshot shows them redacted.
    insta::with_settings!({ filters => vec![(r#"(password|fswSpi1)="[^"]+""#, r#"$1="[secret]""#)] }, {
        insta::assert_snapshot!(text);
    });
}
