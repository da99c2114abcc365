//! The element tree below a root: built from the tokens with an explicit stack of open
//! elements, never recursing on the input's depth (at most [`model::read::MAX_DEPTH`] levels),
//! text kept as written in an element without children and trimmed between children.

use model::Element;
use model::read::{ErrorKind, Refusal, check_depth, check_value_len};
use quick_xml::events::BytesStart;

use super::At;
use super::lexer::{Lexer, Token, is_whitespace, trim_ws};
use crate::escape::{Place, unescape};

/// An element being built: its attributes and children so far, and its text.
struct Frame<'a> {
    element: Element,
    /// Where its start tag is, for the "not closed" error.
    offset: usize,
    /// Its text so far: finished runs (trimmed) and the current run.
    text: String,
    /// Where the current run of text (since the last child tag) starts in `text`.
    run_start: usize,
    /// Whitespace that opened the current run, kept aside until the run holds more.
    pending: Option<&'a str>,
    has_children: bool,
    /// Where its finished children start in the builder's scratch list.
    children_start: usize,
}

impl<'a> Frame<'a> {
    fn new(element: Element, offset: usize, children_start: usize) -> Frame<'a> {
        Frame {
            element,
            offset,
            text: String::new(),
            run_start: 0,
            pending: None,
            has_children: false,
            children_start,
        }
    }

    fn push_text(&mut self, raw: &'a str, offset: usize, cdata: bool) -> Result<(), Refusal> {
        if !cdata && is_whitespace(raw) && self.text.len() == self.run_start {
            // Whitespace at the start of a run: usually indentation between elements.
            match self.pending {
                None => self.pending = Some(raw),
                Some(p) => {
                    self.text.push_str(p);
                    self.text.push_str(raw);
                    self.pending = None;
                }
            }
            return self.check_text_len(offset);
        }
        if let Some(p) = self.pending.take() {
            self.text.push_str(p);
        }
        if cdata {
            self.text.push_str(raw);
        } else {
            let secret = self.element.name == "password";
            let place = Place::Text { name: &self.element.name, secret };
            let decoded = unescape(raw, offset, place)?;
            self.text.push_str(&decoded);
        }
        self.check_text_len(offset)
    }

    /// Fails once the element's text is longer than [`model::read::MAX_VALUE_BYTES`].
    fn check_text_len(&self, offset: usize) -> Result<(), Refusal> {
        check_value_len(self.text.len(), || format!("the text of <{}>", self.element.name))
            .at(offset)
    }

    /// Ends the current run of text; in an element with children, runs are trimmed.
    fn end_run(&mut self) {
        self.pending = None;
        let run = &self.text[self.run_start..];
        let trimmed = trim_ws(run);
        if trimmed.len() != run.len() {
            let lead = trimmed.as_ptr() as usize - run.as_ptr() as usize;
            let end = self.run_start + lead + trimmed.len();
            self.text.truncate(end);
            self.text.drain(self.run_start..self.run_start + lead);
        }
        self.run_start = self.text.len();
    }

    fn begin_child(&mut self) {
        self.end_run();
        self.has_children = true;
    }

    /// The finished element; its children are taken off the end of `done` (so that each
    /// children list is allocated once, at its exact size).
    fn finish(mut self, done: &mut Vec<Element>) -> Element {
        if self.has_children {
            self.end_run();
            self.element.children = done.drain(self.children_start..).collect();
        }
        if !self.text.is_empty() && !is_whitespace(&self.text) {
            self.element.text = Some(self.text);
        }
        self.element
    }
}

/// Builds the element whose start tag (at `offset`, at nesting `depth`, 1 for the root) was
/// just read, with everything up to its end tag. Iterative: the input's depth never reaches
/// the call stack.
pub(super) fn build_subtree<'a>(
    lx: &mut Lexer<'a>,
    tag: &BytesStart<'_>,
    empty: bool,
    offset: usize,
    depth: usize,
) -> Result<Element, Refusal> {
    let too_deep = |depth: usize, offset: usize| check_depth(depth, "elements").at(offset);
    too_deep(depth, offset)?;
    let element = lx.open(tag, offset, None)?;
    if empty {
        return Ok(element);
    }
    let mut stack: Vec<Frame<'a>> = Vec::with_capacity(8);
    // Finished elements waiting for their parent's end tag, reused across calls.
    let mut done = std::mem::take(&mut lx.scratch);
    done.clear();
    stack.push(Frame::new(element, offset, 0));
    loop {
        match lx.next()? {
            Token::Start { tag, empty, offset } => {
                too_deep(depth + stack.len(), offset)?;
                let child = lx.open(&tag, offset, None)?;
                let Some(parent) = stack.last_mut() else { return Err(no_open_element(offset)) };
                parent.begin_child();
                if empty {
                    done.push(child);
                } else {
                    stack.push(Frame::new(child, offset, done.len()));
                }
            }
            Token::End => {
                let Some(frame) = stack.pop() else { return Err(no_open_element(offset)) };
                let element = frame.finish(&mut done);
                if stack.is_empty() {
                    lx.scratch = done;
                    return Ok(element);
                }
                done.push(element);
            }
            Token::Text { raw, offset, cdata } => {
                let Some(frame) = stack.last_mut() else { return Err(no_open_element(offset)) };
                frame.push_text(raw, offset, cdata)?;
            }
            Token::Eof { offset: end } => {
                let (name, open) =
                    stack.last().map(|f| (f.element.name.clone(), f.offset)).unwrap_or_default();
                return Err(lx.unclosed(&name, open, end));
            }
        }
    }
}

/// The stack of open elements is never empty inside the loop; this keeps that a checked fact
/// rather than a panic.
fn no_open_element(offset: usize) -> Refusal {
    Refusal::new(ErrorKind::Syntax, offset, "internal error: no open element")
}
