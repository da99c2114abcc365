//! Loading one plugin library, checked: the file is a shared library, it exports the manifest
//! function, and its manifest and functions table are what this host speaks, in the order of
//! docs/writing-a-plugin.md. A library is loaded once per process, with immediate symbol
//! binding, and never unloaded.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use plugin_api::abi::{
    self, ABI_MAJOR, ABI_MINOR_REQUIRED, CAP_THREAD_SAFE, CreateFn, DestroyFn, Functions, MAGIC,
    MANIFEST_SYMBOL, Manifest, ManifestFn, ResolveFn, StrRef,
};

/// Why a library found in a plugin folder is not usable.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// The file cannot be read (permissions, a dangling link).
    Unreadable,
    /// The file is not a shared library at all.
    NotALibrary,
    /// A shared library the system loader refused (a missing dependency, another
    /// architecture).
    CannotLoad,
    /// The library does not export `jimsctl_plugin_manifest`: it is no jimsctl plugin.
    MissingSymbol,
    /// The manifest function returned null.
    NullManifest,
    /// The manifest does not start with the magic value.
    BadMagic,
    /// The manifest is smaller than ABI 1.0's.
    ManifestTooSmall,
    /// The plugin speaks another major version of the ABI.
    AbiMajor,
    /// The plugin speaks an older minor version than this host needs.
    AbiMinor,
    /// The manifest's name or version is missing or not UTF-8, or the name is not a valid
    /// plugin name.
    BadManifest,
    /// The manifest has no `init` function, or `init` returned null.
    NoFunctions,
    /// The functions table lacks `create` or `resolve`.
    MissingFunction,
    /// Not loaded because it may not be trusted: the library file, or the plugin folder it is
    /// in (then the error's path is the folder's), is writable by its group or others, or is
    /// owned by neither the current user nor root, or the folder was given as a relative path.
    Untrusted,
}

/// A library that is not a usable plugin: the file and the reason, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    path: PathBuf,
    kind: LoadErrorKind,
    reason: String,
}

impl LoadError {
    pub(crate) fn new(path: &Path, kind: LoadErrorKind, reason: impl Into<String>) -> LoadError {
        LoadError { path: path.to_owned(), kind, reason: reason.into() }
    }

    /// The library's file (or the plugin folder, for a folder that was not searched).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is wrong with it.
    pub fn kind(&self) -> LoadErrorKind {
        self.kind
    }

    /// The reason, without the file.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// What `jimsctl plugins list` shows about one library: as much of its manifest as could be
/// read, and why it is not usable, if it is not. A plugin folder that was not searched, because
/// it may not be trusted, is listed too, in its place in the search order: its `path` is the
/// folder's and its error ([`LoadErrorKind::Untrusted`]) says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// The library's file (or the folder not searched).
    pub path: PathBuf,
    /// The plugin's name, as in `plugin:NAME`.
    pub name: Option<String>,
    /// The plugin's version.
    pub version: Option<String>,
    /// The ABI version it was built for, `(major, minor)`.
    pub abi: Option<(u32, u32)>,
    /// Whether it may be called from several threads at once.
    pub thread_safe: Option<bool>,
    /// Why it is not usable; `None` when it is.
    pub error: Option<LoadError>,
}

impl PluginInfo {
    /// Whether the library is a plugin this host can use.
    pub fn usable(&self) -> bool {
        self.error.is_none()
    }
}

/// A checked plugin library: its manifest and the functions the host calls.
pub(crate) struct Loaded {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) create: CreateFn,
    pub(crate) resolve: ResolveFn,
    pub(crate) destroy: Option<DestroyFn>,
    /// The one lock of a library that is not thread-safe (`None` for one that is): every call
    /// into it (`create`, `resolve`, `destroy`, of any instance) holds it, since such a
    /// library may keep state of its own that its instances share.
    serial: Option<Mutex<()>>,
    /// Why the plugin must not be called again: it panicked.
    poisoned: Mutex<Option<String>>,
}

impl Loaded {
    /// Holds the library's lock for a call into it, when it is not thread-safe.
    pub(crate) fn enter(&self) -> Option<MutexGuard<'_, ()>> {
        self.serial.as_ref().map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether calls into the library are serialised (it is not thread-safe).
    pub(crate) fn serialised(&self) -> bool {
        self.serial.is_some()
    }

    /// Marks the plugin as never to be called again.
    pub(crate) fn poison(&self, why: &str) {
        let mut p = self.poisoned.lock().unwrap_or_else(PoisonError::into_inner);
        p.get_or_insert_with(|| why.to_owned());
    }

    /// Why the plugin is not called any more, if it is not.
    pub(crate) fn poisoned(&self) -> Option<String> {
        self.poisoned.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// A library inspected: what is known of it, and its functions when it is usable.
pub(crate) struct Inspected {
    pub(crate) info: PluginInfo,
    pub(crate) loaded: Option<Arc<Loaded>>,
}

impl Inspected {
    /// A library (or a folder) that was not loaded, because it may not be trusted.
    pub(crate) fn refused(error: LoadError) -> Inspected {
        let info = PluginInfo {
            path: error.path.clone(),
            name: None,
            version: None,
            abi: None,
            thread_safe: None,
            error: Some(error),
        };
        Inspected { info, loaded: None }
    }
}

/// Every library inspected in this process, by canonical path: each is loaded once.
static LIBRARIES: LazyLock<Mutex<HashMap<PathBuf, Arc<Inspected>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Loads and checks the library at `path`, once per process.
pub(crate) fn inspect(path: &Path) -> Arc<Inspected> {
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut libraries = LIBRARIES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = libraries.get(&key) {
        return Arc::clone(found);
    }
    let inspected = Arc::new(load(path));
    libraries.insert(key, Arc::clone(&inspected));
    inspected
}

/// The most bytes of a manifest string (name, version) the host reads.
const MAX_MANIFEST_STRING: usize = 256;

fn load(path: &Path) -> Inspected {
    let mut info = PluginInfo {
        path: path.to_owned(),
        name: None,
        version: None,
        abi: None,
        thread_safe: None,
        error: None,
    };
    match load_checked(path, &mut info) {
        Ok(loaded) => Inspected { info, loaded: Some(Arc::new(loaded)) },
        Err(e) => {
            info.error = Some(e);
            Inspected { info, loaded: None }
        }
    }
}

fn load_checked(path: &Path, info: &mut PluginInfo) -> Result<Loaded, LoadError> {
    let library = open(path)?;
    // Never unloaded: code of the library may run until the process ends (a plugin's threads,
    // its destructors), and a host cannot know when it is safe to unmap it.
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    // SAFETY: the symbol's type is the ABI's manifest function; the library's authors promise
    // it by exporting this name (the magic value checks it below).
    let manifest_fn = unsafe { library.get::<ManifestFn>(MANIFEST_SYMBOL) }.map_err(|_| {
        LoadError::new(
            path,
            LoadErrorKind::MissingSymbol,
            format!(
                "not a jimsctl plugin: the library does not export `{MANIFEST_SYMBOL}` \
                 (a plugin is made with plugin_api::export_plugin!)"
            ),
        )
    })?;
    // SAFETY: calling the plugin's manifest function, which takes nothing and returns a
    // pointer; a plugin made with the SDK returns a static.
    let manifest = unsafe { manifest_fn() };
    // SAFETY: the pointer came from the manifest function; `check_manifest` reads the fields
    // in the ABI's order and only as far as the checks allow.
    let checked = unsafe { check_manifest(path, manifest, info) }?;
    Ok(checked)
}

/// Opens `path` with immediate binding (every symbol resolved now, not at the first call).
fn open(path: &Path) -> Result<libloading::Library, LoadError> {
    let header = read_header(path).map_err(|e| {
        LoadError::new(path, LoadErrorKind::Unreadable, format!("cannot read it: {e}"))
    })?;
    if !looks_like_a_library(&header) {
        return Err(LoadError::new(
            path,
            LoadErrorKind::NotALibrary,
            format!(
                "not a shared library (the file does not start like one{}); remove it from the \
                 plugin folder",
                if header.is_empty() { ": it is empty" } else { "" }
            ),
        ));
    }
    #[cfg(unix)]
    // SAFETY: loading runs the library's initialisers; the library and its folder passed the
    // checks of `trust` (absolute folder, writable by its owner only, owned by the user or
    // root).
    let opened = unsafe {
        libloading::os::unix::Library::open(
            Some(path),
            libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL,
        )
    }
    .map(libloading::Library::from);
    #[cfg(not(unix))]
    // SAFETY: as above; Windows binds at load time.
    let opened = unsafe { libloading::Library::new(path) };
    opened.map_err(|e| {
        LoadError::new(
            path,
            LoadErrorKind::CannotLoad,
            format!("the system cannot load this shared library: {}", loader_reason(&e, path)),
        )
    })
}

/// The loader's message, without the path it repeats.
fn loader_reason(e: &libloading::Error, path: &Path) -> String {
    let text = e.to_string();
    let shown = format!("{}: ", path.display());
    text.find(&shown).map_or(text.clone(), |i| text[i + shown.len()..].to_owned())
}

fn read_header(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut header = Vec::with_capacity(4);
    std::fs::File::open(path)?.take(4).read_to_end(&mut header)?;
    Ok(header)
}

/// ELF, Mach-O (32/64-bit, either byte order, universal) or PE.
fn looks_like_a_library(header: &[u8]) -> bool {
    const MAGICS: [&[u8]; 7] = [
        b"\x7FELF",
        b"\xFE\xED\xFA\xCE",
        b"\xCE\xFA\xED\xFE",
        b"\xFE\xED\xFA\xCF",
        b"\xCF\xFA\xED\xFE",
        b"\xCA\xFE\xBA\xBE",
        b"MZ",
    ];
    MAGICS.iter().any(|m| header.starts_with(m))
}

/// Checks the manifest at `manifest`, in the ABI's order, filling `info` as fields become
/// trustworthy, and calls `init` for the functions table.
///
/// # Safety
/// `manifest` is null or points to memory readable as far as its `size` field says (at least
/// the magic and size fields).
pub(crate) unsafe fn check_manifest(
    path: &Path,
    manifest: *const Manifest,
    info: &mut PluginInfo,
) -> Result<Loaded, LoadError> {
    // SAFETY: the caller's promise.
    unsafe { check_manifest_requiring(path, manifest, info, ABI_MINOR_REQUIRED) }
}

/// [`check_manifest`], with the oldest minor version accepted given.
///
/// # Safety
/// As [`check_manifest`].
unsafe fn check_manifest_requiring(
    path: &Path,
    manifest: *const Manifest,
    info: &mut PluginInfo,
    required_minor: u32,
) -> Result<Loaded, LoadError> {
    let fail = |kind, reason: String| LoadError::new(path, kind, reason);
    if manifest.is_null() {
        return Err(fail(
            LoadErrorKind::NullManifest,
            format!("`{MANIFEST_SYMBOL}` returned null instead of a manifest"),
        ));
    }
    // SAFETY: every manifest starts with its size and the magic value.
    let magic = unsafe { std::ptr::addr_of!((*manifest).magic).read_unaligned() };
    if magic != MAGIC {
        return Err(fail(
            LoadErrorKind::BadMagic,
            format!(
                "not a jimsctl plugin: its manifest starts with {} instead of the magic \
                 `JIMSPLUG`",
                show_magic(magic)
            ),
        ));
    }
    // SAFETY: as above.
    let size = unsafe { std::ptr::addr_of!((*manifest).size).read_unaligned() };
    if size < size_of::<Manifest>() {
        return Err(fail(
            LoadErrorKind::ManifestTooSmall,
            format!(
                "its manifest is {size} bytes, smaller than the {} of plugin ABI 1.0",
                size_of::<Manifest>()
            ),
        ));
    }
    // SAFETY: `size` covers every field of ABI 1.0's manifest from here on.
    let m = unsafe { manifest.read_unaligned() };
    info.abi = Some((m.abi_major, m.abi_minor));
    if m.abi_major != ABI_MAJOR {
        return Err(fail(
            LoadErrorKind::AbiMajor,
            format!(
                "built for plugin ABI {}.{}, but this jimsctl speaks ABI {ABI_MAJOR}: rebuild the \
                 plugin against the plugin-api crate of this jimsctl, or use a jimsctl that \
                 speaks ABI {}",
                m.abi_major, m.abi_minor, m.abi_major
            ),
        ));
    }
    if m.abi_minor < required_minor {
        return Err(fail(
            LoadErrorKind::AbiMinor,
            format!(
                "built for plugin ABI {}.{}, older than the {ABI_MAJOR}.{required_minor} this \
                 jimsctl needs: rebuild the plugin against a newer plugin-api",
                m.abi_major, m.abi_minor
            ),
        ));
    }
    // SAFETY: the manifest's strings are static in the library, which is never unloaded.
    let name = unsafe { manifest_str(m.name) }.ok_or_else(|| {
        fail(LoadErrorKind::BadManifest, "its manifest's name is missing or not UTF-8".into())
    })?;
    if !valid_name(&name) {
        return Err(fail(
            LoadErrorKind::BadManifest,
            format!(
                "its name `{}` is not a plugin name (lowercase letters, digits, `-` and `_`)",
                name.escape_debug()
            ),
        ));
    }
    info.name = Some(name.clone());
    // SAFETY: as above.
    let version = unsafe { manifest_str(m.version) }.ok_or_else(|| {
        fail(LoadErrorKind::BadManifest, "its manifest's version is missing or not UTF-8".into())
    })?;
    info.version = Some(version);
    let thread_safe = m.capabilities & CAP_THREAD_SAFE != 0;
    info.thread_safe = Some(thread_safe);

    let Some(init) = m.init else {
        return Err(fail(LoadErrorKind::NoFunctions, "its manifest has no init function".into()));
    };
    // SAFETY: the ABI's init function: no arguments, returns a pointer to a static table.
    let table = unsafe { init() };
    // SAFETY: the pointer came from init.
    let functions = unsafe { read_functions(table) }.ok_or_else(|| {
        fail(
            LoadErrorKind::NoFunctions,
            "its init function returned null instead of a functions table".into(),
        )
    })?;
    let missing = |what: &str| {
        fail(
            LoadErrorKind::MissingFunction,
            format!("it does not provide `{what}`, which every plugin must"),
        )
    };
    Ok(Loaded {
        path: path.to_owned(),
        name,
        create: functions.create.ok_or_else(|| missing("create"))?,
        resolve: functions.resolve.ok_or_else(|| missing("resolve"))?,
        destroy: functions.destroy,
        serial: (!thread_safe).then(|| Mutex::new(())),
        poisoned: Mutex::new(None),
    })
}

/// The entries of the functions table at `table` that its `size` says exist; `None` when
/// `table` is null.
///
/// # Safety
/// `table` is null or points to a table readable as far as its `size` field says.
unsafe fn read_functions(table: *const Functions) -> Option<Functions> {
    if table.is_null() {
        return None;
    }
    // SAFETY: every table starts with its size.
    let size = unsafe { std::ptr::addr_of!((*table).size).read_unaligned() };
    let has = |offset: usize| size >= offset + size_of::<usize>();
    // SAFETY: each field is read only when `size` covers it.
    unsafe {
        Some(Functions {
            size,
            create: if has(std::mem::offset_of!(Functions, create)) {
                std::ptr::addr_of!((*table).create).read_unaligned()
            } else {
                None
            },
            resolve: if has(std::mem::offset_of!(Functions, resolve)) {
                std::ptr::addr_of!((*table).resolve).read_unaligned()
            } else {
                None
            },
            destroy: if has(std::mem::offset_of!(Functions, destroy)) {
                std::ptr::addr_of!((*table).destroy).read_unaligned()
            } else {
                None
            },
        })
    }
}

/// A manifest string, when it is present, short enough and UTF-8.
///
/// # Safety
/// A non-null `s` points to `s.len` readable bytes that outlive the call.
unsafe fn manifest_str(s: StrRef) -> Option<String> {
    if s.len > MAX_MANIFEST_STRING {
        return None;
    }
    // SAFETY: the caller's promise.
    let bytes = unsafe { s.as_bytes() }?;
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

/// A plugin name: 1 to 64 lowercase ASCII letters, digits, `-` and `_`.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn show_magic(magic: u64) -> String {
    let bytes = magic.to_be_bytes();
    if bytes.iter().all(|b| b.is_ascii_graphic()) {
        format!("`{}`", String::from_utf8_lossy(&bytes))
    } else {
        format!("{magic:#018x}")
    }
}

/// The ABI of this host, as `plugins list` shows it.
pub(crate) fn host_abi() -> (u32, u32) {
    (ABI_MAJOR, abi::ABI_MINOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    use plugin_api::abi::{ErrorBuf, Sink, Status, status};
    use std::ffi::c_void;

    unsafe extern "C" fn create(_: StrRef, _: *mut *mut c_void, _: *mut ErrorBuf) -> Status {
        status::OK
    }
    unsafe extern "C" fn resolve(
        _: *mut c_void,
        _: StrRef,
        _: *const Sink,
        _: *mut ErrorBuf,
    ) -> Status {
        status::NOT_FOUND
    }
    static FULL: Functions = Functions {
        size: size_of::<Functions>(),
        create: Some(create),
        resolve: Some(resolve),
        destroy: None,
    };
    // A table from a plugin built before `resolve` existed (as if): its size stops early.
    static SHORT: Functions =
        Functions { size: 16, create: Some(create), resolve: Some(resolve), destroy: None };
    unsafe extern "C" fn init_full() -> *const Functions {
        &FULL
    }
    unsafe extern "C" fn init_short() -> *const Functions {
        &SHORT
    }
    unsafe extern "C" fn init_null() -> *const Functions {
        std::ptr::null()
    }

    fn good() -> Manifest {
        Manifest {
            size: size_of::<Manifest>(),
            magic: MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: abi::ABI_MINOR,
            name: StrRef::new("good"),
            version: StrRef::new("1.2.3"),
            capabilities: 0,
            init: Some(init_full),
        }
    }

    fn check(m: &Manifest) -> (Result<Loaded, LoadError>, PluginInfo) {
        let mut info = PluginInfo {
            path: "lib.so".into(),
            name: None,
            version: None,
            abi: None,
            thread_safe: None,
            error: None,
        };
        // SAFETY: a whole manifest on the stack.
        let r = unsafe { check_manifest(Path::new("lib.so"), m, &mut info) };
        (r, info)
    }

    fn kind(m: Manifest) -> LoadErrorKind {
        check(&m).0.err().expect("an error").kind()
    }

    #[test]
    fn a_good_manifest_passes_and_fills_the_info() {
        let (r, info) = check(&good());
        let loaded = r.unwrap();
        assert_eq!((loaded.name.as_str(), loaded.serialised()), ("good", true));
        assert!(loaded.destroy.is_none());
        assert_eq!(info.version.as_deref(), Some("1.2.3"));
        assert_eq!(info.abi, Some((1, 0)));
        let (r, _) = check(&Manifest { capabilities: CAP_THREAD_SAFE | 0x100, ..good() });
        assert!(!r.unwrap().serialised());
    }

    #[test]
    fn each_check_fails_on_its_own() {
        // SAFETY: null is checked first.
        let e =
            unsafe { check_manifest(Path::new("x.so"), std::ptr::null(), &mut check(&good()).1) };
        assert_eq!(e.err().unwrap().kind(), LoadErrorKind::NullManifest);
        assert_eq!(kind(Manifest { magic: 7, ..good() }), LoadErrorKind::BadMagic);
        assert_eq!(kind(Manifest { size: 16, ..good() }), LoadErrorKind::ManifestTooSmall);
        assert_eq!(kind(Manifest { abi_major: 2, ..good() }), LoadErrorKind::AbiMajor);
        assert_eq!(kind(Manifest { abi_major: 0, ..good() }), LoadErrorKind::AbiMajor);
        assert_eq!(kind(Manifest { name: StrRef::NONE, ..good() }), LoadErrorKind::BadManifest);
        assert_eq!(
            kind(Manifest { name: StrRef::new("Bad Name"), ..good() }),
            LoadErrorKind::BadManifest
        );
        let bad_utf8 = StrRef { ptr: b"\xFF\xFE".as_ptr(), len: 2 };
        assert_eq!(kind(Manifest { version: bad_utf8, ..good() }), LoadErrorKind::BadManifest);
        assert_eq!(kind(Manifest { init: None, ..good() }), LoadErrorKind::NoFunctions);
        assert_eq!(kind(Manifest { init: Some(init_null), ..good() }), LoadErrorKind::NoFunctions);
        assert_eq!(
            kind(Manifest { init: Some(init_short), ..good() }),
            LoadErrorKind::MissingFunction
        );
    }

    #[test]
    fn checks_run_in_the_abi_order() {
        // Wrong magic and wrong major: the magic is reported (it is checked first), and
        // nothing else is read.
        let (r, info) = check(&Manifest { magic: 0, abi_major: 9, size: 1, ..good() });
        assert_eq!(r.err().unwrap().kind(), LoadErrorKind::BadMagic);
        assert_eq!((info.abi, info.name), (None, None));
        // Too small before the version; the version before the name.
        assert_eq!(
            kind(Manifest { size: 8, abi_major: 9, ..good() }),
            LoadErrorKind::ManifestTooSmall
        );
        let (r, info) = check(&Manifest { abi_major: 3, name: StrRef::NONE, ..good() });
        assert_eq!(r.err().unwrap().kind(), LoadErrorKind::AbiMajor);
        assert_eq!((info.abi, info.name), (Some((3, 0)), None));
    }

    #[test]
    fn messages_name_the_file_and_say_what_to_do() {
        let e = check(&Manifest { abi_major: 2, abi_minor: 1, ..good() }).0.err().unwrap();
        assert_eq!(
            e.to_string(),
            "lib.so: built for plugin ABI 2.1, but this jimsctl speaks ABI 1: rebuild the plugin \
             against the plugin-api crate of this jimsctl, or use a jimsctl that speaks ABI 2"
        );
        let e =
            check(&Manifest { magic: u64::from_be_bytes(*b"NOTJIMS!"), ..good() }).0.err().unwrap();
        assert!(e.reason().contains("starts with `NOTJIMS!` instead of"), "{e}");
        let e = check(&Manifest { magic: 1, ..good() }).0.err().unwrap();
        assert!(e.reason().contains("0x0000000000000001"), "{e}");
    }

    #[test]
    fn a_minor_version_older_than_required_is_refused() {
        let m = Manifest { abi_minor: 1, ..good() };
        let mut info = check(&m).1;
        // SAFETY: a whole manifest on the stack.
        let r = unsafe { check_manifest_requiring(Path::new("lib.so"), &m, &mut info, 2) };
        let e = r.err().unwrap();
        assert_eq!(e.kind(), LoadErrorKind::AbiMinor);
        assert!(e.reason().contains("built for plugin ABI 1.1, older than the 1.2"), "{e}");
        // SAFETY: as above.
        assert!(unsafe { check_manifest_requiring(Path::new("lib.so"), &m, &mut info, 1) }.is_ok());
    }

    #[test]
    fn names_and_headers() {
        assert!(valid_name("keepass") && valid_name("a-b_9"));
        assert!(
            !valid_name("")
                && !valid_name("KeePass")
                && !valid_name("a:b")
                && !valid_name(&"a".repeat(65))
        );
        assert!(looks_like_a_library(b"\x7FELF") && looks_like_a_library(b"MZ\x90\0"));
        assert!(!looks_like_a_library(b"#!/b") && !looks_like_a_library(b""));
    }
}
