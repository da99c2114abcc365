//! The bounds on hostile input (issue 7): attributes per element and the length of a string
//! value, each accepted at the limit and refused one past it, without quoting the value.

use format_json::{ErrorKind, MAX_ATTRIBUTES, MAX_VALUE_BYTES, read_bundle};

fn bundle(config: &str) -> Vec<u8> {
    format!(
        "{{\"jims_export\": {{\"format_version\": 1, \"scope\": \"partial\", \"sections\": \
         {{\"session\": {{\"config\": {{{config}}}}}}}}}}}"
    )
    .into_bytes()
}

fn attrs(n: usize) -> String {
    (0..n).map(|i| format!("\"a{i}\": \"1\"")).collect::<Vec<_>>().join(", ")
}

/// The error of a bundle that must be refused (without printing the huge export if not).
fn refused(bytes: &[u8]) -> format_json::Error {
    match read_bundle(bytes) {
        Ok(_) => panic!("a bundle of {} bytes was accepted", bytes.len()),
        Err(e) => e,
    }
}

#[test]
fn attributes_up_to_the_limit_are_read_and_one_more_is_refused() {
    assert!(read_bundle(&bundle(&attrs(MAX_ATTRIBUTES))).is_ok());
    let e = refused(&bundle(&attrs(MAX_ATTRIBUTES + 1)));
    assert_eq!(*e.kind(), ErrorKind::TooBig);
    assert!(e.to_string().contains("more than 1024 attributes"), "{e}");
    let e = refused(&bundle(&format!("\"pc\": {{{}}}", attrs(MAX_ATTRIBUTES + 1))));
    assert_eq!(*e.kind(), ErrorKind::TooBig);
}

#[test]
fn a_value_up_to_the_limit_is_read_and_a_longer_one_is_refused() {
    let value = "s".repeat(MAX_VALUE_BYTES);
    assert!(read_bundle(&bundle(&format!("\"note\": \"{value}\""))).is_ok());
    for value in ["s".repeat(MAX_VALUE_BYTES + 1), "\\u0073".repeat(MAX_VALUE_BYTES + 1)] {
        for member in ["note", "@note", "#text"] {
            let e = refused(&bundle(&format!("\"{member}\": \"{value}\"")));
            assert_eq!(*e.kind(), ErrorKind::TooBig, "{member}: {e}");
            assert!(!e.to_string().contains("sss"), "the error quotes the value: {e}");
        }
    }
}
