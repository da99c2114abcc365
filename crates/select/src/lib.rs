//! The selection stage of an import: which sections of an export are imported
//! ([`choose`]), the merge of those sections into the target's configuration ([`merge`], or
//! [`merge_owned`] when the export is no longer needed), and the plan of what the merge
//! changes ([`plan`]).
//!
//! The rules come from docs/configuration.md, "What an import does": the sections imported are
//! those in the file, or a subset chosen from them; choosing a section the file lacks is an
//! error; each imported section is cleared and replaced by the file's content; every other
//! section is left exactly as it was; a partial import shows [`PARTIAL_WARNING`].
//!
//! This crate does no I/O and prints nothing: it returns data that the CLI renders. The plan
//! names items and fields, never a value, so it is safe to print and to log.

mod choose;
mod merge;
mod plan;

pub use choose::{Error, ErrorKind, PARTIAL_WARNING, Selection, choose};
pub use merge::{merge, merge_in_place, merge_owned};
pub use plan::{Action, FieldChange, ItemChange, MOVED_FILE_FIELD, Plan, SectionPlan, plan};
