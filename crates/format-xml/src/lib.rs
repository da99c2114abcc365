//! The XML side of `jimsctl`: the XML bundle (`<jims_export>`), the native section files of a
//! JIMS server (`cwd/config/*.xml`), and the server configuration folder, read and written
//! without loss.
//!
//! Lossless means every element, attribute and value in order, unknown ones included, and the
//! text of an element in [`model::Element::text`]. Comments, processing instructions and the
//! whitespace between elements are not kept. Text is kept as written in an element without
//! children; in an element with children (mixed content) each run of text between tags is
//! trimmed of surrounding whitespace and the runs are joined. Attribute values are kept as
//! written, references decoded (a literal newline or tab in a value is not normalised to a
//! space; the writer writes them as `&#10;` and `&#9;`).
//!
//! Untrusted input is bounded: at most [`MAX_INPUT_BYTES`] bytes, at most [`MAX_DEPTH`] levels
//! of elements, at most [`MAX_ATTRIBUTES`] attributes on an element, values and text of at most
//! [`MAX_VALUE_BYTES`] bytes, UTF-8 only, no DOCTYPE (so no entity expansion), no NUL or control
//! bytes. The reader never panics and never recurses on the input's depth. The bounds, the
//! header and section rules and the [`Error`] type are [`model::read`]'s, the same as the JSON
//! reader's: errors carry the 1-based line and column (in characters) of the problem, and never
//! quote a secret value.
//!
//! ```
//! let bundle = br#"<?xml version="1.0" encoding="UTF-8"?>
//! <jims_export format_version="1" scope="partial" passwords="omitted">
//!   <section id="session">
//!     <cache>
//!       <config probe_timeout="60"/>
//!     </cache>
//!   </section>
//! </jims_export>
//! "#;
//! let export = format_xml::read_bundle(bundle).unwrap();
//! assert_eq!(export.configuration.ids(), [model::SectionId::Session]);
//! assert_eq!(format_xml::write_bundle(&export).unwrap(), bundle);
//! ```

mod escape;
pub mod folder;
mod read;
mod write;

pub use model::read::{Error, ErrorKind};
pub use model::read::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, MAX_VALUE_BYTES};
pub use read::{read_bundle, read_native_file};
pub use write::{write_bundle, write_native_file};
