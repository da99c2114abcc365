//! Running a batch ([`run`]): the entries go wave by wave (see `targets`), each wave in chunks
//! of up to [`Options::group_size`](super::Options::group_size) imports run in parallel on the
//! batch's rayon pool, their commits staged in one `store::Group`; a flusher thread makes each
//! group durable while the next chunk imports; with `--push`, a pool of push workers pushes
//! each target whose import succeeded while the imports go on. A wave starts once the previous
//! one is committed and pushed, since it imports into the same targets.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use rayon::prelude::*;

use super::entries::settle;
use super::sources::{Sources, has_placeholder};
use super::targets::{check_targets, waves};
use super::{
    Config, Defaults, Entry, EntryReport, Event, PushReport, PushSettings, Report, Totals,
};
use crate::error::{Error, ErrorKind};
use crate::import::Interaction;

/// What the flusher is handed: a group and its staged entries (index, staged, report).
type Flush = (store::Group, Vec<(usize, store::Staged, EntryReport)>);

/// A lock whose holder may have panicked: what it guards is still whole (every write is one
/// assignment), so it is used as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A count that threads wait on until it reaches a number.
#[derive(Default)]
struct Counter {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Counter {
    fn add(&self, n: usize) {
        *lock(&self.count) += n;
        self.changed.notify_all();
    }

    fn wait_for(&self, at_least: usize) {
        let mut n = lock(&self.count);
        while *n < at_least {
            n = self.changed.wait(n).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn get(&self) -> usize {
        *lock(&self.count)
    }
}

/// The pushes of a batch with `--push`: the queue of entries imported, and how many were
/// queued and how many ended.
struct Pushes {
    queue: Mutex<Option<Sender<usize>>>,
    next: Mutex<Receiver<usize>>,
    reports: Mutex<Vec<Option<PushReport>>>,
    queued: Counter,
    ended: Counter,
}

impl Pushes {
    fn new(entries: usize) -> Pushes {
        let (queue, next) = channel();
        Pushes {
            queue: Mutex::new(Some(queue)),
            next: Mutex::new(next),
            reports: Mutex::new(vec![None; entries]),
            queued: Counter::default(),
            ended: Counter::default(),
        }
    }

    /// Queues entry `i`'s push, unless the queue is closed.
    fn queue(&self, i: usize) {
        if let Some(queue) = lock(&self.queue).as_ref() {
            self.queued.add(1);
            let _ = queue.send(i);
        }
    }

    /// A push worker: pushes the entries queued until the queue is closed and empty.
    fn work(&self, config: &Config<'_>, sources: &Sources<'_>, settings: &PushSettings) {
        loop {
            let next = lock(&self.next).recv();
            let Ok(i) = next else { break };
            let report = push_entry(&config.entries[i], &config.defaults, sources, settings);
            lock(&self.reports)[i] = Some(report);
            self.ended.add(1);
        }
    }

    /// Waits until every push queued has ended (a push holds its target's lock).
    fn wait(&self) {
        self.ended.wait_for(self.queued.get());
    }

    /// No more imports: the workers end once the queue is empty.
    fn close(&self) {
        lock(&self.queue).take();
    }
}

/// Imports every entry of `config` (see the [module documentation](super)) and reports on
/// each: [`Config::interaction`] answers the partial-import warning and `prompt`,
/// [`Config::observe`] hears of each entry as it ends, and [`Config::cancel`] stops the batch
/// from starting more imports.
///
/// # Errors
/// Only for the batch as a whole, before any import starts: targets that nest
/// ([`check_targets`]), the thread pool cannot start, or a SPEC given for the whole batch
/// (without placeholders) names a source that cannot be opened
/// ([`ErrorKind::SourceConfig`]). Each entry's own failure is in its [`EntryReport`].
pub fn run(config: &Config<'_>) -> Result<Report, Error> {
    let started = Instant::now();
    let Config { entries, defaults, options, observe, .. } = config;
    check_targets(entries)?;
    let sources = Sources::new(config.open, options.shared_lookups);
    if entries.iter().any(|e| e.overrides.secrets.is_none()) {
        for spec in defaults.secrets.iter().filter(|s| *s != "prompt" && !has_placeholder(s)) {
            sources.shared_source(spec)?;
        }
    }
    let jobs = match options.jobs {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("jimsctl-batch-{i}"))
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot start {jobs} import threads: {e}"))
        })?;
    let group_size = options.group_size.max(1);
    let reports: Mutex<Vec<Option<EntryReport>>> = Mutex::new(vec![None; entries.len()]);
    let pushes = Pushes::new(entries.len());
    // An entry has ended (an import that wrote: once its commit is durable).
    let done = |i: usize, mut r: EntryReport| {
        // An import that changed nothing succeeded too: its target is pushed (a push with
        // nothing to send is up to date and connects nowhere).
        if options.push.is_some() && r.status.is_imported() {
            pushes.queue(i);
        }
        observe(Event::Done(&r));
        // Kept to the end without its paths (the entry has them; they are put back then):
        // small blocks that outlive their import would pin the allocator's pages of the
        // import's freed memory, and the batch would grow by some 2 KB per import.
        r.export = PathBuf::new();
        r.target = PathBuf::new();
        lock(&reports)[i] = Some(r);
    };
    // Groups handed to the flusher, and groups it has committed.
    let flushed = Counter::default();
    let mut sent = 0usize;

    std::thread::scope(|s| {
        if let Some(settings) = &options.push {
            for _ in 0..settings.jobs.max(1) {
                s.spawn(|| pushes.work(config, &sources, settings));
            }
        }
        let (tx, rx) = sync_channel::<Flush>(1);
        let flusher = s.spawn(|| {
            for (group, staged) in rx {
                let mut results: Vec<Option<Result<(), store::Error>>> =
                    group.commit().into_iter().map(Some).collect();
                for (i, st, mut report) in staged {
                    let result = results.get_mut(st.index()).and_then(Option::take);
                    if let Some(Err(e)) = result {
                        let seconds = report.seconds;
                        report = EntryReport::failed(&entries[i], &Error::from(e));
                        report.seconds = seconds;
                    }
                    done(i, report);
                }
                flushed.add(1);
            }
        });
        for wave in waves(entries) {
            for chunk in wave.chunks(group_size) {
                let group = store::Group::new();
                let ran: Vec<(usize, EntryReport, Option<store::Staged>)> = pool.install(|| {
                    chunk
                        .par_iter()
                        .map(|&i| {
                            let grouped = options.group_commits.then_some(&group);
                            let (report, staged) = run_entry(
                                &entries[i],
                                defaults,
                                &sources,
                                grouped,
                                config.interaction,
                                config.cancel,
                            );
                            observe(Event::Ran(&report));
                            (i, report, staged)
                        })
                        .collect()
                });
                let mut staged = Vec::new();
                for (i, report, st) in ran {
                    match st {
                        Some(st) => staged.push((i, st, report)),
                        None => done(i, report),
                    }
                }
                if staged.is_empty() {
                    continue;
                }
                if tx.send((group, staged)).is_err() {
                    break;
                }
                sent += 1;
            }
            // The next wave imports into the same targets: wait until this one is committed,
            // and pushed.
            flushed.wait_for(sent);
            pushes.wait();
        }
        drop(tx);
        let _ = flusher.join();
        pushes.close();
    });

    let mut pushed = pushes.reports.into_inner().unwrap_or_else(PoisonError::into_inner);
    let reports = reports.into_inner().unwrap_or_else(PoisonError::into_inner);
    let imports: Vec<EntryReport> = reports
        .into_iter()
        .zip(entries.iter())
        .zip(pushed.iter_mut())
        .map(|((report, entry), push)| match report {
            Some(mut r) => {
                r.export.clone_from(&entry.export);
                r.target.clone_from(&entry.target);
                r.push = push.take();
                r
            }
            None => {
                let e = Error::new(ErrorKind::Io, "the import did not report back");
                EntryReport::failed(entry, &e)
            }
        })
        .collect();
    let mut totals = Totals::of(&imports, options.push.is_some());
    totals.lookups = sources.lookups();
    totals.seconds = started.elapsed().as_secs_f64();
    Ok(Report { imports, totals, cancelled: config.cancel.load(Ordering::Relaxed) })
}

/// Pushes one entry's target, with the entry's secret sources.
fn push_entry(
    entry: &Entry,
    defaults: &Defaults,
    sources: &Sources<'_>,
    settings: &PushSettings,
) -> PushReport {
    let started = Instant::now();
    let (_, specs) = settle(entry, defaults);
    let options = crate::push::PushOptions { timeout: settings.timeout, ..Default::default() };
    let result = sources.lookup_for(&specs, &entry.export).and_then(|lookup| {
        crate::push::push(&entry.target, &options, &lookup.chain, &crate::push::NoAsking)
    });
    PushReport::of(result, started.elapsed().as_secs_f64())
}

/// Runs one entry: its import, with its commit staged in `group`.
fn run_entry(
    entry: &Entry,
    defaults: &Defaults,
    sources: &Sources<'_>,
    group: Option<&store::Group>,
    interaction: &(dyn Interaction + Sync),
    cancel: &AtomicBool,
) -> (EntryReport, Option<store::Staged>) {
    if cancel.load(Ordering::Relaxed) {
        return (EntryReport::skipped(entry), None);
    }
    if let Some(problem) = &entry.problem {
        let e = Error::new(ErrorKind::Input, problem.clone()).with_path(&entry.export);
        return (EntryReport::failed(entry, &e), None);
    }
    let started = Instant::now();
    let (options, specs) = settle(entry, defaults);
    // The entry's own sources (SPECs naming its export) are opened only once its export and
    // target are checked, as `import` opens its own.
    let go = || {
        crate::import::import_later(
            &entry.export,
            &entry.target,
            &options,
            || sources.lookup_for(&specs, &entry.export),
            interaction,
        )
    };
    let (result, staged) = match group {
        Some(group) => group.scope(go),
        None => (go(), Vec::new()),
    };
    let mut report = match &result {
        Ok(outcome) => EntryReport::of_outcome(entry, outcome),
        Err(e) => EntryReport::failed(entry, e),
    };
    report.seconds = started.elapsed().as_secs_f64();
    (report, staged.first().copied())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use secrets::{Answer, Request, SecretSource, SourceError};

    use super::*;
    use crate::batch::entry;
    use crate::batch::{EntryStatus, Options};
    use crate::import::Status;

    fn fixture(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(rel)
    }

    /// A source that answers every key and counts the lookups and the opens.
    struct Counting(Arc<AtomicUsizePair>);

    #[derive(Default)]
    struct AtomicUsizePair {
        opened: std::sync::atomic::AtomicUsize,
        asked: std::sync::atomic::AtomicUsize,
    }

    impl SecretSource for Counting {
        fn kind(&self) -> String {
            "counting".into()
        }
        fn lookup(
            &self,
            _key: &model::SecretKey,
            _request: &Request<'_>,
        ) -> Result<Answer, SourceError> {
            self.0.asked.fetch_add(1, Ordering::Relaxed);
            Ok(Answer::Found(crypto::Secret::copy_from(b"Pw-counted")))
        }
    }

    #[test]
    fn a_batch_opens_each_source_once_and_shares_its_answers() {
        let d = tempfile::tempdir().unwrap();
        let full = fixture("exports/full.xml");
        let entries: Vec<Entry> = (0..4)
            .map(|n| {
                entry(
                    full.to_str().unwrap(),
                    d.path().join(format!("t{}", n % 3)).to_str().unwrap(),
                )
            })
            .collect();
        let counts = Arc::new(AtomicUsizePair::default());
        let open = |spec: &str| -> Result<Box<dyn SecretSource>, Error> {
            assert_eq!(spec, "counting");
            counts.opened.fetch_add(1, Ordering::Relaxed);
            Ok(Box::new(Counting(Arc::clone(&counts))))
        };
        let report = run(&Config {
            defaults: Defaults { secrets: vec!["counting".into()], ..Defaults::default() },
            options: Options { jobs: 2, group_size: 2, ..Options::default() },
            ..Config::new(&entries, &open)
        })
        .unwrap();
        let statuses: Vec<_> = report.imports.iter().map(|r| r.status.clone()).collect();
        let imported = EntryStatus::Ended(Status::Imported);
        let unchanged = EntryStatus::Ended(Status::Unchanged);
        assert_eq!(statuses, [imported.clone(), imported.clone(), imported, unchanged]);
        let versions: Vec<_> = report.imports.iter().map(|r| r.version).collect();
        // t0 twice, in order: the second time it already holds it all, and makes no version.
        assert_eq!(versions, [Some(1), Some(1), Some(1), Some(1)]);
        assert_eq!(counts.opened.load(Ordering::Relaxed), 1);
        let rows = report.imports[0].passwords.unwrap().total;
        let lookups = report.totals.lookups;
        assert_eq!(lookups.hits + lookups.misses, 4 * rows);
        assert_eq!(counts.asked.load(Ordering::Relaxed), lookups.misses);
        assert!(lookups.misses <= rows);
        assert_eq!((report.totals.imported, report.totals.unchanged), (3, 1));
    }

    #[test]
    fn a_cancelled_batch_starts_nothing() {
        let d = tempfile::tempdir().unwrap();
        let entries = [entry("a.xml", d.path().join("t").to_str().unwrap())];
        let open = |_: &str| -> Result<Box<dyn SecretSource>, Error> { unreachable!() };
        let cancel = AtomicBool::new(true);
        let report = run(&Config { cancel: &cancel, ..Config::new(&entries, &open) }).unwrap();
        assert_eq!(report.imports[0].status, EntryStatus::Skipped);
        assert!(report.cancelled);
        assert_eq!((report.totals.skipped, report.totals.failed), (1, 0));
        assert!(!d.path().join("t").exists());
    }
}
