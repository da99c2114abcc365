//! The built-in secret sources: `env`, `file:`, `dir:` and `cmd:`.
//!
//! An empty password is no password: `env`, `file:` and `dir:` answer "not found" for an empty
//! value (so a skeleton file with empty values can be filled in bit by bit), and `cmd:` treats
//! empty output as a failure.

mod cmd;
mod dir;
mod env;
mod file;

pub use cmd::{CmdSource, KEYS_VARIABLE};
pub use dir::DirSource;
pub use env::{EnvLookup, EnvSource};
pub use file::{FileFormat, FileSource};
pub(crate) use file::{Node, parse_tree};
