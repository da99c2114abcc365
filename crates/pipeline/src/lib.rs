//! One import as a chain of stages, and the other whole operations of `jimsctl`.
//!
//! ```text
//! export file ─► input (format by content) ─► select (choose, merge, plan, validate)
//!             ─► secrets (rules, sources, table) ─► store (atomic, locked, versioned)
//! ```
//!
//! [`import`] runs the chain for one export and one target and returns an [`Outcome`] that the
//! CLI renders; [`export`] and [`convert`] are the other directions. Every stage is a crate of
//! its own; this crate only chains them and decides nothing that a stage owns.
//!
//! Architecture invariants: this crate prints nothing (it returns data), and it writes the
//! target only through `store`.

mod error;
mod export;
mod import;
pub mod input;
mod output;

pub use error::{Error, ErrorKind};
pub use export::{ConvertTo, ExportOptions, ExportReport, PasswordsOut, convert, export};
pub use import::{
    ImportOptions, Interaction, Mode, NonInteractive, Outcome, Status, import, passwords,
};
pub use input::{ExportFormat, read_export};
pub use output::write_file_atomic;
