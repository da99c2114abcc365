//! Secrets under stress (issue 7): after an import has finished, no password it handled is left
//! in the process's memory. A child process (this test binary, run again for one test) imports
//! the full fixture with its secrets file (JSON, then TOML) through the library, drops
//! everything, then reads every readable mapping of its own address space through
//! `/proc/self/mem` and looks for the passwords: the secrets file's (resolved from a source)
//! and the export's plaintext ones. A password planted on purpose shows that the scan sees.
//!
//! The scan never holds a password in clear: the passwords are read from the files into wiped
//! buffers and kept masked (XOR), and memory is compared masked. No core dump is involved.

use std::io::{BufRead, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

const CHILD: &str = "PIPELINE_IT_MEMORY_CHILD";
const MASK: u8 = 0xA5;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(rel)
}

/// The passwords of `file`: every `"` `…` `"` value that starts with `prefix`, masked. The
/// file is read into a buffer that is wiped when dropped.
fn masked_values(file: &Path, prefix: &[u8], out: &mut Vec<Vec<u8>>) {
    let mut f = std::fs::File::open(file).unwrap();
    let len = f.metadata().unwrap().len() as usize;
    let mut bytes = Zeroizing::new(Vec::with_capacity(len + 1));
    f.read_to_end(&mut bytes).unwrap();
    let mut i = 0;
    while i + prefix.len() < bytes.len() {
        if bytes[i] == b'"' && bytes[i + 1..].starts_with(prefix) {
            let start = i + 1;
            let end = start + bytes[start..].iter().position(|&b| b == b'"').unwrap();
            let masked: Vec<u8> = bytes[start..end].iter().map(|b| b ^ MASK).collect();
            if !out.contains(&masked) {
                out.push(masked);
            }
            i = end;
        }
        i += 1;
    }
}

/// Where each masked needle occurs in this process's readable memory: (mapping, offset, index
/// of the needle). Needles are found by their unmasked `prefix`, which is not secret.
fn scan_memory(needles: &[Vec<u8>], prefixes: &[&[u8]]) -> Vec<(String, usize, usize)> {
    let maps = std::fs::File::open("/proc/self/maps").unwrap();
    let regions: Vec<(u64, u64, String)> = std::io::BufReader::new(maps)
        .lines()
        .map(|l| l.unwrap())
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let range = parts.next()?;
            let perms = parts.next()?;
            let name = parts.nth(3).unwrap_or("").to_owned();
            if !perms.starts_with('r') || name == "[vvar]" || name == "[vsyscall]" {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?, name))
        })
        .collect();
    let mem = std::fs::File::open("/proc/self/mem").unwrap();
    let longest = needles.iter().map(Vec::len).max().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut found = Vec::new();
    for (start, end, name) in &regions {
        let mut at = *start;
        while at < *end {
            let want = ((*end - at) as usize).min(buf.len());
            let Ok(n) = mem.read_at(&mut buf[..want], at) else { break };
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            for i in 0..n {
                for prefix in prefixes {
                    if !chunk[i..].starts_with(prefix) {
                        continue;
                    }
                    for (k, needle) in needles.iter().enumerate() {
                        let hit = chunk.len() >= i + needle.len()
                            && chunk[i..i + needle.len()]
                                .iter()
                                .zip(needle)
                                .all(|(m, x)| m ^ MASK == *x);
                        if hit {
                            found.push((name.clone(), (at - start) as usize + i, k));
                        }
                    }
                }
            }
            // Overlap so that a needle across two reads is still seen.
            let step = if n > longest { n - longest } else { n };
            at += step as u64;
        }
    }
    buf.iter_mut().for_each(|b| *b = 0);
    found
}

/// The import, in the child: then the scan.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut needles = Vec::new();
    masked_values(&fixture("exports/full.secrets.json"), b"Fx-", &mut needles);
    let from_sources = needles.len();
    masked_values(&fixture("exports/full.xml"), b"Plain-", &mut needles);
    assert!(from_sources >= 10 && needles.len() > from_sources, "{}", needles.len());
    let prefixes: [&[u8]; 2] = [b"Fx-", b"Plain-"];
    let before = scan_memory(&needles, &prefixes);
    assert!(before.is_empty(), "passwords in memory before the import: {before:?}");

    let dir = tempfile::tempdir().unwrap();
    for (n, file) in ["exports/full.secrets.json", "exports/full.secrets.toml"].iter().enumerate() {
        let spec = format!("file:{}", fixture(file).display());
        let source =
            secrets::builtin_source(&spec, &secrets::SourceOptions::default()).unwrap().unwrap();
        let chain = secrets::Chain::new(vec![source]);
        let outcome = pipeline::import(
            &fixture("exports/full.xml"),
            &dir.path().join(format!("t{n}")),
            &pipeline::ImportOptions::default(),
            &chain,
            None,
            &pipeline::NonInteractive,
        )
        .unwrap();
        assert_eq!(outcome.status, pipeline::Status::Imported);
        assert!(outcome.table.fixed() >= from_sources, "the sources were asked");
    }
    // Everything the import made is dropped; the sealed target is on disk.
    let after = scan_memory(&needles, &prefixes);
    let report: Vec<String> = after
        .iter()
        .map(|(region, offset, k)| format!("password #{k} in {region:?} at +{offset:#x}"))
        .collect();
    assert!(report.is_empty(), "left in memory after the import:\n{}", report.join("\n"));
    // The scan does see a password that is left in memory: one unmasked on purpose.
    let mut planted: Vec<u8> = needles[3].iter().map(|b| b ^ MASK).collect();
    let seen = scan_memory(&needles, &prefixes);
    planted.iter_mut().for_each(|b| *b = 0);
    assert!(seen.iter().any(|(_, _, k)| *k == 3), "the scan misses a planted password");
    println!("memory-scan-clean: {} passwords, none left", needles.len());
}

#[test]
fn no_password_stays_in_memory_after_an_import() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["memory::child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("memory-scan-clean:"), "the child did not scan: {stdout}\n{stderr}");
}
