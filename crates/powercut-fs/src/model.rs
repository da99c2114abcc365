//! The filesystem's state: the live tree every process sees, and what of it is durable, by the
//! kernel's rules.
//!
//! - A file's data (and size and mode) is durable once the file is `fsync`ed or `fdatasync`ed:
//!   the data follows the inode, whatever its names.
//! - A folder's entries (create, mkdir, symlink, link, unlink, rmdir, rename) are durable once
//!   that folder is `fsync`ed. The entry changes are kept as a log of pending operations; an
//!   `fsync` of folder D makes durable every pending operation touching D, together with every
//!   earlier pending operation that touches a folder one of those touches (as a journaling
//!   filesystem commits them in order). A file renamed from one folder to another gets its new
//!   name with an `fsync` of the new folder and loses the old one with an `fsync` of the old
//!   folder, each on its own (POSIX promises no more), so it may come back under both names or
//!   under neither; a folder renamed (or exchanged) between folders moves as a whole with an
//!   `fsync` of either (a folder never has two parents after a crash, as on a real filesystem).
//! - A file whose entry is durable but whose data never was comes back empty, or with the data
//!   its last `fsync` made durable.
//!
//! `syncfs(2)` cannot be seen by a FUSE filesystem (the kernel forwards it only to virtiofs), so
//! it makes nothing durable here: exactly what it guarantees on any FUSE filesystem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// The root folder's inode number.
pub(crate) const ROOT: u64 = 1;

/// What an inode is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file and its bytes.
    File(Arc<Vec<u8>>),
    /// A folder: name → inode.
    Dir(BTreeMap<OsString, u64>),
    /// A symbolic link and its target.
    Symlink(PathBuf),
}

/// One inode of the live tree.
#[derive(Clone, Debug)]
pub(crate) struct Inode {
    pub(crate) kind: Kind,
    /// Permission bits.
    pub(crate) perm: u16,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: SystemTime,
    pub(crate) ctime: SystemTime,
    /// Names pointing at it (folders: 2 + subfolders).
    pub(crate) nlink: u32,
}

/// A durable inode: what a power cut leaves of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DurableInode {
    pub(crate) kind: Kind,
    pub(crate) perm: u16,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// An entry change not yet durable.
#[derive(Clone, Debug)]
enum MetaOp {
    /// `name` in `dir` now names `ino`; `fresh` is what the inode is when the entry is durable
    /// but the inode itself never was (a new empty file, an empty folder, a link).
    Insert { dir: u64, name: OsString, ino: u64, fresh: DurableInode },
    /// `name` in `dir` is gone (`child`: the folder removed, for `rmdir`).
    Remove { dir: u64, name: OsString, child: Option<u64> },
    /// `from/from_name` is now `to/to_name` (replacing whatever was there).
    Rename { from: u64, from_name: OsString, to: u64, to_name: OsString, ino: u64 },
    /// `a/a_name` and `b/b_name` swapped.
    Exchange { a: u64, a_name: OsString, b: u64, b_name: OsString, a_ino: u64, b_ino: u64 },
}

impl MetaOp {
    /// The folders (and, for `rmdir`, the folder removed) whose entries it changes.
    fn dirs(&self) -> Vec<u64> {
        match self {
            MetaOp::Insert { dir, .. } => vec![*dir],
            MetaOp::Remove { dir, child, .. } => std::iter::once(*dir).chain(*child).collect(),
            MetaOp::Rename { from, to, .. } => vec![*from, *to],
            MetaOp::Exchange { a, b, .. } => vec![*a, *b],
        }
    }
}

/// The durable state: what a power cut now would leave.
#[derive(Clone, Debug, Default)]
pub(crate) struct Durable {
    pub(crate) inodes: HashMap<u64, DurableInode>,
}

impl Durable {
    fn dir_mut(
        &mut self,
        dir: u64,
        fresh: impl FnOnce() -> DurableInode,
    ) -> &mut BTreeMap<OsString, u64> {
        let inode = self.inodes.entry(dir).or_insert_with(fresh);
        match &mut inode.kind {
            Kind::Dir(entries) => entries,
            _ => unreachable!("a folder operation on inode {dir}, durable as no folder"),
        }
    }

    fn apply(&mut self, op: &MetaOp, live: &HashMap<u64, Inode>) {
        let fresh_dir = |ino: u64| {
            let l = &live[&ino];
            move || DurableInode {
                kind: Kind::Dir(BTreeMap::new()),
                perm: l.perm,
                uid: l.uid,
                gid: l.gid,
            }
        };
        match op {
            MetaOp::Insert { dir, name, ino, fresh } => {
                self.inodes.entry(*ino).or_insert_with(|| fresh.clone());
                self.dir_mut(*dir, fresh_dir(*dir)).insert(name.clone(), *ino);
            }
            MetaOp::Remove { dir, name, .. } => {
                self.dir_mut(*dir, fresh_dir(*dir)).remove(name);
            }
            MetaOp::Rename { from, from_name, to, to_name, ino } => {
                self.dir_mut(*from, fresh_dir(*from)).remove(from_name);
                if !self.inodes.contains_key(ino) {
                    let fresh = fresh_of(&live[ino]);
                    self.inodes.insert(*ino, fresh);
                }
                self.dir_mut(*to, fresh_dir(*to)).insert(to_name.clone(), *ino);
            }
            MetaOp::Exchange { a, a_name, b, b_name, a_ino, b_ino } => {
                for ino in [a_ino, b_ino] {
                    if !self.inodes.contains_key(ino) {
                        let fresh = fresh_of(&live[ino]);
                        self.inodes.insert(*ino, fresh);
                    }
                }
                self.dir_mut(*a, fresh_dir(*a)).insert(a_name.clone(), *b_ino);
                self.dir_mut(*b, fresh_dir(*b)).insert(b_name.clone(), *a_ino);
            }
        }
    }
}

/// What an inode is when its entry is durable but it never was itself: an empty file, an empty
/// folder, the link.
pub(crate) fn fresh_of(inode: &Inode) -> DurableInode {
    let kind = match &inode.kind {
        Kind::File(_) => Kind::File(Arc::new(Vec::new())),
        Kind::Dir(_) => Kind::Dir(BTreeMap::new()),
        Kind::Symlink(t) => Kind::Symlink(t.clone()),
    };
    DurableInode { kind, perm: inode.perm, uid: inode.uid, gid: inode.gid }
}

/// The whole state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) live: HashMap<u64, Inode>,
    pub(crate) durable: Durable,
    pending: Vec<MetaOp>,
    next_ino: u64,
}

/// An error number.
pub(crate) type Errno = i32;

impl State {
    /// A state whose live tree is `durable` (reachable from the root), all of it durable.
    pub(crate) fn from_durable(durable: &Durable) -> State {
        let now = SystemTime::now();
        let mut live = HashMap::new();
        let mut kept = HashMap::new();
        let mut seen_dirs = HashSet::new();
        let mut stack = vec![ROOT];
        let mut links: HashMap<u64, u32> = HashMap::new();
        while let Some(ino) = stack.pop() {
            let d = &durable.inodes[&ino];
            assert!(seen_dirs.insert(ino), "the durable state has folder {ino} twice: a model bug");
            kept.insert(ino, d.clone());
            if let Kind::Dir(entries) = &d.kind {
                for child in entries.values() {
                    match durable.inodes[child].kind {
                        Kind::Dir(_) => stack.push(*child),
                        _ => {
                            *links.entry(*child).or_default() += 1;
                            kept.insert(*child, durable.inodes[child].clone());
                        }
                    }
                }
            }
        }
        for (ino, d) in &kept {
            let nlink = match &d.kind {
                Kind::Dir(entries) => {
                    2 + entries.values().filter(|c| matches!(kept[*c].kind, Kind::Dir(_))).count()
                        as u32
                }
                _ => links[ino],
            };
            live.insert(
                *ino,
                Inode {
                    kind: d.kind.clone(),
                    perm: d.perm,
                    uid: d.uid,
                    gid: d.gid,
                    mtime: now,
                    ctime: now,
                    nlink,
                },
            );
        }
        let next_ino = live.keys().max().copied().unwrap_or(ROOT) + 1;
        State { live, durable: Durable { inodes: kept }, pending: Vec::new(), next_ino }
    }

    /// An empty filesystem: the root folder, durable.
    pub(crate) fn empty() -> State {
        let mut durable = Durable::default();
        durable.inodes.insert(
            ROOT,
            DurableInode { kind: Kind::Dir(BTreeMap::new()), perm: 0o755, uid: 0, gid: 0 },
        );
        State::from_durable(&durable)
    }

    pub(crate) fn get(&self, ino: u64) -> Result<&Inode, Errno> {
        self.live.get(&ino).ok_or(libc::ENOENT)
    }

    fn entries(&self, dir: u64) -> Result<&BTreeMap<OsString, u64>, Errno> {
        match &self.get(dir)?.kind {
            Kind::Dir(e) => Ok(e),
            _ => Err(libc::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: u64) -> Result<&mut BTreeMap<OsString, u64>, Errno> {
        match &mut self.live.get_mut(&dir).ok_or(libc::ENOENT)?.kind {
            Kind::Dir(e) => Ok(e),
            _ => Err(libc::ENOTDIR),
        }
    }

    pub(crate) fn lookup(&self, dir: u64, name: &OsStr) -> Result<u64, Errno> {
        self.entries(dir)?.get(name).copied().ok_or(libc::ENOENT)
    }

    pub(crate) fn list(&self, dir: u64) -> Result<Vec<(OsString, u64)>, Errno> {
        Ok(self.entries(dir)?.iter().map(|(n, i)| (n.clone(), *i)).collect())
    }

    fn touch(&mut self, ino: u64) {
        if let Some(i) = self.live.get_mut(&ino) {
            let now = SystemTime::now();
            i.mtime = now;
            i.ctime = now;
        }
    }

    /// Creates `name` in `dir` as a new inode of `kind`.
    pub(crate) fn create(
        &mut self,
        dir: u64,
        name: &OsStr,
        kind: Kind,
        perm: u16,
        uid: u32,
        gid: u32,
    ) -> Result<u64, Errno> {
        if self.entries(dir)?.contains_key(name) {
            return Err(libc::EEXIST);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        let is_dir = matches!(kind, Kind::Dir(_));
        let now = SystemTime::now();
        let inode = Inode {
            kind,
            perm,
            uid,
            gid,
            mtime: now,
            ctime: now,
            nlink: if is_dir { 2 } else { 1 },
        };
        let fresh = fresh_of(&inode);
        self.live.insert(ino, inode);
        self.entries_mut(dir)?.insert(name.to_owned(), ino);
        if is_dir {
            self.live.get_mut(&dir).expect("checked").nlink += 1;
        }
        self.touch(dir);
        self.pending.push(MetaOp::Insert { dir, name: name.to_owned(), ino, fresh });
        Ok(ino)
    }

    /// A new hard link `dir/name` to the file `ino`.
    pub(crate) fn link(&mut self, ino: u64, dir: u64, name: &OsStr) -> Result<(), Errno> {
        let inode = self.get(ino)?;
        if matches!(inode.kind, Kind::Dir(_)) {
            return Err(libc::EPERM);
        }
        let fresh = fresh_of(inode);
        if self.entries(dir)?.contains_key(name) {
            return Err(libc::EEXIST);
        }
        self.entries_mut(dir)?.insert(name.to_owned(), ino);
        let i = self.live.get_mut(&ino).expect("checked");
        i.nlink += 1;
        i.ctime = SystemTime::now();
        self.touch(dir);
        self.pending.push(MetaOp::Insert { dir, name: name.to_owned(), ino, fresh });
        Ok(())
    }

    /// Drops one name of `ino` (the inode itself lives on, unreachable, while open).
    fn unlinked(&mut self, ino: u64) {
        if let Some(i) = self.live.get_mut(&ino) {
            i.nlink = i.nlink.saturating_sub(1);
            i.ctime = SystemTime::now();
        }
    }

    /// `unlink` (`dir_wanted` false) or `rmdir` (true).
    pub(crate) fn remove(&mut self, dir: u64, name: &OsStr, dir_wanted: bool) -> Result<(), Errno> {
        let ino = self.lookup(dir, name)?;
        let child_dir = match &self.get(ino)?.kind {
            Kind::Dir(e) if dir_wanted => {
                if !e.is_empty() {
                    return Err(libc::ENOTEMPTY);
                }
                true
            }
            Kind::Dir(_) => return Err(libc::EISDIR),
            _ if dir_wanted => return Err(libc::ENOTDIR),
            _ => false,
        };
        self.entries_mut(dir)?.remove(name);
        if child_dir {
            self.live.get_mut(&dir).expect("checked").nlink -= 1;
            self.live.get_mut(&ino).expect("checked").nlink = 0;
        } else {
            self.unlinked(ino);
        }
        self.touch(dir);
        self.pending.push(MetaOp::Remove {
            dir,
            name: name.to_owned(),
            child: child_dir.then_some(ino),
        });
        Ok(())
    }

    /// Whether `ino` is `ancestor` or inside it.
    fn is_within(&self, ino: u64, ancestor: u64) -> bool {
        if ino == ancestor {
            return true;
        }
        // Folders have one parent: search from the ancestor down.
        let mut stack = vec![ancestor];
        while let Some(d) = stack.pop() {
            if let Ok(entries) = self.entries(d) {
                for c in entries.values() {
                    if *c == ino {
                        return true;
                    }
                    if matches!(self.live[c].kind, Kind::Dir(_)) {
                        stack.push(*c);
                    }
                }
            }
        }
        false
    }

    /// `renameat2` with its flags (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`).
    pub(crate) fn rename(
        &mut self,
        from: u64,
        from_name: &OsStr,
        to: u64,
        to_name: &OsStr,
        flags: u32,
    ) -> Result<(), Errno> {
        let ino = self.lookup(from, from_name)?;
        let target = self.entries(to)?.get(to_name).copied();
        let is_dir = |s: &State, i: u64| matches!(s.live[&i].kind, Kind::Dir(_));
        if flags & libc::RENAME_EXCHANGE != 0 {
            let other = target.ok_or(libc::ENOENT)?;
            if ino == other {
                return Ok(());
            }
            if (is_dir(self, ino) && self.is_within(to, ino))
                || (is_dir(self, other) && self.is_within(from, other))
            {
                return Err(libc::EINVAL);
            }
            self.entries_mut(from)?.insert(from_name.to_owned(), other);
            self.entries_mut(to)?.insert(to_name.to_owned(), ino);
            if from != to {
                let delta = is_dir(self, ino) as i64 - is_dir(self, other) as i64;
                let f = self.live.get_mut(&from).expect("checked");
                f.nlink = (f.nlink as i64 - delta) as u32;
                let t = self.live.get_mut(&to).expect("checked");
                t.nlink = (t.nlink as i64 + delta) as u32;
            }
            self.touch(from);
            self.touch(to);
            if from != to && !is_dir(self, ino) && !is_dir(self, other) {
                // Two files in two folders: each folder's new entry is durable with that folder.
                for (dir, name, ino) in [(from, from_name, other), (to, to_name, ino)] {
                    let fresh = fresh_of(&self.live[&ino]);
                    self.pending.push(MetaOp::Insert { dir, name: name.to_owned(), ino, fresh });
                }
                return Ok(());
            }
            self.pending.push(MetaOp::Exchange {
                a: from,
                a_name: from_name.to_owned(),
                b: to,
                b_name: to_name.to_owned(),
                a_ino: ino,
                b_ino: other,
            });
            return Ok(());
        }
        if let Some(t) = target {
            if flags & libc::RENAME_NOREPLACE != 0 {
                return Err(libc::EEXIST);
            }
            if t == ino {
                return Ok(());
            }
            match (is_dir(self, ino), is_dir(self, t)) {
                (true, false) => return Err(libc::ENOTDIR),
                (false, true) => return Err(libc::EISDIR),
                (true, true) if !self.entries(t)?.is_empty() => return Err(libc::ENOTEMPTY),
                _ => {}
            }
        }
        if is_dir(self, ino) && self.is_within(to, ino) {
            return Err(libc::EINVAL);
        }
        self.entries_mut(from)?.remove(from_name);
        self.entries_mut(to)?.insert(to_name.to_owned(), ino);
        if let Some(t) = target {
            if is_dir(self, t) {
                self.live.get_mut(&to).expect("checked").nlink -= 1;
                self.live.get_mut(&t).expect("checked").nlink = 0;
            } else {
                self.unlinked(t);
            }
        }
        if is_dir(self, ino) && from != to {
            self.live.get_mut(&from).expect("checked").nlink -= 1;
            self.live.get_mut(&to).expect("checked").nlink += 1;
        }
        self.touch(from);
        self.touch(to);
        if from != to && !is_dir(self, ino) {
            // A file moved between folders: its new name is durable with the new folder, the
            // old name's removal with the old folder, each on its own (so it may come back
            // under both names, or under neither). A folder moves as a whole (it never has two
            // parents, as on a real filesystem).
            let fresh = fresh_of(&self.live[&ino]);
            self.pending.push(MetaOp::Insert { dir: to, name: to_name.to_owned(), ino, fresh });
            self.pending.push(MetaOp::Remove {
                dir: from,
                name: from_name.to_owned(),
                child: None,
            });
            return Ok(());
        }
        self.pending.push(MetaOp::Rename {
            from,
            from_name: from_name.to_owned(),
            to,
            to_name: to_name.to_owned(),
            ino,
        });
        Ok(())
    }

    /// The bytes of the file `ino`.
    pub(crate) fn data(&self, ino: u64) -> Result<&Arc<Vec<u8>>, Errno> {
        match &self.get(ino)?.kind {
            Kind::File(d) => Ok(d),
            Kind::Dir(_) => Err(libc::EISDIR),
            Kind::Symlink(_) => Err(libc::EINVAL),
        }
    }

    fn data_mut(&mut self, ino: u64) -> Result<&mut Vec<u8>, Errno> {
        let inode = self.live.get_mut(&ino).ok_or(libc::ENOENT)?;
        let now = SystemTime::now();
        inode.mtime = now;
        inode.ctime = now;
        match &mut inode.kind {
            Kind::File(d) => Ok(Arc::make_mut(d)),
            Kind::Dir(_) => Err(libc::EISDIR),
            Kind::Symlink(_) => Err(libc::EINVAL),
        }
    }

    /// Writes `bytes` at `offset` (at the end when `append`); returns the count written.
    pub(crate) fn write(
        &mut self,
        ino: u64,
        offset: u64,
        bytes: &[u8],
        append: bool,
    ) -> Result<usize, Errno> {
        let data = self.data_mut(ino)?;
        let at = if append { data.len() } else { offset as usize };
        if data.len() < at + bytes.len() {
            data.resize(at + bytes.len(), 0);
        }
        data[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(bytes.len())
    }

    /// Truncates or extends the file `ino` to `size`.
    pub(crate) fn truncate(&mut self, ino: u64, size: u64) -> Result<(), Errno> {
        self.data_mut(ino)?.resize(size as usize, 0);
        Ok(())
    }

    /// Changes permission bits or owner (durable with the inode's next `fsync`).
    pub(crate) fn set_meta(
        &mut self,
        ino: u64,
        perm: Option<u16>,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), Errno> {
        let i = self.live.get_mut(&ino).ok_or(libc::ENOENT)?;
        if let Some(p) = perm {
            i.perm = p;
        }
        if let Some(u) = uid {
            i.uid = u;
        }
        if let Some(g) = gid {
            i.gid = g;
        }
        i.ctime = SystemTime::now();
        Ok(())
    }

    /// `fsync`/`fdatasync` of a file: its data, size and mode are durable. Whether that changed
    /// the durable state.
    pub(crate) fn fsync_file(&mut self, ino: u64) -> Result<bool, Errno> {
        let l = self.get(ino)?;
        let (kind, perm, uid, gid) = (l.kind.clone(), l.perm, l.uid, l.gid);
        let durable = DurableInode {
            kind: match kind {
                Kind::Dir(_) => return self.fsync_dir(ino),
                other => other,
            },
            perm,
            uid,
            gid,
        };
        let changed = self.durable.inodes.get(&ino) != Some(&durable);
        self.durable.inodes.insert(ino, durable);
        Ok(changed)
    }

    /// `fsync` of a folder: its entry changes (and those they depend on) are durable. Whether
    /// that changed the durable state.
    pub(crate) fn fsync_dir(&mut self, dir: u64) -> Result<bool, Errno> {
        let l = self.get(dir)?;
        let (perm, uid, gid) = (l.perm, l.uid, l.gid);
        let Some(last) = self.pending.iter().rposition(|op| op.dirs().contains(&dir)) else {
            let d = self.durable.inodes.get_mut(&dir);
            return Ok(match d {
                Some(d) if (d.perm, d.uid, d.gid) != (perm, uid, gid) => {
                    (d.perm, d.uid, d.gid) = (perm, uid, gid);
                    true
                }
                _ => false,
            });
        };
        let mut touched: HashSet<u64> = HashSet::from([dir]);
        let mut chosen = vec![false; self.pending.len()];
        for i in (0..=last).rev() {
            let dirs = self.pending[i].dirs();
            if dirs.iter().any(|d| touched.contains(d)) {
                chosen[i] = true;
                touched.extend(dirs);
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for (op, chosen) in pending.into_iter().zip(chosen) {
            if chosen {
                self.durable.apply(&op, &self.live);
            } else {
                self.pending.push(op);
            }
        }
        if let Some(d) = self.durable.inodes.get_mut(&dir) {
            (d.perm, d.uid, d.gid) = (perm, uid, gid);
        }
        Ok(true)
    }

    /// Everything is durable (the test's own "sync all", for preparing a starting state).
    pub(crate) fn sync_all(&mut self) {
        let dirs: Vec<u64> = self.live.keys().copied().collect();
        for ino in dirs {
            let _ = self.fsync_file(ino);
        }
        let pending = std::mem::take(&mut self.pending);
        for op in &pending {
            self.durable.apply(op, &self.live);
        }
        // Folders' entries as they are live (covers folders already durable).
        for (ino, l) in &self.live {
            if let (Kind::Dir(e), Some(d)) = (&l.kind, self.durable.inodes.get_mut(ino)) {
                d.kind = Kind::Dir(e.clone());
            }
        }
    }
}
