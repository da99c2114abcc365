//! The committed fixtures under `fixtures/`: a realistic full export in both formats with its
//! secrets file, a partial export, a server configuration folder, and bad inputs. Deterministic:
//! running `cargo xtask gen-fixtures` twice writes the same bytes.

use std::path::Path;

use anyhow::{Context, Result};
use model::{Configuration, Element, Export, Scope, SectionId};

use samples::{self as synth, Rng, Shape};

/// The exporting server of the fixtures (a fictional headquarters JIMS).
const SERVER_ID: &str = "jims-hq-01";
const KEY_ID: &str = "3b7e2f0c9d1a4e58";

fn write(path: &Path, data: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))
}

fn realistic() -> (Configuration, Vec<(String, String)>) {
    let mut rng = Rng::new(20261126);
    let shape = Shape {
        domain_controllers: 40,
        exchange_servers: 6,
        user_directories: 12,
        srx_clients: 24,
        cso_clients: 3,
    };
    let config = synth::configuration(&shape, &mut rng);
    let secrets = synth::secret_entries(&config, &mut rng);
    (config, secrets)
}

/// Writes every fixture under `dir`.
pub(crate) fn write_all(dir: &Path) -> Result<()> {
    let (config, secrets) = realistic();
    let full = synth::export(config.clone(), SERVER_ID, KEY_ID);
    let exports = dir.join("exports");
    write(&exports.join("full.xml"), format_xml::write_bundle(&full))?;
    write(&exports.join("full.json"), format_json::write_bundle(&full))?;
    write(&exports.join("full.secrets.toml"), synth::secrets_toml(&secrets))?;
    write(&exports.join("full.secrets.json"), synth::secrets_json(&secrets))?;

    // The brief's partial example: user directories and templates only.
    let mut partial_config = Configuration::new();
    for id in [SectionId::UserDirectories, SectionId::Templates] {
        partial_config.insert(config.get(id).expect("full").clone());
    }
    let partial = synth::export(partial_config, SERVER_ID, KEY_ID);
    assert_eq!(partial.scope(), Scope::Partial);
    write(&exports.join("partial.xml"), format_xml::write_bundle(&partial))?;
    write(&exports.join("partial.json"), format_json::write_bundle(&partial))?;

    let folder = dir.join("server-folder");
    if folder.exists() {
        std::fs::remove_dir_all(&folder)?;
    }
    for (rel, bytes) in format_xml::folder::folder_files(&config) {
        write(&folder.join(rel), bytes)?;
    }

    write_bad(&dir.join("bad"), &full)?;
    eprintln!("fixtures written under {}", dir.display());
    Ok(())
}

/// Bad inputs, one per problem an import must refuse with exit 2.
fn write_bad(dir: &Path, full: &Export) -> Result<()> {
    let xml = format_xml::write_bundle(full);
    let text = String::from_utf8(xml.clone()).expect("writer writes UTF-8");
    write(&dir.join("truncated.xml"), &xml[..xml.len() / 2])?;
    let json = format_json::write_bundle(full);
    let mut malformed = json[..json.len() / 3].to_vec();
    malformed.extend_from_slice(b",,\n}");
    write(&dir.join("malformed.json"), malformed)?;
    let mut bad_utf8 = xml;
    let at = text.find("Domain controller 1 ").expect("fixture has DC1") + 7;
    bad_utf8[at] = 0xff;
    write(&dir.join("invalid-utf8.xml"), bad_utf8)?;
    let mut rng = Rng::new(7);
    let garbage: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    write(&dir.join("garbage.bin"), garbage)?;
    write(
        &dir.join("wrong-root.xml"),
        text.replacen("<jims_export", "<jims_backup", 1)
            .replace("</jims_export>", "</jims_backup>"),
    )?;
    write(
        &dir.join("unknown-version.xml"),
        text.replacen("format_version=\"1\"", "format_version=\"2\"", 1),
    )?;

    let mut dup = full.clone();
    let events = dup.configuration.get_mut(SectionId::EventSources).expect("full");
    let copy = events.files[0].root.children[1].clone();
    events.files[0].root.children.push(copy);
    write(&dir.join("duplicate-ids.xml"), format_xml::write_bundle(&dup))?;

    let mut many = full.clone();
    let events = many.configuration.get_mut(SectionId::EventSources).expect("full");
    let root = &mut events.files[0].root;
    let template = root.children[1].clone();
    let mut n = root.children.len();
    while root.children.len() < 101 {
        n += 1;
        let mut e = template.clone();
        e.set_attr("id", format!("DCX{n}"));
        root.children.push(e);
    }
    write(&dir.join("too-many-event-sources.xml"), format_xml::write_bundle(&many))?;

    let mut dangling = full.clone();
    let events = dangling.configuration.get_mut(SectionId::EventSources).expect("full");
    events.files[0].root.children[1].set_attr("template", "no-such-template");
    write(&dir.join("dangling-template.xml"), format_xml::write_bundle(&dangling))?;

    // A partial export of event sources only, whose items use templates the file does not
    // carry: valid against a target that has them, dangling against an empty one.
    let mut only_events = Configuration::new();
    only_events.insert(full.configuration.get(SectionId::EventSources).expect("full").clone());
    let only_events = synth::export(only_events, SERVER_ID, KEY_ID);
    write(&dir.join("events-without-templates.xml"), format_xml::write_bundle(&only_events))?;

    write(&dir.join("missing-holders.xml"), format_xml::write_bundle(&missing_holders(full)))?;
    Ok(())
}

/// A partial export breaking each rule about credential holders and template kinds: an event
/// source with no `domain_controller`/`exchange_server` and one with both, a user directory
/// with no `active_directory`, templates of an unknown kind and of none, an SRX with no `oAuth`.
fn missing_holders(full: &Export) -> Export {
    let section = |id: SectionId| full.configuration.get(id).expect("full").clone();
    let mut config = Configuration::new();

    let mut events = section(SectionId::EventSources);
    let root = &mut events.files[0].root;
    root.children.truncate(2);
    root.children[0].children.clear();
    let exchange = Element::new("exchange_server")
        .with_attr("server", "mail1.corp.example")
        .with_attr("initial_timespan", "12")
        .with_attr("username", "CORP\\JIMS-EventLogReader")
        .with_attr("password", "");
    root.children[1].children.push(exchange);
    for item in &mut root.children {
        item.remove_attr("template");
    }
    config.insert(events);

    let mut directories = section(SectionId::UserDirectories);
    let root = &mut directories.files[0].root;
    root.children.truncate(1);
    root.children[0].children.clear();
    root.children[0].remove_attr("template");
    config.insert(directories);

    let mut templates = section(SectionId::Templates);
    let root = &mut templates.files[0].root;
    root.children.truncate(2);
    root.children[0].set_attr("kind", "domain_controller");
    root.children[1].remove_attr("kind");
    root.children[1].set_attr("id", "no-kind");
    root.children[1].set_attr("description", "A template without a kind");
    config.insert(templates);

    let mut srx = section(SectionId::SrxClients);
    let root = &mut srx.files[0].root;
    root.children.truncate(1);
    root.children[0].children.retain(|c| c.name != "oAuth");
    config.insert(srx);

    synth::export(config, SERVER_ID, KEY_ID)
}
