//! A hand-written JSON bundle (a user directory and an SRX client whose password is a `{fsw}`
//! child element) reads to the model that its XML twin describes, and writes back to the same
//! JSON: the mapping of docs/formats.md, "The JSON bundle".

use model::{Element, Header, PasswordsMode, Scope, Section, SectionId};

use crate::util::{compact, export_of};
use samples::parts::fsw_password;

/// The hand-written JSON bundle, formatted as a person would write it.
const SPEC_JSON: &str = r#"{
  "jims_export": {
    "format_version": 1, "scope": "partial", "passwords": "included",
    "server_id": "jims-hq-01", "server_key_id": "9f2c4e1a7b3d5c60",
    "exported_at": "2026-11-26T10:00:00Z",
    "sections": {
      "user_directories": [
        {"id": "AD1", "description": "corp forest", "template": "ad-readers",
         "active_directory": {"server": "10.0.0.5", "username": "CORP\\JIMS-ADRemoteAccess",
                              "ssl": "on", "priority": "0", "password": ""}}
      ],
      "srx_clients": [
        {"id": "SRX1", "description": "edge-1", "address": "10.0.1.1", "ipv6_reports": "false",
         "oAuth": {"id": "srx-edge", "token_lifetime": "28800", "password": "{fsw} 1,c3eb4b"},
         "query": {"cert_hash": "", "response_timeout_ms": "2500"}}
      ]
    }
  }
}"#;

#[test]
fn spec_example_reads_to_the_model_of_the_xml_example_and_writes_back() {
    let srx = Element::new("SRX")
        .with_attr("id", "SRX1")
        .with_attr("description", "edge-1")
        .with_attr("address", "10.0.1.1")
        .with_attr("ipv6_reports", "false")
        .with_child(
            Element::new("oAuth")
                .with_attr("id", "srx-edge")
                .with_attr("token_lifetime", "28800")
                .with_child(fsw_password("{fsw} 1,c3eb4b")),
        )
        .with_child(
            Element::new("query")
                .with_attr("cert_hash", "")
                .with_attr("response_timeout_ms", "2500"),
        );
    let ad = Element::new("user_info_source")
        .with_attr("id", "AD1")
        .with_attr("description", "corp forest")
        .with_attr("template", "ad-readers")
        .with_child(
            Element::new("active_directory")
                .with_attr("server", "10.0.0.5")
                .with_attr("username", "CORP\\JIMS-ADRemoteAccess")
                .with_attr("ssl", "on")
                .with_attr("priority", "0")
                .with_attr("password", ""),
        );
    let mut expected = export_of(vec![
        Section::single(
            SectionId::UserDirectories,
            Element::new("user_info_sources").with_child(ad),
        ),
        Section::single(SectionId::SrxClients, Element::new("SRXes").with_child(srx)),
    ]);
    expected.header = Header::new(
        Scope::Partial,
        PasswordsMode::Included,
        Some("jims-hq-01"),
        Some("9f2c4e1a7b3d5c60"),
        Some("2026-11-26T10:00:00Z"),
    );
    let export = format_json::read_bundle(SPEC_JSON.as_bytes()).unwrap();
    assert_eq!(export, expected);
    let json = String::from_utf8(format_json::write_bundle(&export)).unwrap();
    assert_eq!(compact(&json), compact(SPEC_JSON));
}
