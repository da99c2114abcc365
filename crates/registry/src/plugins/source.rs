//! A plugin instance wrapped as an ordinary [`SecretSource`]: every call crosses the C ABI,
//! with the request as borrowed JSON, the password copied by the host's sink, and errors read
//! from a host-owned buffer.

use std::ffi::c_void;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crypto::Secret;
use model::SecretKey;
use plugin_api::abi::{ErrorBuf, Sink, Status, StrRef, status};
use secrets::{Answer, Request, SecretSource, SourceError};

use super::load::Loaded;

/// How many bytes of error message a plugin may write.
const ERROR_CAPACITY: usize = 4096;
/// The longest password a plugin may hand over: a password, not a document.
const MAX_PASSWORD: usize = 64 * 1024;

/// A plugin instance, made once per run from its CONFIG string. The chain asks it key by key,
/// like every other source: each call's request holds the one key asked (beside the row's
/// columns). A plugin that is not thread-safe is called under its library's one lock, shared
/// by every instance of it. A plugin that panicked is never called again, nor destroyed.
pub struct PluginSource {
    kind: String,
    library: Arc<Loaded>,
    instance: *mut c_void,
}

// SAFETY: the instance is only ever used through the plugin's functions: concurrently when the
// plugin declared itself thread-safe, otherwise one call into the library at a time, under
// the library's lock (`Loaded::enter`).
unsafe impl Send for PluginSource {}
// SAFETY: as above.
unsafe impl Sync for PluginSource {}

impl fmt::Debug for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginSource")
            .field("kind", &self.kind)
            .field("path", &self.library.path)
            .finish_non_exhaustive()
    }
}

/// What the sink received.
enum Received {
    Password(Secret),
    TooLong,
}

/// The host's sink: copies the plugin's password into memory wiped on drop.
///
/// # Safety
/// `context` is the `Option<Received>` of the call in progress; `bytes` points to `len`
/// readable bytes (or is null).
unsafe extern "C" fn put(context: *mut c_void, bytes: *const u8, len: usize) {
    // Nothing may unwind into the plugin.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if context.is_null() {
            return;
        }
        // SAFETY: the caller's promise: the slot of the call in progress.
        let slot = unsafe { &mut *context.cast::<Option<Received>>() };
        *slot = Some(if len > MAX_PASSWORD {
            Received::TooLong
        } else if bytes.is_null() || len == 0 {
            Received::Password(Secret::default())
        } else {
            // SAFETY: the plugin lends `len` bytes for the call.
            Received::Password(Secret::copy_from(unsafe { std::slice::from_raw_parts(bytes, len) }))
        });
    }));
}

/// A call's status and the message the plugin wrote.
struct Called {
    status: Status,
    message: String,
}

/// Calls `f` with a fresh error buffer, and reads the message written into it.
fn call(f: impl FnOnce(*mut ErrorBuf) -> Status) -> Called {
    let mut bytes = vec![0u8; ERROR_CAPACITY];
    let mut buf = ErrorBuf { ptr: bytes.as_mut_ptr(), capacity: bytes.len(), len: 0 };
    let status = f(&mut buf);
    let written = &bytes[..buf.len.min(ERROR_CAPACITY)];
    Called { status, message: read_message(written) }
}

/// The message of an error buffer: `{"message": "…"}`, or the text itself when it is not that
/// JSON; control characters are shown escaped.
fn read_message(written: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    let text = match serde_json::from_slice::<Message>(written) {
        Ok(m) => m.message,
        Err(_) => String::from_utf8_lossy(written).into_owned(),
    };
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = text.trim();
    if text.is_empty() { "it gave no reason".to_owned() } else { text.to_owned() }
}

impl PluginSource {
    /// Creates the instance for `config`.
    pub(crate) fn create(
        library: Arc<Loaded>,
        config: Option<&str>,
    ) -> Result<PluginSource, SourceError> {
        let kind = format!("plugin:{}", library.name);
        let file = library.path.display().to_string();
        if let Some(why) = library.poisoned() {
            return Err(SourceError::config(
                kind,
                format!("{file}: {why}; it is not called again"),
            ));
        }
        let mut instance: *mut c_void = std::ptr::null_mut();
        let called = {
            let _serial = library.enter();
            call(|error| {
                // SAFETY: the ABI's create: CONFIG borrowed for the call, a slot for the
                // instance, a host-owned error buffer.
                unsafe { (library.create)(StrRef::from_option(config), &mut instance, error) }
            })
        };
        let message = called.message;
        let failure = match called.status {
            status::OK if !instance.is_null() => None,
            status::OK => Some(SourceError::config(
                &kind,
                format!("{file}: its create function said OK but returned no instance (null)"),
            )),
            status::INVALID_CONFIG => {
                Some(SourceError::config(&kind, format!("{file}: {message}")))
            }
            status::UNAVAILABLE => Some(SourceError::failed(
                &kind,
                format!("{file}: its backend is unavailable: {message}"),
            )),
            status::PANICKED => {
                let why = format!("it panicked in create ({message})");
                library.poison(&why);
                Some(SourceError::config(&kind, format!("{file}: {why}; it is not called again")))
            }
            other => Some(SourceError::failed(
                &kind,
                format!("{file}: it failed to start{}: {message}", unknown(other)),
            )),
        };
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(PluginSource { kind, library, instance })
    }

    /// The library's file.
    pub fn path(&self) -> &std::path::Path {
        &self.library.path
    }

    /// Whether calls are serialised (the plugin is not thread-safe): one call into its
    /// library at a time, whatever the instance.
    pub fn serialised(&self) -> bool {
        self.library.serialised()
    }
}

/// ` (unknown status N)` for a status the ABI does not define.
fn unknown(s: Status) -> String {
    if s == status::INTERNAL { String::new() } else { format!(" (unknown status {s})") }
}

impl SecretSource for PluginSource {
    fn kind(&self) -> String {
        self.kind.clone()
    }

    /// Calls the plugin's resolve once, asking for `key` alone, whatever keys `request` holds.
    fn lookup(&self, key: &SecretKey, request: &Request<'_>) -> Result<Answer, SourceError> {
        let file = self.library.path.display();
        // A panic is the plugin failing while answering (docs/cli.md: exit 1), not a configuration
        // the user got wrong.
        if let Some(why) = self.library.poisoned() {
            return Err(SourceError::failed(
                &self.kind,
                format!("{file}: {why}; it is not called again"),
            ));
        }
        let json = request.asking(key).to_json();
        let mut received: Option<Received> = None;
        let sink = Sink { context: (&raw mut received).cast(), put };
        let called = {
            let _serial = self.library.enter();
            call(|error| {
                // SAFETY: the ABI's resolve on our live instance: the request borrowed for the
                // call, the sink valid for the call, a host-owned error buffer.
                unsafe { (self.library.resolve)(self.instance, StrRef::new(&json), &sink, error) }
            })
        };
        let message = called.message;
        match called.status {
            status::FOUND => match received {
                Some(Received::Password(secret)) => Ok(Answer::Found(secret)),
                Some(Received::TooLong) => Err(SourceError::failed(
                    &self.kind,
                    format!(
                        "{file}: it handed over more than {MAX_PASSWORD} bytes, which is no password"
                    ),
                )),
                None => Err(SourceError::failed(
                    &self.kind,
                    format!("{file}: it answered found but handed over no password"),
                )),
            },
            status::NOT_FOUND => Ok(Answer::NotFound),
            status::INVALID_CONFIG => {
                Err(SourceError::config(&self.kind, format!("{file}: {message}")))
            }
            status::UNAVAILABLE => Err(SourceError::failed(
                &self.kind,
                format!("{file}: its backend is unavailable: {message}"),
            )),
            status::PANICKED => {
                let why = format!("it panicked in resolve ({message})");
                self.library.poison(&why);
                Err(SourceError::failed(
                    &self.kind,
                    format!("{file}: {why}; it is not called again"),
                ))
            }
            other => Err(SourceError::failed(
                &self.kind,
                format!("{file}: it failed{}: {message}", unknown(other)),
            )),
        }
    }
}

impl Drop for PluginSource {
    fn drop(&mut self) {
        // A plugin that panicked may be in any state: its instance is left alone.
        if self.library.poisoned().is_some() {
            return;
        }
        if let Some(destroy) = self.library.destroy {
            let _serial = self.library.enter();
            // SAFETY: the instance came from this library's create and is destroyed once.
            unsafe { destroy(self.instance) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_as_json_or_text() {
        assert_eq!(read_message(br#"{"message":"no \"vault\""}"#), "no \"vault\"");
        assert_eq!(read_message(b"plain\ntext"), "plain text");
        assert_eq!(read_message(b""), "it gave no reason");
        assert_eq!(read_message(b"\xFFx"), "\u{FFFD}x");
    }

    #[test]
    fn the_sink_copies_and_bounds() {
        let mut slot: Option<Received> = None;
        let ctx = (&raw mut slot).cast();
        // SAFETY: the slot above and a borrowed byte string.
        unsafe { put(ctx, b"pw".as_ptr(), 2) };
        assert!(matches!(&slot, Some(Received::Password(s)) if s.expose() == b"pw"));
        // SAFETY: the length is refused before anything is read.
        unsafe { put(ctx, b"x".as_ptr(), MAX_PASSWORD + 1) };
        assert!(matches!(slot, Some(Received::TooLong)));
        // SAFETY: null bytes are never read.
        unsafe { put(ctx, std::ptr::null(), 5) };
        assert!(matches!(&slot, Some(Received::Password(s)) if s.is_empty()));
        // SAFETY: a null context is ignored.
        unsafe { put(std::ptr::null_mut(), b"x".as_ptr(), 1) };
    }
}
