//! ApsaraVideo Live (live 2016-11-01): the HTTPS certificate of a streaming or ingest domain.
//! Read: DescribeLiveDomainCertificateInfo (`SSLProtocol`, `SSLPub`; no certificate id).
//! Write: SetLiveDomainCertificate with SSLProtocol=on and the PEM (`SSLPub`, `SSLPri`): its
//! model says that with `on` "you must also set the SSLPub and SSLPri request parameters", so
//! Live takes the certificate itself, not a CAS id, and keeps no copy alicert must retire.
//! Facts: alibabacloud-live20161101 3.0.2, models/ _set_live_domain_certificate_request.py,
//! _describe_live_domain_certificate_info_response_body.py, _describe_live_user_domains_*.
use async_trait::async_trait;
use serde::Deserialize;

use super::kinds::{Kind, TargetKind};
use super::{parse_deployed, NewCert, Target, TargetId};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;

/// The same keys as `cdn` (a `domain`, as the console lists it).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Params(super::cdn::Params);

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "live:DescribeLiveDomainCertificateInfo",
    "live:SetLiveDomainCertificate",
    "live:DescribeLiveUserDomains",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Live;

    fn ram(&self, ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![Statement::any(
            "DeployLive",
            "target kind live: read the ApsaraVideo Live domain's certificate and set the new one.",
            &pick(
                RAM,
                &[
                    "live:DescribeLiveDomainCertificateInfo",
                    "live:SetLiveDomainCertificate",
                ],
            ),
        )];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployLiveList",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["live:DescribeLiveUserDomains"]),
            ));
        }
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Live {
            domain: self.0.domain,
            client: client.clone(),
        })
    }
}

pub struct Live {
    domain: String,
    client: AliyunClient,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertInfos {
    cert_infos: CertInfoList,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertInfoList {
    cert_info: Vec<LiveCert>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LiveCert {
    #[serde(rename = "DomainName")]
    domain_name: String,
    #[serde(rename = "SSLProtocol")]
    ssl_protocol: String,
    #[serde(rename = "SSLPub")]
    ssl_pub: String,
    /// What alicert (or whoever set it) named it (src/drift.rs).
    #[serde(rename = "CertName")]
    cert_name: String,
}

#[async_trait]
impl Target for Live {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Live, &self.domain)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let rsp = self
            .client
            .rpc(
                Product::Live,
                "DescribeLiveDomainCertificateInfo",
                &[("DomainName", &self.domain)],
            )
            .await?;
        let infos: CertInfos = super::answer("DescribeLiveDomainCertificateInfo", rsp)?;
        // Only this domain's own entry, and only while HTTPS is on.
        Ok(infos
            .cert_infos
            .cert_info
            .into_iter()
            .find(|c| c.domain_name.eq_ignore_ascii_case(&self.domain))
            .filter(|c| c.ssl_protocol == "on")
            .and_then(|c| {
                let info = parse_deployed("live", &self.domain, Some(&c.ssl_pub));
                super::named(info, Some(&c.cert_name))
            }))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        self.client
            .rpc_with_form(
                Product::Live,
                "SetLiveDomainCertificate",
                &[
                    ("DomainName", &self.domain),
                    ("SSLProtocol", "on"),
                    ("CertType", "upload"),
                    ("CertName", &cert.upload_name()),
                ],
                &[
                    ("SSLPub", cert.fullchain),
                    ("SSLPri", cert.private_key.expose()),
                ],
            )
            .await?;
        Ok(())
    }
}

capabilities!(Live: none);

/// Every Live domain of the account (all pages), for `domains = "covered"`.
pub fn list_domains<'a>(
    _table: &'a toml::Table,
    client: &'a AliyunClient,
) -> futures_util::future::BoxFuture<'a, Result<Vec<String>>> {
    // DescribeLiveUserDomainsRequest PageSize: "Default value: 20. Maximum value: 50".
    Box::pin(user_domains(
        "DescribeLiveUserDomains",
        move |page| async move {
            client
                .rpc(Product::Live, "DescribeLiveUserDomains", &page.params())
                .await
        },
    ))
}

/// Both video products' domain listings share one shape: `Domains.PageData[].DomainName`,
/// `TotalCount`, PageSize at most 50.
const PAGE_SIZE: usize = 50;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DomainPage {
    domains: PageData,
    total_count: Option<i64>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PageData {
    page_data: Vec<DomainEntry>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DomainEntry {
    domain_name: Option<String>,
}

/// One page request of [`user_domains`].
pub(crate) struct Page {
    number: String,
    size: String,
}

impl Page {
    pub(crate) fn params(&self) -> [(&str, &str); 2] {
        [("PageNumber", &self.number), ("PageSize", &self.size)]
    }
}

/// Every page of a `Describe*UserDomains` listing; `fetch` makes the call (written out at each
/// call site, so tests/policy.rs sees the action).
pub(crate) async fn user_domains<F, Fut>(action: &str, fetch: F) -> Result<Vec<String>>
where
    F: Fn(Page) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value>>,
{
    let mut out = Vec::new();
    for number in 1.. {
        let rsp = fetch(Page {
            number: number.to_string(),
            size: PAGE_SIZE.to_string(),
        })
        .await?;
        let page: DomainPage = super::answer(action, rsp)?;
        let got = page.domains.page_data.len();
        out.extend(
            page.domains
                .page_data
                .into_iter()
                .filter_map(|d| d.domain_name),
        );
        let total = page.total_count.unwrap_or_default().max(0) as usize;
        if got < PAGE_SIZE || out.len() >= total {
            break;
        }
    }
    Ok(out)
}
