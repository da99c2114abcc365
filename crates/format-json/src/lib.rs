//! The JSON bundle of a JIMS configuration (docs/formats.md, "The JSON bundle"): a reader that
//! deserializes straight into the [`model`] types and a writer that prints them back, without
//! loss.
//!
//! - [`read_bundle`] turns the bytes of a `.json` bundle into a [`model::Export`]. Every element,
//!   attribute, value and order the bundle holds is kept, unknown ones included; duplicate
//!   member names (which the writer never writes) are accepted where they stand for repeated
//!   child elements.
//! - [`write_bundle`] prints an export as pretty JSON (two-space indent, trailing newline).
//!   The bytes it writes read back to the same export, and that export writes the same bytes.
//!
//! # The mapping
//! ```json
//! {"jims_export": {"format_version": 1, "scope": "partial", "passwords": "included",
//!                  "sections": {"event_sources": [ … ], "session": { … }}}}
//! ```
//! - The header members come in the order of [`model::Header::attributes`], then `sections`.
//!   Header values are strings except `format_version`, written as the number `1` (read as the
//!   number or the string).
//! - A generic element is an object: each attribute a string member, in order; its text, if any,
//!   the member `#text`; then each child element a member named after it, in order. A run of
//!   consecutive children with the same name is an array of objects. No member name is ever
//!   written twice in one object: when a child's name comes back after another one (or starts
//!   with `@` or `#`), all of that element's children are written instead, in order, as
//!   `"#children": [{"name": {…}}, …]`, one one-member object per child. An attribute whose name
//!   is also a child's name, or starts with `@` or `#`, is written `@name`; `@name` always reads
//!   as an attribute.
//! - A list section (all but `pc_probes`, `session` and `transports`) is the array of its items
//!   when its root element holds nothing else; otherwise it is `{"$root": <root element>}`.
//!   `pc_probes` is an object with the root's attributes and a `credentials` array (an empty
//!   `<pc_probe/>` is `{"credentials": []}`), `session` the one `config` object (an empty
//!   `<cache/>` is `{}`, so a `config` with nothing in it takes `{"$root": …}`), `transports` an
//!   object keyed by native file name (`clients_https.xml`, `clients_http.xml`) whose values are
//!   list values; each falls back to `{"$root": …}` when the root holds more than that shape can
//!   say.
//! - In `oAuth` and `webapi` (children of `SRX` items) and in `CSO` items, a lone child
//!   `<password fswSpi1="…"/>` is the string member `password` (in `#children`, the entry
//!   `{"password": "…"}`); a `password` attribute of such an element is always written
//!   `@password`.
//! - The name of a section's root element is not written: it is the section's
//!   [`model::SectionId::root_name`] when read back.

mod read;
mod shape;
mod write;

pub use model::read::{Error, ErrorKind};
pub use model::read::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, MAX_VALUE_BYTES};
pub use read::read_bundle;
pub use write::write_bundle;
