//! The boundary itself: the `#[repr(C)]` types that cross between jimsctl and a plugin, the
//! ABI version, and the rules both sides keep.
//!
//! Only C types cross. A plugin exports one function, [`MANIFEST_SYMBOL`], that returns a
//! pointer to its [`Manifest`] (a static). The host checks, in this order and before it reads
//! anything else: the symbol exists, [`Manifest::magic`] is [`MAGIC`], [`Manifest::size`] is at
//! least the size of the fields it knows, [`Manifest::abi_major`] equals [`ABI_MAJOR`], and
//! [`Manifest::abi_minor`] is at least [`ABI_MINOR_REQUIRED`]. Then it calls
//! [`Manifest::init`] for the [`Functions`] table.
//!
//! - Tables grow only by appending fields in a later minor version; each starts with its own
//!   size, so a reader knows which fields exist. A null function means "not supported".
//! - Inputs are borrowed for the duration of a call ([`StrRef`]); nothing owned crosses, since
//!   each library has its own allocator.
//! - A found password is handed to the host's [`Sink`], which copies it; the plugin then wipes
//!   its own copy. An error message is written, as UTF-8 JSON `{"message": "…"}`, into the
//!   host's [`ErrorBuf`].
//! - Every function returns a [`Status`]; a value the host does not know counts as
//!   [`status::INTERNAL`]. No function may unwind: the SDK catches panics and answers
//!   [`status::PANICKED`].

use std::ffi::c_void;

/// The first eight bytes a host expects in a manifest: `JIMSPLUG`, big-endian.
pub const MAGIC: u64 = u64::from_be_bytes(*b"JIMSPLUG");

/// The ABI's major version: a host loads only plugins with the same major version.
pub const ABI_MAJOR: u32 = 1;

/// The ABI's minor version that this crate builds plugins with. A minor version only appends
/// fields to tables.
pub const ABI_MINOR: u32 = 0;

/// The oldest minor version a host of this crate's version accepts.
pub const ABI_MINOR_REQUIRED: u32 = 0;

/// The name of the one exported function, [`ManifestFn`].
pub const MANIFEST_SYMBOL: &str = "jimsctl_plugin_manifest";

/// [`Manifest::capabilities`] bit: the library may be called from several threads at once.
/// Without it, the host makes one call into the library at a time (`create`, `resolve` and
/// `destroy`, of every instance: a library's global state is shared by its instances).
pub const CAP_THREAD_SAFE: u64 = 1;

/// A borrowed UTF-8 string: a pointer and a length in bytes, valid for the call (or, in a
/// manifest, for as long as the library is loaded). A null `ptr` means "absent".
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StrRef {
    /// The first byte, or null when absent.
    pub ptr: *const u8,
    /// The length in bytes.
    pub len: usize,
}

impl StrRef {
    /// The absent string.
    pub const NONE: StrRef = StrRef { ptr: std::ptr::null(), len: 0 };

    /// Borrows `s` (usable in `const` items, e.g. a manifest's name).
    pub const fn new(s: &str) -> StrRef {
        StrRef { ptr: s.as_ptr(), len: s.len() }
    }

    /// Borrows `s`, or the absent string.
    pub fn from_option(s: Option<&str>) -> StrRef {
        s.map_or(StrRef::NONE, StrRef::new)
    }

    /// The bytes, or `None` when absent.
    ///
    /// # Safety
    /// When `ptr` is not null it must point to `len` readable bytes that stay valid and
    /// unchanged for `'a`.
    pub unsafe fn as_bytes<'a>(self) -> Option<&'a [u8]> {
        if self.ptr.is_null() {
            return None;
        }
        // SAFETY: the caller promises `len` readable bytes at `ptr` for `'a`.
        Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }
}

/// What a plugin's exported [`MANIFEST_SYMBOL`] function returns a pointer to.
#[repr(C)]
#[derive(Debug)]
pub struct Manifest {
    /// `size_of::<Manifest>()` as the plugin was built: which fields exist.
    pub size: usize,
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] as the plugin was built.
    pub abi_major: u32,
    /// [`ABI_MINOR`] as the plugin was built.
    pub abi_minor: u32,
    /// The plugin's name, as in `--secrets plugin:NAME` (static UTF-8).
    pub name: StrRef,
    /// The plugin's version (static UTF-8), shown by `jimsctl plugins list`.
    pub version: StrRef,
    /// [`CAP_THREAD_SAFE`] and later bits.
    pub capabilities: u64,
    /// Hands back the plugin's [`Functions`] (a static); null is "not a usable plugin".
    pub init: Option<InitFn>,
}

// SAFETY: a manifest is an immutable static whose pointers point to static, immutable data.
unsafe impl Sync for Manifest {}

/// The type of the exported [`MANIFEST_SYMBOL`] function.
pub type ManifestFn = unsafe extern "C" fn() -> *const Manifest;

/// [`Manifest::init`]: returns a pointer to a static [`Functions`] table.
pub type InitFn = unsafe extern "C" fn() -> *const Functions;

/// The plugin's functions. `size` is `size_of::<Functions>()` as the plugin was built.
#[repr(C)]
#[derive(Debug)]
pub struct Functions {
    /// `size_of::<Functions>()` as the plugin was built: which entries exist.
    pub size: usize,
    /// Creates an instance from the CONFIG string of `plugin:NAME[:CONFIG]`.
    pub create: Option<CreateFn>,
    /// Looks up the password for one row.
    pub resolve: Option<ResolveFn>,
    /// Ends an instance; null when the plugin has nothing to free.
    pub destroy: Option<DestroyFn>,
}

// SAFETY: a functions table is an immutable static of function pointers.
unsafe impl Sync for Functions {}

/// Creates an instance from `config` (absent when the SPEC has no `:CONFIG`) and stores it in
/// `*instance`. Returns [`status::OK`], or [`status::INVALID_CONFIG`],
/// [`status::UNAVAILABLE`], [`status::PANICKED`] or [`status::INTERNAL`] with a message in
/// `error`. Called once per run for each `--secrets plugin:…`.
pub type CreateFn = unsafe extern "C" fn(
    config: StrRef,
    instance: *mut *mut c_void,
    error: *mut ErrorBuf,
) -> Status;

/// Looks up one row. `request` is the row as UTF-8 JSON: `{"keys": […], "index": N,
/// "type": …, "data_type": …, "data": …, "username": …|null, "template": …|null}`, keys most
/// specific first. Answers [`status::FOUND`] after handing the password to `sink` exactly once,
/// [`status::NOT_FOUND`], or an error status with a message in `error`.
pub type ResolveFn = unsafe extern "C" fn(
    instance: *mut c_void,
    request: StrRef,
    sink: *const Sink,
    error: *mut ErrorBuf,
) -> Status;

/// Ends an instance made by [`CreateFn`]. Never called twice, nor on a plugin that panicked.
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// The host's receiver of a found password: `put(context, bytes, len)` copies the bytes into
/// memory the host wipes on drop. The bytes are borrowed for the call only.
#[repr(C)]
#[derive(Debug)]
pub struct Sink {
    /// The host's state, passed back to `put`.
    pub context: *mut c_void,
    /// Copies the password.
    pub put: unsafe extern "C" fn(context: *mut c_void, bytes: *const u8, len: usize),
}

/// A host-owned buffer a plugin writes an error message into: UTF-8 JSON
/// `{"message": "…"}`, at most `capacity` bytes, its length stored in `len`.
#[repr(C)]
#[derive(Debug)]
pub struct ErrorBuf {
    /// The buffer's first byte.
    pub ptr: *mut u8,
    /// How many bytes may be written.
    pub capacity: usize,
    /// How many bytes were written.
    pub len: usize,
}

/// The answer of every plugin function: one of the [`status`] values.
pub type Status = i32;

/// The values of [`Status`]. A value not listed here counts as
/// [`INTERNAL`](status::INTERNAL).
pub mod status {
    use super::Status;

    /// Done (create) or found (resolve).
    pub const OK: Status = 0;
    /// Found: the password was handed to the sink.
    pub const FOUND: Status = 0;
    /// This source does not know the row: ask the next one.
    pub const NOT_FOUND: Status = 1;
    /// The CONFIG string, or what it points to, is wrong (the user must fix it).
    pub const INVALID_CONFIG: Status = 2;
    /// The backend could not be reached or read right now.
    pub const UNAVAILABLE: Status = 3;
    /// The plugin panicked; the host never calls it again.
    pub const PANICKED: Status = 4;
    /// Anything else that went wrong inside the plugin.
    pub const INTERNAL: Status = 5;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_spells_its_name() {
        assert_eq!(&MAGIC.to_be_bytes(), b"JIMSPLUG");
    }

    #[test]
    fn str_refs_borrow_and_may_be_absent() {
        let s = StrRef::new("keepass");
        // SAFETY: `s` borrows a static string.
        assert_eq!(unsafe { s.as_bytes() }, Some(&b"keepass"[..]));
        // SAFETY: the absent string is never read.
        assert_eq!(unsafe { StrRef::from_option(None).as_bytes() }, None);
        // SAFETY: as above, an empty but present string.
        assert_eq!(unsafe { StrRef::from_option(Some("")).as_bytes() }, Some(&b""[..]));
    }

    #[test]
    fn the_manifest_layout_is_stable() {
        // Fields are only ever appended: these offsets are the ABI 1.0 contract on 64-bit.
        if size_of::<usize>() == 8 {
            assert_eq!(std::mem::offset_of!(Manifest, magic), 8);
            assert_eq!(std::mem::offset_of!(Manifest, abi_major), 16);
            assert_eq!(std::mem::offset_of!(Manifest, name), 24);
            assert_eq!(std::mem::offset_of!(Manifest, init), 64);
            assert_eq!(size_of::<Manifest>(), 72);
            assert_eq!(size_of::<Functions>(), 32);
        }
    }
}
