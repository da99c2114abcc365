//! Many synthetic exports on disk, for `cargo xtask gen-fixtures --count` and the bench: the
//! configurations come from the `samples` crate, the writing is done here.

use std::path::Path;

use anyhow::{Context, Result};
use samples::{Rng, Shape, configuration, export, secret_entries, secrets_json};

/// Writes `count` synthetic exports, alternately XML and JSON, each with its secrets file:
/// `OUT/exp-00001.xml` and `OUT/exp-00001.secrets.json`, ….
pub(crate) fn write_many(out: &Path, count: usize, scale: usize, seed: u64) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut bytes = 0usize;
    for n in 1..=count {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(n as u64));
        let config = configuration(&Shape::synthetic(scale), &mut rng);
        let secrets = secrets_json(&secret_entries(&config, &mut rng));
        let key_id = rng.hex(8);
        let export = export(config, &format!("jims-{n:05}"), &key_id);
        let (ext, data) = if n % 2 == 1 {
            ("xml", format_xml::write_bundle(&export))
        } else {
            ("json", format_json::write_bundle(&export))
        };
        bytes += data.len();
        std::fs::write(out.join(format!("exp-{n:05}.{ext}")), data)?;
        std::fs::write(out.join(format!("exp-{n:05}.secrets.json")), secrets)?;
    }
    eprintln!("wrote {count} exports ({:.1} MB) to {}", bytes as f64 / 1e6, out.display());
    Ok(())
}
