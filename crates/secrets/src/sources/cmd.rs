//! `cmd:PROGRAM [ARG…]`: a program run once per key asked, with the request as JSON on stdin.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crypto::Secret;
use model::SecretKey;
use zeroize::Zeroizing;

use crate::error::SourceError;
use crate::source::{Answer, Request, SecretSource};
use crate::sources::{escape_controls, refused_key};

const KIND: &str = "cmd";
/// The most a program may print on stdout: a password, not a document.
const MAX_OUTPUT: usize = 64 * 1024;
/// The environment variable that holds the key asked (the request's `keys`: one key, one line),
/// for programs that would rather not parse the JSON request.
pub const KEYS_VARIABLE: &str = "JIMS_SECRET_KEYS";
/// How much of stderr is read (the rest is drained and dropped).
const STDERR_READ: usize = 4096;
/// How many characters of stderr are shown when the program fails, with `--verbose`.
const STDERR_SHOWN: usize = 300;
/// The prefix of the variables of the `env` source, which a program never inherits.
const SECRET_PREFIX: &str = "JIMS_SECRET_";

/// A program that answers for one key of a row. The chain asks it key by key, like every other
/// source: it runs once for each key it is asked, and receives the [`Request`] for that key
/// (`keys` holds that key alone, beside the row's columns) as JSON on standard input. It answers
/// by its exit code:
///
/// - 0: its standard output is the password (one trailing newline dropped; empty output is a
///   failure);
/// - 1: not found;
/// - any other code, a signal, or no answer within the time limit (the program is then
///   killed): a failure. Its standard error may hold a secret: the message includes it only
///   when the source is [`verbose`](CmdSource::verbose) (`--verbose`), trimmed, cut at 300
///   characters, with control characters escaped; otherwise it says that there is some.
///
/// The program inherits the environment but for the `JIMS_SECRET_*` variables (the passwords
/// of the `env` source); [`KEYS_VARIABLE`] holds the key asked. A key that could be misread
/// (a part that is empty, `.` or `..`, or a control character such as a newline) is never
/// handed to the program: it is "not found" without running it.
///
/// The SPEC `cmd:PROGRAM ARG…` is split on whitespace. Only PROGRAM is killed at the time
/// limit, not processes it started (a program in its own process group could not use the
/// terminal); the source stops waiting for them all the same. A program that leaves a process
/// holding its output open is waited for until that output closes or the time limit passes.
/// Standard output beyond 64 KiB is a failure: a password is no document.
#[derive(Debug)]
pub struct CmdSource {
    program: String,
    args: Vec<String>,
    timeout: Duration,
    verbose: bool,
    /// The `JIMS_SECRET_*` variables of this process, removed from the program's environment.
    hidden: Vec<std::ffi::OsString>,
}

impl CmdSource {
    /// The source running `program` with `args`, allowed `timeout` per run.
    ///
    /// # Errors
    /// A configuration error when `program` does not exist: a path that is not a file, or a
    /// bare name found in no folder of `PATH`.
    pub fn new(
        program: impl Into<String>,
        args: Vec<String>,
        timeout: Duration,
    ) -> Result<CmdSource, SourceError> {
        let program = program.into();
        if program.is_empty() {
            return Err(SourceError::config(KIND, "cmd: needs a program to run"));
        }
        if !program_exists(&program) {
            return Err(SourceError::config(
                KIND,
                format!(
                    "the program `{program}` does not exist{}; give a path to it or put it on PATH",
                    if has_separator(&program) { "" } else { " on PATH" }
                ),
            ));
        }
        let hidden = std::env::vars_os()
            .map(|(name, _)| name)
            .filter(|name| {
                name.as_encoded_bytes().starts_with(SECRET_PREFIX.as_bytes())
                    && name.as_os_str() != KEYS_VARIABLE
            })
            .collect();
        Ok(CmdSource { program, args, timeout, verbose: false, hidden })
    }

    /// Shows a failing program's error output in the error (`--verbose`), or not (the
    /// default: it may hold a secret).
    pub fn verbose(mut self, verbose: bool) -> CmdSource {
        self.verbose = verbose;
        self
    }

    /// Runs the program with `request` on stdin and the request's keys (the key asked), one
    /// per line, in the environment variable [`KEYS_VARIABLE`] (handy for shell recipes).
    fn run(&self, request: &[u8], keys: &str) -> Result<Answer, SourceError> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut command = Command::new(&self.program);
        for name in &self.hidden {
            command.env_remove(name);
        }
        let mut child = command
            .args(&self.args)
            .env(KEYS_VARIABLE, keys)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => SourceError::config(
                    KIND,
                    format!("cannot run the program `{}`: {e}", self.program),
                ),
                _ => SourceError::failed(KIND, format!("cannot run `{}`: {e}", self.program)),
            })?;

        let (tx, rx) = mpsc::channel();
        if let Some(mut stdin) = child.stdin.take() {
            let request = request.to_vec();
            // A program that does not read its input, or exits early, is not an error here.
            thread::spawn(move || drop(stdin.write_all(&request)));
        }
        if let Some(stdout) = child.stdout.take() {
            let tx = tx.clone();
            thread::spawn(move || drop(tx.send(Stream::Out(read_output(stdout)))));
        }
        if let Some(stderr) = child.stderr.take() {
            thread::spawn(move || drop(tx.send(Stream::Err(read_stderr(stderr)))));
        } else {
            drop(tx);
        }

        let mut output = None;
        let mut stderr = Zeroizing::new(String::new());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Stream::Out(o)) => output = Some(o),
                Ok(Stream::Err(e)) => stderr = e,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(self.timed_out(&mut child));
                }
            }
        }
        let status = wait_until(&mut child, deadline).map_err(|e| {
            SourceError::failed(KIND, format!("cannot wait for `{}`: {e}", self.program))
        })?;
        let Some(status) = status else { return Err(self.timed_out(&mut child)) };

        let output = output.unwrap_or(Ok(Output::Secret(Secret::default())));
        match (status.code(), output) {
            (Some(0), Ok(Output::Secret(mut secret))) => {
                secret.trim_one_newline();
                if secret.is_empty() {
                    Err(self.failure("exited with status 0 but printed no password", &stderr))
                } else {
                    Ok(Answer::Found(secret))
                }
            }
            (Some(1), _) => Ok(Answer::NotFound),
            (Some(0), Ok(Output::TooLong)) => Err(self.failure(
                &format!("printed more than {MAX_OUTPUT} bytes, which is no password"),
                &stderr,
            )),
            (Some(0), Err(e)) => Err(self.failure(&format!("could not be read: {e}"), &stderr)),
            (code, _) => Err(self.failure(&describe_exit(code, status), &stderr)),
        }
    }

    fn failure(&self, what: &str, stderr: &str) -> SourceError {
        let mut message = format!("the program `{}` {what}", self.program);
        if !stderr.is_empty() {
            if self.verbose {
                message.push_str("; its error output: ");
                message.push_str(&shown_stderr(stderr));
            } else {
                message.push_str(
                    "; it wrote an error output, not shown as it may hold a secret \
                     (run again with --verbose to see its start)",
                );
            }
        }
        SourceError::failed(KIND, message)
    }

    fn timed_out(&self, child: &mut Child) -> SourceError {
        // Kill and reap; the reader threads end when the pipes close.
        let _ = child.kill();
        let _ = child.wait();
        SourceError::failed(
            KIND,
            format!(
                "the program `{}` gave no answer within {} and was stopped \
                 (--secrets-timeout sets the limit)",
                self.program,
                show_duration(self.timeout)
            ),
        )
    }
}

impl SecretSource for CmdSource {
    fn kind(&self) -> String {
        KIND.into()
    }

    /// Runs the program once, asking for `key` alone, whatever keys `request` holds.
    fn lookup(&self, key: &SecretKey, request: &Request<'_>) -> Result<Answer, SourceError> {
        if refused_key(key).is_some() {
            return Ok(Answer::NotFound);
        }
        let request = request.asking(key);
        self.run(request.to_json().as_bytes(), key.as_str())
    }
}

enum Stream {
    Out(io::Result<Output>),
    Err(Zeroizing<String>),
}

enum Output {
    Secret(Secret),
    TooLong,
}

/// Reads stdout into a buffer allocated once; the password is copied out at its exact size and
/// the buffer wiped.
fn read_output(mut stdout: ChildStdout) -> io::Result<Output> {
    let mut buf = Zeroizing::new(vec![0u8; MAX_OUTPUT + 1]);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // Too long: drain the rest over the same buffer, so the program never blocks.
            loop {
                match stdout.read(&mut buf[..]) {
                    Ok(0) => return Ok(Output::TooLong),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        match stdout.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Output::Secret(Secret::copy_from(&buf[..filled])))
}

/// Reads stderr to its end, keeping its first [`STDERR_READ`] bytes (in memory wiped on drop:
/// it may hold a secret).
fn read_stderr(mut stderr: ChildStderr) -> Zeroizing<String> {
    let mut kept = Zeroizing::new(Vec::with_capacity(STDERR_READ));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    loop {
        match stderr.read(&mut chunk[..]) {
            Ok(0) => break,
            Ok(n) => {
                let room = STDERR_READ.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Zeroizing::new(String::from_utf8_lossy(&kept).trim().to_owned())
}

/// The start of a program's error output as an error shows it: at most [`STDERR_SHOWN`]
/// characters, control characters escaped.
fn shown_stderr(stderr: &str) -> String {
    let cut: String = stderr.chars().take(STDERR_SHOWN).collect();
    let mut shown = escape_controls(&cut);
    if stderr.chars().nth(STDERR_SHOWN).is_some() {
        shown.push('…');
    }
    shown
}

/// Waits for the child until `deadline`; `None` when it is still running then.
fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn describe_exit(code: Option<i32>, status: ExitStatus) -> String {
    if let Some(code) = code {
        return format!("exited with status {code} (0 answers, 1 means not found)");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    format!("ended abnormally ({status})")
}

fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn has_separator(program: &str) -> bool {
    program.contains('/') || (cfg!(windows) && program.contains('\\'))
}

fn program_exists(program: &str) -> bool {
    if has_separator(program) {
        return Path::new(program).is_file();
    }
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join(program);
        candidate.is_file() || (cfg!(windows) && candidate.with_extension("exe").is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_programs_are_config_errors() {
        let e = CmdSource::new("/no/such/program", vec![], Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.kind(), crate::SourceErrorKind::Config);
        assert!(e.to_string().contains("`/no/such/program` does not exist"), "{e}");
        let e = CmdSource::new("no-such-program-xyz", vec![], Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().contains("does not exist on PATH"), "{e}");
        assert!(CmdSource::new("sh", vec![], Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn stderr_is_cut_and_escaped() {
        let long = format!("\x1b[31mred\n{}", "x".repeat(400));
        let shown = shown_stderr(&long);
        assert!(shown.starts_with("\\x1b[31mred\\nxxx"), "{shown}");
        assert!(shown.ends_with('…') && !shown.contains('\x1b'), "{shown}");
        // 300 characters: the 9 of the escape, "red" and the newline, then 291 `x`.
        let xs = shown.rsplit("\\n").next().unwrap();
        assert_eq!(xs.chars().filter(|c| *c == 'x').count(), STDERR_SHOWN - 9);
        assert_eq!(shown_stderr("short"), "short");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(show_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(show_duration(Duration::from_millis(300)), "300 ms");
    }
}
