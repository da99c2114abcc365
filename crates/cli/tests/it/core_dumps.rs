//! Core dumps are off while jimsctl holds secrets (issue 12.7). A `cmd:` source, run by jimsctl
//! while it holds the export's passwords, looks at its parent through `/proc`: the core file
//! size limit is 0 (though jimsctl was started with core dumps allowed), and the process is not
//! dumpable, which the kernel shows by giving its `/proc/PID/status` to root (uid and gid 0)
//! instead of to the process's own user and group. As root the test runs jimsctl with another
//! group, so that the two cases differ there too.

use std::os::unix::process::CommandExt;

use crate::support::{cmd, fixtures, tmp};

#[test]
fn jimsctl_runs_without_core_dumps() {
    let dir = tmp();
    let probe = dir.path().join("probe.txt");
    let script = dir.path().join("probe.sh");
    std::fs::write(
        &script,
        format!(
            "cat > /dev/null\n{{ grep '^Max core file size' /proc/$PPID/limits; \
             stat -c 'owner %u %g' /proc/$PPID/status; }} > '{}'\nexit 1\n",
            probe.display()
        ),
    )
    .unwrap();
    let (uid, gid) = (rustix::process::geteuid().as_raw(), rustix::process::getegid().as_raw());
    // The owner /proc/PID would have if jimsctl were dumpable: its own user and group.
    let group = if uid == 0 { 65534 } else { gid };
    assert_ne!((uid, group), (0, 0), "the check could not tell the two cases apart");
    let mut c = cmd();
    c.current_dir(fixtures())
        .args(["passwords", "exports/full.xml", "--target"])
        .arg(dir.path().join("t"))
        .arg(format!("--secrets=cmd:sh {}", script.display()));
    if uid == 0 {
        c.gid(group);
    }
    // Started with core dumps allowed (as far as the hard limit lets: as root, unlimited), so
    // that a limit of 0 is jimsctl's own doing.
    // SAFETY: between fork and exec, only async-signal-safe calls: rustix's getrlimit,
    // geteuid and setrlimit are single system calls that allocate nothing.
    unsafe {
        c.pre_exec(|| {
            use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
            let mut l = getrlimit(Resource::Core);
            if rustix::process::geteuid().is_root() {
                l.maximum = None; // unlimited
            }
            setrlimit(Resource::Core, Rlimit { current: l.maximum, maximum: l.maximum })?;
            Ok(())
        });
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = std::fs::read_to_string(&probe).expect("the cmd: source ran");
    let limit: Vec<&str> = seen.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(limit[..6], ["Max", "core", "file", "size", "0", "0"], "{seen}");
    assert!(seen.contains("owner 0 0"), "jimsctl is dumpable: {seen}");
}
