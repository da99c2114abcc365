//! CLI tests: the real `jimsctl` binary on the fixtures, as a user runs it.

mod bad_inputs;
mod batch;
mod completions;
mod concurrency;
mod crash;
mod diff;
mod emit;
mod event_sources;
mod export_convert;
mod foreign;
mod history;
mod hostile;
mod hostile_fs;
mod hygiene;
mod import;
mod partial;
mod plugins;
mod recipes;
mod reimport;
mod settings;
mod smaller;
mod sources;
mod status;
mod support;
mod terminal;
mod validate;
