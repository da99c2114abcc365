//! A plugin that takes its time, to test the host's time limit (`--secrets-timeout`): it
//! sleeps where its CONFIG says, then answers found (the password is `sleepy:` and the key).
//!
//! CONFIG: `resolve:MS[:LOG]` (the default is `resolve:10000`) sleeps MS milliseconds in every
//! `resolve`; `create:MS[:LOG]` sleeps in `create`. With LOG, a file path, every call appends a
//! line to it (`create` or `resolve KEY`) as it starts, so that a test can count the calls the
//! host made. Declared not thread-safe: the host calls it under the library's lock.

use std::io::Write;
use std::time::Duration;

use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};

/// How long it sleeps in `resolve`, and where it logs its calls.
struct Sleepy {
    resolve: Duration,
    log: Option<String>,
}

/// Appends `line` to the log file `path`, when there is one.
fn log(path: Option<&str>, line: &str) {
    if let Some(path) = path {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
        if let Ok(mut file) = file {
            let _ = writeln!(file, "{line}");
        }
    }
}

fn millis(text: &str) -> Result<Duration, PluginError> {
    text.parse()
        .map(Duration::from_millis)
        .map_err(|_| PluginError::config(format!("`{text}` is not a number of milliseconds")))
}

impl Plugin for Sleepy {
    const NAME: &'static str = "sleepy";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(config: Option<&str>) -> Result<Sleepy, PluginError> {
        let mut parts = config.unwrap_or("resolve:10000").splitn(3, ':');
        let (place, ms, path) = (parts.next(), parts.next(), parts.next());
        log(path, "create");
        let ms = millis(ms.unwrap_or_default())?;
        let log = path.map(str::to_owned);
        match place {
            Some("resolve") => Ok(Sleepy { resolve: ms, log }),
            Some("create") => {
                std::thread::sleep(ms);
                Ok(Sleepy { resolve: Duration::ZERO, log })
            }
            _ => Err(PluginError::config("use resolve:MS[:LOG] or create:MS[:LOG]")),
        }
    }

    fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError> {
        let key = request.keys.first().cloned().unwrap_or_default();
        log(self.log.as_deref(), &format!("resolve {key}"));
        std::thread::sleep(self.resolve);
        Ok(Some(Password::new(format!("sleepy:{key}"))))
    }
}

// Not thread-safe on purpose: a stuck call holds the library's lock.
export_plugin!(Sleepy, serialised);
