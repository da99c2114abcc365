//! The managed JIMS server folder: the writer of the import pipeline. Only this crate writes
//! the target.
//!
//! A managed folder `DIR` holds the live configuration in `DIR/cwd/` (the native files of
//! every section) and jimsctl's own state in `DIR/.jims-import/`: `server.toml`, `server.key`
//! (mode 0600), `history/N.json` (the current version's record), `history/N/` (each earlier
//! version: the `cwd/` that was live until it was replaced, moved there, and its record
//! `meta.json`; `history/N.tar` archives in folders of layout 2) and `audit.log` (see
//! [Layout](#layout)). The lock is
//! an exclusive `flock` on `.jims-import/` itself, held by writers only.
//!
//! - [`init`] makes a new folder with an empty configuration and a fresh key (version 0);
//!   [`adopt`] takes over a JIMS `cwd/` and seals the plaintext passwords it holds.
//! - [`Target::open`] locks a folder for an import (or prepares a new one in memory),
//!   [`Target::open_unlocked`] reads it for an import that asks secret sources first (its
//!   commit takes the lock and checks that the version is still the one read),
//!   [`Target::commit`] writes the next version and [`Target::rollback`] restores an earlier
//!   one, both atomically for the whole `cwd/`; [`Target::open_read`] and
//!   [`Target::open_state`] serve export and history without a lock, reading the last
//!   committed version even in the middle of a commit; [`check_target`] checks cheaply that a
//!   folder can be imported into. How a folder was opened is in its handle's type: a
//!   [`Target`] (of [`Write`]) commits, rolls back and makes, rotates and retires keys, a
//!   [`TargetView`] (of [`Read`]) has no such methods at all.
//! - `transport.key` and `keyring` (module `keys`): the folder's transport key pair and its
//!   retired keys; [`Target::rotate_key`], [`Target::rotate_transport`], [`Target::key_list`]
//!   and [`Target::retire_key`], each one atomic change of the state files (module `txn`, or
//!   the commit it rides on), which lock-free readers read whole at any moment. The passwords
//!   they re-seal are opened and sealed again by the secrets crate ([`secrets::reseal`]).
//! - [`output`] writes what jimsctl makes outside managed folders (exports, converted bundles
//!   and folders, reports) with the same durable steps, never inside a managed folder and never
//!   over anything but a regular file.
//! - [`Group`] commits many targets together (a batch): the commits made with
//!   [`Target::commit_in`] are staged in the group given, and [`Group::commit`] makes them
//!   durable with a few `syncfs` calls rather than some 60 `fsync`s each, keeping each commit
//!   atomic. Whether a commit is staged is always the caller's explicit choice: there is no
//!   ambient group, and whether a step syncs is passed to it (`fsops::Syncs`), never found in a
//!   thread-local.
//!
//! # Layout
//! ```text
//! DIR/cwd/config/*.xml, DIR/cwd/system/init/admin_whitelist_static.xml
//! DIR/.jims-import/{server.toml, server.key, audit.log, history/{N.json, M/{meta.json, cwd/}…}}
//! DIR/.jims-import/{remote.toml, remote.json, push.journal}   (push: see [`RemoteConfig`])
//! DIR/.jims-import/{transport.key, keyring}                  (the other keys, module `keys`)
//! ```
//!
//! # Durability
//! Every file is created with its final mode, written and synced; every folder whose entries
//! change is synced; the new `cwd/` replaces the old one in a single `renameat2(RENAME_EXCHANGE)`
//! (two journaled renames where the kernel lacks it), and a commit interrupted by a crash is
//! finished or undone by the next open. A [`Group`] runs the same steps in the same order for
//! many commits, with one `syncfs(2)` between phases instead of a sync per file, where `syncfs`
//! reaches the disk (not on FUSE filesystems, which it never reaches: there the group syncs file
//! by file). So a power cut loses nothing a finished commit wrote, and one during a commit
//! leaves the old version or the new one. With the `fault-injection` feature,
//! `JIMSCTL_FAULT_STEP=N` aborts the process at the N-th filesystem step.

mod commit;
mod create;
mod digest;
mod error;
mod fsops;
mod group;
mod history;
mod inspect;
mod keys;
mod layout;
mod live;
mod lock;
pub mod output;
mod remote;
mod server;
mod snapshot;
mod target;
mod time;
mod txn;
mod xml;

use std::path::{Path, PathBuf};

use crypto::{KeyId, ServerKey};
use model::{Configuration, Section, SectionFile, SectionId};
use serde::Serialize;

pub use error::{Error, ErrorKind};
pub use group::{Group, Staged};
pub use history::{CommitMeta, Counts, PasswordCounts, VersionInfo};
pub use inspect::{Drift, FileChange, FileDrift, SectionDrift};
pub use keys::{KeyInfo, KeyKind, RetireReport, RotateReport};
pub use remote::{PushJournal, PushRecord, PushedFile, RemoteConfig};
pub use target::{Access, CommitReport, Read, Target, TargetView, Write, check_target};
pub use time::now_rfc3339;

use commit::NewFile;
use create::{Placement, VersionSpec};
use layout::{CWD, DirState};
use server::ServerToml;

/// What [`init`] or [`adopt`] made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InitReport {
    /// The managed folder.
    pub dir: PathBuf,
    /// The server's id.
    pub server_id: String,
    /// The id of its new key.
    #[serde(serialize_with = "key_id_str")]
    pub key_id: KeyId,
    /// Plaintext passwords found and sealed (adopt only).
    pub sealed: usize,
}

fn key_id_str<S: serde::Serializer>(k: &KeyId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

fn init_meta(action: &str) -> CommitMeta {
    CommitMeta {
        action: action.to_owned(),
        items: Some(digest::items(&Configuration::empty_full())),
        ..CommitMeta::default()
    }
}

fn server_toml(dir: &Path, server_id: Option<&str>, key: &ServerKey) -> Result<ServerToml, Error> {
    let server_id = match server_id {
        Some(id) => {
            server::check_server_id(id)?;
            id.to_owned()
        }
        None => server::default_server_id(dir, key),
    };
    Ok(ServerToml {
        layout_version: layout::LAYOUT_VERSION,
        server_id,
        key_id: key.id().as_str().to_owned(),
        created: now_rfc3339(),
    })
}

fn already_managed(dir: &Path) -> Error {
    Error::new(
        ErrorKind::AlreadyManaged,
        format!(
            "{} is already a managed server folder; import into it, or choose another folder",
            dir.display()
        ),
    )
    .at(dir)
}

/// Makes `dir` a managed folder: every native file with an empty root, a fresh key, version 0
/// (`init`). `dir` may be absent (it is created atomically) or an existing folder that is not
/// managed and holds no `cwd/` (one that does is [`ErrorKind::NotManaged`]: adopt it).
pub fn init(dir: &Path, server_id: Option<&str>) -> Result<InitReport, Error> {
    let key = ServerKey::generate().map_err(target::crypto_error)?;
    let toml = server_toml(dir, server_id, &key)?;
    let placement = match layout::classify(dir)? {
        DirState::Managed => return Err(already_managed(dir)),
        DirState::Unmanaged => return Err(layout::not_managed_adopt(dir)),
        DirState::Missing => Placement::Sibling,
        DirState::Empty | DirState::Other => Placement::InPlace,
    };
    let v0 = VersionSpec { version: 0, meta: init_meta("init"), files: target::empty_files()? };
    create::create(dir, placement, &toml, &key, v0)?;
    Ok(InitReport {
        dir: dir.to_path_buf(),
        server_id: toml.server_id,
        key_id: key.id().clone(),
        sealed: 0,
    })
}

/// Takes over `dir`, which holds a JIMS `cwd/` but no `.jims-import/`: a fresh key, every
/// plaintext password sealed under it (bound to its section, item and field), every missing
/// native file added with an empty root, version 0 (`adopt`). Files with nothing to seal keep
/// their bytes. The switch of `cwd/` is atomic, as for a commit.
pub fn adopt(dir: &Path, server_id: Option<&str>) -> Result<InitReport, Error> {
    match layout::classify(dir)? {
        DirState::Managed => return Err(already_managed(dir)),
        DirState::Missing | DirState::Empty | DirState::Other => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{} holds no JIMS configuration (cwd/) to adopt; to make a new server \
                     folder, run `jimsctl server init` without --adopt",
                    dir.display()
                ),
            )
            .at(dir));
        }
        DirState::Unmanaged => {}
    }
    let key = ServerKey::generate().map_err(target::crypto_error)?;
    let toml = server_toml(dir, server_id, &key)?;
    let cwd = dir.join(CWD);
    let live = live::read_native(&cwd)?;
    let found = live::parse(&cwd, &live, &[])?;
    let mut config = found.clone();
    fill_missing_files(&mut config);
    // What a secret field holds is the secrets crate's to change.
    let sealed = secrets::seal_plaintext(&mut config, &key).map_err(|e| {
        Error::new(ErrorKind::Crypto, format!("could not seal the passwords found: {e}"))
            .caused_by(e)
    })?;
    let mut files = Vec::new();
    let mut sections = Vec::new();
    let mut counts = Counts::default();
    for (section, rel) in live::native_paths() {
        let Some(file) = section_file(&config, section, rel) else { continue };
        let bytes = match (live.get(rel), section_file(&found, section, rel)) {
            (Some(b), Some(old)) if old == file => b.clone(),
            _ => {
                if !sections.contains(&section) {
                    sections.push(section);
                }
                crypto::SecretBytes::new(xml::write(file)?)
            }
        };
        files.push(NewFile { path: rel, bytes });
    }
    for s in config.sections() {
        counts.items.insert(s.id, s.item_count() as u64);
    }
    counts.passwords.sealed = sealed as u64;
    let items = Some(digest::items(&config));
    let meta = CommitMeta { action: "adopt".to_owned(), export: None, sections, counts, items };
    let v0 = VersionSpec { version: 0, meta, files };
    create::create(dir, Placement::InPlace, &toml, &key, v0)?;
    Ok(InitReport {
        dir: dir.to_path_buf(),
        server_id: toml.server_id,
        key_id: key.id().clone(),
        sealed,
    })
}

fn section_file<'a>(
    config: &'a Configuration,
    section: SectionId,
    rel: &str,
) -> Option<&'a SectionFile> {
    config.get(section)?.files.iter().find(|f| f.path == rel)
}

/// Adds an empty root for every native file the configuration lacks, in native-file order.
fn fill_missing_files(config: &mut Configuration) {
    for section in SectionId::ALL {
        match config.get_mut(section) {
            None => {
                config.insert(Section::empty(section));
            }
            Some(s) => {
                let mut files = Vec::with_capacity(section.native_files().len());
                for rel in section.native_files() {
                    let existing = s.files.iter().position(|f| f.path == *rel);
                    files.push(match existing {
                        Some(i) => s.files[i].clone(),
                        None => SectionFile { path: rel, root: section.empty_root() },
                    });
                }
                s.files = files;
            }
        }
    }
}
