//! The bounds on untrusted input, the same in every reader: the size of the input, the nesting
//! of its elements, the attributes of one element and the length of one value. A real JIMS
//! configuration stays far below each of them; a hostile or mistaken input is refused before it
//! can exhaust memory or the stack.

use super::error::{Error, ErrorKind};

/// The largest input a reader accepts: 256 MiB. A real JIMS configuration is a few hundred
/// kilobytes at most; anything larger is refused before it is parsed (and, from a file, before
/// it is read).
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// The deepest nesting a reader accepts: 64 levels, the outermost element (XML) or object
/// (JSON) counting as one. In an XML bundle `<jims_export>` is level 1 and a section's root
/// level 3.
pub const MAX_DEPTH: usize = 64;

/// The most attributes one element may carry. A JIMS element has a few dozen at most; a hostile
/// input with millions is refused before they are stored.
pub const MAX_ATTRIBUTES: usize = 1024;

/// The longest attribute value, string value or text of one element, in bytes as written in the
/// input: 1 MiB. The largest JIMS values (descriptions, certificate hashes) are far shorter.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// The refusal of an input of `len` bytes (when known) over [`MAX_INPUT_BYTES`].
pub fn too_large(len: Option<u64>) -> Error {
    let size = match len {
        Some(n) => format!("the input is {n} bytes"),
        None => "the input grew while it was read".to_owned(),
    };
    Error::new(
        ErrorKind::TooLarge,
        format!(
            "{size}: exports larger than {} MiB are refused; split it into partial bundles",
            MAX_INPUT_BYTES >> 20
        ),
    )
}

/// Refuses an input of `len` bytes when it is over [`MAX_INPUT_BYTES`].
pub fn check_size(len: u64) -> Result<(), Error> {
    if len > MAX_INPUT_BYTES as u64 { Err(too_large(Some(len))) } else { Ok(()) }
}

/// Refuses nesting at `depth` (the outermost level is 1) deeper than [`MAX_DEPTH`]; `what`
/// names what nests (`elements`, `objects and arrays`).
#[inline]
pub fn check_depth(depth: usize, what: &str) -> Result<(), Error> {
    if depth <= MAX_DEPTH { Ok(()) } else { Err(too_deep(what)) }
}

/// The refusal of nesting deeper than [`MAX_DEPTH`]; `what` names what nests.
pub fn too_deep(what: &str) -> Error {
    Error::new(
        ErrorKind::TooDeep,
        format!("{what} nest deeper than {MAX_DEPTH} levels; deeper input is refused"),
    )
}

/// Refuses the element `element` once it carries `count` attributes, more than
/// [`MAX_ATTRIBUTES`].
#[inline]
pub fn check_attribute_count(element: &str, count: usize) -> Result<(), Error> {
    if count <= MAX_ATTRIBUTES {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::TooBig,
        format!(
            "the element <{element}> carries more than {MAX_ATTRIBUTES} attributes; more are \
             refused"
        ),
    ))
}

/// Refuses a value or text of `len` bytes, longer than [`MAX_VALUE_BYTES`]; `place` names it
/// (`the value of the attribute 'note' of <config>`) and is only called on a refusal. The
/// value itself is never shown: it may be a password.
#[inline]
pub fn check_value_len(len: usize, place: impl FnOnce() -> String) -> Result<(), Error> {
    if len <= MAX_VALUE_BYTES {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::TooBig,
        format!(
            "{} is {} KiB long; values longer than {} KiB are refused",
            place(),
            len >> 10,
            MAX_VALUE_BYTES >> 10
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bound_is_accepted_and_refused_one_past_it() {
        assert!(check_size(MAX_INPUT_BYTES as u64).is_ok());
        let e = check_size(MAX_INPUT_BYTES as u64 + 1).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooLarge);
        assert_eq!(
            e.message(),
            "the input is 268435457 bytes: exports larger than 256 MiB are refused; split it \
             into partial bundles"
        );
        assert!(too_large(None).message().starts_with("the input grew while it was read: "));

        assert!(check_depth(MAX_DEPTH, "elements").is_ok());
        let e = check_depth(MAX_DEPTH + 1, "elements").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooDeep);
        assert_eq!(e.message(), "elements nest deeper than 64 levels; deeper input is refused");

        assert!(check_attribute_count("config", MAX_ATTRIBUTES).is_ok());
        let e = check_attribute_count("config", MAX_ATTRIBUTES + 1).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooBig);
        assert!(e.message().starts_with("the element <config> carries more than 1024"));

        let place = || "the value".to_owned();
        assert!(check_value_len(MAX_VALUE_BYTES, place).is_ok());
        let e = check_value_len(MAX_VALUE_BYTES + 2048, place).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooBig);
        assert_eq!(
            e.message(),
            "the value is 1026 KiB long; values longer than 1024 KiB are refused"
        );
    }
}
