//! `passwords --emit FILE` into a file that exists: every key and value typed by hand is kept,
//! the missing keys are added empty (atomically, mode 0600); a file that is no secrets file is
//! refused; `--force` overwrites.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{run, tmp};

fn emit(target: &str, file: &Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["passwords", "exports/partial.xml", "--target", target, "--emit"];
    args.push(file.to_str().unwrap());
    args.extend(extra);
    run(&args)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn emitting_into_a_file_keeps_every_typed_password_and_adds_the_missing_keys() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    for ext in ["toml", "json"] {
        let file = dir.path().join(format!("s.{ext}"));
        // What a person has typed so far: two of the seven passwords, one of them in a nested
        // table, one key of their own that no row asks for, and a value with a quote.
        let typed = if ext == "toml" {
            "# my passwords\n\"user_directories/AD4\" = \"Typed-AD4 \\\"q\\\"\"\n\n\
             [templates]\nad-readers = \"Typed-ad-readers\"\n\n[account]\n\"CORP\\\\x\" = \"Typed-own\"\n"
        } else {
            "{\"user_directories/AD4\": \"Typed-AD4 \\\"q\\\"\", \"templates\": \
             {\"ad-readers\": \"Typed-ad-readers\"}, \"account\": {\"CORP\\\\x\": \"Typed-own\"}}"
        };
        std::fs::write(&file, typed).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = emit(&target, &file, &[]);
        assert_eq!(r.code, 3, "{ext}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains(&format!(
                "Added 5 keys to fill in to {}, keeping its 3 keys",
                file.display()
            )),
            "{ext}: {}",
            r.stdout
        );
        for secret in ["Typed-AD4", "Typed-ad-readers", "Typed-own"] {
            assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret), "{secret} printed");
        }
        assert_eq!(mode(&file), 0o600, "{ext}: the file holds passwords");

        // The typed values answer as before, and the other rows are now in the file, empty.
        let spec = format!("file:{}", file.display());
        let r = run(&[
            "passwords",
            "exports/partial.xml",
            "--target",
            &target,
            "--secrets",
            &spec,
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 3, "{ext}: {}", r.stderr);
        let v = r.json();
        assert_eq!(v["fixed"], 2, "{ext}: {v}");
        let text = std::fs::read_to_string(&file).unwrap();
        for leaf in ["AD8", "AD12", "dc-readers", "exchange-readers", "probe-admins"] {
            assert!(text.contains(leaf), "{ext}: {leaf} added:\n{text}");
        }
        assert!(text.contains("Typed-own"), "{ext}: a key no row asks for is kept:\n{text}");

        // Again: nothing to add, and the file is left byte for byte.
        let before = std::fs::read(&file).unwrap();
        let r = emit(&target, &file, &[]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stdout.contains("already has every key to fill in"), "{}", r.stdout);
        assert_eq!(std::fs::read(&file).unwrap(), before);
    }
}

#[test]
fn force_overwrites_and_a_file_that_is_no_secrets_file_is_refused() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    for ext in ["toml", "json"] {
        let file = dir.path().join(format!("bad.{ext}"));
        let broken = "this is = = not { a secrets file Typed-secret";
        std::fs::write(&file, broken).unwrap();
        let r = emit(&target, &file, &[]);
        assert_eq!(r.code, 2, "{ext}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("is not a usable secrets file"), "{}", r.stderr);
        assert!(r.stderr.contains("--force overwrites it"), "{}", r.stderr);
        assert!(!r.stderr.contains("Typed-secret"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), broken, "left as it was");

        let r = emit(&target, &file, &["--force"]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stdout.contains("Wrote 7 keys to fill in"), "{}", r.stdout);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("Typed-secret") && text.contains("probe-admins"), "{text}");
        assert_eq!(mode(&file), 0o600);
    }
    let r = run(&["passwords", "exports/partial.xml", "--target", &target, "--force"]);
    assert_eq!(r.code, 2, "--force needs --emit: {}", r.stderr);
}
