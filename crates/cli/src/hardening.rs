//! What the process does about itself before it reads any secret.

/// Turns core dumps off for this process: `RLIMIT_CORE` 0 (soft and hard, so nothing in the
/// process can raise it again; inherited by the `cmd:` programs it runs) and, on Linux,
/// `PR_SET_DUMPABLE` 0, which also covers core handlers that ignore the limit (a `core_pattern`
/// pipe such as systemd-coredump) and keeps other processes of the same user from reading its
/// memory through `/proc/PID/mem` or `ptrace`. Passwords held in memory (typed, looked up,
/// opened for `export --passwords plain`) then never land in a core file. Failures are
/// ignored: neither call fails for an ordinary process, and refusing to run would protect
/// nothing.
pub(crate) fn no_core_dumps() {
    let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `none` is a valid rlimit that outlives the call, which only reads it.
    let _ = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_DUMPABLE takes one integer argument and touches no memory of ours.
        let _ = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn after_the_call_the_process_dumps_no_core() {
        super::no_core_dumps();
        let mut limit = libc::rlimit { rlim_cur: 1, rlim_max: 1 };
        // SAFETY: `limit` is a valid rlimit the call writes.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) }, 0);
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
        // SAFETY: PR_GET_DUMPABLE takes no argument and returns the flag.
        #[cfg(target_os = "linux")]
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE) }, 0);
    }
}
