//! A scenario builder: the emulator's seed, the `[[certificate]]` tables and any extra config,
//! then `start()` → a running Pebble + challtestsrv + emulator and a written config (a [`Rig`]).
//!
//! ```ignore
//! let rig = Scenario::new()
//!     .seed(|s| s.zone("example.com").cdn_domain("www.example.com"))
//!     .certificate("www", &["www.example.com"])
//!     .target(cdn("www.example.com"))
//!     .start()
//!     .await;
//! let run = rig.invoke("{}").await;
//! assert_eq!(run.ok().certificate("www").status, "issued");
//! ```
#![allow(dead_code)]

use super::emulator::Seed;
use super::pebble::Pebble;
use super::rig::Rig;

/// The account key location most tests use: in the state bucket the rig creates.
pub const OSS_KEY: &str = "oss://alicert-state/acme/account.pem";

/// Certificate `www` on a CDN domain, an OSS bucket domain, an FC 3 custom domain and an ALB
/// listener ([`four_kinds_seed`] seeds them): one target of each calling style (RPC with a
/// domain resource, OSS, ROA, an asynchronous listener), as the RAM policy tests need.
pub const FOUR_KINDS: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [
  { kind = "cdn", domain = "www.example.com" },
  { kind = "oss", bucket = "web", domain = "www.example.com" },
  { kind = "fc", domain = "www.example.com" },
  { kind = "alb", listener_id = "lsn-1" },
]
"#;

/// What [`FOUR_KINDS`] deploys to.
pub fn four_kinds_seed() -> Seed {
    Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com")
        .bucket("web")
        .oss_cname("web", "www.example.com")
        .fc_domain("www.example.com")
        .alb_listener("lsn-1")
}

/// One entry of a certificate's `targets` list, as a TOML inline table.
#[derive(Debug, Clone)]
pub struct Target(String);

impl Target {
    /// Any inline table, e.g. `Target::toml(r#"{ kind = "alb", listener_id = "lsn-1" }"#)`.
    pub fn toml(table: &str) -> Target {
        Target(table.to_string())
    }
}

pub fn cas() -> Target {
    Target::toml(r#"{ kind = "cas" }"#)
}

pub fn cdn(domain: &str) -> Target {
    Target(format!(r#"{{ kind = "cdn", domain = "{domain}" }}"#))
}

pub fn apigateway(group_id: &str, domain: &str) -> Target {
    Target(format!(
        r#"{{ kind = "apigateway", group_id = "{group_id}", domain = "{domain}" }}"#
    ))
}

struct Certificate {
    name: String,
    domains: Vec<String>,
    options: Vec<String>,
    targets: Vec<Target>,
}

pub struct Scenario {
    seed: Seed,
    account_key: String,
    certificates: Vec<Certificate>,
    config: String,
    pebble: Option<Pebble>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::new()
    }
}

impl Scenario {
    /// An empty seed (the rig adds the access key, the state bucket and challtestsrv), the
    /// account key at [`OSS_KEY`], no certificate.
    pub fn new() -> Scenario {
        Scenario {
            seed: Seed::default(),
            account_key: OSS_KEY.to_string(),
            certificates: Vec::new(),
            config: String::new(),
            pebble: None,
        }
    }

    /// The most common case: zone example.com with CDN domain www.example.com, and certificate
    /// `www` for it deployed there.
    pub fn www_on_cdn() -> Scenario {
        Scenario::new()
            .seed(|s| s.zone("example.com").cdn_domain("www.example.com"))
            .certificate("www", &["www.example.com"])
            .target(cdn("www.example.com"))
    }

    /// Certificate `www` on CAS and the CDN, and certificate `second` on the CDN domain
    /// `<second>.example.com` (both CDN domains seeded in zone example.com).
    pub fn www_and(second: &str) -> Scenario {
        let domain = format!("{second}.example.com");
        Scenario::new()
            .seed(|s| {
                s.zone("example.com")
                    .cdn_domain("www.example.com")
                    .cdn_domain(&domain)
            })
            .certificate("www", &["www.example.com"])
            .target(cas())
            .target(cdn("www.example.com"))
            .certificate(second, &[&domain])
            .target(cdn(&domain))
    }

    /// A seed and a config body written as TOML (certificates and any other sections).
    pub fn from_toml(seed: Seed, toml: &str) -> Scenario {
        Scenario::new().seed(|_| seed).config(toml)
    }

    /// Changes the emulator's seed.
    pub fn seed(mut self, f: impl FnOnce(Seed) -> Seed) -> Scenario {
        self.seed = f(self.seed);
        self
    }

    /// `[acme] account_key` (default [`OSS_KEY`]).
    pub fn account_key(mut self, location: &str) -> Scenario {
        self.account_key = location.to_string();
        self
    }

    /// Starts a `[[certificate]]` table; [`Scenario::target`] and [`Scenario::option`] add to it.
    pub fn certificate(mut self, name: &str, domains: &[&str]) -> Scenario {
        self.certificates.push(Certificate {
            name: name.to_string(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            options: Vec::new(),
            targets: Vec::new(),
        });
        self
    }

    /// A target of the last certificate.
    pub fn target(mut self, target: Target) -> Scenario {
        self.last().targets.push(target);
        self
    }

    /// A `key = value` line (TOML) in the last certificate's table, e.g. `reuse_key = true`.
    pub fn option(mut self, line: &str) -> Scenario {
        self.last().options.push(line.to_string());
        self
    }

    /// TOML appended after the certificates (more `[[certificate]]` tables, `[notify]`, …).
    pub fn config(mut self, toml: &str) -> Scenario {
        self.config.push_str(toml);
        self.config.push('\n');
        self
    }

    /// Runs against this Pebble instead of a fresh default one.
    pub fn pebble(mut self, pebble: Pebble) -> Scenario {
        self.pebble = Some(pebble);
        self
    }

    fn last(&mut self) -> &mut Certificate {
        self.certificates
            .last_mut()
            .expect("Scenario::certificate before its targets and options")
    }

    /// The config body after the generated `[acme]`/`[aliyun]`/`[dns]` sections.
    pub fn body(&self) -> String {
        let mut out = String::new();
        for c in &self.certificates {
            let domains: Vec<String> = c.domains.iter().map(|d| format!("\"{d}\"")).collect();
            let targets: Vec<&str> = c.targets.iter().map(|t| t.0.as_str()).collect();
            out.push_str(&format!(
                "\n[[certificate]]\nname = \"{}\"\ndomains = [{}]\n",
                c.name,
                domains.join(", ")
            ));
            for line in &c.options {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(&format!("targets = [{}]\n", targets.join(", ")));
        }
        out.push_str(&self.config);
        out
    }

    pub async fn start(self) -> Rig {
        let body = self.body();
        let pebble = match self.pebble {
            Some(p) => p,
            None => super::pebble::start().await,
        };
        Rig::with_pebble(pebble, self.seed, &self.account_key, &body).await
    }
}
