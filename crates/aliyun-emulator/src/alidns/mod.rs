//! Alidns 2015-01-09 (RPC): zones, records, and the TXT push to pebble-challtestsrv (this file);
//! the request rules in rules.rs, the actions in api.rs.
use super::*;

mod api;
mod rules;
pub(crate) use api::*;
pub(crate) use rules::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "ZoneRepr")]
pub struct Zone {
    pub name: String,
    /// Defaults to dns1/dns2.hichina.com.
    pub dns_servers: Vec<String>,
    /// Records present from the start (not counted in `records_added`).
    pub records: Vec<SeedRecord>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ZoneRepr {
    Name(String),
    Full(ZoneFull),
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ZoneFull {
    pub(crate) name: String,
    pub(crate) dns_servers: Vec<String>,
    pub(crate) records: Vec<SeedRecord>,
}

impl From<ZoneRepr> for Zone {
    fn from(r: ZoneRepr) -> Self {
        match r {
            ZoneRepr::Name(name) => Zone {
                name,
                ..Zone::default()
            },
            ZoneRepr::Full(f) => Zone {
                name: f.name,
                dns_servers: f.dns_servers,
                records: f.records,
            },
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedRecord {
    pub rr: String,
    /// Defaults to TXT.
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
    pub ttl: Option<u64>,
    pub remark: Option<String>,
}

impl Seed {
    pub fn zone(mut self, name: &str) -> Self {
        self.zones.push(Zone {
            name: name.into(),
            ..Zone::default()
        });
        self
    }
    /// The registry delegates `zone` to `name_servers` instead of Alidns's (DescribeDomainNs
    /// then reports AllAliDns false).
    pub fn zone_delegated_to(mut self, zone: &str, name_servers: &[&str]) -> Self {
        let servers = name_servers.iter().map(|s| s.to_string()).collect();
        self.zone_delegations.insert(normalize_name(zone), servers);
        self
    }
    pub fn challtestsrv(mut self, url: &str) -> Self {
        self.challtestsrv = Some(url.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneState {
    pub name: String,
    pub domain_id: String,
    pub dns_servers: Vec<String>,
    /// The name servers the registry delegates the zone to, when they are not Alidns's
    /// (`Seed::zone_delegated_to`); empty: delegated to `dns_servers`.
    pub delegated_to: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DnsRecord {
    /// Decimal string, like Alidns.
    pub record_id: String,
    /// The zone (`DomainName`).
    pub domain_name: String,
    /// Host record, lower case; `@` for the apex.
    pub rr: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
    pub ttl: u64,
    pub line: String,
    pub priority: Option<u64>,
    pub status: String,
    pub remark: Option<String>,
    /// AccessKeyId that added it (None: seeded).
    pub created_by: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl DnsRecord {
    /// Full name without trailing dot, lower case.
    pub fn fqdn(&self) -> String {
        if self.rr == "@" {
            self.domain_name.clone()
        } else {
            format!("{}.{}", self.rr, self.domain_name)
        }
    }
}

impl EmulatorState {
    /// TXT records present now.
    pub fn txt_records(&self) -> Vec<&DnsRecord> {
        self.records
            .iter()
            .filter(|r| r.record_type == "TXT")
            .collect()
    }
    /// Values of the TXT records present now at `fqdn` (trailing dot optional).
    pub fn txt_values(&self, fqdn: &str) -> Vec<String> {
        let want = normalize_name(fqdn);
        self.txt_records()
            .into_iter()
            .filter(|r| r.fqdn() == want)
            .map(|r| r.value.clone())
            .collect()
    }
    pub fn record(&self, record_id: &str) -> Option<&DnsRecord> {
        self.records.iter().find(|r| r.record_id == record_id)
    }
}

impl Inner {
    pub(crate) fn txt_values_at(&self, host: &str) -> Vec<String> {
        self.state
            .records
            .iter()
            .filter(|r| r.record_type == "TXT" && r.status == "ENABLE" && r.fqdn() == host)
            .map(|r| r.value.clone())
            .collect()
    }

    /// The (tag, value) pairs of the enabled CAA records at `host`.
    pub(crate) fn caa_policies_at(&self, host: &str) -> Vec<(String, String)> {
        self.state
            .records
            .iter()
            .filter(|r| r.record_type == "CAA" && r.status == "ENABLE" && r.fqdn() == host)
            .filter_map(|r| rules::validate_caa_value(&r.value).ok())
            .collect()
    }

    /// The push that makes challtestsrv serve `host`'s CAA records as Alidns holds them.
    pub(crate) fn caa_sync(&self, host: String) -> TxtSync {
        TxtSync::Caa {
            policies: self.caa_policies_at(&host),
            host,
        }
    }

    pub(crate) fn all_txt_resyncs(&self) -> Vec<TxtSync> {
        let hosts: HashSet<String> = self
            .state
            .records
            .iter()
            .filter(|r| r.record_type == "TXT")
            .map(|r| r.fqdn())
            .collect();
        let caa_hosts: HashSet<String> = self
            .state
            .records
            .iter()
            .filter(|r| r.record_type == "CAA")
            .map(|r| r.fqdn())
            .collect();
        let txt = hosts.into_iter().map(|h| TxtSync::Resync {
            values: self.txt_values_at(&h),
            host: h,
        });
        txt.chain(caa_hosts.into_iter().map(|h| self.caa_sync(h)))
            .collect()
    }

    pub(crate) fn zone(&self, name: &str) -> Option<&ZoneState> {
        let n = normalize_name(name);
        self.state.zones.iter().find(|z| z.name == n)
    }

    /// The seeded zone `fqdn` belongs to (longest suffix) and the RR within it.
    pub(crate) fn zone_of(&self, fqdn: &str) -> Option<(String, String)> {
        let n = normalize_name(fqdn);
        self.state
            .zones
            .iter()
            .filter(|z| n == z.name || n.ends_with(&format!(".{}", z.name)))
            .max_by_key(|z| z.name.len())
            .map(|z| {
                let rr = if n == z.name {
                    "@".to_string()
                } else {
                    n[..n.len() - z.name.len() - 1].to_string()
                };
                (z.name.clone(), rr)
            })
    }
}

pub(crate) fn seed_zones(inner: &mut Inner, seed: &Seed) {
    let now = now_ms();
    for z in &seed.zones {
        let name = normalize_name(&z.name);
        let dns_servers = if z.dns_servers.is_empty() {
            DEFAULT_DNS_SERVERS.iter().map(|s| s.to_string()).collect()
        } else {
            z.dns_servers.clone()
        };
        inner.state.zones.push(ZoneState {
            domain_id: uuid_like(),
            name: name.clone(),
            dns_servers,
            delegated_to: seed
                .zone_delegations
                .get(&name)
                .cloned()
                .unwrap_or_default(),
        });
        for r in &z.records {
            let id = inner.next_record_id();
            let rt = if r.record_type.is_empty() {
                "TXT".to_string()
            } else {
                r.record_type.to_ascii_uppercase()
            };
            inner.state.records.push(DnsRecord {
                record_id: id,
                domain_name: name.clone(),
                rr: if r.rr.is_empty() {
                    "@".into()
                } else {
                    r.rr.to_ascii_lowercase()
                },
                record_type: rt,
                value: r.value.clone(),
                ttl: r.ttl.unwrap_or(600),
                line: "default".into(),
                priority: None,
                status: "ENABLE".into(),
                remark: r.remark.clone(),
                created_by: None,
                created_ms: now,
                updated_ms: now,
            });
        }
    }
}

pub(crate) enum TxtSync {
    /// `set-txt` one more value.
    Add { host: String, value: String },
    /// `clear-txt`, then `set-txt` each of `values`.
    Resync { host: String, values: Vec<String> },
    /// `clear-caa`, then `add-caa` with every (tag, value) at the host (CAA records are served
    /// too, so that alicert's CAA check and Pebble see what Alidns holds).
    Caa {
        host: String,
        policies: Vec<(String, String)>,
    },
}

pub(crate) async fn push_txt(shared: &Arc<Shared>, syncs: Vec<TxtSync>) {
    if syncs.is_empty() {
        return;
    }
    let Some(base) = shared.lock().challtestsrv.clone() else {
        return;
    };
    let post = |path: &'static str, body: Value| {
        let url = format!("{base}{path}");
        let http = shared.http.clone();
        async move {
            let r = http.post(&url).json(&body).send().await;
            match r {
                Ok(resp) if resp.status().is_success() => Ok(()),
                Ok(resp) => Err(format!("{url} {body}: HTTP {}", resp.status())),
                Err(e) => Err(format!("{url} {body}: {e}")),
            }
        }
    };
    let mut errors = Vec::new();
    for s in syncs {
        match s {
            TxtSync::Add { host, value } => {
                if let Err(e) = post(
                    "/set-txt",
                    json!({"host": format!("{host}."), "value": value}),
                )
                .await
                {
                    errors.push(e);
                }
            }
            TxtSync::Caa { host, policies } => {
                let h = format!("{host}.");
                if let Err(e) = post("/clear-caa", json!({ "host": h })).await {
                    errors.push(e);
                }
                let policies: Vec<Value> = policies
                    .iter()
                    .map(|(tag, value)| json!({"tag": tag, "value": value}))
                    .collect();
                if !policies.is_empty() {
                    if let Err(e) = post("/add-caa", json!({"host": h, "policies": policies})).await
                    {
                        errors.push(e);
                    }
                }
            }
            TxtSync::Resync { host, values } => {
                let h = format!("{host}.");
                if let Err(e) = post("/clear-txt", json!({ "host": h })).await {
                    errors.push(e);
                }
                for v in values {
                    if let Err(e) = post("/set-txt", json!({"host": h, "value": v})).await {
                        errors.push(e);
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("emulator: challtestsrv push failed: {e}");
        }
        shared.lock().state.dns_push_errors.extend(errors);
    }
}
