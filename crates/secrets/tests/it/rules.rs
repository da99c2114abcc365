//! The import rules of `prepare`: same server and other server × every state, re-sealing with a
//! source key, wrong source keys, tampered values, template inheritance, and the table.

use model::{Configuration, Element, Section, SectionId};
use secrets::{ErrorKind, MissingReason, check_source_key, prepare};

use crate::{config_of, es_binding, es_password, event_source, key, template};

const ES: &[SectionId] = &[SectionId::EventSources, SectionId::Templates];

#[test]
fn plaintext_is_sealed_on_either_server() {
    let target = key(1);
    for export_id in [Some(target.id().as_str()), Some("0000000000000000"), None] {
        let mut c =
            config_of(vec![event_source("DC1", "10.0.0.5", None, None, Some("pw1"))], vec![]);
        let p = prepare(&mut c, ES, export_id, &target, None).unwrap();
        assert_eq!((p.sealed_plaintext, p.resealed, p.kept, p.table.total()), (1, 0, 0, 0));
        let sealed = es_password(&c, 0);
        assert!(sealed.starts_with(&format!("{{aesgcm}} 1,{},", target.id())), "{sealed}");
        assert_eq!(target.open(&sealed, &es_binding("DC1")).unwrap().expose(), b"pw1");
    }
}

#[test]
fn sealed_under_the_target_key_is_checked_and_kept() {
    let target = key(1);
    let sealed = target.seal(b"pw1", &es_binding("DC1")).unwrap();
    for export_id in [Some(target.id().as_str()), Some("0000000000000000")] {
        let mut c =
            config_of(vec![event_source("DC1", "10.0.0.5", None, None, Some(&sealed))], vec![]);
        let p = prepare(&mut c, ES, export_id, &target, None).unwrap();
        assert_eq!((p.kept, p.table.total()), (1, 0));
        assert_eq!(es_password(&c, 0), sealed);
    }
}

#[test]
fn sealed_under_another_key_is_a_row_unless_the_source_key_is_given() {
    let (target, other) = (key(1), key(2));
    let sealed = other.seal(b"pw1", &es_binding("DC1")).unwrap();
    let events = vec![event_source("DC1", "10.0.0.5", Some("CORP\\svc"), None, Some(&sealed))];

    let mut c = config_of(events.clone(), vec![]);
    let p = prepare(&mut c, ES, Some(other.id().as_str()), &target, None).unwrap();
    assert_eq!(p.table.total(), 1);
    assert_eq!(p.table.rows[0].reason, MissingReason::ForeignKey);
    assert_eq!(es_password(&c, 0), sealed, "a row's value is left as it was");

    let mut c = config_of(events, vec![]);
    let p = prepare(&mut c, ES, Some(other.id().as_str()), &target, Some(&other)).unwrap();
    assert_eq!((p.resealed, p.table.total()), (1, 0));
    let resealed = es_password(&c, 0);
    assert!(resealed.contains(target.id().as_str()));
    assert_eq!(target.open(&resealed, &es_binding("DC1")).unwrap().expose(), b"pw1");
}

#[test]
fn opaque_values_are_kept_on_the_same_server_only() {
    let target = key(1);
    for value in ["{capi} 1,01000000d08c9ddf", "{fsw} 1,c3eb4b", "{rot13} 1,ab"] {
        let events = vec![event_source("DC1", "10.0.0.5", None, None, Some(value))];
        let mut c = config_of(events.clone(), vec![]);
        let p = prepare(&mut c, ES, Some(target.id().as_str()), &target, None).unwrap();
        assert_eq!((p.kept, p.table.total()), (1, 0), "{value}");
        assert_eq!(es_password(&c, 0), value);
        for export_id in [Some("0123456789abcdef"), None] {
            let mut c = config_of(events.clone(), vec![]);
            let p = prepare(&mut c, ES, export_id, &target, None).unwrap();
            assert_eq!((p.kept, p.table.total()), (0, 1), "{value}");
            assert_eq!(p.table.rows[0].reason, MissingReason::OtherServer);
            assert_eq!(es_password(&c, 0), value);
        }
    }
}

#[test]
fn missing_is_a_row_on_either_server() {
    let target = key(1);
    for password in [None, Some("")] {
        for export_id in [Some(target.id().as_str()), None] {
            let mut c =
                config_of(vec![event_source("DC1", "10.0.0.5", None, None, password)], vec![]);
            let p = prepare(&mut c, ES, export_id, &target, None).unwrap();
            assert_eq!(p.table.total(), 1);
            assert_eq!(p.table.rows[0].reason, MissingReason::Missing);
        }
    }
}

#[test]
fn tampered_or_moved_values_fail_and_change_nothing() {
    let target = key(1);
    let good = target.seal(b"pw1", &es_binding("DC1")).unwrap();
    let mut flipped = good.into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let cases = [
        ("altered", flipped),
        ("moved", target.seal(b"pw1", &es_binding("DC2")).unwrap()),
        ("bad hex", format!("{{aesgcm}} 1,{},zz", target.id())),
        ("malformed", "{aesgcm} 1,,abcd".to_owned()),
    ];
    for (what, bad) in cases {
        let events = vec![
            event_source("DC0", "10.0.0.4", None, None, Some("plain")),
            event_source("DC1", "10.0.0.5", None, None, Some(&bad)),
        ];
        let mut c = config_of(events, vec![]);
        let before = c.clone();
        let e = prepare(&mut c, ES, None, &target, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tampered, "{what}: {e}");
        let shown = e.to_string();
        assert!(
            shown.contains("section `event_sources`, item `DC1`, field `password`"),
            "{what}: {shown}"
        );
        assert!(c == before, "{what}: nothing may change, not even the plaintext of DC0");
    }
}

#[test]
fn tampered_under_the_source_key_fails() {
    let (target, source) = (key(1), key(2));
    let moved = source.seal(b"pw", &es_binding("DC9")).unwrap();
    let mut c = config_of(vec![event_source("DC1", "s", None, None, Some(&moved))], vec![]);
    let e = prepare(&mut c, ES, None, &target, Some(&source)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tampered);
    assert!(e.to_string().contains("under the source key"), "{e}");
}

#[test]
fn a_source_key_matching_nothing_is_wrong() {
    let (target, exporter, wrong) = (key(1), key(2), key(3));
    let sealed = exporter.seal(b"pw", &es_binding("DC1")).unwrap();
    let c = config_of(vec![event_source("DC1", "s", None, None, Some(&sealed))], vec![]);
    let e = check_source_key(&c, &wrong).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongSourceKey);
    let shown = e.to_string();
    assert!(
        shown.contains(wrong.id().as_str()) && shown.contains(exporter.id().as_str()),
        "{shown}"
    );
    assert!(!shown.contains(&sealed), "{shown}");
    check_source_key(&c, &exporter).unwrap();
    let _ = target;

    // With nothing sealed at all, any source key is wrong too.
    let c = config_of(vec![event_source("DC1", "s", None, None, None)], vec![]);
    let e = check_source_key(&c, &wrong).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongSourceKey);
}

#[test]
fn the_source_key_is_checked_against_the_whole_export_not_the_sections_chosen() {
    let (target, exporter) = (key(1), key(2));
    // The export's sealed password is in a template; only event sources are imported.
    let sealed = exporter.seal(b"pw", b"templates\0t1\0password").unwrap();
    let mut c = config_of(
        vec![event_source("DC1", "s", None, None, None)],
        vec![template("t1", "event_source", Some("CORP\\svc"), Some(&sealed))],
    );
    check_source_key(&c, &exporter).unwrap();
    let p = prepare(&mut c, &[SectionId::EventSources], None, &target, Some(&exporter)).unwrap();
    assert_eq!((p.resealed, p.table.total()), (0, 1));
}

#[test]
fn templated_items_inherit_and_templates_get_rows() {
    let target = key(1);
    let events = vec![
        // Inherits the template's password: no row.
        event_source("DC1", "10.0.0.1", None, Some("t1"), None),
        event_source("DC2", "10.0.0.2", None, Some("t1"), Some("")),
        // Its own password is unusable here: a row, with the template's username and key.
        event_source("DC3", "10.0.0.3", None, Some("t1"), Some("{capi} 1,00")),
        // No template: a row.
        event_source("DC4", "10.0.0.4", Some("CORP\\other"), None, None),
    ];
    let templates = vec![template("t1", "event_source", Some("CORP\\svc"), None)];
    let mut c = config_of(events, templates);
    let p = prepare(&mut c, ES, None, &target, None).unwrap();
    let keys: Vec<_> = p.table.rows.iter().map(|r| r.key().to_string()).collect();
    assert_eq!(keys, ["event_sources/DC3", "event_sources/DC4", "templates/t1"]);
    let all: Vec<_> = p.table.rows[0].keys.iter().map(|k| k.to_string()).collect();
    assert_eq!(all, ["event_sources/DC3", "templates/t1", "account/CORP\\svc"]);
    assert_eq!(p.table.rows[2].type_label, "Template");
    assert_eq!(p.table.rows[2].data_type, "event_source");
}

#[test]
fn only_the_sections_imported_are_touched() {
    let target = key(1);
    let mut c = config_of(
        vec![event_source("DC1", "s", None, None, Some("plain"))],
        vec![template("t1", "event_source", None, Some("tplain"))],
    );
    let p = prepare(&mut c, &[SectionId::Templates], None, &target, None).unwrap();
    assert_eq!(p.sealed_plaintext, 1);
    assert_eq!(es_password(&c, 0), "plain");
}

/// Every kind of row, in document order, as `passwords --format json` shows it.
fn every_kind_of_row() -> Configuration {
    let mut c = config_of(
        vec![
            event_source("DC1", "10.0.0.5", Some("CORP\\evt"), None, None),
            event_source("DC2", "10.0.0.6", None, Some("t-evt"), Some("{fsw} 1,aa")),
            Element::new("event_source").with_attr("id", "EX1").with_child(
                Element::new("exchange_server")
                    .with_attr("server", "mail.corp")
                    .with_attr("username", "CORP\\evt"),
            ),
        ],
        vec![template("t-evt", "event_source", Some("CORP\\tpl"), Some(""))],
    );
    c.insert(Section::single(
        SectionId::UserDirectories,
        Element::new("user_info_sources").with_child(
            Element::new("user_info_source").with_attr("id", "AD1").with_child(
                Element::new("active_directory")
                    .with_attr("server", "ad.corp")
                    .with_attr("username", "CORP\\ad"),
            ),
        ),
    ));
    c.insert(Section::single(
        SectionId::PcProbes,
        Element::new("pc_probe")
            .with_attr("enabled", "true")
            .with_child(Element::new("credential").with_attr("id", "c1").with_attr("username", "")),
    ));
    c.insert(Section::single(
        SectionId::SrxClients,
        Element::new("SRXes").with_child(
            Element::new("SRX")
                .with_attr("id", "SRX1")
                .with_attr("address", "10.0.1.1")
                .with_child(Element::new("oAuth").with_attr("id", "srx-edge"))
                .with_child(
                    Element::new("webapi")
                        .with_attr("user", "api")
                        .with_child(Element::new("password").with_attr("fswSpi1", "{capi} 1,01")),
                ),
        ),
    ));
    c.insert(Section::single(
        SectionId::CsoClients,
        Element::new("CSOs").with_child(
            Element::new("CSO")
                .with_attr("id", "CSO1")
                .with_attr("address", "cso.corp")
                .with_attr("username", "cso-user"),
        ),
    ));
    c
}

#[test]
fn the_table_in_json() {
    let target = key(1);
    let mut c = every_kind_of_row();
    let sections = c.ids();
    let mut p = prepare(&mut c, &sections, None, &target, None).unwrap();
    p.table.rows[1].source = Some("env".into());
    assert_eq!((p.table.total(), p.table.fixed(), p.table.remaining()), (9, 1, 8));
    let indexes: Vec<_> = p.table.rows.iter().map(|r| r.index).collect();
    assert_eq!(indexes, (1..=9).collect::<Vec<_>>());
    let reasons: Vec<_> = p.table.rows.iter().map(|r| r.reason.label()).collect();
    assert_eq!(
        reasons,
        [
            "missing",
            "other-server",
            "missing",
            "missing",
            "missing",
            "missing",
            "missing",
            "other-server",
            "missing"
        ]
    );
    insta::assert_json_snapshot!(p.table.to_json());
}

#[test]
fn the_census_reads_fields_as_prepare_does_and_counts_its_rows_on_a_new_server() {
    let sealed = key(2).seal(b"pw", &es_binding("DC6")).unwrap();
    let templated = config_of(
        vec![
            // Left to the template, absent or empty: not missing, no row.
            event_source("DC1", "10.0.0.1", None, Some("t1"), None),
            event_source("DC2", "10.0.0.2", None, Some("t1"), Some("")),
            // Its own value, unusable on a new server: a row.
            event_source("DC3", "10.0.0.3", None, Some("t1"), Some("{capi} 1,00")),
            // No template: missing, a row.
            event_source("DC4", "10.0.0.4", None, None, None),
            // Plaintext, sealed by the import: no row, with or without a template.
            event_source("DC5", "10.0.0.5", None, None, Some("pw5")),
            event_source("DC7", "10.0.0.7", None, Some("t1"), Some("pw7")),
            // Sealed under another server's key: a row.
            event_source("DC6", "10.0.0.6", None, None, Some(&sealed)),
        ],
        vec![template("t1", "event_source", Some("CORP\\svc"), Some("{fsw} 1,aa"))],
    );
    let census = secrets::census(&templated);
    let want =
        [("aesgcm", 1), ("capi", 1), ("fsw", 1), ("missing", 1), ("plaintext", 2), ("template", 2)];
    assert_eq!(census.states, want.into_iter().collect());
    assert_eq!(census.new_server_rows, 4);

    for c in [templated, every_kind_of_row()] {
        let census = secrets::census(&c);
        assert_eq!(census.states.values().sum::<usize>(), c.secret_fields().len());
        let mut copy = c.clone();
        let p = prepare(&mut copy, &c.ids(), None, &key(1), None).unwrap();
        assert_eq!(census.new_server_rows, p.table.total(), "the census and the table agree");
        let missing = p.table.rows.iter().filter(|r| r.reason == MissingReason::Missing).count();
        assert_eq!(census.states.get("missing").copied().unwrap_or(0), missing);
    }
}
