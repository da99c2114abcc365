//! The rules of docs/configuration.md, "What an import does with each state": what happens to every
//! secret field of the imported sections before any secret source is asked.

use crypto::{Secret, ServerKey};
use model::{Configuration, SecretField, SecretState, SectionId};

use crate::error::{Error, ErrorKind};
use crate::state::{FieldState, Rule, Target, rule};
use crate::table::{MissingReason, Row, Table};

/// The outcome of [`prepare`]: the table of what is still missing, and counters for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The Add Missing Passwords table.
    pub table: Table,
    /// Plaintext passwords found in the export and sealed with the target's key ("the export
    /// held plaintext").
    pub sealed_plaintext: usize,
    /// `{aesgcm}` values opened with the source key and sealed again with the target's key.
    pub resealed: usize,
    /// Values kept as they were: `{aesgcm}` under the target's key (opened to check), and
    /// `{capi}`, `{fsw}` or unknown-scheme values of an export from this same server.
    pub kept: usize,
}

/// What to do with one field, decided before anything is changed.
enum Action {
    /// Plaintext: seal it with the target's key.
    SealPlain,
    /// Opened with the source key: seal it again with the target's key.
    Reseal(Secret),
    /// Usable as it is.
    Keep,
    /// Unusable here: a row of the table.
    Row(MissingReason),
    /// Absent in an item that names a template: it uses the template's credentials.
    Inherit,
}

/// Applies the import rules to every secret field of `sections` in `config` (the merged
/// configuration, whose imported sections still hold the export's raw values):
///
/// - plaintext: sealed with `target_key` (counted in [`Prepared::sealed_plaintext`]);
/// - `{aesgcm}` under the target's key: opened to check, kept;
/// - `{aesgcm}` under `source_key`: opened with it, sealed again with the target's key;
/// - `{aesgcm}` under another key: a row ([`MissingReason::ForeignKey`]);
/// - `{capi}`, `{fsw}` or an unknown scheme: kept when `export_key_id` is the target's key id,
///   else a row ([`MissingReason::OtherServer`]);
/// - missing: a row, except in an item that names a template (it uses the template's).
///
/// A row's value in `config` is left as it was until it is resolved. Nothing in `config`
/// changes when this returns an error.
///
/// Whether `source_key` belongs to the export is [`check_source_key`]'s to say, over the whole
/// export, before the merge.
///
/// # Errors
/// [`ErrorKind::Tampered`] when an `{aesgcm}` value that should open (under the target's key or
/// the source key, or whose key id cannot be read) does not, naming every such section, item and
/// field; [`ErrorKind::Internal`] when sealing fails.
pub fn prepare(
    config: &mut Configuration,
    sections: &[SectionId],
    export_key_id: Option<&str>,
    target_key: &ServerKey,
    source_key: Option<&ServerKey>,
) -> Result<Prepared, Error> {
    let keys = Keys { target: target_key, retired: &[], source: source_key };
    prepare_with(config, &|f| sections.contains(&f.section()), export_key_id, &keys)
}

/// The keys [`prepare_with`] opens values with.
#[derive(Clone, Copy, Debug)]
pub struct Keys<'a> {
    /// The target's current key: everything is sealed under it.
    pub target: &'a ServerKey,
    /// The target's retired keys (its key ring): values under them are the target's own, opened
    /// and sealed again under its current key; an export whose `server_key_id` is one of them
    /// comes from this same server.
    pub retired: &'a [ServerKey],
    /// The exporting server's key (`--source-key`), or the data key of a bundle sealed to this
    /// server: values under it are opened and sealed again.
    pub source: Option<&'a ServerKey>,
}

/// [`prepare`] for the secret fields that `imported` says came from the export (a merge that
/// keeps some of the target's items in an imported section, event sources in a partial import,
/// leaves their fields out, so that they are kept exactly as the target has them), with the
/// target's retired keys too (see [`Keys`]).
///
/// # Errors
/// As [`prepare`].
pub fn prepare_with(
    config: &mut Configuration,
    imported: &dyn Fn(&SecretField) -> bool,
    export_key_id: Option<&str>,
    keys: &Keys<'_>,
) -> Result<Prepared, Error> {
    let target_key = keys.target;
    let source_key = keys.source;
    // Filtered in place: a field is a couple of hundred bytes, and usually every one is kept.
    let mut fields: Vec<SecretField> = config.secret_fields();
    fields.retain(|f| imported(f));
    let target_id = target_key.id().as_str();
    let target = Target {
        same_server: export_key_id == Some(target_id)
            || keys.retired.iter().any(|k| Some(k.id().as_str()) == export_key_id),
        key_id: Some(target_id),
        source_id: source_key.map(|k| k.id().as_str()),
        retired: keys.retired,
    };

    let mut broken: Vec<String> = Vec::new();
    let mut actions = Vec::with_capacity(fields.len());
    for field in &fields {
        let raw = config.secret_value(&field.location);
        let mut open =
            |key: &ServerKey, under: &str| match key.open(raw, field.binding().as_bytes()) {
                Ok(secret) => Some(secret),
                Err(e) => {
                    broken.push(describe(field, under, &e));
                    None
                }
            };
        let action = match rule(FieldState::from_value(field, raw), &target) {
            Rule::Inherit => Action::Inherit,
            Rule::SealPlain => Action::SealPlain,
            Rule::Keep => Action::Keep,
            Rule::Row(reason) => Action::Row(reason),
            Rule::OpenWithTarget => {
                open(target_key, "this server's key");
                Action::Keep
            }
            Rule::OpenWithSource => match source_key.and_then(|k| open(k, "the source key")) {
                Some(secret) => Action::Reseal(secret),
                None => Action::Keep,
            },
            Rule::OpenWithRetired(key) => match open(key, "a retired key of this server") {
                Some(secret) => Action::Reseal(secret),
                None => Action::Keep,
            },
            Rule::Malformed => {
                broken.push(format!(
                    "{} (its value starts with {{aesgcm}} but is not of the form \
                     '{{aesgcm}} 1,<key id>,<hex>')",
                    place(field)
                ));
                Action::Keep
            }
        };
        actions.push(action);
    }

    if !broken.is_empty() {
        return Err(tampered(broken));
    }

    let rows = actions.iter().filter(|a| matches!(a, Action::Row(_))).count();
    let mut prepared =
        Prepared { table: Table { rows: Vec::with_capacity(rows) }, ..Prepared::default() };
    for (field, action) in fields.into_iter().zip(actions) {
        match action {
            Action::SealPlain => {
                let sealed =
                    seal(target_key, config.secret_value(&field.location).as_bytes(), &field)?;
                config.set_secret_value(&field.location, sealed);
                prepared.sealed_plaintext += 1;
            }
            Action::Reseal(secret) => {
                let sealed = seal(target_key, secret.expose(), &field)?;
                config.set_secret_value(&field.location, sealed);
                prepared.resealed += 1;
            }
            Action::Keep => prepared.kept += 1,
            Action::Row(reason) => {
                let index = prepared.table.rows.len() + 1;
                prepared.table.rows.push(Row::from_field(index, field, reason));
            }
            Action::Inherit => {}
        }
    }
    Ok(prepared)
}

/// Checks that `source_key` is the key of the server that wrote `export` (the export's whole
/// configuration, every section, before any is chosen): docs/configuration.md, "A
/// `--source-key` whose key id matches no sealed value anywhere in the export … is the wrong
/// key". So a partial import of sections without sealed passwords accepts the right key.
///
/// # Errors
/// [`ErrorKind::WrongSourceKey`] when no `{aesgcm}` value of the export is under the key's id,
/// naming the key ids the export's sealed values are under (never a value).
pub fn check_source_key(export: &Configuration, source_key: &ServerKey) -> Result<(), Error> {
    let id = source_key.id().as_str();
    let mut foreign_ids: Vec<&str> = Vec::new();
    for field in export.secret_fields() {
        if let SecretState::Sealed { key_id: Some(found) } =
            SecretState::classify(export.secret_value(&field.location))
        {
            if found == id {
                return Ok(());
            }
            if !foreign_ids.contains(&found) {
                foreign_ids.push(found);
            }
        }
    }
    let found = if foreign_ids.is_empty() {
        "it holds no password sealed under any key".to_owned()
    } else {
        format!("its sealed passwords are under key id {}", foreign_ids.join(", "))
    };
    Err(Error::new(
        ErrorKind::WrongSourceKey,
        format!(
            "wrong source key: its key id {id} matches no sealed password in the export, and \
             {found}; give --source-key the key of the server that wrote the export"
        ),
    ))
}

/// `section `event_sources`, item `DC1`, field `password``.
pub(crate) fn place(field: &SecretField) -> String {
    format!("section `{}`, item `{}`, field `{}`", field.section(), field.item_id, field.field)
}

fn describe(field: &SecretField, under: &str, e: &crypto::Error) -> String {
    format!("{} (under {under}: {e})", place(field))
}

fn tampered(broken: Vec<String>) -> Error {
    const SHOWN: usize = 10;
    let count = broken.len();
    let mut list = broken.into_iter().take(SHOWN).collect::<Vec<_>>().join("; ");
    if count > SHOWN {
        list.push_str(&format!("; and {} more", count - SHOWN));
    }
    let head = if count == 1 {
        "a sealed password of the export does not open".to_owned()
    } else {
        format!("{count} sealed passwords of the export do not open")
    };
    Error::new(
        ErrorKind::Tampered,
        format!(
            "{head}, so the export was altered or is corrupt: {list}; export the configuration \
             again from the server that wrote it"
        ),
    )
}

/// `plaintext` sealed under `key`, bound to `field`.
pub(crate) fn seal(
    key: &ServerKey,
    plaintext: &[u8],
    field: &SecretField,
) -> Result<String, Error> {
    key.seal(plaintext, field.binding().as_bytes()).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("could not seal the password of {}: {e}", place(field)),
        )
        .with_source(e)
    })
}
