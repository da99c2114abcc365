//! A plugin with process-wide state, as many C libraries have, declared not thread-safe: it
//! counts the calls inside the library (`create`, `resolve` and the instance's destructor, of
//! every instance) in one static counter, and remembers it if two were ever inside at once.
//! The host must hold one lock per library, not per instance.
//!
//! CONFIG: none. `resolve` answers `global_state:` and the key asked, or, once two calls have
//! overlapped anywhere in the library, an internal error saying so (and `create` fails the same
//! way). Each call sleeps 5 ms inside the library to make overlaps likely when the host does not
//! serialise them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};

/// How many calls are inside the library now, over every instance.
static INSIDE: AtomicUsize = AtomicUsize::new(0);
/// Whether two calls were ever inside at once.
static OVERLAPPED: AtomicBool = AtomicBool::new(false);

/// Runs `f` as a call inside the library, recording any overlap.
fn inside<T>(f: impl FnOnce() -> T) -> T {
    if INSIDE.fetch_add(1, Ordering::SeqCst) != 0 {
        OVERLAPPED.store(true, Ordering::SeqCst);
    }
    std::thread::sleep(Duration::from_millis(5));
    let out = f();
    INSIDE.fetch_sub(1, Ordering::SeqCst);
    out
}

fn check() -> Result<(), PluginError> {
    if OVERLAPPED.load(Ordering::SeqCst) {
        Err(PluginError::internal("two calls were inside the library at once"))
    } else {
        Ok(())
    }
}

struct GlobalState;

impl Plugin for GlobalState {
    const NAME: &'static str = "global_state";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(_config: Option<&str>) -> Result<GlobalState, PluginError> {
        inside(check)?;
        Ok(GlobalState)
    }

    fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError> {
        inside(check)?;
        let first = request.keys.first().cloned().unwrap_or_default();
        Ok(Some(Password::new(format!("global_state:{first}"))))
    }
}

impl Drop for GlobalState {
    fn drop(&mut self) {
        inside(|| ());
    }
}

// Not thread-safe on purpose: its state is the library's, shared by every instance.
export_plugin!(GlobalState, serialised);
