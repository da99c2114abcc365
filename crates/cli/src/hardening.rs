//! What the process does about itself before it reads any secret.

use rustix::process::{Resource, Rlimit};

/// Turns core dumps off for this process: `RLIMIT_CORE` 0 (soft and hard, so nothing in the
/// process can raise it again; inherited by the `cmd:` programs it runs) and, on Linux,
/// `PR_SET_DUMPABLE` 0, which also covers core handlers that ignore the limit (a `core_pattern`
/// pipe such as systemd-coredump) and keeps other processes of the same user from reading its
/// memory through `/proc/PID/mem` or `ptrace`. Passwords held in memory (typed, looked up,
/// opened for `export --passwords plain`) then never land in a core file. Failures are
/// ignored: neither call fails for an ordinary process, and refusing to run would protect
/// nothing.
pub(crate) fn no_core_dumps() {
    let _ =
        rustix::process::setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) });
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_the_call_the_process_dumps_no_core() {
        no_core_dumps();
        let limit = rustix::process::getrlimit(Resource::Core);
        assert_eq!((limit.current, limit.maximum), (Some(0), Some(0)));
        #[cfg(target_os = "linux")]
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
    }
}
