//! Where a password outside its field is: the model finds it in the tree
//! ([`model::read::sections::first_misplaced_secret`]), and this module finds it again in the
//! input, for the line and column of its refusal.

use model::Section;
use model::read::{Refusal, sections};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::lexer::is_ws_byte;

/// Fails on the first `password` or `fswSpi1` attribute or `<password>` element of `section`
/// that is not one of its secret fields, at its line and column. `roots` are the offsets of the
/// start tags of the section's root elements in `input`.
pub(super) fn refuse_misplaced_secrets(
    input: &[u8],
    section: &Section,
    roots: &[usize],
) -> Result<(), Refusal> {
    let Some((m, error)) = sections::first_misplaced_secret(section) else { return Ok(()) };
    let root = roots.get(m.file).copied().unwrap_or(0);
    let offset = locate(input, root, &m.path, m.attribute()).unwrap_or(root);
    Err(Refusal { error, offset })
}

/// The offset in `input` of the element at `path` (indices of children, as in the model) under
/// the root element whose start tag is at `root`; with `attribute`, of that attribute in the
/// element's start tag. Only called on the way to an error, over input already parsed once.
fn locate(input: &[u8], root: usize, path: &[usize], attribute: Option<&str>) -> Option<usize> {
    let slice = input.get(root..)?;
    let mut reader = Reader::from_reader(slice);
    reader.config_mut().trim_text(false);
    // `open` elements are open; the first `matched` of them lie on `path` (the root counts as
    // one), and `seen[k]` counts the children met so far of the k-th of those.
    let (mut open, mut matched) = (0usize, 0usize);
    let mut seen: Vec<usize> = Vec::new();
    loop {
        let start = reader.buffer_position() as usize;
        let (tag, empty) = match reader.read_event().ok()? {
            Event::Start(t) => (t, false),
            Event::Empty(t) => (t, true),
            Event::End(_) => {
                if open == matched {
                    matched = matched.checked_sub(1)?;
                    seen.pop();
                }
                open = open.checked_sub(1)?;
                if open == 0 {
                    return None;
                }
                continue;
            }
            Event::Eof => return None,
            _ => continue,
        };
        let here = if open == 0 {
            path.is_empty()
        } else if open == matched {
            let counter = seen.last_mut()?;
            let index = *counter;
            *counter += 1;
            let on_path = path.get(matched - 1) == Some(&index);
            if on_path && matched == path.len() {
                true
            } else {
                if on_path && !empty {
                    matched += 1;
                    seen.push(0);
                    open += 1;
                }
                if !on_path && !empty {
                    open += 1;
                }
                continue;
            }
        } else {
            if !empty {
                open += 1;
            }
            continue;
        };
        if here {
            let at = root + start;
            let Some(name) = attribute else { return Some(at) };
            return Some(attribute_offset(&tag, name).map_or(at, |i| at + 1 + i));
        }
        if empty {
            return None;
        }
        // The root, when the path goes below it.
        open = 1;
        matched = 1;
        seen.push(0);
    }
}

/// The offset of the attribute `name` in the start tag `tag`, counted from just after its `<`.
fn attribute_offset(tag: &BytesStart<'_>, name: &str) -> Option<usize> {
    let raw: &[u8] = tag.as_bytes();
    let n = name.len();
    (1..raw.len().saturating_sub(n)).find(|&i| {
        is_ws_byte(raw[i - 1])
            && &raw[i..i + n] == name.as_bytes()
            && raw[i + n..].iter().find(|b| !is_ws_byte(**b)) == Some(&b'=')
    })
}
