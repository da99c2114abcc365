//! A plugin that panics: in `create` when its CONFIG is `create`, otherwise in `resolve`. The
//! SDK catches the panic at the boundary, so the host is told instead of aborting.

use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};

/// Panics where its CONFIG says.
struct Panics;

impl Plugin for Panics {
    const NAME: &'static str = "panics";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(config: Option<&str>) -> Result<Panics, PluginError> {
        if config == Some("create") {
            panic!("the plugin broke while starting");
        }
        Ok(Panics)
    }

    fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError> {
        panic!("the plugin broke while looking up row {}", request.index);
    }
}

export_plugin!(Panics);
