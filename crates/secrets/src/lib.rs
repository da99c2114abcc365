//! The password-resolution stage of an import: what becomes of every
//! password of the sections imported, and how the missing ones are found.
//!
//! 0. [`check_source_key`] checks, before the merge, that a `--source-key` is the key of the
//!    server that wrote the export.
//! 1. [`prepare`] applies the rules of docs/configuration.md ("What an import does with
//!    each state"): plaintext is sealed with the target's key, `{aesgcm}` values are opened to
//!    check (and re-sealed when they are under the `--source-key`), and everything unusable on
//!    this target becomes a [`Row`] of the Add Missing Passwords [`Table`].
//! 2. [`resolve`] asks a [`Chain`] of [`SecretSource`]s for each row, key by key, most
//!    specific first (item, template, account), optionally through a [`Cache`] shared by a
//!    batch. The built-in sources (`env`, `file:`, `dir:`, `cmd:`) come from
//!    [`builtin_source`]; the command line adds `prompt` and the registry adds `plugin:`
//!    sources through the same trait.
//! 3. [`seal_resolved`] seals what was found into the configuration.
//!
//! For `push`, [`reveal_for_sending`] opens a managed folder's sealed passwords in memory for a
//! live JIMS, which reads plaintext only. Outside an import, [`seal_plaintext`] seals what an
//! adopted folder or an export holds in clear, [`omit`] blanks every field, [`seal_under`]
//! seals a folder's passwords under a bundle's data key (`export --to`), [`reseal`] opens a
//! folder's sealed passwords and seals them again under another of its keys (the store's key
//! rotation and retirement) and [`holds_plaintext`] says whether a file written from a
//! configuration must be private: this crate is the one owner of what a secret field holds.
//!
//! [`Table::to_json`] is the `passwords --format json` shape; [`skeleton`] writes a secrets
//! file to fill in.
//!
//! Invariants: this crate prints nothing. A password lives only in a [`crypto::Secret`]; no
//! error, `Debug` output or table holds one.

mod chain;
mod compare;
mod error;
mod fields;
mod hash;
mod prepare;
mod reveal;
mod skeleton;
mod source;
mod sources;
mod state;
mod table;

pub use chain::{
    Cache, Chain, Resolved, check_password, resolve, resolve_row, seal_resolved,
    seal_resolved_keeping,
};
pub use compare::{HeldPasswords, align_equal_secrets, keep_equal_sealed_secrets};
pub use error::{Error, ErrorKind, SourceError, SourceErrorKind};
pub use fields::{
    FolderKeys, ResealError, Resealed, Unopened, holds_plaintext, omit, reseal, reseal_retired,
    seal_plaintext, seal_under, sealed_problems,
};
pub use prepare::{Keys, Prepared, check_source_key, prepare, prepare_with};
pub use reveal::{Revealed, reveal_for_sending};
pub use skeleton::{SkeletonFormat, merge_skeleton, skeleton};
pub use source::{
    Answer, Deferred, Opener, Request, SecretSource, SourceOptions, Spec, builtin_source,
    parse_spec,
};
pub use sources::{
    CmdSource, DirSource, EnvLookup, EnvSource, FileFormat, FileSource, KEYS_VARIABLE,
    MAX_SECRETS_FILE,
};
pub use state::{Census, FieldState, census};
pub use table::{ItemJson, MissingReason, Row, Table, TableJson};
