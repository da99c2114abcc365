//! One import as a chain of stages, and the other whole operations of `jimsctl`.
//!
//! ```text
//! export file ─► input (format by content) ─► select (choose, merge, plan, validate)
//!             ─► secrets (rules, sources, table) ─► store (atomic, locked, versioned)
//! ```
//!
//! [`import`] runs the chain for one export and one target and returns an [`Outcome`] that the
//! CLI renders; [`batch::run`] runs many in parallel; [`export`] and [`convert`] are the other
//! directions. Every stage is a crate of
//! its own; this crate only chains them and decides nothing that a stage owns. The export
//! formats are a typed list ([`ExportFormat`], module [`input`]); secret sources are found by
//! the scheme of their SPEC in the registry, which also loads secret-source plugins
//! ([`secret_source`] builds a `--secrets SPEC`; module [`sources`]).
//!
//! This crate is the command line's only door: every operation `jimsctl` runs is a function
//! here ([`import`], [`batch::run`], [`export`], [`convert`], [`folder`]'s `init`, `adopt`,
//! `history`, `rollback` and keys, [`diff`], [`push`], …), and the types of the stages that
//! those take or return are re-exported here ([`Table`], [`Plan`], [`Configuration`], …), so
//! a program needs no other jimsctl crate. Its outcomes are typed ([`Status`],
//! [`PushStatus`], [`ErrorKind`]): what exit code and status word each one has is the
//! command line's (docs/cli.md).
//!
//! Architecture invariants: this crate prints nothing (it returns data), and it writes the
//! target only through `store`.
//!
//! # Using it as a library
//!
//! ```no_run
//! use std::path::Path;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Passwords from a secrets file; any `pipeline::SecretSource` can join the chain, and
//! // `secret_source` builds every `--secrets SPEC`, plugins included.
//! let file = pipeline::secret_source("file:secrets.toml", &pipeline::SourceOptions::default())?
//!     .expect("file: is not `prompt`");
//! let chain = pipeline::Chain::new(vec![file]);
//! let options = pipeline::ImportOptions { accept_warning: true, ..Default::default() };
//! let outcome = pipeline::import(
//!     Path::new("export.xml"),
//!     Path::new("server"),
//!     &options,
//!     &chain,
//!     None,
//!     &pipeline::NonInteractive,
//! )?;
//! match outcome.status {
//!     pipeline::Status::Imported => println!("version {}", outcome.version.unwrap_or_default()),
//!     other => println!("not imported: {other:?}"),
//! }
//! # Ok(())
//! # }
//! ```

pub mod batch;
pub mod diff;
mod error;
mod export;
pub mod folder;
mod import;
pub mod input;
pub mod push;
mod sealed;
mod skeleton;
pub mod sources;
pub mod status;
pub mod validate;

pub use error::{Error, ErrorKind};
pub use export::{ConvertTo, ExportOptions, ExportReport, PasswordsOut, convert, export};
pub use import::{
    ImportOptions, Interaction, Mode, NonInteractive, Outcome, PartialImport, Status, import,
    passwords,
};
pub use input::{ExportFormat, read_export};
pub use push::{
    PushOptions, PushOutcome, PushStatus, RemoteSettings, push, remote_fingerprint, remote_set,
    remote_show, remote_unset,
};
pub use sealed::{RecipientId, SealedToNote};
pub use skeleton::{Emitted, emit_skeleton};
pub use sources::{deferred_source, secret_source};

// The types of the stages that the operations above take or return, and the checks a person's
// input goes through, so that a program (the command line) needs no other jimsctl crate.
pub use crypto::Secret;
pub use model::{Configuration, SectionId};
pub use secrets::{Chain, Row, SecretSource, SourceOptions, Table, check_password};
pub use select::{Action, PARTIAL_WARNING, Plan, SectionPlan};

/// Writes `bytes` to the output file `path` atomically and durably with permission bits `mode`,
/// through the store's one durable-write layer ([`store::output::write_file_atomic`]): refused
/// (exit 2) inside a managed folder or over anything but a regular file.
pub fn write_file_atomic(path: &std::path::Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    Ok(store::output::write_file_atomic(path, bytes, mode)?)
}

/// Makes the folder `path` (and every missing folder above it) for outputs to go in, through
/// the store's one writing layer ([`store::output::create_folder`]).
pub fn create_output_folder(path: &std::path::Path) -> Result<(), Error> {
    Ok(store::output::create_folder(path)?)
}

/// Checks, before any work, that the file `path` may be written as an output (see
/// [`write_file_atomic`]): refused (exit 2) inside a managed folder, over anything but a regular
/// file, or in a folder that does not exist.
pub fn check_output_file(path: &std::path::Path) -> Result<(), Error> {
    Ok(store::output::check(path, store::output::OutputKind::File)?)
}
