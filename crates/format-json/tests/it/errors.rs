//! Every error of the reader: its kind, message, line and column.

use format_json::{ErrorKind, MAX_DEPTH, MAX_INPUT_BYTES, read_bundle};

/// Reads `input`, expecting an error; returns (kind, line, column, message).
fn fails(input: &[u8]) -> (ErrorKind, Option<u64>, Option<u64>, String) {
    let e = read_bundle(input).expect_err("the input must be refused");
    (*e.kind(), e.line(), e.column(), e.message().to_owned())
}

fn bundle(sections: &str) -> String {
    format!("{{\"jims_export\": {{\"sections\": {sections}}}}}")
}

/// Each one-line `sections` value is refused as a shape error with exactly its message, placed
/// on line 1 past the bundle's opening (where the problem is, not at the start).
fn refused_as_shape(cases: &[(&str, &str)]) {
    for (sections, expected) in cases {
        let (kind, line, column, message) = fails(bundle(sections).as_bytes());
        assert_eq!(kind, ErrorKind::Shape, "{sections}");
        assert_eq!(message, *expected, "{sections}");
        assert_eq!(line, Some(1), "{sections}");
        assert!(column.is_some_and(|c| c > 30), "{sections}: {column:?}");
    }
}

#[test]
fn wrong_value_type_names_the_member_path() {
    let input = "{\"jims_export\": {\"sections\": {\"event_sources\": [{}, {}, {}, {\"id\": \"x\",\n  \
                 \"domain_controller\": {\"server\": 5}}]}}}";
    let (kind, line, column, message) = fails(input.as_bytes());
    assert_eq!(kind, ErrorKind::Shape);
    assert_eq!((line, column), (Some(2), Some(35)));
    assert_eq!(
        message,
        "sections.event_sources[3].domain_controller.server: expected a string, found a number; \
         write every value as a JSON string (\"8080\", \"true\")"
    );
    for (value, found) in [("true", "a boolean"), ("null", "null"), ("-1.5", "a number")] {
        let input = bundle(&format!("{{\"admin_clients\": [{{\"id\": {value}}}]}}"));
        let (kind, _, _, message) = fails(input.as_bytes());
        assert_eq!(kind, ErrorKind::Shape);
        assert!(
            message.starts_with(&format!(
                "sections.admin_clients[0].id: expected a string, found {found};"
            )),
            "{message}"
        );
    }
}

#[test]
fn secrets_never_reach_messages() {
    let input = bundle(r#"{"srx_clients": [{"oAuth": {"password": 918273645}}]}"#);
    let e = read_bundle(input.as_bytes()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "1:78: sections.srx_clients[0].oAuth.password: expected a string, found a number; write \
         every value as a JSON string (\"8080\", \"true\")"
    );
    assert!(!format!("{e} {e:?}").contains("918273645"));
}

#[test]
fn wrong_types_of_containers() {
    let cases = [
        (
            r#"{"templates": "x"}"#,
            "sections.templates: expected an array of template objects, or {\"$root\": {…}}, found a string",
        ),
        (
            r#"{"templates": ["x"]}"#,
            "sections.templates[0]: expected an object (the element template), found a string",
        ),
        (
            r#"{"templates": [{"a": ["x"]}]}"#,
            "sections.templates[0].a[0]: expected an object (the element a), found a string",
        ),
        (
            r#"{"templates": [{"a": [[]]}]}"#,
            "sections.templates[0].a[0]: expected an object (the element a), found an array",
        ),
        (
            r##"{"templates": [{"#text": {}}]}"##,
            "sections.templates[0].#text: expected a string, found an object",
        ),
        (
            r##"{"templates": [{"#text": "a", "#text": "b"}]}"##,
            "sections.templates[0]: the member #text is given twice in the element template; keep one",
        ),
        (
            r#"{"templates": [{"@id": []}]}"#,
            "sections.templates[0].@id: expected a string, found an array",
        ),
        (
            r#"{"templates": {"$root": {}, "x": 1}}"#,
            "sections.templates: expected an array of template objects, or {\"$root\": {…}}, found an object with the member \"x\"",
        ),
        (
            r#"{"templates": {}}"#,
            "sections.templates: expected an array of template objects, or {\"$root\": {…}}, found an empty object",
        ),
        (
            r#"{"templates": {"$root": []}}"#,
            "sections.templates.$root: expected an object (the element templates), found an array",
        ),
        (r#"{"session": []}"#, "sections.session: expected the config object, found an array"),
        (
            r#"{"pc_probes": {"credentials": {}}}"#,
            "sections.pc_probes.credentials: expected an array of credential objects, found an object",
        ),
        (
            r#"{"pc_probes": {"credentials": [], "credentials": []}}"#,
            "sections.pc_probes: the member credentials is given twice; merge the two arrays",
        ),
        (
            r#"{"pc_probes": {"enabled": "true", "$root": {}}}"#,
            "sections.pc_probes: the member $root must be the only member when it is given",
        ),
        (
            r##"{"pc_probes": {"#text": "x"}}"##,
            "sections.pc_probes: unexpected member \"#text\"; write a pc_probe with text as {\"$root\": {…}}",
        ),
        (
            r#"{"pc_probes": {"enabled": 1}}"#,
            "sections.pc_probes.enabled: expected a string, found a number; write every value as a JSON string (\"8080\", \"true\")",
        ),
        (
            r#"{"transports": []}"#,
            "sections.transports: expected an object with the members clients_https.xml, clients_http.xml, found an array",
        ),
        (r#"[]"#, "sections: expected an object with one member per section, found an array"),
    ];
    refused_as_shape(&cases);
}

#[test]
fn malformed_ordered_children() {
    let cases = [
        (
            r##"{"templates": [{"#children": {"a": {}}}]}"##,
            "sections.templates[0].#children: expected an array of one-member objects, {\"name\": {…}} per child element, found an object",
        ),
        (
            r##"{"templates": [{"#children": "a"}]}"##,
            "sections.templates[0].#children: expected an array of one-member objects, {\"name\": {…}} per child element, found a string",
        ),
        (
            r##"{"templates": [{"#children": [{"a": {}}, []]}]}"##,
            "sections.templates[0].#children[1]: expected an object with exactly one member, {\"name\": {…}}, found an array",
        ),
        (
            r##"{"templates": [{"#children": [null]}]}"##,
            "sections.templates[0].#children[0]: expected an object with exactly one member, {\"name\": {…}}, found null",
        ),
        (
            r##"{"templates": [{"#children": [{}]}]}"##,
            "sections.templates[0].#children[0]: expected an object with exactly one member, {\"name\": {…}}, found an empty object",
        ),
        (
            r##"{"templates": [{"#children": [{"a": {}, "b": {}}]}]}"##,
            "sections.templates[0].#children[0]: expected an object with exactly one member, {\"name\": {…}}, found a second member \"b\"; give each child element its own entry",
        ),
        (
            r##"{"templates": [{"#children": [{"a": "x"}]}]}"##,
            "sections.templates[0].#children[0].a: expected an object (the element a), found a string",
        ),
        (
            r##"{"templates": [{"#children": [{"password": "x"}]}]}"##,
            "sections.templates[0].#children[0].password: expected an object (the element password), found a string",
        ),
        (
            r##"{"srx_clients": [{"oAuth": {"#children": [{"password": 5}]}}]}"##,
            "sections.srx_clients[0].oAuth.#children[0].password: expected a string (the password shortcut) or an object, found a number",
        ),
        (
            r##"{"templates": [{"#children": [{"a": {"n": 1}}]}]}"##,
            "sections.templates[0].#children[0].a.n: expected a string, found a number; write every value as a JSON string (\"8080\", \"true\")",
        ),
        (
            r##"{"templates": [{"#children": [], "#children": []}]}"##,
            "sections.templates[0]: the member #children is given twice in the element template; merge the two arrays",
        ),
    ];
    refused_as_shape(&cases);
    // The position is where the problem is, on its own line.
    let input = bundle("{\"templates\": [{\"#children\": [\n  {\"a\": {}},\n  {\"b\": \"x\"}]}]}");
    let (_, line, column, _) = fails(input.as_bytes());
    assert_eq!((line, column), (Some(3), Some(11)));
}

#[test]
fn wrong_top_level_shape() {
    let cases: [(&[u8], &str, u64); 5] = [
        (b"[]", "expected an object with the member jims_export, found an array", 2),
        (b"\"x\"", "expected an object with the member jims_export, found a string", 3),
        (b"{}", "expected an object with the member jims_export", 2),
        (
            br#"{"jims_export": {"sections": {}}, "extra": {}}"#,
            "expected an object with the member jims_export only, found the member \"extra\"",
            41,
        ),
        (
            br#"{"jims_export": {"sections": {}}, "jims_export": {"sections": {}}}"#,
            "expected an object with the member jims_export once, found it twice",
            47,
        ),
    ];
    for (input, expected, column) in cases {
        let (kind, line, col, message) = fails(input);
        assert_eq!((kind, message.as_str()), (ErrorKind::Shape, expected));
        assert_eq!((line, col), (Some(1), Some(column)), "{expected}");
    }
    let (kind, _, _, message) = fails(br#"{"jims_export": {"scope": "partial"}}"#);
    assert_eq!(kind, ErrorKind::Shape);
    assert_eq!(
        message,
        "jims_export has no member sections; add \"sections\": {} with the sections"
    );
    let (kind, _, _, message) = fails(br#"{"jims_export": {"sections": {}, "sections": {}}}"#);
    assert_eq!(
        (kind, message.as_str()),
        (ErrorKind::Shape, "jims_export has the member sections twice; merge them into one")
    );
    let (kind, _, _, message) = fails(br#"{"jims_export": []}"#);
    assert_eq!(kind, ErrorKind::Shape);
    assert_eq!(message, "expected an object with the header members and sections, found an array");
}

#[test]
fn format_version() {
    for (value, shown) in [
        ("2", "2"),
        ("\"2\"", "2"),
        ("1.0", "1.0"),
        ("-1", "-1"),
        ("\"01\"", "01"),
        ("\"x y\"", "\"x y\""),
    ] {
        let input =
            format!("{{\"jims_export\": {{\"format_version\": {value}, \"sections\": {{}}}}}}");
        let (kind, line, column, message) = fails(input.as_bytes());
        assert_eq!(kind, ErrorKind::UnsupportedVersion);
        assert_eq!(
            message,
            format!("unknown format_version {shown}; this jimsctl reads version 1")
        );
        assert_eq!((line, column), (Some(1), Some(35 + value.len() as u64)));
    }
    let (kind, _, _, message) =
        fails(br#"{"jims_export": {"format_version": true, "sections": {}}}"#);
    assert_eq!(
        (kind, message.as_str()),
        (ErrorKind::Shape, "expected the number 1, found a boolean")
    );
    for ok in ["1", "\"1\""] {
        let input =
            format!("{{\"jims_export\": {{\"format_version\": {ok}, \"sections\": {{}}}}}}");
        let export = read_bundle(input.as_bytes()).unwrap();
        assert_eq!(export.header.format_version(), Some("1"));
    }
}

#[test]
fn invalid_header_values() {
    let cases = [
        (r#""scope": "most""#, "invalid scope \"most\": it must be \"full\" or \"partial\"", 32),
        (
            r#""passwords": "some""#,
            "invalid passwords \"some\": it must be \"included\" or \"omitted\"",
            36,
        ),
        (
            r#""server_id": "a", "server_id": "b""#,
            "the header member server_id is given twice; keep one",
            46,
        ),
        (r#""x": "a", "@x": "b""#, "the header member x is given twice; keep one", 31),
    ];
    for (members, expected, column) in cases {
        let input = format!("{{\"jims_export\": {{{members}, \"sections\": {{}}}}}}");
        let (kind, line, col, message) = fails(input.as_bytes());
        assert_eq!((kind, message.as_str()), (ErrorKind::InvalidHeader, expected));
        assert_eq!((line, col), (Some(1), Some(column)), "{expected}");
    }
    let (kind, _, _, message) = fails(br#"{"jims_export": {"server_id": 7, "sections": {}}}"#);
    assert_eq!(kind, ErrorKind::Shape);
    assert!(message.starts_with("server_id: expected a string, found a number"), "{message}");
}

#[test]
fn unknown_and_repeated_sections() {
    let (kind, line, column, message) = fails(bundle(r#"{"users": []}"#).as_bytes());
    assert_eq!(kind, ErrorKind::UnknownSection);
    assert_eq!((line, column), (Some(1), Some(37)));
    assert_eq!(
        message,
        "sections: unknown section id \"users\"; the sections are event_sources, \
         user_directories, templates, pc_probes, syslog_sources, srx_clients, cso_clients, \
         session, transports, admin_clients"
    );
    let (kind, line, column, message) =
        fails(bundle(r#"{"session": {}, "session": {}}"#).as_bytes());
    assert_eq!(kind, ErrorKind::DuplicateSection);
    assert_eq!((line, column), (Some(1), Some(54)));
    assert_eq!(message, "sections: section session appears twice in the bundle; keep one");
    let (kind, _, _, message) = fails(bundle(r#"{"transports": {"clients.xml": []}}"#).as_bytes());
    assert_eq!(kind, ErrorKind::UnknownSection);
    assert_eq!(
        message,
        "sections.transports: unknown transports file \"clients.xml\"; the transports files are \
         clients_https.xml, clients_http.xml"
    );
    let (kind, _, _, message) = fails(
        bundle(r#"{"transports": {"clients_http.xml": [], "clients_http.xml": []}}"#).as_bytes(),
    );
    assert_eq!(kind, ErrorKind::DuplicateSection);
    assert_eq!(
        message,
        "sections.transports: the transports file clients_http.xml appears twice in the bundle; \
         keep one"
    );
}

#[test]
fn full_scope_names_the_missing_sections() {
    let mut sections: Vec<String> = model::SectionId::ALL
        .iter()
        .filter(|id| !matches!(id, model::SectionId::Templates | model::SectionId::Session))
        .map(|id| {
            format!("\"{id}\": {}", if *id == model::SectionId::Transports { "{}" } else { "[]" })
        })
        .collect();
    sections.sort();
    let input = format!(
        "{{\"jims_export\": {{\"scope\": \"full\", \"sections\": {{{}}}}}}}",
        sections.join(", ")
    );
    let input = input.replace("\"pc_probes\": []", "\"pc_probes\": {}");
    let (kind, line, column, message) = fails(input.as_bytes());
    assert_eq!(kind, ErrorKind::MissingSections);
    assert_eq!((line, column), (Some(1), Some(input.len() as u64 - 1)));
    assert_eq!(
        message,
        "the header says scope full, but the bundle lacks the sections templates, session; a \
         full bundle holds every section (an empty one too): add them, or make the scope partial"
    );
    let full =
        input.replace("\"admin_clients\"", "\"templates\": [], \"session\": {}, \"admin_clients\"");
    let export = read_bundle(full.as_bytes()).unwrap();
    assert!(export.configuration.is_full());
}

#[test]
fn malformed_json_has_serde_json_position() {
    let cases: [(&[u8], &str, u64, u64); 4] = [
        (
            b"{\"jims_export\": {\"sections\": {\"session\": {\"a\": \"b\" \"c\": \"d\"}}}}",
            "malformed JSON: expected `,` or `}`",
            1,
            52,
        ),
        (
            b"{\"jims_export\": {\n  \"sections\": {",
            "malformed JSON: EOF while parsing an object; the file looks truncated",
            2,
            15,
        ),
        (b"{\"jims_export\": {\"sections\": {}}} x", "malformed JSON: trailing characters", 1, 35),
        (b"", "malformed JSON: EOF while parsing a value; the file looks truncated", 1, 0),
    ];
    for (input, expected, line, column) in cases {
        let e = read_bundle(input).unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::Syntax);
        assert_eq!(e.message(), expected);
        assert_eq!(e.line(), Some(line), "{expected}");
        assert_eq!(e.column(), Some(column.max(1)), "{expected}: column 0 reads as 1");
    }
    let e = read_bundle(b"{\"jims_export\" {}}").unwrap_err().with_path("in/b.json");
    assert_eq!(e.to_string(), "in/b.json:1:16: malformed JSON: expected `:`");
}

#[test]
fn invalid_utf8_is_named() {
    let e = read_bundle(b"{\"jims_export\": {\n  \"se\xffctions\": {}}}").unwrap_err();
    assert_eq!(*e.kind(), ErrorKind::InvalidUtf8);
    assert_eq!((e.line(), e.column()), (Some(2), Some(6)));
    assert_eq!(
        e.message(),
        "the input is not valid UTF-8 (an invalid byte sequence starts here); only UTF-8 is \
         accepted"
    );
}

#[test]
fn nesting_is_limited() {
    // The top-level object, jims_export, sections, the section's array and the item make 5
    // levels; each nested child object adds one.
    let nested = |children: usize| {
        let item =
            format!("{}{{\"id\": \"x\"}}{}", "{\"a\": ".repeat(children), "}".repeat(children));
        bundle(&format!("{{\"templates\": [{item}]}}"))
    };
    assert!(read_bundle(nested(MAX_DEPTH - 5).as_bytes()).is_ok());
    let (kind, line, column, message) = fails(nested(MAX_DEPTH - 4).as_bytes());
    assert_eq!(kind, ErrorKind::TooDeep);
    assert_eq!(line, Some(1));
    assert!(column.is_some());
    assert!(
        message.ends_with("objects and arrays nest deeper than 64 levels; deeper input is refused"),
        "{message}"
    );
    // Far deeper than serde_json's own limit: still a clean error, no stack overflow.
    let (kind, _, _, _) = fails(nested(10_000).as_bytes());
    assert_eq!(kind, ErrorKind::TooDeep);
    let deep_arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        fails(bundle(&format!("{{\"templates\": [{{\"a\": {deep_arrays}}}]}}")).as_bytes()).0,
        ErrorKind::Shape
    );
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let input = vec![0u8; MAX_INPUT_BYTES + 1];
    let e = read_bundle(&input).unwrap_err().with_path("huge.json");
    assert_eq!(*e.kind(), ErrorKind::TooLarge);
    assert_eq!((e.line(), e.column()), (None, None));
    assert_eq!(
        e.to_string(),
        "huge.json: the input is 268435457 bytes: exports larger than 256 MiB are refused; split \
         it into partial bundles"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    // Five characters in 15 bytes (2 + 3 + 3 + 3 + 4), and five in 5.
    let (wide, narrow) = ("é€漢字😀", "abcde");
    let place = |description: &str, bom: &str| {
        let input = format!(
            "{bom}{{\"jims_export\": {{\"sections\": {{\n\"templates\": [{{\"description\": \
             \"{description}\", \"n\": 5}}]}}}}}}"
        );
        let e = read_bundle(input.as_bytes()).unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::Shape, "{e}");
        (e.line(), e.column())
    };
    assert_eq!(place(wide, ""), place(narrow, ""));
    assert_eq!(place(wide, ""), (Some(2), Some(45)), "at the 5");
    // The byte order mark is no character, and does not count on line 1 either.
    assert_eq!(place(wide, "\u{feff}"), place(narrow, ""));
    let line1 = |description: &str, bom: &str| {
        let input =
            format!("{bom}{{\"jims_export\": {{\"server_id\": \"{description}\", \"x\": 1}}}}");
        let e = read_bundle(input.as_bytes()).unwrap_err();
        (e.line(), e.column())
    };
    assert_eq!(line1(wide, "\u{feff}"), line1(narrow, ""));
    assert_eq!(line1(wide, ""), (Some(1), Some(45)), "at the 1");
    // Malformed JSON after wide characters: serde_json's own errors are counted the same way.
    let e = read_bundle("{\"jims_export\": {\"é€\" 1}}".as_bytes()).unwrap_err();
    assert_eq!(*e.kind(), ErrorKind::Syntax);
    assert_eq!((e.line(), e.column()), (Some(1), Some(23)), "at the 1: {e}");
}
