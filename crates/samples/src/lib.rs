//! Realistic synthetic JIMS configurations, deterministic from a seed: the one generator of
//! sample configurations for the tests, the benches and `cargo xtask` (fixtures, bench exports).
//!
//! [`configuration`] builds a configuration of a given [`Shape`] from an [`Rng`];
//! [`realistic_export`] is the ~100 KB full export the tests and benches share; [`parts`] has
//! the small item builders that tests assemble by hand. The model only: no format, no file.

use std::fmt::Write as _;

use model::{Configuration, Element, Export, Header, PasswordsMode, Scope, Section, SectionId};

/// SplitMix64: small, fast, deterministic; good enough for fixtures.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `bytes` random bytes as lowercase hex.
    pub fn hex(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        while s.len() < bytes * 2 {
            let _ = write!(s, "{:016x}", self.next_u64());
        }
        s.truncate(bytes * 2);
        s
    }
}

/// The shape of a generated configuration.
pub struct Shape {
    /// Event sources that read a domain controller.
    pub domain_controllers: usize,
    /// Event sources that read an Exchange server.
    pub exchange_servers: usize,
    /// User directories (user info sources).
    pub user_directories: usize,
    /// SRX clients, each with oAuth and web API secrets.
    pub srx_clients: usize,
    /// CSO clients.
    pub cso_clients: usize,
}

impl Shape {
    /// About 100 KB of XML at scale 1 for synthetic exports.
    pub fn synthetic(scale: usize) -> Shape {
        Shape {
            domain_controllers: (80 * scale).min(90),
            exchange_servers: 10,
            user_directories: (60 * scale).min(100),
            srx_clients: 100 * scale,
            cso_clients: 10,
        }
    }
}

/// A configuration as a real, mid-sized JIMS deployment would export it from `server_key_id`'s
/// machine: templates shared by many sources, DPAPI and JIMS-internal secrets, some plaintext,
/// SRX clients with oAuth and web API secrets, and fields from a newer JIMS that jimsctl does not
/// know (`site`, `tls_min`, `<filter>`).
pub fn configuration(shape: &Shape, rng: &mut Rng) -> Configuration {
    let mut c = Configuration::new();
    let capi = |rng: &mut Rng| {
        format!("{{capi}} 1,01000000d08c9ddf0115d1118c7a00c04fc297eb{}", rng.hex(46))
    };
    let fsw = |rng: &mut Rng| format!("{{fsw}} 1,{}", rng.hex(24));

    let mut templates = Element::new("templates");
    for (id, description, kind, user) in [
        (
            "dc-readers",
            "Event log readers (domain controllers)",
            "event_source",
            "CORP\\JIMS-EventLogReader",
        ),
        (
            "exchange-readers",
            "Event log readers (Exchange)",
            "event_source",
            "CORP\\JIMS-EventLogReader",
        ),
        ("ad-readers", "Directory readers", "user_directory", "CORP\\JIMS-ADRemoteAccess"),
        ("probe-admins", "PC probe accounts", "pc_probe", "CORP\\JIMS-PCProbe"),
    ] {
        templates.children.push(
            Element::new("template")
                .with_attr("id", id)
                .with_attr("description", description)
                .with_attr("kind", kind)
                .with_attr("username", user)
                .with_attr("password", capi(rng)),
        );
    }

    let mut events = Element::new("event_sources");
    for i in 1..=shape.domain_controllers {
        let site = ["hq", "branch-east", "branch-west", "dc-north"][i % 4];
        let mut item = Element::new("event_source")
            .with_attr("id", format!("DC{i}"))
            .with_attr("description", format!("Domain controller {i} ({site})"))
            .with_attr("site", site);
        let mut dc = Element::new("domain_controller")
            .with_attr("server", format!("10.{}.{}.{}", i / 200, (i / 10) % 20, 10 + i % 200))
            .with_attr("initial_timespan", "24")
            .with_attr("tls_min", "1.2");
        match i % 10 {
            // Most use the shared template and carry no password of their own.
            0 => {
                dc = dc.with_attr("username", "CORP\\JIMS-DCAudit").with_attr("password", capi(rng))
            }
            3 => {
                dc = dc
                    .with_attr("username", "CORP\\JIMS-EventLogReader")
                    .with_attr("password", format!("Plain-{}", rng.hex(6)))
            }
            _ => {
                item = item.with_attr("template", "dc-readers");
                dc = dc.with_attr("username", "").with_attr("password", "");
            }
        }
        item.children.push(dc);
        if i % 7 == 0 {
            item.children.push(Element::new("filter").with_attr("event_ids", "4624,4634,4768"));
        }
        events.children.push(item);
    }
    for i in 1..=shape.exchange_servers {
        events.children.push(
            Element::new("event_source")
                .with_attr("id", format!("EX{i}"))
                .with_attr("description", format!("Exchange server {i}"))
                .with_attr("template", "exchange-readers")
                .with_child(
                    Element::new("exchange_server")
                        .with_attr("server", format!("mail{i}.corp.example"))
                        .with_attr("initial_timespan", "12"),
                ),
        );
    }

    let mut dirs = Element::new("user_info_sources");
    for i in 1..=shape.user_directories {
        let mut item = Element::new("user_info_source")
            .with_attr("id", format!("AD{i}"))
            .with_attr("description", format!("Forest {i}"));
        let mut ad = Element::new("active_directory")
            .with_attr("server", format!("ad{i}.corp.example"))
            .with_attr("ssl", if i % 3 == 0 { "off" } else { "on" })
            .with_attr("priority", (i % 5).to_string())
            .with_attr("base_dn", format!("DC=forest{i},DC=corp,DC=example"))
            .with_attr("domain", format!("FOREST{i}"));
        if i % 4 == 0 {
            ad = ad
                .with_attr("username", format!("FOREST{i}\\JIMS-ADRemoteAccess"))
                .with_attr("password", capi(rng));
        } else {
            item = item.with_attr("template", "ad-readers");
            ad = ad.with_attr("password", "");
        }
        item.children.push(ad);
        dirs.children.push(item);
    }

    let mut probe =
        Element::new("pc_probe").with_attr("enabled", "true").with_attr("timeout_ms", "5000");
    probe.children.push(
        Element::new("credential").with_attr("id", "P1").with_attr("template", "probe-admins"),
    );
    probe.children.push(
        Element::new("credential")
            .with_attr("id", "P2")
            .with_attr("username", "CORP\\helpdesk-probe")
            .with_attr("password", fsw(rng)),
    );

    let mut syslog = Element::new("syslog_sources");
    for (i, (proto, port)) in [("udp", "514"), ("tcp", "514"), ("tls", "6514")].iter().enumerate() {
        syslog.children.push(
            Element::new("syslog_source")
                .with_attr("id", format!("SYS{}", i + 1))
                .with_attr("description", format!("Syslog collector {}", i + 1))
                .with_attr("address", format!("10.20.0.{}", i + 1))
                .with_attr("protocol", *proto)
                .with_attr("port", *port),
        );
    }

    let mut srxes = Element::new("SRXes");
    for i in 1..=shape.srx_clients {
        let mut srx = Element::new("SRX")
            .with_attr("id", format!("SRX{i}"))
            .with_attr("description", format!("edge-{i}"))
            .with_attr("address", format!("10.{}.{}.1", 1 + i / 250, i % 250))
            .with_attr("ipv6_reports", if i % 2 == 0 { "true" } else { "false" })
            .with_child(
                Element::new("oAuth")
                    .with_attr("id", format!("srx-edge-{i}"))
                    .with_attr("token_lifetime", "28800")
                    .with_child(Element::new("password").with_attr("fswSpi1", fsw(rng))),
            );
        if i % 3 == 0 {
            srx.children.push(
                Element::new("webapi")
                    .with_attr("user", "jims-api")
                    .with_attr("http_port", "8080")
                    .with_attr("https", "true")
                    .with_attr("https_port", "8443")
                    .with_attr("max_rate", "100")
                    .with_attr("timeout_ms", "5000")
                    .with_attr("exclude_device_only", "false")
                    .with_child(Element::new("password").with_attr("fswSpi1", fsw(rng))),
            );
        }
        srx.children.push(
            Element::new("query")
                .with_attr("cert_hash", if i % 5 == 0 { rng.hex(20) } else { String::new() })
                .with_attr("response_timeout_ms", "2500"),
        );
        srxes.children.push(srx);
    }

    let mut csos = Element::new("CSOs");
    for i in 1..=shape.cso_clients {
        csos.children.push(
            Element::new("CSO")
                .with_attr("id", format!("CSO{i}"))
                .with_attr("description", format!("Contrail Service Orchestration {i}"))
                .with_attr("address", format!("cso{i}.corp.example"))
                .with_attr("username", "jims-cso")
                .with_child(Element::new("password").with_attr("fswSpi1", capi(rng))),
        );
    }

    let cache = Element::new("cache").with_child(
        Element::new("config")
            .with_attr("probe_timeout", "480")
            .with_attr("state_timeout", "86400")
            .with_attr("incomplete_timeout_ms", "30000"),
    );

    let transport = |id: &str, port: &str, address: &str| {
        Element::new("transport")
            .with_attr("id", id)
            .with_attr("port", port)
            .with_attr("address", address)
            .with_attr("ipv6", "false")
            .with_attr("dual_stack", "true")
            .with_attr("keep_alive", "true")
            .with_attr("max_active_messengers", "64")
            .with_attr("connections_per_thread", "16")
            .with_attr("disabled", "false")
            .with_attr("force_listen", "false")
            .with_attr("port_environment_variable", "")
    };
    let transports = Section {
        id: SectionId::Transports,
        files: vec![
            model::SectionFile {
                path: "config/clients_https.xml",
                root: Element::new("xports")
                    .with_child(transport("srx-https", "443", "0.0.0.0"))
                    .with_child(transport("cso-https", "8443", "0.0.0.0")),
            },
            model::SectionFile {
                path: "config/clients_http.xml",
                root: Element::new("xports").with_child(transport("local-http", "80", "127.0.0.1")),
            },
        ],
    };

    let mut admins = Element::new("clients");
    for (i, a) in ["127.0.0.1", "10.0.99.10", "10.0.99.11"].iter().enumerate() {
        admins.children.push(
            Element::new("client")
                .with_attr("id", format!("admin{}", i + 1))
                .with_attr("address", *a),
        );
    }

    c.insert(Section::single(SectionId::EventSources, events));
    c.insert(Section::single(SectionId::UserDirectories, dirs));
    c.insert(Section::single(SectionId::Templates, templates));
    c.insert(Section::single(SectionId::PcProbes, probe));
    c.insert(Section::single(SectionId::SyslogSources, syslog));
    c.insert(Section::single(SectionId::SrxClients, srxes));
    c.insert(Section::single(SectionId::CsoClients, csos));
    c.insert(Section::single(SectionId::Session, cache));
    c.insert(transports);
    c.insert(Section::single(SectionId::AdminClients, admins));
    c
}

/// A password for every secret the export cannot carry to another server, by its most specific
/// secret key. Templates answer for the sources that use them.
pub fn secret_entries(config: &Configuration, rng: &mut Rng) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for field in config.secret_fields() {
        let raw = config.secret_value(&field.location);
        if raw.is_empty() && field.template.is_some() {
            continue; // inherits the template's password
        }
        if model::SecretState::classify(raw) == model::SecretState::Plaintext {
            continue; // usable anywhere: sealed on import
        }
        let key = field.keys().remove(0);
        out.push((key.as_str().to_owned(), format!("Fx-{}", rng.hex(8))));
    }
    out
}

/// `entries` as a TOML secrets file, one table per key prefix.
pub fn secrets_toml(entries: &[(String, String)]) -> String {
    let mut out = String::from(
        "# Passwords for the fixture's secrets, by secret key (see docs/cli.md, `file:`).\n\
         # Synthetic values for tests and the quickstart: not real credentials.\n",
    );
    let mut current = None;
    for (key, value) in entries {
        let (table, name) = key.rsplit_once('/').expect("keys have a section");
        if current != Some(table) {
            let header = table.split('/').map(toml_key).collect::<Vec<_>>().join(".");
            let _ = writeln!(out, "\n[{header}]");
            current = Some(table);
        }
        let _ = writeln!(out, "{} = \"{value}\"", toml_key(name));
    }
    out
}

/// `entries` as a flat JSON secrets file.
pub fn secrets_json(entries: &[(String, String)]) -> String {
    let mut out = String::from("{\n");
    for (i, (key, value)) in entries.iter().enumerate() {
        let sep = if i + 1 == entries.len() { "" } else { "," };
        let _ = writeln!(out, "  \"{}\": \"{value}\"{sep}", key.replace('\\', "\\\\"));
    }
    out.push_str("}\n");
    out
}

fn toml_key(k: &str) -> String {
    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        k.to_owned()
    } else {
        format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A full export of `config` from the server `server_id` whose key id is `key_id`.
pub fn export(config: Configuration, server_id: &str, key_id: &str) -> Export {
    let scope = if config.is_full() { Scope::Full } else { Scope::Partial };
    Export {
        header: Header::new(
            scope,
            PasswordsMode::Included,
            Some(server_id),
            Some(key_id),
            Some("2026-11-26T10:00:00Z"),
        ),
        configuration: config,
    }
}

/// The ~100 KB full export (about 100 KB of XML) that the tests and benches share: the
/// configuration of [`Shape::synthetic`] at `scale`, from a fixed seed, exported by
/// `jims-hq-01`.
pub fn realistic_export(scale: usize) -> Export {
    let mut rng = Rng::new(20_261_126);
    export(configuration(&Shape::synthetic(scale), &mut rng), "jims-hq-01", "9f2c4e1a7b3d5c60")
}

pub mod parts;
