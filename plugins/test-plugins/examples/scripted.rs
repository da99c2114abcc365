//! A working plugin that answers as its CONFIG says, declared not thread-safe: it fails if the
//! host ever calls it from two threads at once.
//!
//! CONFIG: `found` (the default; the password is `scripted:` and the row's first key),
//! `not-found`, `unavailable`, `config`, `internal`, or `slow` (found, after 20 ms, to make
//! overlapping calls likely when the host does not serialise them).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};

/// The scripted answer, and how many calls are running.
struct Scripted {
    mode: String,
    running: AtomicUsize,
}

impl Plugin for Scripted {
    const NAME: &'static str = "scripted";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(config: Option<&str>) -> Result<Scripted, PluginError> {
        let mode = config.unwrap_or("found");
        match mode {
            "found" | "not-found" | "unavailable" | "config" | "internal" | "slow" => {
                Ok(Scripted { mode: mode.to_owned(), running: AtomicUsize::new(0) })
            }
            other => Err(PluginError::config(format!("unknown mode `{other}`"))),
        }
    }

    fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError> {
        if self.running.fetch_add(1, Ordering::SeqCst) != 0 {
            self.running.fetch_sub(1, Ordering::SeqCst);
            return Err(PluginError::internal("called from two threads at once"));
        }
        let first = request.keys.first().cloned().unwrap_or_default();
        let answer = match self.mode.as_str() {
            "not-found" => Ok(None),
            "unavailable" => Err(PluginError::unavailable("the scripted backend is down")),
            "config" => Err(PluginError::config("the scripted backend rejects this CONFIG")),
            "internal" => Err(PluginError::internal("the scripted backend is confused")),
            "slow" => {
                std::thread::sleep(Duration::from_millis(20));
                Ok(Some(Password::new(format!("scripted:{first}"))))
            }
            _ => Ok(Some(Password::new(format!("scripted:{first}")))),
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        answer
    }
}

// Not thread-safe on purpose: the host must serialise the calls.
export_plugin!(Scripted, serialised);
