//! A plugin instance wrapped as an ordinary [`SecretSource`]: every call crosses the C ABI,
//! with the request as borrowed JSON, the password copied by the host's sink, and errors read
//! from a host-owned buffer.
//!
//! Every call into a plugin (`create`, `resolve`) runs on a worker thread while the caller
//! waits at most the time limit (`--secrets-timeout`). A call that does not return by then
//! fails its source (exit 1) and marks the library as never to be called again; its thread
//! cannot be stopped (a thread cannot be killed safely), so it stays blocked in the plugin
//! until the process ends. Each calling thread has its worker, reused from one call to the
//! next.

use std::ffi::c_void;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use crypto::Secret;
use model::SecretKey;
use plugin_api::abi::{ErrorBuf, Sink, Status, StrRef, status};
use secrets::{Answer, Request, SecretSource, SourceError};

use super::load::Loaded;

/// How often a call waiting for a busy, serialised plugin looks whether it was given up on.
const WAIT_STEP: Duration = Duration::from_millis(50);
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
    instance: Instance,
    timeout: Duration,
}

/// A plugin's instance pointer, handed to the worker thread that makes a call.
#[derive(Clone, Copy)]
struct Instance(*mut c_void);

// SAFETY: the instance is only ever used through the plugin's functions: concurrently when the
// plugin declared itself thread-safe, otherwise one call into the library at a time, under
// the library's lock (`Loaded::enter`), whatever the thread.
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

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

/// A job for a worker thread.
type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// This thread's worker: its calls into plugins are made there, one after the other (the
    /// channel queues a call while the worker finishes the one before). A worker that is stuck
    /// in a plugin is let go and replaced.
    static WORKER: std::cell::RefCell<Option<Sender<Job>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `job` on this thread's worker, started when there is none.
fn spawn_job(job: Job) -> std::io::Result<()> {
    WORKER.with(|worker| {
        let mut worker = worker.borrow_mut();
        let mut job = job;
        if let Some(tx) = worker.as_ref() {
            match tx.send(job) {
                Ok(()) => return Ok(()),
                // That worker has ended: start another.
                Err(mpsc::SendError(back)) => job = back,
            }
        }
        let (tx, rx) = mpsc::channel::<Job>();
        tx.send(job).map_err(|_| std::io::Error::other("the worker's channel closed"))?;
        std::thread::Builder::new().name("jimsctl-plugin-call".into()).spawn(move || {
            while let Ok(job) = rx.recv() {
                // Nothing may end the worker but the process: a panic is the job's to report.
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
        })?;
        *worker = Some(tx);
        Ok(())
    })
}

/// Lets this thread's worker go: it is stuck in a plugin (or waiting for the lock of one that
/// is), and the next call needs another.
fn abandon_worker() {
    WORKER.with(|worker| *worker.borrow_mut() = None);
}

/// What a worker tells the caller of a call into a plugin.
enum Progress<T> {
    /// The call entered the library (it held the library's lock, when it needs one).
    Entered,
    /// The library was given up on while the call waited for its lock: nothing was called.
    GivenUp,
    /// The call returned.
    Done(T),
}

/// How a call made through [`call_with_limit`] ended.
enum Ended<T> {
    /// It returned this.
    Returned(T),
    /// It did not return within the time limit: the library is now poisoned.
    TimedOut,
    /// The library was poisoned before the call could enter it.
    Poisoned(String),
    /// No thread could be started for it.
    NoThread(std::io::Error),
}

/// Calls `f` into `library` on a worker thread, under the library's lock when it has one, and
/// waits for it at most `timeout` from the moment it enters the library (waiting for the lock
/// does not count, but a library given up on meanwhile ends the wait). A call that does not
/// return in time poisons the library with `why_late`.
fn call_with_limit<T: Send + 'static>(
    library: &Arc<Loaded>,
    timeout: Duration,
    why_late: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Ended<T> {
    let (tx, rx): (Sender<Progress<T>>, Receiver<Progress<T>>) = mpsc::channel();
    let lib = Arc::clone(library);
    // Only a serialised library makes a call wait for its lock; the time limit counts from
    // when the call enters the library, which then says so.
    let serialised = library.serialised();
    let job: Job = Box::new(move || {
        let _serial = lib.enter();
        if lib.poisoned().is_some() {
            let _ = tx.send(Progress::GivenUp);
            return;
        }
        if serialised {
            let _ = tx.send(Progress::Entered);
        }
        let _ = tx.send(Progress::Done(f()));
    });
    if let Err(e) = spawn_job(job) {
        return Ended::NoThread(e);
    }
    if serialised {
        loop {
            match rx.recv_timeout(WAIT_STEP) {
                Ok(Progress::Entered) => break,
                Ok(Progress::Done(value)) => return Ended::Returned(value),
                Ok(Progress::GivenUp) | Err(RecvTimeoutError::Disconnected) => {
                    return Ended::Poisoned(library.poisoned().unwrap_or_default());
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(why) = library.poisoned() {
                        // Still waiting for the lock of a stuck library: let the worker wait.
                        abandon_worker();
                        return Ended::Poisoned(why);
                    }
                }
            }
        }
    }
    match rx.recv_timeout(timeout) {
        Ok(Progress::Done(value)) => Ended::Returned(value),
        Ok(Progress::GivenUp | Progress::Entered) | Err(RecvTimeoutError::Disconnected) => {
            Ended::Poisoned(library.poisoned().unwrap_or_default())
        }
        Err(RecvTimeoutError::Timeout) => {
            library.poison(&why_late);
            abandon_worker();
            Ended::TimedOut
        }
    }
}

/// `300 ms` or `30 s`.
fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis().max(1))
    }
}

impl PluginSource {
    /// Creates the instance for `config`, waiting at most `timeout` for the plugin (also the
    /// limit of each of its lookups).
    pub(crate) fn create(
        library: Arc<Loaded>,
        config: Option<&str>,
        timeout: Duration,
    ) -> Result<PluginSource, SourceError> {
        let kind = format!("plugin:{}", library.name);
        let file = library.path.display().to_string();
        if let Some(why) = library.poisoned() {
            return Err(SourceError::config(
                kind,
                format!("{file}: {why}; it is not called again"),
            ));
        }
        let late = format!(
            "its create function gave no answer within {} (--secrets-timeout sets the limit)",
            show_duration(timeout)
        );
        let create_fn = library.create;
        let config = config.map(str::to_owned);
        let ended = call_with_limit(&library, timeout, late.clone(), move || {
            let mut instance: *mut c_void = std::ptr::null_mut();
            let called = call(|error| {
                // SAFETY: the ABI's create: CONFIG borrowed for the call, a slot for the
                // instance, a host-owned error buffer.
                unsafe { create_fn(StrRef::from_option(config.as_deref()), &mut instance, error) }
            });
            (called, Instance(instance))
        });
        let (called, Instance(instance)) = match ended {
            Ended::Returned(done) => done,
            Ended::TimedOut => {
                return Err(SourceError::failed(
                    kind,
                    format!("{file}: {late}; it is not called again"),
                ));
            }
            Ended::Poisoned(why) => {
                return Err(SourceError::failed(
                    kind,
                    format!("{file}: {why}; it is not called again"),
                ));
            }
            Ended::NoThread(e) => {
                return Err(SourceError::failed(
                    kind,
                    format!("{file}: cannot start a thread to call it: {e}"),
                ));
            }
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
        Ok(PluginSource { kind, library, instance: Instance(instance), timeout })
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
        let late = format!(
            "it gave no answer within {} (--secrets-timeout sets the limit)",
            show_duration(self.timeout)
        );
        let resolve_fn = self.library.resolve;
        let instance = self.instance;
        let ended = call_with_limit(&self.library, self.timeout, late.clone(), move || {
            let instance = instance;
            let mut received: Option<Received> = None;
            let sink = Sink { context: (&raw mut received).cast(), put };
            let called = call(|error| {
                // SAFETY: the ABI's resolve on our live instance: the request borrowed for the
                // call, the sink valid for the call, a host-owned error buffer.
                unsafe { resolve_fn(instance.0, StrRef::new(&json), &sink, error) }
            });
            (called, received)
        });
        let (called, received) = match ended {
            Ended::Returned(done) => done,
            Ended::TimedOut => {
                return Err(SourceError::failed(
                    &self.kind,
                    format!("{file}: {late}; it is not called again"),
                ));
            }
            Ended::Poisoned(why) => {
                return Err(SourceError::failed(
                    &self.kind,
                    format!("{file}: {why}; it is not called again"),
                ));
            }
            Ended::NoThread(e) => {
                return Err(SourceError::failed(
                    &self.kind,
                    format!("{file}: cannot start a thread to call it: {e}"),
                ));
            }
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
            unsafe { destroy(self.instance.0) };
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
