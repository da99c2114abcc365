//! `cargo xtask bench`: the batch against the format floor, in one run, on this machine.
//!
//! Generates synthetic exports (`synth`, about 100 KB each, XML and JSON alternately, each with
//! its `<name>.secrets.json`), then measures, each stage in a child process of its own (so that
//! its peak memory, `VmHWM`, is its own):
//!
//! - (a) the format floor: read each file with the project's readers and write it back with
//!   its writers (no sync), nothing else;
//! - (L) the layout floor ([`crate::layout_floor`]): the least work of any durable import into
//!   a fresh JIMS folder (parse, 5 folders and 11 native files per export, one `syncfs`);
//! - (b) the batch import of the same files into fresh targets with the `file:` source
//!   `file:{dir}/{name}.secrets.json` and full durability, and (r) the same batch again into
//!   the same targets (a re-import), interleaved with (L) for `--rounds` rounds (the fastest
//!   kept), at 1 thread and at all cores;
//! - with `strace` installed, the filesystem calls per export, by kind, of (L), (b) and (r) on
//!   `--syscalls N` exports at 1 thread (less those of a stage that only lists the exports);
//! - the same batch with each commit alone (the durability of `jimsctl import`, before grouping)
//!   on a few exports, for comparison;
//! - the batch at a larger count, for peak memory as the batch grows.
//!
//! and prints exports/s, MB/s, the ratio (b)/(a), the speed-up from 1 thread to all, the peak
//! memory and the goals of issue 6, then (b) and (r) against (L) and the goals of issue 16. Everything runs in release; the orchestration re-runs this
//! program built with `--release`. Before the stages it waits (up to 7 minutes) while the
//! filesystem is slow at making files, as ext4 without a journal is for minutes after a mass
//! deletion; `--no-wait` measures at once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

/// `cargo xtask bench ARGS`: builds this program in release and runs `bench-run ARGS` with it.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    crate::run("cargo", &["build", "--release", "--quiet", "-p", "xtask"])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::root().join("target"), PathBuf::from);
    let exe = target.join("release").join("xtask");
    let status = Command::new(&exe)
        .arg("bench-run")
        .args(args)
        .status()
        .with_context(|| format!("could not run {}", exe.display()))?;
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}

struct Settings {
    count: usize,
    large: usize,
    baseline: usize,
    scale: usize,
    seed: u64,
    jobs: usize,
    dir: Option<PathBuf>,
    keep: bool,
    /// Interleaved rounds of the layout floor, fresh imports and re-imports (the best kept).
    rounds: usize,
    /// Exports traced by `strace -c` for the filesystem calls per export (0: none).
    syscalls: usize,
    /// Measure at once even when the filesystem is slow at making files (see
    /// [`settle_filesystem`]).
    no_wait: bool,
}

fn settings(args: &[String]) -> Result<Settings> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut s = Settings {
        count: 1000,
        large: 10_000,
        baseline: 50,
        scale: 1,
        seed: 1,
        jobs: cores,
        dir: None,
        keep: false,
        rounds: 2,
        syscalls: 50,
        no_wait: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--count" => s.count = value()?.parse().context("--count takes a number")?,
            "--large" => s.large = value()?.parse().context("--large takes a number")?,
            "--baseline" => s.baseline = value()?.parse().context("--baseline takes a number")?,
            "--scale" => s.scale = value()?.parse().context("--scale takes a number")?,
            "--seed" => s.seed = value()?.parse().context("--seed takes a number")?,
            "--jobs" => s.jobs = value()?.parse().context("--jobs takes a number")?,
            "--dir" => s.dir = Some(PathBuf::from(value()?)),
            "--rounds" => s.rounds = value()?.parse().context("--rounds takes a number")?,
            "--syscalls" => s.syscalls = value()?.parse().context("--syscalls takes a number")?,
            "--keep" => s.keep = true,
            "--no-wait" => s.no_wait = true,
            other => bail!(
                "unknown option '{other}'; bench takes --count N --large N --baseline N \
                 --scale K --seed S --jobs N --rounds N --syscalls N --dir DIR --keep --no-wait"
            ),
        }
    }
    if s.count == 0 {
        bail!("--count must be at least 1");
    }
    if s.rounds == 0 || s.jobs == 0 {
        bail!("--rounds and --jobs must be at least 1");
    }
    Ok(s)
}

/// What one stage measured (a child's one line of output).
#[derive(Clone, Copy, Debug, Default)]
struct Measure {
    exports: usize,
    bytes: u64,
    seconds: f64,
    failed: usize,
    peak_kb: u64,
    /// CPU time of the stage's process in user space, in seconds: unlike the wall clock,
    /// hardly changed by other work on the machine.
    user: f64,
    /// CPU time of the stage's process in the kernel (the filesystem's work), in seconds.
    sys: f64,
    /// CPU time of the whole machine while the stage ran (every core, busy in any process or
    /// the kernel), in seconds: the stage's own and what the kernel did for it elsewhere, above
    /// all the writeback of the files it wrote, which runs in kernel threads.
    machine: f64,
}

impl Measure {
    fn per_second(&self) -> f64 {
        self.exports as f64 / self.seconds
    }
    fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
    fn cpu_ms_per_export(&self) -> f64 {
        (self.user + self.sys) * 1e3 / self.exports as f64
    }
    fn user_ms_per_export(&self) -> f64 {
        self.user * 1e3 / self.exports as f64
    }
    fn sys_ms_per_export(&self) -> f64 {
        self.sys * 1e3 / self.exports as f64
    }
    /// CPU time per export spent outside the stage's process (kernel threads, interrupts).
    fn other_ms_per_export(&self) -> f64 {
        (self.machine - self.user - self.sys).max(0.0) * 1e3 / self.exports as f64
    }
    fn line(&self) -> String {
        let Measure { exports, bytes, seconds, failed, peak_kb, user, sys, machine: _ } = self;
        format!("{exports} {bytes} {seconds} {failed} {peak_kb} {user} {sys}")
    }
    fn parse(line: &str) -> Result<Measure> {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 7 {
            bail!("a stage printed {line:?}");
        }
        Ok(Measure {
            exports: f[0].parse()?,
            bytes: f[1].parse()?,
            seconds: f[2].parse()?,
            failed: f[3].parse()?,
            peak_kb: f[4].parse()?,
            user: f[5].parse()?,
            sys: f[6].parse()?,
            machine: 0.0,
        })
    }
}

/// `bench-run`: the whole benchmark (in release).
pub(crate) fn run(args: &[String]) -> Result<()> {
    let s = settings(args)?;
    let base = match &s.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("jimsctl-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let result = measure_all(&s, &base);
    if !s.keep {
        eprintln!("removing {}", base.display());
        let _ = std::fs::remove_dir_all(&base);
    }
    result
}

fn measure_all(s: &Settings, base: &Path) -> Result<()> {
    let exports = base.join("exports");
    crate::synth::write_many(&exports, s.count, s.scale, s.seed)?;
    let (files, bytes) = export_files(&exports)?;
    let xml = files.iter().filter(|p| p.extension().is_some_and(|e| e == "xml")).count();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "jimsctl bench: {} exports ({xml} XML, {} JSON), {:.1} MB, {:.0} KB each on average; \
         {cores} core(s), -j {}",
        files.len(),
        files.len() - xml,
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / files.len() as f64,
        s.jobs
    );
    println!(
        "{:<44} {:>7} {:>8} {:>10} {:>7} {:>8} {:>8} {:>7} {:>8}",
        "stage",
        "threads",
        "seconds",
        "exports/s",
        "MB/s",
        "peak MB",
        "user ms",
        "sys ms",
        "other ms"
    );
    let probe_before = settle_filesystem(base, s.no_wait)?;
    let mut n = 0;
    let mut stage = |kind: &str, label: &str, from: &Path, out: Option<&Path>, jobs: usize| {
        n += 1;
        let own = base.join(format!("out-{n}-{kind}-j{jobs}"));
        let m = run_stage(kind, from, out.unwrap_or(&own), jobs, None)?;
        println!(
            "{label:<44} {jobs:>7} {:>8.2} {:>10.1} {:>7.1} {:>8.1} {:>8.2} {:>7.2} {:>8.2}{}",
            m.seconds,
            m.per_second(),
            m.mb_per_second(),
            m.peak_kb as f64 / 1024.0,
            m.user_ms_per_export(),
            m.sys_ms_per_export(),
            m.other_ms_per_export(),
            if m.failed > 0 { format!("  ({} FAILED)", m.failed) } else { String::new() }
        );
        anyhow::Ok(m)
    };
    let floor1 = stage("floor", "(a) format floor: read + write", &exports, None, 1)?;
    let floor_n = stage("floor", "(a) format floor: read + write", &exports, None, s.jobs)?;
    // The layout floor, fresh imports and re-imports, interleaved, at 1 thread and at -j; the
    // fastest of the rounds is kept (the slower ones met other work on the machine).
    let threads: Vec<usize> = if s.jobs == 1 { vec![1] } else { vec![1, s.jobs] };
    let mut best: Vec<[Measure; 3]> = vec![[Measure::default(); 3]; threads.len()];
    for round in 1..=s.rounds {
        for (t, &jobs) in threads.iter().enumerate() {
            let targets = base.join(format!("round-{round}-j{jobs}"));
            let layout = targets.join("layout");
            let imports = targets.join("imports");
            let got = [
                stage("layout", "(L) layout floor", &exports, Some(&layout), jobs)?,
                stage("batch", "(b) batch into fresh targets", &exports, Some(&imports), jobs)?,
                stage("batch", "(r) batch again: re-import", &exports, Some(&imports), jobs)?,
            ];
            for (b, m) in best[t].iter_mut().zip(got) {
                if b.exports == 0 || m.seconds < b.seconds {
                    *b = Measure { peak_kb: b.peak_kb.max(m.peak_kb), ..m };
                } else {
                    b.peak_kb = b.peak_kb.max(m.peak_kb);
                }
            }
            let _ = std::fs::remove_dir_all(&targets);
        }
    }
    let [layout1, batch1, reimport1] = best[0];
    let [layout_n, batch_n, reimport_n] = *best.last().context("a round")?;
    let mut alone = None;
    if s.baseline > 0 {
        let few = base.join("exports-baseline");
        crate::synth::write_many(&few, s.baseline.min(s.count), s.scale, s.seed)?;
        let a1 = stage("alone", "    batch, durable, each commit alone", &few, None, 1)?;
        let an = stage("alone", "    batch, durable, each commit alone", &few, None, s.jobs)?;
        alone = Some((a1, an));
    }
    let mut large = None;
    if s.large > 0 {
        let many = base.join("exports-large");
        crate::synth::write_many(&many, s.large, s.scale, s.seed)?;
        let label = format!("(b) batch of {}, grouped", s.large);
        large = Some(stage("batch", &label, &many, None, s.jobs)?);
    }

    let calls = if s.syscalls == 0 {
        None
    } else if Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success()) {
        let few = base.join("exports-traced");
        crate::synth::write_many(&few, s.syscalls.min(s.count), s.scale, s.seed)?;
        Some(trace_calls(base, &few)?)
    } else {
        println!(
            "(strace is not installed: no count of filesystem calls; --syscalls 0 hides this)"
        );
        None
    };

    let probe_after = probe_file_creation(&base.join("probe-2"))?;
    println!();
    println!(
        "filesystem: a new empty file took {probe_before:.1} µs before the stages, \
         {probe_after:.1} µs after ({PROBE_FILES} files in {})",
        base.display()
    );
    if probe_before.max(probe_after) > SLOW_FILE_US {
        println!(
            "  note: slow for creating files (over {SLOW_FILE_US} µs). On ext4 without a journal \
             the inode allocator skips every inode freed in the last minutes (see \
             `recently_deleted` in fs/ext4/ialloc.c), so a mass deletion shortly before (a \
             previous bench, a test run) makes each new file cost more: the batch creates 23 \
             entries per new target, the floor one file per export. Rerun a few minutes after."
        );
    }
    let ratio1 = batch1.per_second() / floor1.per_second();
    let ratio_n = batch_n.per_second() / floor_n.per_second();
    let speedup = batch_n.per_second() / batch1.per_second();
    let floor_speedup = floor_n.per_second() / floor1.per_second();
    let peak = |m: &Measure| m.peak_kb as f64 / 1024.0;
    let mark = |ok: bool| if ok { "met" } else { "NOT met" };
    println!();
    println!(
        "CPU per export: floor {:.2} ms, batch {:.2} ms (1 thread): the ratio if both had a core \
         to themselves: {:.2}",
        floor1.cpu_ms_per_export(),
        batch1.cpu_ms_per_export(),
        floor1.cpu_ms_per_export() / batch1.cpu_ms_per_export()
    );
    println!("ratio (b)/(a): {ratio1:.2} at 1 thread, {ratio_n:.2} at {} threads", s.jobs);
    println!("speed-up 1 → {} threads: batch {speedup:.2}x, floor {floor_speedup:.2}x", s.jobs);
    if batch_n.machine > 0.0 {
        // No stage can finish before the machine has done its CPU work on every core at once:
        // what bounds the batch at all cores, whatever jimsctl does with its threads.
        let fastest = batch_n.machine / cores as f64;
        println!(
            "machine CPU per export at {} threads, the stage's process and the kernel's work for \
             it elsewhere (writeback threads): floor {:.2} ms, batch {:.2} ms (of which {:.2} ms \
             outside the process); with all {cores} cores busy the batch takes at least {:.2} s, \
             so the ratio at {} threads is at most {:.2} and the speed-up at most {:.2}x",
            s.jobs,
            floor_n.machine * 1e3 / floor_n.exports as f64,
            batch_n.machine * 1e3 / batch_n.exports as f64,
            batch_n.other_ms_per_export(),
            fastest,
            s.jobs,
            floor_n.seconds / fastest,
            batch1.seconds / fastest
        );
    }
    if let Some((a1, an)) = alone {
        println!(
            "grouping the commits: {:.1}x at 1 thread, {:.1}x at {} threads (vs. each commit alone)",
            batch1.per_second() / a1.per_second(),
            batch_n.per_second() / an.per_second(),
            s.jobs
        );
    }
    let peak_small = peak(&batch1).max(peak(&batch_n));
    match &large {
        Some(l) => println!(
            "peak memory: {peak_small:.1} MB at {} exports, {:.1} MB at {}",
            s.count,
            peak(l),
            s.large
        ),
        None => println!("peak memory: {peak_small:.1} MB at {} exports", s.count),
    }
    println!();
    println!("goals (issue 6):");
    println!(
        "  durable batch at least half the floor's throughput: {} ({ratio1:.2} at 1 thread, \
         {ratio_n:.2} at {})",
        mark(ratio1 >= 0.5 && ratio_n >= 0.5),
        s.jobs
    );
    if s.jobs >= 2 {
        println!(
            "  at least 1.7x from 1 thread to {}: {} ({speedup:.2}x)",
            s.jobs,
            mark(speedup >= 1.7)
        );
    }
    let large_peak = large.as_ref().map_or(peak_small, peak);
    println!(
        "  peak memory under 150 MB: {} ({:.1} MB)",
        mark(peak_small.max(large_peak) < 150.0),
        peak_small.max(large_peak)
    );
    if large.is_some() {
        // What may grow is the report: one entry per import (paths, sections, counts).
        let per_export =
            (large_peak - peak_small) * 1024.0 / (s.large.saturating_sub(s.count).max(1)) as f64;
        println!(
            "  flat from {} to {} exports (no more than the report's ~1 KB per import): {} \
             ({peak_small:.1} → {large_peak:.1} MB, {per_export:.2} KB per export)",
            s.count,
            s.large,
            mark(per_export <= 2.0)
        );
    }
    println!();
    println!("against the layout floor (issue 16), the best of {} round(s):", s.rounds);
    println!(
        "{:<34} {:>7} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "", "threads", "seconds", "exports/s", "x floor", "peak MB", "user ms", "sys ms"
    );
    for (t, &jobs) in threads.iter().enumerate() {
        let [floor, fresh, again] = best[t];
        for (label, m) in [
            ("(L) layout floor", floor),
            ("(b) batch into fresh targets", fresh),
            ("(r) batch again: re-import", again),
        ] {
            println!(
                "{label:<34} {jobs:>7} {:>8.3} {:>10.1} {:>8.2} {:>8.1} {:>8.2} {:>7.2}",
                m.seconds,
                m.per_second(),
                m.per_second() / floor.per_second(),
                peak(&m),
                m.user_ms_per_export(),
                m.sys_ms_per_export()
            );
        }
    }
    if let Some(calls) = &calls {
        print_calls(calls, s.syscalls.min(s.count));
    }
    let fresh1 = batch1.per_second() / layout1.per_second();
    let fresh_n = batch_n.per_second() / layout_n.per_second();
    let again1 = reimport1.per_second() / layout1.per_second();
    let again_n = reimport_n.per_second() / layout_n.per_second();
    let layout_speedup = layout_n.per_second() / layout1.per_second();
    let fresh_speedup = batch_n.per_second() / batch1.per_second();
    let again_speedup = reimport_n.per_second() / reimport1.per_second();
    println!();
    println!("goals (issue 16):");
    println!(
        "  fresh imports at least 0.9x the layout floor: {} ({fresh1:.2} at 1 thread, \
         {fresh_n:.2} at {})",
        mark(fresh1 >= 0.9 && fresh_n >= 0.9),
        s.jobs
    );
    println!(
        "  re-imports at least 0.85x the layout floor: {} ({again1:.2} at 1 thread, \
         {again_n:.2} at {})",
        mark(again1 >= 0.85 && again_n >= 0.85),
        s.jobs
    );
    if s.jobs >= 2 {
        println!(
            "  speed-up 1 -> {} threads at least 0.9x the floor's ({layout_speedup:.2}x): {} \
             (fresh {fresh_speedup:.2}x, re-import {again_speedup:.2}x)",
            s.jobs,
            mark(fresh_speedup >= 0.9 * layout_speedup && again_speedup >= 0.9 * layout_speedup)
        );
    }
    if let Some([floor, _, again]) = &calls {
        let (f, r) = (total(floor), total(again));
        println!(
            "  a re-import makes at most 1.5x the floor's filesystem calls per export: {} \
             ({r:.1} vs {f:.1}: {:.2}x)",
            mark(r <= 1.5 * f),
            r / f
        );
    }
    Ok(())
}

/// Filesystem calls per export, by kind.
type Calls = std::collections::BTreeMap<&'static str, f64>;

/// The kind of a filesystem call, by the name `strace` gives it (`None`: not a filesystem call).
fn call_kind(name: &str) -> Option<&'static str> {
    Some(match name {
        "open" | "openat" | "openat2" | "creat" => "open",
        "close" => "close",
        "mkdir" | "mkdirat" => "mkdir",
        "read" | "pread64" | "readv" | "preadv" | "preadv2" => "read",
        "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" => "write",
        "stat" | "lstat" | "fstat" | "newfstatat" | "statx" | "fstatat64" => "stat",
        "getdents" | "getdents64" => "list",
        "link" | "linkat" | "symlink" | "symlinkat" => "link",
        "unlink" | "unlinkat" | "rmdir" => "unlink",
        "rename" | "renameat" | "renameat2" => "rename",
        "fsync" | "fdatasync" | "syncfs" | "sync" | "sync_file_range" => "sync",
        "flock" => "flock",
        "lseek" | "ftruncate" | "fallocate" | "fchmod" | "fchmodat" | "fchown" | "fchownat"
        | "utimensat" | "readlink" | "readlinkat" | "access" | "faccessat" | "faccessat2"
        | "copy_file_range" | "statfs" | "fstatfs" | "getxattr" | "lgetxattr" | "fgetxattr" => {
            "other"
        }
        _ => return None,
    })
}

/// Filesystem calls per export of the layout floor, a fresh batch and the same batch again, at
/// 1 thread on the exports of `few`, each less those of a stage that only lists the exports.
fn trace_calls(base: &Path, few: &Path) -> Result<[Calls; 3]> {
    let (files, _) = export_files(few)?;
    let count = files.len() as f64;
    let traced = |kind: &str, out: &Path, name: &str| -> Result<Calls> {
        let file = base.join(format!("strace-{name}.txt"));
        run_stage(kind, few, out, 1, Some(&file))?;
        let text = std::fs::read_to_string(&file)?;
        let mut calls = Calls::new();
        // `% time  seconds  usecs/call  calls  [errors]  syscall`
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 {
                continue;
            }
            let (Some(kind), Ok(n)) = (call_kind(f[f.len() - 1]), f[3].parse::<f64>()) else {
                continue;
            };
            *calls.entry(kind).or_default() += n;
        }
        Ok(calls)
    };
    let none = traced("none", &base.join("traced-none"), "none")?;
    let per_export = |c: Calls| -> Calls {
        let mut out = Calls::new();
        for (k, v) in &c {
            let own = v - none.get(k).copied().unwrap_or(0.0);
            out.insert(*k, own.max(0.0) / count);
        }
        out
    };
    let floor = per_export(traced("layout", &base.join("traced-layout"), "layout")?);
    let imports = base.join("traced-imports");
    let fresh = per_export(traced("batch", &imports, "fresh")?);
    let again = per_export(traced("batch", &imports, "reimport")?);
    Ok([floor, fresh, again])
}

/// The total of a [`Calls`].
fn total(calls: &Calls) -> f64 {
    calls.values().sum()
}

fn print_calls(calls: &[Calls; 3], count: usize) {
    println!();
    println!("filesystem calls per export (strace -c, {count} exports, 1 thread):");
    let mut kinds: Vec<&str> = calls.iter().flat_map(|c| c.keys().copied()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    print!("{:<22}", "");
    for k in &kinds {
        print!(" {k:>7}");
    }
    println!(" {:>7}", "total");
    for (label, c) in ["(L) layout floor", "(b) fresh import", "(r) re-import"].iter().zip(calls) {
        print!("{label:<22}");
        for k in &kinds {
            print!(" {:>7.1}", c.get(k).copied().unwrap_or(0.0));
        }
        println!(" {:>7.1}", total(c));
    }
}

/// Files made by [`probe_file_creation`].
const PROBE_FILES: usize = 2000;
/// Above this many microseconds per new file, the bench says the filesystem is slow at it.
const SLOW_FILE_US: f64 = 25.0;

/// The longest [`settle_filesystem`] waits.
const MAX_SETTLE: std::time::Duration = std::time::Duration::from_secs(420);

/// Probes how fast the filesystem of `base` makes files and, while it is slower than
/// [`SLOW_FILE_US`] (ext4 without a journal skips every inode freed in the last one to six
/// minutes, so a test run or a previous bench that deleted many files just before makes each new
/// file cost several times more), waits for it to settle, up to [`MAX_SETTLE`]: like waiting for
/// a cold cache to warm, so that the numbers are jimsctl's and not the last deletion's. Returns
/// the last probe, in microseconds per file.
fn settle_filesystem(base: &Path, no_wait: bool) -> Result<f64> {
    let started = Instant::now();
    for n in 1.. {
        let us = probe_file_creation(&base.join(format!("probe-0-{n}")))?;
        if no_wait || us <= SLOW_FILE_US || started.elapsed() >= MAX_SETTLE {
            return Ok(us);
        }
        eprintln!(
            "the filesystem takes {us:.0} µs to make a file (over {SLOW_FILE_US} µs): files \
             were probably deleted in the last minutes; waiting for it to settle (at most {} s \
             in all; --no-wait measures at once)",
            MAX_SETTLE.as_secs()
        );
        std::thread::sleep(std::time::Duration::from_secs(20));
    }
    unreachable!("the loop returns")
}

/// Microseconds to create each of [`PROBE_FILES`] empty files in a new folder `dir`, which is
/// left in place (deleting it here would slow the next files made on this filesystem).
fn probe_file_creation(dir: &Path) -> Result<f64> {
    std::fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = Instant::now();
    for i in 0..PROBE_FILES {
        std::fs::File::create(dir.join(format!("f{i}")))?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / PROBE_FILES as f64)
}

/// Runs one stage in a child process (this program, `bench-stage`), after flushing what the
/// stages before it left dirty, so that it pays only for its own writes.
///
/// With `trace`, the child runs under `strace -f -c -o TRACE` (its times are then not the
/// stage's: only its calls are used).
fn run_stage(
    kind: &str,
    exports: &Path,
    out: &Path,
    jobs: usize,
    trace: Option<&Path>,
) -> Result<Measure> {
    let _ = Command::new("sync").status();
    let exe = std::env::current_exe()?;
    let busy_before = machine_busy();
    let mut command = match trace {
        Some(file) => {
            let mut c = Command::new("strace");
            c.args(["-f", "-c", "-o"]).arg(file).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let output = command
        .arg("bench-stage")
        .arg(kind)
        .arg(exports)
        .arg(out)
        .arg(jobs.to_string())
        .output()?;
    if !output.status.success() {
        bail!("stage {kind} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let machine = machine_busy() - busy_before;
    let text = String::from_utf8_lossy(&output.stdout);
    let m = Measure::parse(text.lines().last().unwrap_or_default())?;
    Ok(Measure { machine, ..m })
}

/// The CPU time every core of the machine has been busy since boot (`/proc/stat`: user, nice,
/// system, irq, softirq and steal, in clock ticks of 1/100 s), in seconds.
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0.0 };
    let ticks: Vec<f64> =
        cpu.split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0.0)).collect();
    let field = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal
    (field(0) + field(1) + field(2) + field(5) + field(6) + field(7)) / 100.0
}

/// The exports of a folder (not the secrets files), sorted, and their total size.
fn export_files(dir: &Path) -> Result<(Vec<PathBuf>, u64)> {
    let mut files = Vec::new();
    let mut bytes = 0;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.ends_with(".secrets.json") || !(name.ends_with(".xml") || name.ends_with(".json")) {
            continue;
        }
        bytes += std::fs::metadata(&p)?.len();
        files.push(p);
    }
    files.sort();
    Ok((files, bytes))
}

/// `bench-stage KIND EXPORTS OUT JOBS`: one measurement, printed as one line.
pub(crate) fn stage(args: &[String]) -> Result<()> {
    let [kind, exports, out, jobs] = args else {
        bail!("bench-stage takes KIND EXPORTS OUT JOBS");
    };
    let (exports, out) = (Path::new(exports), Path::new(out));
    let jobs: usize = jobs.parse()?;
    let (files, bytes) = export_files(exports)?;
    std::fs::create_dir_all(out)?;
    let started = Instant::now();
    let failed = match kind.as_str() {
        "floor" => floor(&files, out, jobs)?,
        "layout" => layout(&files, out, jobs)?,
        "none" => 0,
        "batch" => batch(exports, out, jobs, true)?,
        "alone" => batch(exports, out, jobs, false)?,
        other => bail!("unknown stage {other}"),
    };
    let seconds = started.elapsed().as_secs_f64();
    let (user, sys) = cpu();
    let m = Measure {
        exports: files.len(),
        bytes,
        seconds,
        failed,
        peak_kb: peak_kb(),
        user,
        sys,
        machine: 0.0,
    };
    println!("{}", m.line());
    Ok(())
}

/// (a): read each export with the project's readers and write it back with its writers.
fn floor(files: &[PathBuf], out: &Path, jobs: usize) -> Result<usize> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let failed = AtomicUsize::new(0);
    pool.install(|| {
        files.par_iter().for_each(|path| {
            let done = (|| -> Result<()> {
                let bytes = std::fs::read(path)?;
                let data = if bytes.first() == Some(&b'<') {
                    format_xml::write_bundle(&format_xml::read_bundle(&bytes)?)?
                } else {
                    format_json::write_bundle(&format_json::read_bundle(&bytes)?)?
                };
                std::fs::write(out.join(path.file_name().context("a file name")?), data)?;
                Ok(())
            })();
            if done.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        });
    });
    Ok(failed.into_inner())
}

/// (L): the layout floor ([`crate::layout_floor`]) of each export into `OUT/<its name>`, then
/// one `syncfs`.
fn layout(files: &[PathBuf], out: &Path, jobs: usize) -> Result<usize> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let failed = AtomicUsize::new(0);
    pool.install(|| {
        files.par_iter().for_each(|path| {
            let done = (|| -> Result<()> {
                let stem = path.file_stem().context("a file name")?;
                crate::layout_floor::import(path, &out.join(stem))
            })();
            if let Err(e) = done {
                eprintln!("{}: {e:#}", path.display());
                failed.fetch_add(1, Ordering::Relaxed);
            }
        });
    });
    crate::layout_floor::syncfs(out)?;
    Ok(failed.into_inner())
}

/// (b): `jimsctl batch --exports EXPORTS --targets OUT --secrets file:{dir}/{name}.secrets.json`.
fn batch(exports: &Path, out: &Path, jobs: usize, grouped: bool) -> Result<usize> {
    let entries = pipeline::batch::scan(exports, out)?;
    let defaults = pipeline::batch::Defaults {
        secrets: vec!["file:{dir}/{name}.secrets.json".into()],
        ..Default::default()
    };
    let options = pipeline::batch::Options { jobs, group_commits: grouped, ..Default::default() };
    let source_options = secrets::SourceOptions::default();
    let open = |spec: &str| -> Result<Box<dyn secrets::SecretSource>, pipeline::Error> {
        secrets::builtin_source(spec, &source_options)?.ok_or_else(|| {
            pipeline::Error::new(pipeline::ErrorKind::SourceConfig, format!("no source {spec}"))
        })
    };
    let report = pipeline::batch::run(&pipeline::batch::Config {
        defaults,
        options,
        ..pipeline::batch::Config::new(&entries, &open)
    })?;
    // A fresh import writes, a re-import finds every target already holds it.
    let failed = |r: &&pipeline::batch::EntryReport| !r.status.is_imported();
    if let Some(bad) = report.imports.iter().find(failed) {
        eprintln!("{}: {:?} {:?}", bad.export.display(), bad.status, bad.error);
    }
    Ok(report.imports.iter().filter(failed).count())
}

/// This process's CPU time so far, user and system, in seconds (`/proc/self/stat`, in clock
/// ticks of 1/100 s).
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime, fields 14 and 15 of the line, are the 12th and 13th after the name.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

/// This process's peak resident memory (`VmHWM`), in KiB.
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}
