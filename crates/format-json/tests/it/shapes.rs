//! The mapping: list sections, `$root`, `@name`, `#text`, runs, `#children`, the password
//! shortcut, `pc_probes`, `session` and `transports`.

use model::{Element, Section, SectionFile, SectionId};

use crate::util::{export_of, read_sections, sections_json};
use samples::parts::{fsw_password, transport};

fn single(id: SectionId, root: Element) -> Vec<Section> {
    vec![Section::single(id, root)]
}

#[test]
fn list_section_is_an_array_of_items() {
    let root = Element::new("clients")
        .with_child(Element::new("client").with_attr("id", "a").with_attr("address", "10.0.0.1"))
        .with_child(Element::new("client").with_attr("id", "b"));
    let json = sections_json(&export_of(single(SectionId::AdminClients, root)));
    assert_eq!(json, r#"{"admin_clients":[{"id":"a","address":"10.0.0.1"},{"id":"b"}]}"#);
    let empty = sections_json(&export_of(vec![Section::empty(SectionId::Templates)]));
    assert_eq!(empty, r#"{"templates":[]}"#);
}

#[test]
fn list_section_with_root_attributes_text_or_strangers_uses_root() {
    let root = Element::new("clients")
        .with_attr("version", "2")
        .with_child(Element::new("client").with_attr("id", "a"));
    assert_eq!(
        sections_json(&export_of(single(SectionId::AdminClients, root))),
        r#"{"admin_clients":{"$root":{"version":"2","client":{"id":"a"}}}}"#
    );
    let root = Element::new("clients")
        .with_child(Element::new("client").with_attr("id", "a"))
        .with_child(Element::new("note"))
        .with_child(Element::new("client").with_attr("id", "b"));
    assert_eq!(
        sections_json(&export_of(single(SectionId::AdminClients, root))),
        r##"{"admin_clients":{"$root":{"#children":[{"client":{"id":"a"}},{"note":{}},{"client":{"id":"b"}}]}}}"##
    );
    let mut root = Element::new("clients");
    root.text = Some("stray".into());
    assert_eq!(
        sections_json(&export_of(single(SectionId::AdminClients, root))),
        r##"{"admin_clients":{"$root":{"#text":"stray"}}}"##
    );
}

#[test]
fn runs_become_arrays_and_recurring_names_use_ordered_children() {
    // Every name's occurrences adjacent: members, a run as an array.
    let item = Element::new("event_source")
        .with_attr("id", "x")
        .with_child(Element::new("a").with_attr("n", "1"))
        .with_child(Element::new("a").with_attr("n", "2"))
        .with_child(Element::new("b"));
    let root = Element::new("event_sources").with_child(item);
    assert_eq!(
        sections_json(&export_of(single(SectionId::EventSources, root))),
        r#"{"event_sources":[{"id":"x","a":[{"n":"1"},{"n":"2"}],"b":{}}]}"#
    );
    // A name that comes back after another one: "#children", one entry per child, in order;
    // the attributes stay members.
    let item = Element::new("event_source")
        .with_attr("id", "x")
        .with_child(Element::new("a").with_attr("n", "1"))
        .with_child(Element::new("a").with_attr("n", "2"))
        .with_child(Element::new("b"))
        .with_child(Element::new("a").with_attr("n", "3"));
    let root = Element::new("event_sources").with_child(item);
    assert_eq!(
        sections_json(&export_of(single(SectionId::EventSources, root))),
        r##"{"event_sources":[{"id":"x","#children":[{"a":{"n":"1"}},{"a":{"n":"2"}},{"b":{}},{"a":{"n":"3"}}]}]}"##
    );
}

#[test]
fn children_named_like_reserved_members_use_ordered_children() {
    for name in ["#children", "#text", "#other", "@x"] {
        let item = Element::new("template")
            .with_attr("id", "t")
            .with_child(Element::new(name).with_attr("v", "1"));
        let root = Element::new("templates").with_child(item);
        assert_eq!(
            sections_json(&export_of(single(SectionId::Templates, root))),
            format!(r##"{{"templates":[{{"id":"t","#children":[{{"{name}":{{"v":"1"}}}}]}}]}}"##)
        );
    }
    // An attribute named "#children" is written "@#children", so it never reads as the children.
    let item = Element::new("template").with_attr("#children", "v").with_child(Element::new("a"));
    let root = Element::new("templates").with_child(item);
    assert_eq!(
        sections_json(&export_of(single(SectionId::Templates, root))),
        r##"{"templates":[{"@#children":"v","a":{}}]}"##
    );
}

#[test]
fn many_interleaved_names_use_ordered_children() {
    // More runs than the in-place scan handles: the sorted check decides.
    let mut item = Element::new("template");
    for i in 0..40 {
        item = item.with_child(Element::new(format!("n{i}")));
    }
    let distinct = item.clone();
    let root = Element::new("templates").with_child(distinct);
    assert!(!sections_json(&export_of(single(SectionId::Templates, root))).contains("#children"));
    let item = item.with_child(Element::new("n0"));
    let root = Element::new("templates").with_child(item);
    assert!(sections_json(&export_of(single(SectionId::Templates, root))).contains("#children"));
}

#[test]
fn ordered_children_may_hold_runs_and_mix_with_members_when_written_by_hand() {
    let export = read_sections(
        r##"{"templates": [{"a": {"n": "1"}, "#children": [{"b": [{"n": "2"}, {"n": "3"}]},
            {"a": {"n": "4"}}], "c": {}}]}"##,
    )
    .unwrap();
    let item = &export.configuration.get(SectionId::Templates).unwrap().files[0].root.children[0];
    let names: Vec<(&str, Option<&str>)> =
        item.children.iter().map(|c| (c.name.as_str(), c.attr("n"))).collect();
    assert_eq!(
        names,
        [("a", Some("1")), ("b", Some("2")), ("b", Some("3")), ("a", Some("4")), ("c", None)]
    );
    assert_eq!(
        sections_json(&export),
        r##"{"templates":[{"#children":[{"a":{"n":"1"}},{"b":{"n":"2"}},{"b":{"n":"3"}},{"a":{"n":"4"}},{"c":{}}]}]}"##
    );
}

#[test]
fn reader_keeps_the_order_of_duplicate_members() {
    let export = read_sections(
        r#"{"event_sources": [{"id": "x", "a": {"n": "1"}, "b": {}, "a": [{"n": "2"}, {"n": "3"}],
            "d": "y"}]}"#,
    )
    .unwrap();
    let item =
        &export.configuration.get(SectionId::EventSources).unwrap().files[0].root.children[0];
    let names: Vec<(&str, Option<&str>)> =
        item.children.iter().map(|c| (c.name.as_str(), c.attr("n"))).collect();
    assert_eq!(names, [("a", Some("1")), ("b", None), ("a", Some("2")), ("a", Some("3"))]);
    let attrs: Vec<&str> = item.attributes.iter().map(|a| a.value.as_str()).collect();
    assert_eq!(attrs, ["x", "y"]);
}

#[test]
fn a_repeated_attribute_is_refused_as_xml_refuses_it() {
    for json in [
        r#"{"event_sources": [{"id": "x", "id": "y"}]}"#,
        r#"{"event_sources": [{"id": "x", "@id": "y"}]}"#,
        r#"{"pc_probes": {"enabled": "true", "@enabled": "false", "credentials": []}}"#,
    ] {
        let e = read_sections(json).unwrap_err().to_string();
        assert!(e.contains("twice") && e.contains("keep one"), "{json}: {e}");
        assert!(!e.contains("\"y\"") && !e.contains("false"), "values are not quoted: {e}");
    }
}

#[test]
fn colliding_or_reserved_attribute_names_are_written_with_at() {
    let item = Element::new("template")
        .with_attr("id", "t")
        .with_attr("note", "attribute")
        .with_attr("@odd", "1")
        .with_attr("#text", "2")
        .with_child(Element::new("note").with_attr("x", "child"));
    let root = Element::new("templates").with_child(item);
    assert_eq!(
        sections_json(&export_of(single(SectionId::Templates, root))),
        r#"{"templates":[{"id":"t","@note":"attribute","@@odd":"1","@#text":"2","note":{"x":"child"}}]}"#
    );
    // "@name" always reads as an attribute, even without a collision.
    let export = read_sections(r#"{"templates": [{"@id": "t"}]}"#).unwrap();
    let item = &export.configuration.get(SectionId::Templates).unwrap().files[0].root.children[0];
    assert_eq!(item.attr("id"), Some("t"));
}

#[test]
fn text_is_the_member_hash_text() {
    let mut child = Element::new("comment").with_attr("lang", "en");
    child.text = Some("line 1\nline \"2\"".into());
    let root = Element::new("syslog_sources")
        .with_child(Element::new("syslog_source").with_attr("id", "s").with_child(child));
    assert_eq!(
        sections_json(&export_of(single(SectionId::SyslogSources, root))),
        r##"{"syslog_sources":[{"id":"s","comment":{"lang":"en","#text":"line 1\nline \"2\""}}]}"##
    );
}

#[test]
fn srx_and_cso_passwords_use_the_shortcut() {
    let srx = Element::new("SRX")
        .with_attr("id", "SRX1")
        .with_child(
            Element::new("oAuth").with_attr("id", "o").with_child(fsw_password("{fsw} 1,c3eb4b")),
        )
        .with_child(Element::new("webapi").with_attr("user", "u").with_child(fsw_password("")))
        .with_child(Element::new("query").with_child(fsw_password("not a holder")));
    let cso = Element::new("CSO").with_attr("id", "c").with_child(fsw_password("plain"));
    let export = export_of(vec![
        Section::single(SectionId::SrxClients, Element::new("SRXes").with_child(srx)),
        Section::single(SectionId::CsoClients, Element::new("CSOs").with_child(cso)),
    ]);
    assert_eq!(
        sections_json(&export),
        concat!(
            r#"{"srx_clients":[{"id":"SRX1","oAuth":{"id":"o","password":"{fsw} 1,c3eb4b"},"#,
            r#""webapi":{"user":"u","password":""},"#,
            r#""query":{"password":{"fswSpi1":"not a holder"}}}],"#,
            r#""cso_clients":[{"id":"c","password":"plain"}]}"#
        )
    );
}

#[test]
fn password_shortcut_falls_back_to_the_generic_rules() {
    let odd = |holder: Element| {
        let srx = Element::new("SRX").with_attr("id", "S").with_child(holder);
        sections_json(&export_of(single(
            SectionId::SrxClients,
            Element::new("SRXes").with_child(srx),
        )))
    };
    // A password attribute on the holder: always "@password", and the child stays an object.
    assert_eq!(
        odd(Element::new("oAuth").with_attr("password", "p").with_child(fsw_password("q"))),
        r#"{"srx_clients":[{"id":"S","oAuth":{"@password":"p","password":{"fswSpi1":"q"}}}]}"#
    );
    assert_eq!(
        odd(Element::new("oAuth").with_attr("password", "p")),
        r#"{"srx_clients":[{"id":"S","oAuth":{"@password":"p"}}]}"#
    );
    // A password element with more than fswSpi1, or none, or two of them.
    assert_eq!(
        odd(Element::new("webapi").with_child(fsw_password("q").with_attr("v", "2"))),
        r#"{"srx_clients":[{"id":"S","webapi":{"password":{"fswSpi1":"q","v":"2"}}}]}"#
    );
    assert_eq!(
        odd(Element::new("webapi").with_child(Element::new("password"))),
        r#"{"srx_clients":[{"id":"S","webapi":{"password":{}}}]}"#
    );
    assert_eq!(
        odd(Element::new("oAuth").with_child(fsw_password("a")).with_child(fsw_password("b"))),
        r#"{"srx_clients":[{"id":"S","oAuth":{"password":[{"fswSpi1":"a"},{"fswSpi1":"b"}]}}]}"#
    );
    // Outside a holder, "password" is an attribute.
    let export = read_sections(
        r#"{"event_sources": [{"id": "D", "domain_controller":
        {"password": "{fsw} 1,00"}}]}"#,
    )
    .unwrap();
    let dc = &export.configuration.get(SectionId::EventSources).unwrap().files[0].root.children[0]
        .children[0];
    assert_eq!(dc.attr("password"), Some("{fsw} 1,00"));
    assert!(dc.children.is_empty());
}

#[test]
fn shortcut_applies_inside_the_root_fallback_too() {
    let srx = Element::new("SRX")
        .with_child(Element::new("oAuth").with_child(fsw_password("{fsw} 1,aa")));
    let root = Element::new("SRXes").with_attr("v", "1").with_child(srx);
    assert_eq!(
        sections_json(&export_of(single(SectionId::SrxClients, root))),
        r#"{"srx_clients":{"$root":{"v":"1","SRX":{"oAuth":{"password":"{fsw} 1,aa"}}}}}"#
    );
}

#[test]
fn shortcut_applies_inside_ordered_children() {
    // A holder whose children repeat a name: the password is the entry {"password": "…"}.
    let oauth = Element::new("oAuth")
        .with_attr("id", "o")
        .with_child(Element::new("scope").with_attr("v", "1"))
        .with_child(fsw_password("{fsw} 1,aa"))
        .with_child(Element::new("scope").with_attr("v", "2"));
    // And a section root with an unknown element between items: "$root" then "#children", the
    // items keeping their context (SRX, then the holder inside it).
    let root = Element::new("SRXes")
        .with_child(Element::new("SRX").with_attr("id", "S1").with_child(oauth))
        .with_child(Element::new("x-note"))
        .with_child(
            Element::new("SRX")
                .with_attr("id", "S2")
                .with_child(Element::new("webapi").with_child(fsw_password("{capi} 1,bb"))),
        );
    assert_eq!(
        sections_json(&export_of(single(SectionId::SrxClients, root))),
        concat!(
            r##"{"srx_clients":{"$root":{"#children":["##,
            r##"{"SRX":{"id":"S1","oAuth":{"id":"o","#children":[{"scope":{"v":"1"}},"##,
            r##"{"password":"{fsw} 1,aa"},{"scope":{"v":"2"}}]}}},"##,
            r##"{"x-note":{}},"##,
            r##"{"SRX":{"id":"S2","webapi":{"password":"{capi} 1,bb"}}}]}}}"##
        )
    );
    // A CSO item too; with a password attribute the child is an object again.
    let cso = Element::new("CSO")
        .with_attr("password", "attr")
        .with_child(Element::new("a"))
        .with_child(fsw_password("{fsw} 1,cc"))
        .with_child(Element::new("a"));
    assert_eq!(
        sections_json(&export_of(single(
            SectionId::CsoClients,
            Element::new("CSOs").with_child(cso)
        ))),
        r##"{"cso_clients":[{"@password":"attr","#children":[{"a":{}},{"password":{"fswSpi1":"{fsw} 1,cc"}},{"a":{}}]}]}"##
    );
    let cso = Element::new("CSO")
        .with_child(Element::new("a"))
        .with_child(fsw_password("{fsw} 1,dd"))
        .with_child(Element::new("a"));
    assert_eq!(
        sections_json(&export_of(single(
            SectionId::CsoClients,
            Element::new("CSOs").with_child(cso)
        ))),
        r##"{"cso_clients":[{"#children":[{"a":{}},{"password":"{fsw} 1,dd"},{"a":{}}]}]}"##
    );
}

#[test]
fn pc_probes_is_attributes_and_credentials() {
    let root = Element::new("pc_probe")
        .with_attr("enabled", "true")
        .with_attr("credentials", "clash")
        .with_attr("$root", "clash too")
        .with_child(Element::new("credential").with_attr("id", "p1").with_attr("password", ""))
        .with_child(Element::new("credential").with_attr("id", "p2"));
    assert_eq!(
        sections_json(&export_of(single(SectionId::PcProbes, root))),
        concat!(
            r#"{"pc_probes":{"enabled":"true","@credentials":"clash","@$root":"clash too","#,
            r#""credentials":[{"id":"p1","password":""},{"id":"p2"}]}}"#
        )
    );
    // An empty <pc_probe/> is the documented shape too, not the fallback.
    assert_eq!(
        sections_json(&export_of(vec![Section::empty(SectionId::PcProbes)])),
        r#"{"pc_probes":{"credentials":[]}}"#
    );
    // A section without a file is written as its empty root (it reads back with one file).
    let bytes = format_json::write_bundle(&export_of(vec![Section {
        id: SectionId::PcProbes,
        files: Vec::new(),
    }]));
    let back = format_json::read_bundle(&bytes).unwrap();
    assert_eq!(back, export_of(vec![Section::empty(SectionId::PcProbes)]));
    let root = Element::new("pc_probe")
        .with_attr("enabled", "false")
        .with_child(Element::new("credential"))
        .with_child(Element::new("schedule"));
    assert_eq!(
        sections_json(&export_of(single(SectionId::PcProbes, root))),
        r#"{"pc_probes":{"$root":{"enabled":"false","credential":{},"schedule":{}}}}"#
    );
}

#[test]
fn session_is_the_config_object() {
    let root =
        Element::new("cache").with_child(Element::new("config").with_attr("probe_timeout", "60"));
    assert_eq!(
        sections_json(&export_of(single(SectionId::Session, root))),
        r#"{"session":{"probe_timeout":"60"}}"#
    );
    // A bare cache root (a freshly initialised server) is the empty object, and reads back so.
    assert_eq!(
        sections_json(&export_of(single(SectionId::Session, Element::new("cache")))),
        r#"{"session":{}}"#
    );
    assert_eq!(
        sections_json(&export_of(vec![Section::empty(SectionId::Session)])),
        r#"{"session":{}}"#
    );
    let export = read_sections(r#"{"session": {}}"#).unwrap();
    assert_eq!(
        export.configuration.get(SectionId::Session).unwrap().files[0].root,
        Element::new("cache")
    );
    // What earlier versions wrote for it still reads.
    let export = read_sections(r#"{"session": {"$root": {}}}"#).unwrap();
    assert_eq!(
        export.configuration.get(SectionId::Session).unwrap().files[0].root,
        Element::new("cache")
    );
    // A bare config is then distinct: the fallback.
    assert_eq!(
        sections_json(&export_of(single(
            SectionId::Session,
            Element::new("cache").with_child(Element::new("config"))
        ))),
        r#"{"session":{"$root":{"config":{}}}}"#
    );
    // A config with children but no attributes is not bare.
    assert_eq!(
        sections_json(&export_of(single(
            SectionId::Session,
            Element::new("cache").with_child(Element::new("config").with_child(Element::new("x")))
        ))),
        r#"{"session":{"x":{}}}"#
    );
    for root in [
        Element::new("cache").with_attr("a", "1").with_child(Element::new("config")),
        Element::new("cache").with_child(Element::new("config")).with_child(Element::new("config")),
        Element::new("cache").with_child(Element::new("other")),
    ] {
        let json = sections_json(&export_of(single(SectionId::Session, root)));
        assert!(json.starts_with(r#"{"session":{"$root":"#), "{json}");
    }
    // A config whose only content is a child named "$root" would read as the fallback: the
    // writer takes the fallback itself, so it still round-trips.
    let root = Element::new("cache")
        .with_child(Element::new("config").with_child(Element::new("$root").with_attr("x", "1")));
    assert_eq!(
        sections_json(&export_of(single(SectionId::Session, root))),
        r#"{"session":{"$root":{"config":{"$root":{"x":"1"}}}}}"#
    );
}

#[test]
fn transports_are_keyed_by_native_file() {
    let files = vec![
        SectionFile {
            path: "config/clients_https.xml",
            root: Element::new("xports").with_child(Element::new("transport").with_attr("id", "s")),
        },
        SectionFile {
            path: "config/clients_http.xml",
            root: Element::new("xports").with_attr("mode", "x"),
        },
    ];
    let export = export_of(vec![Section { id: SectionId::Transports, files }]);
    assert_eq!(
        sections_json(&export),
        r#"{"transports":{"clients_https.xml":[{"id":"s"}],"clients_http.xml":{"$root":{"mode":"x"}}}}"#
    );
    // Only one file, and the files in the order given.
    let files = vec![
        SectionFile { path: "config/clients_http.xml", root: Element::new("xports") },
        SectionFile {
            path: "config/clients_https.xml",
            root: Element::new("xports").with_child(transport("t", 1505)),
        },
    ];
    let export = export_of(vec![Section { id: SectionId::Transports, files: files.clone() }]);
    sections_json(&export);
    let export = export_of(vec![Section { id: SectionId::Transports, files: files[..1].to_vec() }]);
    assert_eq!(sections_json(&export), r#"{"transports":{"clients_http.xml":[]}}"#);
}

#[test]
fn sections_keep_the_order_of_the_file() {
    // Lossless "in order" (docs/formats.md): a bundle written back keeps its sections' order.
    let export = read_sections(r#"{"session": {}, "event_sources": [], "templates": []}"#).unwrap();
    assert_eq!(
        export.configuration.ids(),
        [SectionId::Session, SectionId::EventSources, SectionId::Templates]
    );
    assert_eq!(
        export.configuration.get(SectionId::Session).unwrap().files[0].root,
        Element::new("cache")
    );
    assert_eq!(sections_json(&export), r#"{"session":{},"event_sources":[],"templates":[]}"#);
}

#[test]
fn byte_order_mark_is_skipped() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(br#"{"jims_export": {"sections": {}}}"#);
    let export = format_json::read_bundle(&bytes).unwrap();
    assert!(export.configuration.sections().is_empty());
}
