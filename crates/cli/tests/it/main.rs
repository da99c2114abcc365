//! CLI tests: the real `jimsctl` binary on the fixtures, as a user runs it.

mod bad_inputs;
mod batch;
mod concurrency;
mod core_dumps;
mod crash;
mod escapes;
mod export_convert;
mod history;
mod hostile;
mod hostile_fs;
mod hygiene;
mod import;
mod keys;
mod keys_crash;
mod outputs;
mod partial;
mod plugins;
mod power_loss;
mod settings;
mod sources;
mod streams;
mod stuck_sources;
mod support;
mod terminal;
