//! Round trips: model → XML → model, and XML written by this crate → model → the same bytes.

use format_xml::{read_bundle, read_native_file, write_bundle, write_native_file};
use model::{Export, Header, Scope, SectionId};

#[test]
fn sample_bundle_round_trips_to_identical_bytes() {
    let export = samples::realistic_export(1);
    let bytes = write_bundle(&export);
    assert!(bytes.len() > 80_000, "the sample is about 100 KB, got {}", bytes.len());
    let read = read_bundle(&bytes).unwrap();
    assert_eq!(read, export);
    assert_eq!(write_bundle(&read), bytes);
}

#[test]
fn every_native_file_round_trips() {
    let config = samples::realistic_export(1).configuration;
    for section in config.sections() {
        for file in &section.files {
            let bytes = write_native_file(file);
            assert!(bytes.ends_with(b">\n"));
            let read = read_native_file(section.id, file.path, &bytes).unwrap();
            assert_eq!(&read, file);
            assert_eq!(write_native_file(&read), bytes);
        }
    }
}

const DESIGN_EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand -->
<jims_export format_version="1" scope="partial" passwords="included"
             server_id="jims-hq-01" server_key_id="9f2c4e1a7b3d5c60"
             exported_at="2026-11-26T10:00:00Z" x_new_header="kept">
  <section id="user_directories">
    <user_info_sources>
      <?jims hint?>
      <user_info_source id="AD1" description="corp forest" template="ad-readers">
        <active_directory server="10.0.0.5" username="CORP\JIMS-ADRemoteAccess"
                          ssl="on" priority="0" password=""/>
        <future_child mode='fast' b="&lt;&#x41;&amp;&quot;"><deeper/>text stays</future_child>
      </user_info_source>
    </user_info_sources>
  </section>
  <section id="srx_clients">
    <SRXes>
      <SRX id="SRX1" description="edge-1" address="10.0.1.1" ipv6_reports="false">
        <oAuth id="srx-edge" token_lifetime="28800"><password fswSpi1="{fsw} 1,c3eb4b"/></oAuth>
        <query cert_hash="" response_timeout_ms="2500"/>
      </SRX>
    </SRXes>
  </section>
  <section id="transports">
    <xports x="1" file="clients_http.xml"><transport id="h" port="80"/></xports>
  </section>
</jims_export>
"#;

#[test]
fn hand_written_bundle_keeps_everything_in_order() {
    let export = read_bundle(DESIGN_EXAMPLE.as_bytes()).unwrap();
    let names: Vec<&str> = export.header.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "format_version",
            "scope",
            "passwords",
            "server_id",
            "server_key_id",
            "exported_at",
            "x_new_header"
        ]
    );
    let c = &export.configuration;
    assert_eq!(c.ids(), [SectionId::UserDirectories, SectionId::SrxClients, SectionId::Transports]);
    let item = c.get(SectionId::UserDirectories).unwrap().item("AD1").unwrap();
    assert_eq!(item.children.len(), 2);
    assert_eq!(item.children[0].attr("username"), Some("CORP\\JIMS-ADRemoteAccess"));
    let future = &item.children[1];
    assert_eq!(future.name, "future_child");
    assert_eq!(future.attr("mode"), Some("fast"));
    assert_eq!(future.attr("b"), Some("<A&\""));
    assert_eq!(future.children[0].name, "deeper");
    assert_eq!(future.text.as_deref(), Some("text stays"));
    let srx = c.get(SectionId::SrxClients).unwrap().item("SRX1").unwrap();
    assert_eq!(srx.children[0].children[0].attr("fswSpi1"), Some("{fsw} 1,c3eb4b"));

    // transports: the `file` attribute became the path and left the element.
    let transports = c.get(SectionId::Transports).unwrap();
    assert_eq!(transports.files.len(), 1);
    assert_eq!(transports.files[0].path, "config/clients_http.xml");
    assert_eq!(transports.files[0].root.attr("file"), None);
    assert_eq!(transports.files[0].root.attr("x"), Some("1"));

    // Written back: `file` first, everything else in order; reading again changes nothing.
    let written = write_bundle(&export);
    let text = String::from_utf8(written.clone()).unwrap();
    assert!(text.contains("<xports file=\"clients_http.xml\" x=\"1\">\n"), "{text}");
    assert!(text.contains(" x_new_header=\"kept\">\n"), "{text}");
    assert!(
        text.contains(
            "<future_child mode=\"fast\" b=\"&lt;A&amp;&quot;\">text stays\n          \
             <deeper/>\n        </future_child>\n"
        ),
        "{text}"
    );
    assert!(!text.contains("<!--") && !text.contains("<?jims"), "comments and PIs are dropped");
    let again = read_bundle(&written).unwrap();
    assert_eq!(again, export);
    assert_eq!(write_bundle(&again), written);
}

#[test]
fn empty_sections_and_a_full_empty_bundle() {
    let export = Export {
        header: Header::new(Scope::Full, model::PasswordsMode::Omitted, None, None, None),
        configuration: model::Configuration::empty_full(),
    };
    let bytes = write_bundle(&export);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("  <section id=\"session\">\n    <cache/>\n  </section>\n"), "{text}");
    assert!(text.contains("    <xports file=\"clients_https.xml\"/>\n"), "{text}");
    assert!(text.contains("    <xports file=\"clients_http.xml\"/>\n"), "{text}");
    assert_eq!(read_bundle(&bytes).unwrap(), export);
}

#[test]
fn a_header_without_version_or_scope_is_completed_when_written() {
    let mut configuration = model::Configuration::new();
    configuration.insert(model::Section::empty(SectionId::Session));
    let export = Export { header: Header::default(), configuration };
    let text = String::from_utf8(write_bundle(&export)).unwrap();
    assert!(
        text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<jims_export format_version=\"1\" \
             scope=\"partial\">\n"
        ),
        "{text}"
    );
    let read = read_bundle(text.as_bytes()).unwrap();
    assert_eq!(read.configuration, export.configuration);
    assert_eq!(read.header.scope(), Some(Scope::Partial));
}

#[test]
fn a_transports_section_without_files_round_trips() {
    let mut configuration = model::Configuration::new();
    configuration.insert(model::Section { id: SectionId::Transports, files: vec![] });
    let export = Export {
        header: Header::new(Scope::Partial, model::PasswordsMode::Included, None, None, None),
        configuration,
    };
    let bytes = write_bundle(&export);
    assert!(String::from_utf8_lossy(&bytes).contains("\n  <section id=\"transports\"/>\n"));
    assert_eq!(read_bundle(&bytes).unwrap(), export);
}

#[test]
fn a_bundle_without_sections_is_self_closing() {
    let export = Export {
        header: Header::new(Scope::Partial, model::PasswordsMode::Included, None, None, None),
        configuration: model::Configuration::new(),
    };
    let bytes = write_bundle(&export);
    assert!(bytes.ends_with(b"passwords=\"included\"/>\n"));
    assert_eq!(read_bundle(&bytes).unwrap(), export);
}

#[test]
fn text_content_escapes_and_secrets_in_text() {
    let xml = "<?xml version=\"1.0\"?>\r\n<CSOs>\r\n  <CSO id=\"c\">\r\n    \
               <password>  p&amp;ss\r  </password>\r\n  </CSO>\r\n</CSOs>\r\n";
    let file = read_native_file(SectionId::CsoClients, "config/cso_interface.xml", xml.as_bytes())
        .unwrap();
    let password = &file.root.children[0].children[0];
    assert_eq!(password.text.as_deref(), Some("  p&ss\r  "));
    let written = write_native_file(&file);
    assert!(String::from_utf8_lossy(&written).contains("<password>  p&amp;ss&#13;  </password>"));
    assert_eq!(read_native_file(SectionId::CsoClients, file.path, &written).unwrap(), file);
}

#[test]
fn a_utf8_bom_is_accepted() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(b"<cache><config probe_timeout=\"5\"/></cache>");
    let file = read_native_file(SectionId::Session, "config/cache.xml", &bytes).unwrap();
    assert_eq!(file.root.children[0].attr("probe_timeout"), Some("5"));
}
