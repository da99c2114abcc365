//! The writer's output for a small bundle, as a reviewed snapshot (passwords redacted).

use model::{Element, Export, Section, SectionFile, SectionId};

use crate::util::export_of;
use samples::parts::{fsw_password, partial_header, srx, transport};

fn small_bundle() -> Export {
    let srx = srx(1).with_attr("x-future", "kept");
    let template = Element::new("template")
        .with_attr("id", "ad-readers")
        .with_attr("description", "AD reader account")
        .with_attr("kind", "user_directory")
        .with_attr("username", "CORP\\JIMS-ADRemoteAccess")
        .with_attr("password", "{aesgcm} 1,9f2c4e1a7b3d5c60,00aa");
    let pc_probe = Element::new("pc_probe")
        .with_attr("enabled", "true")
        .with_attr("timeout_ms", "3000")
        .with_child(
            Element::new("credential").with_attr("id", "probe-1").with_attr("template", "probes"),
        )
        .with_child(
            Element::new("credential")
                .with_attr("id", "probe-2")
                .with_attr("username", "CORP\\probe")
                .with_attr("password", "hunter2"),
        );
    let session = Element::new("cache").with_child(
        Element::new("config")
            .with_attr("probe_timeout", "60")
            .with_attr("state_timeout", "3600")
            .with_attr("incomplete_timeout_ms", "30000"),
    );
    let transports = Section {
        id: SectionId::Transports,
        files: vec![
            SectionFile {
                path: "config/clients_https.xml",
                root: Element::new("xports").with_child(transport("https", 1505)),
            },
            SectionFile {
                path: "config/clients_http.xml",
                root: Element::new("xports").with_child(transport("http", 1500)),
            },
        ],
    };
    let cso = Element::new("CSO")
        .with_attr("id", "cso-1")
        .with_attr("address", "10.3.0.1")
        .with_child(fsw_password("{fsw} 1,77aa"));
    let mut export = export_of(vec![
        Section::single(SectionId::Templates, Element::new("templates").with_child(template)),
        Section::single(SectionId::PcProbes, pc_probe),
        Section::single(SectionId::SrxClients, Element::new("SRXes").with_child(srx)),
        Section::single(SectionId::CsoClients, Element::new("CSOs").with_child(cso)),
        Section::single(SectionId::Session, session),
        transports,
    ]);
    export.header = partial_header();
    export
}

#[test]
fn small_bundle_output() {
    let export = small_bundle();
    let bytes = format_json::write_bundle(&export);
    assert_eq!(format_json::read_bundle(&bytes).unwrap(), export);
    let text = String::from_utf8(bytes).unwrap();
    // The secrets are where they belong; the snapshot shows them redacted.
    assert!(text.contains("\"password\": \"{fsw} 1,c3eb4b00019a0f5e2d71c8\"\n"));
    assert!(text.contains("\"password\": \"hunter2\"\n"));
    insta::with_settings!({filters => vec![
        (r#""(password|fswSpi1)": "[^"]+""#, r#""$1": "[REDACTED]""#),
    ]}, {
        insta::assert_snapshot!(text);
    });
}
