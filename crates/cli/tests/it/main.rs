//! CLI tests: the real `jimsctl` binary on the fixtures, as a user runs it.

mod bad_inputs;
mod batch;
mod concurrency;
mod crash;
mod export_convert;
mod history;
mod hostile;
mod hostile_fs;
mod hygiene;
mod import;
mod keys;
mod keys_crash;
mod partial;
mod plugins;
mod settings;
mod sources;
mod support;
mod terminal;
