//! `cargo xtask fuzz [--minutes N] [--target NAME]… [--seed-only]`: seeds the corpus of every
//! fuzz target from `fixtures/`, installs `cargo-fuzz` from crates.io when it is missing, and
//! runs each target under libFuzzer for N minutes (default 1), one after the other.
//!
//! Layout of `fuzz/` (a cargo-fuzz project with its own workspace):
//! - `fuzz_targets/<target>.rs`: forwards to `crates/fuzz-targets`, whose tests replay the
//!   saved inputs below in `cargo test`;
//! - `corpus/<target>/`: the small committed seed corpus (read-only to libFuzzer);
//! - `work/<target>/`: what libFuzzer finds while it runs (not committed);
//! - `artifacts/<target>/`: crashing inputs (not committed): minimise one, fix the bug, and
//!   commit it under `regressions/<target>/`.
//!
//! cargo-fuzz needs nightly compiler flags; on the stable toolchain `RUSTC_BOOTSTRAP=1` lets
//! it use them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use model::SectionId;

/// The fuzz targets, as named in `fuzz/Cargo.toml` and `crates/fuzz-targets`.
pub(crate) const TARGETS: [&str; 7] = [
    "xml_bundle",
    "json_bundle",
    "native_file",
    "sealed_value",
    "secrets_file",
    "public_key_file",
    "sealed_header",
];

struct Options {
    minutes: u64,
    targets: Vec<String>,
    seed_only: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options { minutes: 1, targets: Vec::new(), seed_only: false };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--minutes" => o.minutes = value()?.parse().context("--minutes takes a number")?,
            "--target" => {
                let t = value()?.clone();
                if !TARGETS.contains(&t.as_str()) {
                    bail!("unknown fuzz target '{t}'; the targets are {}", TARGETS.join(", "));
                }
                o.targets.push(t);
            }
            "--seed-only" => o.seed_only = true,
            other => bail!("unknown option '{other}'"),
        }
    }
    if o.minutes == 0 {
        bail!("--minutes must be at least 1 (libFuzzer reads 0 as \"forever\")");
    }
    if o.targets.is_empty() {
        o.targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    Ok(o)
}

/// Runs the task.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let root = crate::root();
    let written = seed(&root)?;
    eprintln!("fuzz: seed corpus up to date ({written} inputs written)");
    if o.seed_only {
        return Ok(());
    }
    ensure_cargo_fuzz()?;
    let mut summary = Vec::new();
    for target in &o.targets {
        summary.push(fuzz_one(&root, target, o.minutes)?);
    }
    eprintln!("\nfuzz summary:");
    for line in &summary {
        eprintln!("  {line}");
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> Result<()> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        crate::run("cargo", &["install", "cargo-fuzz", "--locked"])?;
    }
    Ok(())
}

/// Runs `target` for `minutes`; returns a summary line.
fn fuzz_one(root: &Path, target: &str, minutes: u64) -> Result<String> {
    let fuzz = root.join("fuzz");
    let work = fuzz.join("work").join(target);
    std::fs::create_dir_all(&work)?;
    let artifacts = fuzz.join("artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    let before = count(&artifacts);
    let seconds = (minutes * 60).to_string();
    let started = Instant::now();
    eprintln!("$ cargo fuzz run {target} ({minutes} min)");
    let status = Command::new("cargo")
        .current_dir(&fuzz)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "--jobs", "1", target])
        .arg(&work)
        .arg(fuzz.join("corpus").join(target))
        .args(["--", &format!("-max_total_time={seconds}"), "-timeout=10", "-rss_limit_mb=4096"])
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .status()
        .context("could not run cargo fuzz")?;
    let elapsed = started.elapsed().as_secs();
    let found = count(&artifacts) - before;
    let line = format!(
        "{target}: ran {}m{:02}s, {} inputs in its working corpus, {found} new crash(es){}",
        elapsed / 60,
        elapsed % 60,
        count(&work),
        if status.success() { String::new() } else { format!(" (libFuzzer: {status})") }
    );
    eprintln!("{line}");
    Ok(line)
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.flatten().count()).unwrap_or(0)
}

/// Writes the seed corpus from `fixtures/` (and a few hand-written values); returns how many
/// files it wrote. Existing files are left alone.
fn seed(root: &Path) -> Result<usize> {
    let fixtures = root.join("fixtures");
    let corpus = root.join("fuzz").join("corpus");
    let read = |rel: &str| -> Result<Vec<u8>> {
        std::fs::read(fixtures.join(rel)).with_context(|| format!("reading fixtures/{rel}"))
    };
    let mut seeds: Vec<(&str, String, Vec<u8>)> = Vec::new();
    for rel in ["exports/full.xml", "exports/partial.xml", "bad/truncated.xml"] {
        seeds.push(("xml_bundle", file_name(rel), read(rel)?));
    }
    seeds.push(("xml_bundle", "doctype.xml".into(), DOCTYPE.to_vec()));
    for rel in ["exports/full.json", "exports/partial.json", "bad/malformed.json"] {
        seeds.push(("json_bundle", file_name(rel), read(rel)?));
    }
    // The shapes the fixtures lack, as the writers write them: sections out of the usual
    // order, an empty session, repeated children that are not adjacent (JSON `#children`), an
    // element between items (`$root`), a newline by reference, webapi before oAuth.
    let ordered = format_xml::read_bundle(ORDERED).context("the ordered seed reads")?;
    seeds.push(("xml_bundle", "ordered.xml".into(), format_xml::write_bundle(&ordered)));
    seeds.push(("json_bundle", "ordered.json".into(), format_json::write_bundle(&ordered)));
    for (i, rel) in native_files().iter().enumerate() {
        let path = fixtures.join("server-folder/cwd").join(rel);
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let mut input = vec![i as u8];
        input.extend(bytes);
        seeds.push(("native_file", file_name(rel), input));
    }
    for (i, value) in SEALED.iter().enumerate() {
        seeds.push(("sealed_value", format!("value-{i}"), value.as_bytes().to_vec()));
    }
    for (tag, rel) in [(0u8, "exports/full.secrets.json"), (1u8, "exports/full.secrets.toml")] {
        let mut input = vec![tag];
        input.extend(read(rel)?);
        seeds.push(("secrets_file", file_name(rel), input));
    }
    seeds.push(("secrets_file", "nested.json".into(), b"\0{\"a\":{\"b\":\"x\"},\"c\":1}".to_vec()));
    seeds.push(("secrets_file", "nested.toml".into(), b"\x01[a]\nb = \"x\"\nc = 1\n".to_vec()));
    let mut written = 0;
    for (target, name, bytes) in seeds {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("seed-{name}"));
        if !path.exists() {
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            written += 1;
        }
    }
    Ok(written)
}

/// The native files in the order `fuzz_targets::native_file` numbers them.
fn native_files() -> Vec<&'static str> {
    SectionId::ALL.into_iter().flat_map(|s| s.native_files().iter().copied()).collect()
}

fn file_name(rel: &str) -> String {
    PathBuf::from(rel).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

const DOCTYPE: &[u8] = b"<?xml version=\"1.0\"?>\n<!DOCTYPE jims_export [<!ENTITY a \"aaaa\">]>\n\
<jims_export format_version=\"1\" scope=\"partial\"><section id=\"session\"><cache><config \
probe_timeout=\"&a;\"/></cache></section></jims_export>\n";

const ORDERED: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<jims_export format_version="1" scope="partial" passwords="included">
  <section id="session"><cache/></section>
  <section id="event_sources">
    <event_sources>
      <event_source id="DC1" description="one">
        <domain_controller server="10.0.0.1" username="CORP\svc" password=""/>
        <filter a="1"/><tag/><filter a="2"/>
      </event_source>
      <note>between items</note>
      <event_source id="DC2" description="two&#10;lines">
        <domain_controller server="10.0.0.2" username="CORP\svc" password="{capi} 1,0100"/>
      </event_source>
    </event_sources>
  </section>
  <section id="srx_clients">
    <SRXes>
      <SRX id="SRX1" description="edge" address="10.1.1.1" ipv6_reports="false">
        <webapi user="api" http_port="8080"><password fswSpi1="{fsw} 1,c3eb"/></webapi>
        <oAuth id="srx" token_lifetime="28800"><password fswSpi1="{fsw} 1,c3eb"/></oAuth>
        <query cert_hash="" response_timeout_ms="2500"/>
      </SRX>
    </SRXes>
  </section>
</jims_export>
"#;

const SEALED: [&str; 6] = [
    "{aesgcm} 1,3b7e2f0c9d1a4e58,00112233445566778899aabbccddeeff00112233445566778899aabb",
    "{aesgcm} 1,,",
    "{fsw} 1,ab",
    "{capi} AQAAANCMnd8BFdERjHoAwE",
    "hunter2",
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
];
