//! ESA SaaS custom hostnames (esa 2024-09-10): a SaaS hostname of a site, found by name
//! (ListCustomHostnames, exact match), read with GetCustomHostname (its `Certificate` PEM while
//! `SslFlag` is on), written with UpdateCustomHostname `CertType=cas`, `CasId`, `CasRegion`,
//! `SslFlag=on` and the hostname's `RecordId` sent back as it was (the update takes it too).
//!
//! The hostname is `configuring` while a change applies (ListCustomHostnames / GetCustomHostname
//! `Status`: pending, active, conflicted, offline, configuring): alicert waits until it is not
//! before writing and after its write, bounded in time and by the invocation deadline.
//!
//! Fields: alibabacloud-esa20240910 3.16.0, models/ `_list_custom_hostnames_request.py`
//! (SiteId int required, Hostname, NameMatchType exact|prefix|suffix|fuzzy, PageNumber ≥ 1,
//! PageSize "1 to 500"), `_list_custom_hostnames_response_body.py` (Hostnames[]: HostnameId int,
//! Hostname, Status; TotalCount int), `_get_custom_hostname_response_body.py`
//! (CustomHostnameModel: CasId int, CertType, Certificate, SslFlag, Status, RecordId int),
//! `_update_custom_hostname_request.py` (HostnameId int required; CertType required when
//! SslFlag=on; CasId, CasRegion required for cas).
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Deserializer};

use super::esa::site_id;
use super::kinds::{parsed, Kind};
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::RegionId;

/// ListCustomHostnamesRequest PageSize: "Valid values: 1 to 500".
const PAGE_SIZE: u64 = 500;
const MAX_PAGES: u64 = 100;
/// How long alicert waits for a hostname to leave `configuring` (the docs give no bound).
const SETTLE_FOR: Duration = Duration::from_secs(300);
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(3);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "site_id")]
    pub site_id: u64,
    #[serde(deserialize_with = "hostname")]
    pub hostname: String,
    /// The ESA endpoint's region (default: `[aliyun] region`).
    pub region: Option<RegionId>,
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "esa:ListCustomHostnames",
    "esa:GetCustomHostname",
    "esa:UpdateCustomHostname",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::EsaSaas;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        // The listing also finds a named resource's id, so it is always needed.
        let mut out = vec![Statement::any(
            "DeployEsaSaas",
            "target kind esa-saas: read the SaaS custom hostname and set its certificate.",
            &pick(RAM, RAM),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(EsaSaas {
            esa: super::regional(client, self.region.as_ref()),
            site: self.site_id.to_string(),
            hostname: self.hostname,
        })
    }
}

/// A `hostname` key: a DNS name, lower-cased.
fn hostname<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    parsed(
        d,
        |s| {
            let h = s.to_ascii_lowercase();
            crate::domain::validate(&h).map(|()| h)
        },
        "; set it to the SaaS hostname exactly as ESA lists it",
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct HostnameEntry {
    #[serde(deserialize_with = "cas::de_id")]
    hostname_id: Option<String>,
    hostname: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct HostnamePage {
    hostnames: Vec<HostnameEntry>,
    total_count: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Model {
    #[serde(deserialize_with = "cas::de_id")]
    cas_id: Option<String>,
    cert_type: Option<String>,
    certificate: Option<String>,
    ssl_flag: Option<String>,
    status: Option<String>,
    #[serde(deserialize_with = "cas::de_id")]
    record_id: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Detail {
    custom_hostname_model: Model,
}

impl Model {
    fn configuring(&self) -> bool {
        self.status.as_deref() == Some("configuring")
    }
}

/// Every SaaS hostname of `site` matching `filter` (all pages).
async fn list(esa: &AliyunClient, site: &str, filter: Option<&str>) -> Result<Vec<HostnameEntry>> {
    let mut out = Vec::new();
    let size = PAGE_SIZE.to_string();
    for page in 1..=MAX_PAGES {
        let number = page.to_string();
        let mut params = vec![
            ("SiteId", site),
            ("PageNumber", number.as_str()),
            ("PageSize", size.as_str()),
        ];
        if let Some(h) = filter {
            params.push(("Hostname", h));
            params.push(("NameMatchType", "exact"));
        }
        let rsp = esa
            .rpc(Product::Esa, "ListCustomHostnames", &params)
            .await?;
        let page: HostnamePage = super::answer("ListCustomHostnames", rsp)?;
        let empty = page.hostnames.is_empty();
        out.extend(page.hostnames);
        if empty || out.len() as u64 >= page.total_count {
            break;
        }
    }
    Ok(out)
}

/// Where `domains = "covered"` looks: the site (and region) of the target's table.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Deserialize)]
struct Scope {
    #[serde(deserialize_with = "site_id")]
    site_id: u64,
    region: Option<RegionId>,
}

/// Every SaaS hostname of the table's site (all pages), for `domains = "covered"`.
pub(crate) fn list_domains<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(async move {
        let scope: Scope = super::kinds::from_table(table)
            .map_err(|e| Error::Config(format!("target kind = \"esa-saas\": {e}")))?;
        let esa = super::regional(client, scope.region.as_ref());
        let site = scope.site_id.to_string();
        Ok(list(&esa, &site, None)
            .await?
            .into_iter()
            .map(|h| h.hostname.to_ascii_lowercase())
            .collect())
    })
}

pub struct EsaSaas {
    esa: AliyunClient,
    site: String,
    hostname: String,
}

impl EsaSaas {
    /// The hostname's id; an error naming the site when the site has no such hostname.
    async fn hostname_id(&self) -> Result<String> {
        list(&self.esa, &self.site, Some(&self.hostname))
            .await?
            .into_iter()
            .find(|h| h.hostname.eq_ignore_ascii_case(&self.hostname))
            .and_then(|h| h.hostname_id)
            .ok_or_else(|| {
                Error::Deploy(format!(
                    "esa-saas: site {} has no SaaS hostname `{}`; add it in the ESA console \
                     (Websites > SaaS Manager) or fix `site_id` / `hostname`",
                    self.site, self.hostname
                ))
            })
    }

    async fn model(&self, id: &str) -> Result<Model> {
        let rsp = self
            .esa
            .rpc(Product::Esa, "GetCustomHostname", &[("HostnameId", id)])
            .await?;
        Ok(super::answer::<Detail>("GetCustomHostname", rsp)?.custom_hostname_model)
    }

    /// The hostname once it is not `configuring`.
    async fn settled(&self, id: &str) -> Result<Model> {
        let started = Instant::now();
        let mut delay = FIRST_POLL;
        for poll in 0u32.. {
            let model = self.model(id).await?;
            if !model.configuring() {
                return Ok(model);
            }
            if started.elapsed() + delay > SETTLE_FOR {
                return Err(Error::Deploy(format!(
                    "esa-saas {}: still configuring after {}s; check it in the ESA console, the next run retries",
                    self.hostname,
                    SETTLE_FOR.as_secs()
                )));
            }
            if poll % 10 == 9 {
                tracing::info!(hostname = %self.hostname, waited_ms = started.elapsed().as_millis() as u64, "waiting for the ESA SaaS hostname to finish configuring");
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(MAX_POLL);
        }
        unreachable!("the poll loop returns")
    }
}

#[async_trait]
impl Target for EsaSaas {
    fn id(&self) -> TargetId {
        TargetId::new(
            TargetKind::EsaSaas,
            format!("{}/{}", self.site, self.hostname),
        )
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let model = self.model(&self.hostname_id().await?).await?;
        if model.ssl_flag.as_deref() != Some("on") {
            return Ok(None);
        }
        Ok(super::parse_deployed(
            "esa-saas",
            &self.hostname,
            model.certificate.as_deref(),
        ))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let copy = cert.cas.ok_or_else(|| {
            Error::Deploy("esa-saas: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let id = self.hostname_id().await?;
        let model = self.settled(&id).await?;
        let bound = model.cert_type.as_deref() == Some("cas")
            && model.cas_id.as_deref() == Some(copy.id.as_str())
            && model.ssl_flag.as_deref() == Some("on");
        if bound {
            tracing::info!(hostname = %self.hostname, cas_id = %copy.id, "already on the ESA SaaS hostname");
            return Ok(());
        }
        let mut params = vec![
            ("HostnameId", id.as_str()),
            ("SslFlag", "on"),
            ("CertType", "cas"),
            ("CasId", copy.id.as_str()),
            ("CasRegion", copy.region.as_str()),
        ];
        // Keep the record the hostname is bound to.
        if let Some(record) = model.record_id.as_deref() {
            params.push(("RecordId", record));
        }
        self.esa
            .rpc(Product::Esa, "UpdateCustomHostname", &params)
            .await?;
        self.settled(&id).await.map(drop)
    }
}

capabilities!(EsaSaas: cas);

#[async_trait]
impl CasConsumer for EsaSaas {
    async fn cas_references(&self) -> Result<Vec<String>> {
        let model = self.model(&self.hostname_id().await?).await?;
        Ok(model
            .cas_id
            .filter(|_| model.cert_type.as_deref() == Some("cas"))
            .into_iter()
            .collect())
    }

    /// The hostname keeps no copies of its own.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Params, String> {
        Params::parse(&toml::from_str(text).unwrap())
    }

    #[test]
    fn params_are_validated() {
        let p = parse("site_id = 9\nhostname = \"Shop.Example.com\"").unwrap();
        assert_eq!((p.site_id, p.hostname.as_str()), (9, "shop.example.com"));
        assert!(parse("site_id = 9")
            .unwrap_err()
            .contains("missing required key `hostname`"));
        for bad in [
            "site_id = 9\nhostname = \"a b\"",
            "site_id = 9\nhostname = \"1.2.3.4\"",
        ] {
            assert!(parse(bad).unwrap_err().contains("`hostname`"), "{bad}");
        }
        assert!(
            parse("site_id = 9\nhostname = \"a.example.com\"\ndomain = \"x\"")
                .unwrap_err()
                .contains("unknown key `domain`")
        );
    }

    /// 501 hostnames are two pages of the largest page ListCustomHostnames allows (500): every
    /// one comes back, and every request stayed within the limit the emulator enforces.
    #[tokio::test]
    async fn list_domains_reads_every_page() {
        use aliyun_emulator::Seed;
        let mut seed = Seed::default()
            .access_key("AK", "secret")
            .esa_site(77, "example.com")
            .esa_site(78, "other.example");
        for i in 0..501 {
            seed = seed.esa_hostname(77, &format!("h{i}.example.com"), None);
        }
        seed = seed.esa_hostname(78, "not-this-site.example", None);
        let emulator = aliyun_emulator::start(seed).await;
        let endpoints = [("esa".to_string(), emulator.base_url())]
            .into_iter()
            .collect();
        let credentials = crate::aliyun::Credentials {
            access_key_id: "AK".into(),
            access_key_secret: crate::secret::Secret::new("secret".to_string()),
            security_token: None,
        };
        let client = AliyunClient::new(credentials, "cn-hangzhou", &endpoints).unwrap();
        let table: toml::Table = toml::from_str("site_id = 77").unwrap();
        let mut got = list_domains(&table, &client).await.unwrap();
        got.sort();
        let mut want: Vec<String> = (0..501).map(|i| format!("h{i}.example.com")).collect();
        want.sort();
        assert_eq!(got, want);
        let calls = emulator.state().calls_to("ListCustomHostnames").len();
        assert_eq!(calls, 2);
        for c in emulator.state().calls_to("ListCustomHostnames") {
            assert!(c.code.is_none(), "{c:?}");
        }
        let bad: toml::Table = toml::from_str("site_id = \"x\"").unwrap();
        let e = list_domains(&bad, &client).await.unwrap_err().to_string();
        assert!(e.contains("`site_id`"), "{e}");
    }
}
