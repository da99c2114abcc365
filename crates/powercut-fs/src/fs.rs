//! The FUSE side: every request the kernel sends, answered from the [`crate::model::State`],
//! each change counted and, while recording, the durable state after it remembered.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};

use crate::model::{Kind, State};
use crate::{Log, Shared};

/// Attributes and entries are not cached by the kernel: every path walk asks the model.
const TTL: Duration = Duration::ZERO;

/// The filesystem served by one mount.
pub(crate) struct PowerCut {
    pub(crate) shared: Arc<Mutex<Shared>>,
}

impl PowerCut {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut s.state)
    }

    /// Runs a change (`name`: what it is), counts it and, while recording, notes the durable
    /// state after it. `durable_changed` tells whether it made something durable.
    fn change<R>(
        &self,
        name: &'static str,
        f: impl FnOnce(&mut State) -> Result<(R, bool), i32>,
    ) -> Result<R, i32> {
        let mut s = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut s.state);
        let changed = matches!(result, Ok((_, true)));
        s.calls += 1;
        if let Some(log) = s.log.take() {
            let log = record(log, &s.state, name, changed);
            s.log = Some(log);
        }
        result.map(|(r, _)| r)
    }

    fn attr(state: &State, ino: u64) -> Result<FileAttr, i32> {
        let i = state.get(ino)?;
        let (kind, size) = match &i.kind {
            Kind::File(d) => (FileType::RegularFile, d.len() as u64),
            Kind::Dir(e) => (FileType::Directory, e.len() as u64),
            Kind::Symlink(t) => (FileType::Symlink, t.as_os_str().len() as u64),
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: i.mtime,
            mtime: i.mtime,
            ctime: i.ctime,
            crtime: i.ctime,
            kind,
            perm: i.perm,
            nlink: i.nlink,
            uid: i.uid,
            gid: i.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn reply_entry(&self, ino: Result<u64, i32>, reply: ReplyEntry) {
        match ino.and_then(|ino| self.with(|s| Self::attr(s, ino))) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn reply_empty(result: Result<(), i32>, reply: ReplyEmpty) {
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }
}

/// Appends the call to the recording.
fn record(mut log: Log, state: &State, name: &'static str, changed: bool) -> Log {
    if changed {
        log.states.push(crate::Snapshot::of(&state.durable));
    }
    log.calls.push((name, log.states.len() - 1));
    log
}

fn perm(mode: u32) -> u16 {
    (mode & 0o7777) as u16
}

impl Filesystem for PowerCut {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let ino = self.with(|s| s.lookup(parent.0, name));
        self.reply_entry(ino, reply);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.with(|s| Self::attr(s, ino.0)) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let result = self.change("setattr", |s| {
            if let Some(size) = size {
                s.truncate(ino.0, size)?;
            }
            s.set_meta(ino.0, mode.map(perm), uid, gid)?;
            if let Some(t) = mtime {
                let t = match t {
                    TimeOrNow::SpecificTime(t) => t,
                    TimeOrNow::Now => SystemTime::now(),
                };
                if let Some(i) = s.live.get_mut(&ino.0) {
                    i.mtime = t;
                }
            }
            Ok((Self::attr(s, ino.0)?, false))
        });
        match result {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let target = self.with(|s| match &s.get(ino.0)?.kind {
            Kind::Symlink(t) => Ok(t.clone()),
            _ => Err(libc::EINVAL),
        });
        match target {
            Ok(t) => reply.data(t.as_os_str().as_encoded_bytes()),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let ino = self.change("mkdir", |s| {
            let kind = Kind::Dir(Default::default());
            Ok((s.create(parent.0, name, kind, perm(mode & !umask), req.uid(), req.gid())?, false))
        });
        self.reply_entry(ino, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = self.change("unlink", |s| s.remove(parent.0, name, false).map(|()| ((), false)));
        Self::reply_empty(r, reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = self.change("rmdir", |s| s.remove(parent.0, name, true).map(|()| ((), false)));
        Self::reply_empty(r, reply);
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let ino = self.change("symlink", |s| {
            let kind = Kind::Symlink(target.to_path_buf());
            Ok((s.create(parent.0, link_name, kind, 0o777, req.uid(), req.gid())?, false))
        });
        self.reply_entry(ino, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let what = if flags.contains(RenameFlags::RENAME_EXCHANGE) { "exchange" } else { "rename" };
        let r = self.change(what, |s| {
            if flags.contains(RenameFlags::RENAME_WHITEOUT) {
                return Err(libc::EINVAL);
            }
            s.rename(parent.0, name, newparent.0, newname, flags.bits()).map(|()| ((), false))
        });
        Self::reply_empty(r, reply);
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let r =
            self.change("link", |s| s.link(ino.0, newparent.0, newname).map(|()| (ino.0, false)));
        self.reply_entry(r, reply);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let trunc = flags.0 & libc::O_TRUNC != 0;
        let r = if trunc {
            self.change("truncate", |s| s.truncate(ino.0, 0).map(|()| ((), false)))
        } else {
            self.with(|s| s.get(ino.0).map(|_| ()))
        };
        match r {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let data = self.with(|s| s.data(ino.0).cloned());
        match data {
            Ok(d) => {
                let start = (offset as usize).min(d.len());
                let end = (start + size as usize).min(d.len());
                reply.data(&d[start..end]);
            }
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let append = flags.0 & libc::O_APPEND != 0;
        let r = self.change("write", |s| s.write(ino.0, offset, data, append).map(|n| (n, false)));
        match r {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // Closing a file makes nothing durable.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let what = if datasync { "fdatasync" } else { "fsync" };
        let r = self.change(what, |s| s.fsync_file(ino.0).map(|c| ((), c)));
        Self::reply_empty(r, reply);
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.with(|s| s.list(ino.0)) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let listed = self.with(|s| {
            let entries = s.list(ino.0)?;
            let mut out = vec![
                (std::ffi::OsString::from("."), ino.0, FileType::Directory),
                (std::ffi::OsString::from(".."), ino.0, FileType::Directory),
            ];
            for (name, child) in entries {
                let kind = match s.get(child)?.kind {
                    Kind::File(_) => FileType::RegularFile,
                    Kind::Dir(_) => FileType::Directory,
                    Kind::Symlink(_) => FileType::Symlink,
                };
                out.push((name, child, kind));
            }
            Ok::<_, i32>(out)
        });
        match listed {
            Ok(entries) => {
                for (i, (name, child, kind)) in entries.iter().enumerate().skip(offset as usize) {
                    if reply.add(INodeNo(*child), (i + 1) as u64, *kind, name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = self.change("fsync folder", |s| s.fsync_dir(ino.0).map(|c| ((), c)));
        Self::reply_empty(r, reply);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let files = self.with(|s| s.live.len() as u64);
        reply.statfs(1 << 24, 1 << 23, 1 << 23, files, 1 << 20, 4096, 255, 4096);
    }

    fn getxattr(&self, _req: &Request, _ino: INodeNo, name: &OsStr, _size: u32, reply: ReplyXattr) {
        if name == crate::SYNCFS_XATTR {
            // A program's announcement of its syncfs (see `SYNCFS_XATTR`): as a disk would.
            let _ = self.change("syncfs", |s| {
                s.sync_all();
                Ok(((), true))
            });
        }
        reply.error(Errno::from_i32(libc::ENODATA));
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, size: u32, reply: ReplyXattr) {
        if size == 0 { reply.size(0) } else { reply.data(&[]) }
    }

    fn access(&self, _req: &Request, ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        Self::reply_empty(self.with(|s| s.get(ino.0).map(|_| ())), reply);
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        if flags & libc::O_TMPFILE == libc::O_TMPFILE {
            reply.error(Errno::from_i32(libc::EOPNOTSUPP));
            return;
        }
        let r = self.change("create", |s| {
            let kind = Kind::File(Default::default());
            let ino = match s.lookup(parent.0, name) {
                Ok(_) if flags & libc::O_EXCL != 0 => return Err(libc::EEXIST),
                Ok(ino) => {
                    if flags & libc::O_TRUNC != 0 {
                        s.truncate(ino, 0)?;
                    }
                    ino
                }
                Err(_) => {
                    s.create(parent.0, name, kind, perm(mode & !umask), req.uid(), req.gid())?
                }
            };
            Ok((Self::attr(s, ino)?, false))
        });
        match r {
            Ok(attr) => {
                reply.created(&TTL, &attr, Generation(0), FileHandle(0), FopenFlags::empty())
            }
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        if mode != 0 {
            reply.error(Errno::from_i32(libc::EOPNOTSUPP));
            return;
        }
        let r = self.change("fallocate", |s| {
            let len = s.data(ino.0)?.len() as u64;
            if offset + length > len {
                s.truncate(ino.0, offset + length)?;
            }
            Ok(((), false))
        });
        Self::reply_empty(r, reply);
    }
}
