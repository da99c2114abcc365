//! `plugin:keepass:PATH`: passwords from a KeePass database: KDBX 3.1 (what `keepassxc-cli
//! db-create` writes) and KDBX 4 (and the older files that keepass-rs also reads).
//!
//! The database at PATH is opened once per run, with the master password from
//! `JIMSCTL_KEEPASS_PASSWORD` and/or the key file named by `JIMSCTL_KEEPASS_KEYFILE` (either
//! or both, as the database was made). When neither is set and there is a terminal, the master
//! password is asked there, without echo. An entry answers the secret key equal to its path in
//! the database: its groups from the root (the root group itself not included), then its
//! title, joined by `/`. So the entry `DC1` in the group `event_sources` answers
//! `event_sources/DC1`, and the entry `CORP\JIMS-ADRemoteAccess` in the group `account`
//! answers `account/CORP\JIMS-ADRemoteAccess`. jimsctl asks a row's keys one by one, most
//! specific first (item, template, account). Entries in the recycle bin are not used; an empty password
//! counts as none; two entries with the same path are an error (which one is meant?).
//!
//! A wrong master password or key file ("wrong master password", in KDBX 3.1 as in KDBX 4), a
//! missing or unreadable file, or a file that is not a KeePass database is a configuration
//! error: jimsctl stops with exit 2 and says which.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use keepass::db::{DatabaseOpenError, EntryId, GroupId};
use keepass::error::CryptographyError;
use keepass::error::DatabaseKeyError;
use keepass::{Database, DatabaseKey};
use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};
use zeroize::Zeroizing;

/// The variable holding the database's master password.
pub const PASSWORD_VAR: &str = "JIMSCTL_KEEPASS_PASSWORD";
/// The variable naming the database's key file.
pub const KEYFILE_VAR: &str = "JIMSCTL_KEEPASS_KEYFILE";

/// An open database and its entries by path.
pub struct KeePass {
    path: PathBuf,
    database: Database,
    by_path: HashMap<String, Vec<EntryId>>,
}

impl fmt::Debug for KeePass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeePass")
            .field("path", &self.path)
            .field("entries", &self.by_path.len())
            .finish_non_exhaustive()
    }
}

impl KeePass {
    /// Opens the database at `path` with `password` and/or the key file at `keyfile`.
    ///
    /// # Errors
    /// A configuration error naming the file and what is wrong with it.
    pub fn open(
        path: &Path,
        password: Option<&str>,
        keyfile: Option<&Path>,
    ) -> Result<KeePass, PluginError> {
        let shown = path.display();
        if password.is_none() && keyfile.is_none() {
            return Err(PluginError::config(format!(
                "no key for the KeePass database {shown}: set {PASSWORD_VAR} to its master \
                 password, or {KEYFILE_VAR} to its key file"
            )));
        }
        let mut key = DatabaseKey::new();
        if let Some(password) = password {
            key = key.with_password(password);
        }
        if let Some(keyfile) = keyfile {
            let bytes = Zeroizing::new(std::fs::read(keyfile).map_err(|e| {
                PluginError::config(format!(
                    "cannot read the key file {} ({KEYFILE_VAR}): {}",
                    keyfile.display(),
                    io_reason(&e)
                ))
            })?);
            key = key.with_keyfile(&mut bytes.as_slice()).map_err(|e| {
                PluginError::config(format!("cannot read the key file {}: {e}", keyfile.display()))
            })?;
        }
        let data = std::fs::read(path).map_err(|e| {
            PluginError::config(format!(
                "cannot read the KeePass database {shown}: {}",
                io_reason(&e)
            ))
        })?;
        let database = Database::parse(&data, key).map_err(|e| open_error(path, keyfile, &e))?;
        let by_path = index(&database);
        Ok(KeePass { path: path.to_owned(), database, by_path })
    }

    /// The password of the entry whose path is `key`: `Ok(None)` when there is no such entry
    /// or its password is empty.
    ///
    /// # Errors
    /// A configuration error when several entries have that path.
    pub fn lookup(&self, key: &str) -> Result<Option<Password>, PluginError> {
        let Some(ids) = self.by_path.get(key) else { return Ok(None) };
        if ids.len() > 1 {
            return Err(PluginError::config(format!(
                "{} entries of the KeePass database {} have the path `{key}`, so it is not \
                 clear which one to use: rename or delete all but one",
                ids.len(),
                self.path.display()
            )));
        }
        let password = ids
            .first()
            .and_then(|id| self.database.entry(*id))
            .and_then(|entry| entry.get_password().map(|p| Password::copy_from(p.as_bytes())));
        Ok(password.filter(|p| !p.as_bytes().is_empty()))
    }

    /// The number of entry paths the database holds (outside the recycle bin).
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Whether the database holds no entry outside the recycle bin.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

/// Every entry by its path, the recycle bin left out.
fn index(database: &Database) -> HashMap<String, Vec<EntryId>> {
    let recycle_bin = database.recycle_bin().map(|g| g.id());
    let mut by_path: HashMap<String, Vec<EntryId>> = HashMap::new();
    let mut stack: Vec<(GroupId, String)> = vec![(database.root().id(), String::new())];
    while let Some((id, prefix)) = stack.pop() {
        let Some(group) = database.group(id) else { continue };
        for entry in group.entries() {
            let title = entry.get_title().unwrap_or_default();
            by_path.entry(format!("{prefix}{title}")).or_default().push(entry.id());
        }
        for child in group.groups() {
            if Some(child.id()) != recycle_bin {
                stack.push((child.id(), format!("{prefix}{}/", child.name)));
            }
        }
    }
    by_path
}

/// What a failure to open the database means for the user.
fn open_error(path: &Path, keyfile: Option<&Path>, e: &DatabaseOpenError) -> PluginError {
    let shown = path.display();
    match e {
        // KDBX 4 checks the key with an HMAC; KDBX 3.1 has none, so a wrong key shows as the
        // payload's padding failing to decrypt.
        DatabaseOpenError::Key(DatabaseKeyError::IncorrectKey)
        | DatabaseOpenError::Cryptography(CryptographyError::InvalidPadding(_)) => {
            let what = match keyfile {
                Some(_) => format!(
                    "wrong master password or key file: the master password \
                     ({PASSWORD_VAR}) or key file ({KEYFILE_VAR})"
                ),
                None => format!("wrong master password: the master password ({PASSWORD_VAR})"),
            };
            PluginError::config(format!("{what} does not open the KeePass database {shown}"))
        }
        DatabaseOpenError::Key(e) => PluginError::config(format!(
            "the key for the KeePass database {shown} is not usable: {e}"
        )),
        DatabaseOpenError::Io(e) => PluginError::config(format!(
            "cannot read the KeePass database {shown}: {}",
            io_reason(e)
        )),
        other => PluginError::config(format!(
            "{shown} is not a KeePass database that can be read (KDBX 3.1 or 4): {other}"
        )),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// A variable's value, wiped on drop.
fn variable(name: &str) -> Result<Option<Zeroizing<String>>, PluginError> {
    match std::env::var_os(name).map(OsString::into_string) {
        None => Ok(None),
        Some(Ok(value)) => Ok(Some(Zeroizing::new(value))),
        Some(Err(raw)) => {
            drop(Zeroizing::new(raw.into_encoded_bytes()));
            Err(PluginError::config(format!("{name} is not UTF-8 text")))
        }
    }
}

impl Plugin for KeePass {
    const NAME: &'static str = "keepass";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(config: Option<&str>) -> Result<KeePass, PluginError> {
        let path = config.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            PluginError::config(
                "needs the database's path: --secrets plugin:keepass:PATH (with the master \
                 password in JIMSCTL_KEEPASS_PASSWORD or a key file in JIMSCTL_KEEPASS_KEYFILE)",
            )
        })?;
        let mut password = variable(PASSWORD_VAR)?;
        let keyfile = std::env::var_os(KEYFILE_VAR).filter(|v| !v.is_empty()).map(PathBuf::from);
        if password.is_none() && keyfile.is_none() {
            password = tty::ask(&format!("KeePass master password for {path}: ")).map_err(|e| {
                PluginError::config(format!("cannot ask for the master password of {path}: {e}"))
            })?;
        }
        KeePass::open(Path::new(path), password.as_deref().map(String::as_str), keyfile.as_deref())
    }

    fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError> {
        for key in &request.keys {
            if let Some(password) = self.lookup(key)? {
                return Ok(Some(password));
            }
        }
        Ok(None)
    }
}

/// Asking on the controlling terminal (`/dev/tty`), without echo, when there is one.
mod tty {
    use std::io::{BufRead, BufReader, Write};

    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};

    use zeroize::Zeroizing;

    /// Shows `prompt` on the terminal and reads one line without echo; `Ok(None)` when the
    /// process has no controlling terminal (a batch, CI).
    pub(crate) fn ask(prompt: &str) -> std::io::Result<Option<Zeroizing<String>>> {
        // A person at the keyboard: jimsctl's own standard input is the terminal (never in a
        // pipe, a batch run by cron, or CI).
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Ok(None);
        }
        let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") else {
            return Ok(None);
        };
        let Ok(saved) = tcgetattr(&tty) else {
            return Ok(None); // not a terminal after all
        };
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        quiet.local_modes.insert(LocalModes::ECHONL);
        let _ = tcsetattr(&tty, OptionalActions::Flush, &quiet);
        let mut out = &tty;
        let result = (|| {
            out.write_all(prompt.as_bytes())?;
            out.flush()?;
            let mut line = Zeroizing::new(String::with_capacity(256));
            BufReader::new(&tty).read_line(&mut line)?;
            while line.ends_with('\n') || line.ends_with('\r') {
                line.pop();
            }
            Ok(Some(line))
        })();
        // Restores what tcgetattr gave, on the same open descriptor.
        let _ = tcsetattr(&tty, OptionalActions::Flush, &saved);
        result
    }
}

// An open database is only read: the instance may be called from many threads at once.
export_plugin!(KeePass);
