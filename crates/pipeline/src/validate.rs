//! `jimsctl validate FILE|DIR`: a configuration checked on its own, without a target: every
//! problem the import rules find, the sealed values that are malformed (or, in a managed
//! folder, do not open under its key), and what state its passwords are in.

use std::collections::BTreeMap;

use model::{ProblemKind, SectionId};

use crate::diff::{Side, open_side};
use crate::error::Error;

/// What `validate` found.
#[derive(Debug)]
pub struct Validation {
    /// What was read.
    pub side: Side,
    /// Every problem, in document order (empty: valid).
    pub problems: Vec<String>,
    /// Template references that could not be checked because the file holds no `templates`
    /// section (a partial file).
    pub unchecked_templates: usize,
    /// How many secret fields are in each state (`missing`, `template`: left empty in an item
    /// that names a template, which uses the template's, `plaintext`, `aesgcm`, `capi`, `fsw`,
    /// `unknown-scheme`), by the import's own rules ([`secrets::census`]).
    pub passwords: BTreeMap<&'static str, usize>,
    /// The rows of the Add Missing Passwords table of an import into a new server (what
    /// `jimsctl passwords FILE` shows as Remaining before any source is asked).
    pub new_server_rows: usize,
}

impl Validation {
    /// Whether no problem was found.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads `spec` (a bundle, a server folder, a managed folder or `DIR@N`) and checks it.
///
/// # Errors
/// Only when it cannot be read at all (exit 2): what the readers report, with line and column.
pub fn validate(spec: &str) -> Result<Validation, Error> {
    let side = open_side(spec)?;
    let config = &side.configuration;
    let has_templates = config.contains(SectionId::Templates);
    let mut unchecked_templates = 0;
    let mut problems = Vec::new();
    for p in model::validate(config) {
        if !has_templates && matches!(p.kind, ProblemKind::DanglingTemplate { .. }) {
            unchecked_templates += 1;
            continue;
        }
        problems.push(p.to_string());
    }
    let census = secrets::census(config);
    problems.extend(secrets::sealed_problems(config, &side.keys()));
    Ok(Validation {
        side,
        problems,
        unchecked_templates,
        passwords: census.states,
        new_server_rows: census.new_server_rows,
    })
}
