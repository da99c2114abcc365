//! The plugin author's side: the [`Plugin`] trait, what it receives ([`Request`]) and answers
//! ([`Password`], [`PluginError`]), and the glue that [`export_plugin!`](crate::export_plugin)
//! instantiates for a type.

use std::cell::Cell;
use std::ffi::c_void;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::abi::{self, ErrorBuf, Sink, Status, StrRef, status};

/// A secret source built as a plugin. Implement it, then export the type with
/// [`export_plugin!`](crate::export_plugin).
///
/// One instance is made per run for each `--secrets plugin:NAME[:CONFIG]`, and asked once per
/// key jimsctl asks of it: for each row of the Add Missing Passwords table, its keys one by
/// one, most specific first, every source in order for each key (docs/cli.md), until one answers.
pub trait Plugin: Sized + Send + 'static {
    /// The name users write in `--secrets plugin:NAME`: lowercase letters, digits, `-` and
    /// `_`.
    const NAME: &'static str;

    /// The plugin's version, shown by `jimsctl plugins list`; usually
    /// `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;

    /// Makes the instance from CONFIG (`None` when the SPEC is just `plugin:NAME`). Open
    /// connections and files here, once: a wrong CONFIG is best reported now, as
    /// [`PluginError::config`].
    ///
    /// # Errors
    /// [`PluginError::config`] for a CONFIG that cannot work (jimsctl exits 2),
    /// [`PluginError::unavailable`] for a backend that cannot be reached.
    fn create(config: Option<&str>) -> Result<Self, PluginError>;

    /// The password for the key asked (`request.keys` holds that one key; the other fields
    /// describe its row), or `None` when this source does not know it (the next source is
    /// asked). Looping over `request.keys` stays correct if a later ABI hands over more.
    ///
    /// # Errors
    /// A [`PluginError`]; its message is shown to the user, so it must never hold a secret.
    fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError>;
}

/// One key of a row of the Add Missing Passwords table, as the plugin is asked for it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Request {
    /// The secret key asked: one of the row's item (`event_sources/DC1`), template
    /// (`templates/dc-readers`) or account (`account/CORP\svc`) keys, alone; jimsctl asks them
    /// one by one, most specific first.
    pub keys: Vec<String>,
    /// The row's index in the table.
    pub index: usize,
    /// The Type column (`Event Source`, `Template`, …).
    #[serde(rename = "type")]
    pub type_label: String,
    /// The Data Type column.
    pub data_type: String,
    /// The Data column (a server, a URL).
    pub data: String,
    /// The Username column.
    pub username: Option<String>,
    /// The template the item is based on.
    pub template: Option<String>,
}

impl Request {
    /// Parses the request JSON a host sends.
    ///
    /// # Errors
    /// The parser's message, when `json` is not a request.
    pub fn from_json(json: &str) -> Result<Request, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
}

/// A password a plugin found: the bytes are wiped when it is dropped, after the host copied
/// them. `Debug` prints `[REDACTED]`.
pub struct Password(Zeroizing<Vec<u8>>);

impl Password {
    /// Takes ownership of `bytes` (they are wiped on drop).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Password {
        Password(Zeroizing::new(bytes.into()))
    }

    /// Copies `bytes` into a buffer of exactly their size.
    pub fn copy_from(bytes: &[u8]) -> Password {
        let mut v = Vec::with_capacity(bytes.len());
        v.extend_from_slice(bytes);
        Password::new(v)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// What went wrong in a plugin, as the host is told: a kind (which decides jimsctl's exit
/// code) and a sentence for the user. Never put a secret in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginError {
    status: Status,
    message: String,
}

impl PluginError {
    /// The CONFIG string, or what it names, is wrong: the user must fix it (jimsctl exits 2).
    pub fn config(message: impl Into<String>) -> PluginError {
        PluginError { status: status::INVALID_CONFIG, message: message.into() }
    }

    /// The backend cannot be reached or read now (jimsctl exits 1).
    pub fn unavailable(message: impl Into<String>) -> PluginError {
        PluginError { status: status::UNAVAILABLE, message: message.into() }
    }

    /// Anything else that went wrong (jimsctl exits 1).
    pub fn internal(message: impl Into<String>) -> PluginError {
        PluginError { status: status::INTERNAL, message: message.into() }
    }

    /// The status this error is reported with.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// Writes `message` into `error` as `{"message": "…"}`, shortening the message (at a character
/// boundary, with `…`) until the JSON fits.
///
/// # Safety
/// `error` is null or points to a valid [`ErrorBuf`] whose `ptr` has `capacity` writable bytes.
pub unsafe fn write_error(error: *mut ErrorBuf, message: &str) {
    if error.is_null() {
        return;
    }
    // SAFETY: the caller promises a valid buffer.
    let buf = unsafe { &mut *error };
    buf.len = 0;
    if buf.ptr.is_null() || buf.capacity == 0 {
        return;
    }
    let mut end = message.len();
    loop {
        let shown = if end == message.len() {
            message.to_owned()
        } else {
            format!("{}…", &message[..end])
        };
        let json = serde_json::json!({ "message": shown }).to_string();
        if json.len() <= buf.capacity {
            // SAFETY: `json.len()` bytes fit in the caller's buffer.
            unsafe { std::ptr::copy_nonoverlapping(json.as_ptr(), buf.ptr, json.len()) };
            buf.len = json.len();
            return;
        }
        if end == 0 {
            return;
        }
        // Cut by at least the overflow, then back to a character boundary.
        end = end.saturating_sub((json.len() - buf.capacity).max(1));
        while !message.is_char_boundary(end) {
            end -= 1;
        }
    }
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

thread_local! {
    /// Whether this thread is inside a call from the host.
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
}

/// Makes panics inside a call from the host quiet: the host reports them, with their message,
/// as the plugin's error. Panics elsewhere (a plugin's own threads) go to the hook the plugin
/// had. Installed once, at the first call.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CALL.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f` with panics caught: an error or a panic is written to `error` and its status
/// returned.
fn guarded(error: *mut ErrorBuf, f: impl FnOnce() -> Result<Status, PluginError>) -> Status {
    install_quiet_hook();
    let outer = IN_CALL.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_CALL.with(|c| c.set(outer));
    match result {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            // SAFETY: the host's buffer, as the ABI promises.
            unsafe { write_error(error, &e.message) };
            e.status
        }
        Err(payload) => {
            let message = format!("panicked: {}", panic_message(&*payload));
            // Writing the message cannot unwind into the host either.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: as above.
                unsafe { write_error(error, &message) }
            }));
            status::PANICKED
        }
    }
}

/// The [`abi::CreateFn`] of `T`.
///
/// # Safety
/// Called by a host through the ABI: `config` is a valid [`StrRef`], `instance` and `error`
/// point to writable memory.
pub unsafe extern "C" fn create<T: Plugin>(
    config: StrRef,
    instance: *mut *mut c_void,
    error: *mut ErrorBuf,
) -> Status {
    guarded(error, || {
        if instance.is_null() {
            return Err(PluginError::internal("the host passed no place for the instance"));
        }
        // SAFETY: the host lends CONFIG for the call.
        let config = match unsafe { config.as_bytes() } {
            None => None,
            Some(bytes) => Some(
                std::str::from_utf8(bytes)
                    .map_err(|_| PluginError::config("CONFIG is not UTF-8 text"))?,
            ),
        };
        let made = T::create(config)?;
        // SAFETY: checked non-null above; the host owns this slot.
        unsafe { *instance = Box::into_raw(Box::new(made)).cast() };
        Ok(status::OK)
    })
}

/// The [`abi::ResolveFn`] of `T`.
///
/// # Safety
/// Called by a host through the ABI: `instance` was made by [`create::<T>`] and not
/// destroyed, `request` is valid UTF-8 for the call, `sink` and `error` are valid.
pub unsafe extern "C" fn resolve<T: Plugin>(
    instance: *mut c_void,
    request: StrRef,
    sink: *const Sink,
    error: *mut ErrorBuf,
) -> Status {
    guarded(error, || {
        if instance.is_null() || sink.is_null() {
            return Err(PluginError::internal("the host passed no instance or no sink"));
        }
        // SAFETY: made by `create::<T>` and alive until `destroy`.
        let this = unsafe { &*instance.cast::<T>() };
        // SAFETY: the host lends the request for the call.
        let bytes = unsafe { request.as_bytes() }.unwrap_or_default();
        let text = std::str::from_utf8(bytes)
            .map_err(|_| PluginError::internal("the request is not UTF-8 text"))?;
        let request = Request::from_json(text)
            .map_err(|e| PluginError::internal(format!("the request is not valid JSON: {e}")))?;
        match this.resolve(&request)? {
            Some(password) => {
                // SAFETY: the host's sink; the bytes are borrowed for the call, then wiped
                // when `password` drops.
                unsafe {
                    let sink = &*sink;
                    (sink.put)(
                        sink.context,
                        password.as_bytes().as_ptr(),
                        password.as_bytes().len(),
                    );
                }
                Ok(status::FOUND)
            }
            None => Ok(status::NOT_FOUND),
        }
    })
}

/// The [`abi::DestroyFn`] of `T`.
///
/// # Safety
/// `instance` was made by [`create::<T>`] and is destroyed once.
pub unsafe extern "C" fn destroy<T: Plugin>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // A panic in a destructor is swallowed: unwinding must not cross into the host, and
    // there is nobody left to tell.
    guarded(std::ptr::null_mut(), || {
        // SAFETY: made by `Box::into_raw` in `create::<T>`, destroyed once.
        drop(unsafe { Box::from_raw(instance.cast::<T>()) });
        Ok(status::OK)
    });
}

/// The functions table of `T`.
pub const fn functions<T: Plugin>() -> abi::Functions {
    abi::Functions {
        size: size_of::<abi::Functions>(),
        create: Some(create::<T>),
        resolve: Some(resolve::<T>),
        destroy: Some(destroy::<T>),
    }
}

/// The manifest of `T`, with `capabilities` and the `init` function that the macro wrote.
pub const fn manifest<T: Plugin>(capabilities: u64, init: abi::InitFn) -> abi::Manifest {
    abi::Manifest {
        size: size_of::<abi::Manifest>(),
        magic: abi::MAGIC,
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        name: StrRef::new(T::NAME),
        version: StrRef::new(T::VERSION),
        capabilities,
        init: Some(init),
    }
}

/// Turns a type implementing [`Plugin`] into a plugin: exports the
/// `jimsctl_plugin_manifest` function and the functions table, with every call guarded
/// against panics. Use it once, in a crate built with `crate-type = ["cdylib"]`.
///
/// - `export_plugin!(MyPlugin)`: the instance may be called from several threads at once
///   (the type must be `Sync`).
/// - `export_plugin!(MyPlugin, serialised)`: jimsctl makes one call into the library at a
///   time, across all its instances (the type need only be `Send`).
///
/// ```
/// use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};
///
/// struct Fixed;
///
/// impl Plugin for Fixed {
///     const NAME: &'static str = "fixed";
///     const VERSION: &'static str = "1.0.0";
///
///     fn create(_config: Option<&str>) -> Result<Fixed, PluginError> {
///         Ok(Fixed)
///     }
///
///     fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError> {
///         Ok(request.keys.iter().any(|k| k == "event_sources/DC1").then(|| Password::new("pw")))
///     }
/// }
///
/// export_plugin!(Fixed);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            fn assert_thread_safe<T: ::core::marker::Sync + $crate::Plugin>() {}
            let _ = assert_thread_safe::<$plugin>;
        };
        $crate::export_plugin!(@export $plugin, $crate::abi::CAP_THREAD_SAFE);
    };
    ($plugin:ty, serialised) => {
        $crate::export_plugin!(@export $plugin, 0);
    };
    (@export $plugin:ty, $capabilities:expr) => {
        const _: () = {
            static FUNCTIONS: $crate::abi::Functions = $crate::__private::functions::<$plugin>();

            unsafe extern "C" fn init() -> *const $crate::abi::Functions {
                &FUNCTIONS
            }

            static MANIFEST: $crate::abi::Manifest =
                $crate::__private::manifest::<$plugin>($capabilities, init);

            /// The plugin's manifest, for jimsctl.
            #[unsafe(no_mangle)]
            pub extern "C" fn jimsctl_plugin_manifest() -> *const $crate::abi::Manifest {
                &MANIFEST
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(capacity: usize) -> (Vec<u8>, ErrorBuf) {
        let mut bytes = vec![0u8; capacity];
        let buf = ErrorBuf { ptr: bytes.as_mut_ptr(), capacity, len: 0 };
        (bytes, buf)
    }

    fn written(bytes: &[u8], buf: &ErrorBuf) -> serde_json::Value {
        serde_json::from_slice(&bytes[..buf.len]).expect("valid JSON")
    }

    #[test]
    fn errors_are_json_and_fit_the_buffer() {
        let (bytes, mut buf) = buffer(64);
        // SAFETY: a buffer of 64 bytes.
        unsafe { write_error(&mut buf, "the \"vault\" is sealed") };
        assert_eq!(written(&bytes, &buf)["message"], "the \"vault\" is sealed");

        let (bytes, mut buf) = buffer(40);
        let long = "é".repeat(100);
        // SAFETY: a buffer of 40 bytes.
        unsafe { write_error(&mut buf, &long) };
        assert!(buf.len <= 40 && buf.len > 0);
        let m = written(&bytes, &buf)["message"].as_str().unwrap().to_owned();
        assert!(m.ends_with('…') && m.starts_with("éé"), "{m}");

        let (_bytes, mut buf) = buffer(5);
        // SAFETY: a buffer of 5 bytes: nothing fits, nothing is written.
        unsafe { write_error(&mut buf, "x") };
        assert_eq!(buf.len, 0);
    }

    #[test]
    fn requests_parse_and_ignore_what_they_do_not_know() {
        let r = Request::from_json(
            r#"{"keys":["event_sources/DC1","account/CORP\\svc"],"index":2,"type":"Event Source",
               "data_type":"domain_controller","data":"10.0.0.5","username":"CORP\\svc",
               "template":null,"later":"field"}"#,
        )
        .unwrap();
        assert_eq!(r.keys, ["event_sources/DC1", "account/CORP\\svc"]);
        assert_eq!((r.index, r.type_label.as_str()), (2, "Event Source"));
        assert_eq!(r.username.as_deref(), Some("CORP\\svc"));
        assert!(Request::from_json("[1]").is_err());
    }

    #[test]
    fn passwords_are_never_printed() {
        assert_eq!(format!("{:?}", Password::new("hunter2")), "Password([REDACTED])");
        assert_eq!(Password::copy_from(b"ab").as_bytes(), b"ab");
    }

    #[test]
    fn panics_and_errors_become_statuses() {
        let (bytes, mut buf) = buffer(256);
        let s = guarded(&mut buf, || panic!("boom {}", 7));
        assert_eq!(s, status::PANICKED);
        assert_eq!(written(&bytes, &buf)["message"], "panicked: boom 7");
        let s = guarded(&mut buf, || Err(PluginError::config("no such file")));
        assert_eq!(s, status::INVALID_CONFIG);
        assert_eq!(written(&bytes, &buf)["message"], "no such file");
        assert_eq!(guarded(std::ptr::null_mut(), || Ok(status::NOT_FOUND)), status::NOT_FOUND);
    }
}
