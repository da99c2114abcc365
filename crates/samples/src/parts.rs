//! Small items that tests assemble by hand: an SRX client, a transport, a secret element, a
//! partial header.

use model::export::FORMAT_VERSION;
use model::{Element, Header, PasswordsMode, Scope};

/// A `<password fswSpi1="…"/>` element.
pub fn fsw_password(value: &str) -> Element {
    Element::new("password").with_attr("fswSpi1", value)
}

/// An SRX item with oAuth, webapi and query.
pub fn srx(i: usize) -> Element {
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

/// A transport item.
pub fn transport(id: &str, port: usize) -> Element {
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
pub fn partial_header() -> Header {
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
