//! Cloud-native API Gateway (apig 2024-03-27, ROA, V3-signed): a domain's HTTPS certificate,
//! by the hub's CAS identifier `<CertId>-<region>`.
//! Find: ListDomains (`GET /v1/domains`, `nameLike`, paged) → the domain's `domainId`.
//! Read: GetDomain (`GET /v1/domains/{domainId}`, `data.certIdentifier`) → the CAS certificate.
//! Write: UpdateDomain (`PUT /v1/domains/{domainId}`) with `certIdentifier`, and every other
//! field UpdateDomainRequest takes sent back exactly as GetDomain reported it: the PUT carries
//! the domain's whole TLS configuration (TLS versions, HTTP/2, mTLS and its CA, forceHttps,
//! cipher suites), so a field left out could be reset.
//!
//! Source: PyPI alibabacloud-apig20240327 11.6.0, client.py (`list_domains_with_options`,
//! `get_domain_with_options`, `update_domain_with_options`) and models/
//! _update_domain_request.py, _get_domain_response_body.py, _list_domains_response_body.py,
//! _domain_info.py, _tls_cipher_suites_config.py (the JSON names below); API reference
//! UpdateDomain: "When the protocol is HTTPS, forceHttps is required".
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::OnceCell;

use super::kinds::Kind;
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::client::RoaRequest;
use crate::aliyun::signer::percent_encode;
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::RegionId;

/// ListDomains page size: the docs give the default (10) and no bound; the emulator models
/// 100 as the strictest plausible maximum.
const PAGE_SIZE: u64 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The domain's name as APIG lists it.
    #[serde(deserialize_with = "super::kinds::domain")]
    pub domain: String,
    /// The gateway's region (APIG is regional); default `[aliyun] region`.
    pub region: Option<RegionId>,
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["apig:ListDomains", "apig:GetDomain", "apig:UpdateDomain"];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Apig;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        // The listing also finds a named resource's id, so it is always needed.
        let mut out = vec![Statement::any(
            "DeployApig",
            "target kind apig: read the cloud-native API Gateway domain and set its certificate.",
            &pick(RAM, RAM),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Apig {
            apig: super::regional(client, self.region.as_ref()),
            client: client.clone(),
            params: self,
            domain_id: OnceCell::new(),
        })
    }
}

pub struct Apig {
    params: Params,
    /// For CAS (the hub's region).
    client: AliyunClient,
    /// For APIG, in the gateway's region.
    apig: AliyunClient,
    /// Found once per run by ListDomains.
    domain_id: OnceCell<String>,
}

capabilities!(Apig: cas);

/// Every field of UpdateDomainRequest, which GetDomainResponseBodyData reports under the same
/// JSON names: read, then sent back unchanged but for `certIdentifier` (and `protocol` on a
/// domain that served HTTP only). An empty string is treated as unset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct TlsSettings {
    #[serde(
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    ca_cert_identifier: Option<String>,
    #[serde(
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    cert_identifier: Option<String>,
    #[serde(
        rename = "clientCACert",
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    client_ca_cert: Option<String>,
    #[serde(
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    domain_scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    force_https: Option<bool>,
    #[serde(
        rename = "http2Option",
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    http2_option: Option<String>,
    #[serde(rename = "mTLSEnabled", skip_serializing_if = "Option::is_none")]
    m_tls_enabled: Option<bool>,
    #[serde(
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cipher_suites_config: Option<CipherSuites>,
    #[serde(
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    tls_max: Option<String>,
    #[serde(
        deserialize_with = "non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    tls_min: Option<String>,
}

/// TlsCipherSuitesConfig (models/_tls_cipher_suites_config.py).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
struct CipherSuites {
    #[serde(skip_serializing_if = "Option::is_none")]
    config_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cipher_suite: Option<Vec<CipherSuite>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
struct CipherSuite {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    support_versions: Option<Vec<String>>,
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// The answer envelope of every apig action: `{code, message, requestId, data}`.
#[derive(Deserialize)]
#[serde(default)]
struct Envelope<T> {
    data: T,
}

impl<T: Default> Default for Envelope<T> {
    fn default() -> Self {
        Envelope { data: T::default() }
    }
}

/// ListDomainsResponseBodyData and its DomainInfo items (what alicert reads of them).
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DomainPage {
    items: Vec<DomainInfo>,
    total_size: u64,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DomainInfo {
    domain_id: String,
    name: String,
}

/// ListDomains, every page (`nameLike` narrows it when given): (domainId, name).
async fn all_domains(
    apig: &AliyunClient,
    name_like: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let size = PAGE_SIZE.to_string();
    for page in 1u64.. {
        let number = page.to_string();
        let mut query = vec![("pageNumber", number.as_str()), ("pageSize", size.as_str())];
        if let Some(n) = name_like {
            query.push(("nameLike", n));
        }
        let request = RoaRequest {
            action: "ListDomains",
            method: "GET",
            path: "/v1/domains",
            query: &query,
            headers: &[],
            body: None,
        };
        let rsp = apig.roa_request(Product::Apig, &request).await?;
        let body: serde_json::Value = serde_json::from_slice(&rsp.body).map_err(|e| {
            Error::Deploy(format!(
                "ListDomains answered a shape alicert cannot read: {e}"
            ))
        })?;
        let page_data = super::answer::<Envelope<DomainPage>>("ListDomains", body)?.data;
        let got = page_data.items.len() as u64;
        out.extend(page_data.items.into_iter().map(|d| (d.domain_id, d.name)));
        if got == 0 || out.len() as u64 >= page_data.total_size || page >= 10_000 {
            break;
        }
    }
    Ok(out)
}

/// Every domain of APIG in the table's region (all pages), for `domains = "covered"`.
pub(crate) fn list_domains<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(async move {
        let region = match table.get("region") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|r| RegionId::parse(r).ok())
                    .ok_or_else(|| {
                        Error::Config(
                            "target kind = \"apig\": `region` must be a region id such as cn-hangzhou"
                                .into(),
                        )
                    })?,
            ),
        };
        let apig = super::regional(client, region.as_ref());
        let domains = all_domains(&apig, None).await?;
        Ok(domains.into_iter().map(|(_, name)| name).collect())
    })
}

impl Apig {
    fn domain(&self) -> &str {
        &self.params.domain
    }

    async fn domain_id(&self) -> Result<&str> {
        let id = self
            .domain_id
            .get_or_try_init(|| async {
                let found = all_domains(&self.apig, Some(self.domain())).await?;
                found
                    .into_iter()
                    .find(|(_, name)| name.eq_ignore_ascii_case(self.domain()))
                    .map(|(id, _)| id)
                    .ok_or_else(|| {
                        Error::Deploy(format!(
                            "apig: no domain named {} in {} (ListDomains); add it in the API Gateway console \
                             or set the target's `region`",
                            self.domain(),
                            self.apig.region()
                        ))
                    })
            })
            .await?;
        Ok(id)
    }

    fn path(id: &str) -> String {
        format!("/v1/domains/{}", percent_encode(id))
    }

    /// GetDomain's settings of this domain.
    async fn settings(&self) -> Result<TlsSettings> {
        let id = self.domain_id().await?;
        let rsp = self
            .apig
            .roa(Product::Apig, "GetDomain", "GET", &Self::path(id), None)
            .await?;
        Ok(super::answer::<Envelope<TlsSettings>>("GetDomain", rsp)?.data)
    }
}

/// The UpdateDomain body installing `identifier`: `current` with only the certificate changed
/// (and HTTPS turned on, without forcing redirects, when the domain served HTTP only).
pub(crate) fn update_body(current: &TlsSettings, identifier: &str) -> TlsSettings {
    let mut body = current.clone();
    body.cert_identifier = Some(identifier.to_string());
    if body.protocol.as_deref() != Some("HTTPS") {
        body.protocol = Some("HTTPS".into());
    }
    // Required with HTTPS (API reference); `false` keeps plain HTTP answering as before.
    body.force_https.get_or_insert(false);
    body
}

#[async_trait]
impl Target for Apig {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Apig, self.domain())
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let settings = self.settings().await?;
        cas::read_bound(&self.client, settings.cert_identifier.as_deref()).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let copy = cert.cas.ok_or_else(|| {
            Error::Deploy("apig: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let current = self.settings().await?;
        if current.protocol.as_deref() != Some("HTTPS") {
            tracing::info!(
                domain = self.domain(),
                "apig domain served HTTP only; turning HTTPS on"
            );
        }
        let body = serde_json::to_value(update_body(&current, &copy.identifier()))
            .map_err(|e| Error::Other(format!("apig: UpdateDomain body: {e}")))?;
        let id = self.domain_id().await?;
        self.apig
            .roa(
                Product::Apig,
                "UpdateDomain",
                "PUT",
                &Self::path(id),
                Some(&body),
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl CasConsumer for Apig {
    async fn cas_references(&self) -> Result<Vec<String>> {
        let s = self.settings().await?;
        Ok(cas::numeric_ids(
            s.cert_identifier.into_iter().chain(s.ca_cert_identifier),
        ))
    }

    /// APIG keeps no copies of its own.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_update_sends_every_setting_back() {
        let got = json!({
            "domainId": "d-1", "name": "api.example.com", "default": false,
            "caCertIdentifier": "9-cn-hangzhou", "certIdentifier": "7-cn-hangzhou",
            "clientCACert": "-----BEGIN CERTIFICATE-----", "domainScope": "Dedicated",
            "forceHttps": true, "http2Option": "Open", "mTLSEnabled": true, "protocol": "HTTPS",
            "tlsCipherSuitesConfig": {"configType": "Custom",
                "tlsCipherSuite": [{"name": "ECDHE-ECDSA-AES256-GCM-SHA384", "supportVersions": ["TLS 1.2"]}]},
            "tlsMax": "TLS 1.3", "tlsMin": "TLS 1.2",
        });
        let current: TlsSettings = serde_json::from_value(got.clone()).unwrap();
        let body = serde_json::to_value(update_body(&current, "8-cn-hangzhou")).unwrap();
        let mut want = got;
        for k in ["domainId", "name", "default"] {
            want.as_object_mut().unwrap().remove(k);
        }
        want["certIdentifier"] = json!("8-cn-hangzhou");
        assert_eq!(body, want);
    }

    #[test]
    fn an_http_domain_gets_https_without_a_redirect() {
        let current: TlsSettings = serde_json::from_value(
            json!({"protocol": "HTTP", "http2Option": "GlobalConfig", "caCertIdentifier": ""}),
        )
        .unwrap();
        let body = serde_json::to_value(update_body(&current, "8-cn-hangzhou")).unwrap();
        assert_eq!(
            body,
            json!({"protocol": "HTTPS", "forceHttps": false, "http2Option": "GlobalConfig",
                   "certIdentifier": "8-cn-hangzhou"})
        );
    }

    /// `list_domains` pages through ListDomains (at most 100 a page, which the emulator
    /// enforces) and returns every domain of the region asked for, and only those.
    #[tokio::test]
    async fn list_domains_returns_every_page() {
        use aliyun_emulator::{ApigDomain, Seed};
        let mut seed = Seed::default().access_key("LTAIunit", "unit-secret");
        for i in 0..205 {
            seed = seed.apig_domain(&format!("d{i}.example.com"));
        }
        seed = seed.apig(ApigDomain {
            region: "cn-shanghai".into(),
            ..ApigDomain::new("sh.example.com")
        });
        let emulator = aliyun_emulator::start(seed).await;
        let endpoints = Product::codes()
            .into_iter()
            .map(|p| (p.to_string(), emulator.regional_url()))
            .collect();
        let client = AliyunClient::new(
            crate::aliyun::Credentials {
                access_key_id: "LTAIunit".into(),
                access_key_secret: crate::secret::Secret::new("unit-secret"),
                security_token: None,
            },
            "cn-hangzhou",
            &endpoints,
        )
        .unwrap();
        let mut names = list_domains(&toml::Table::new(), &client).await.unwrap();
        names.sort();
        let mut want: Vec<String> = (0..205).map(|i| format!("d{i}.example.com")).collect();
        want.sort();
        assert_eq!(names, want);
        let pages = emulator.state().calls_to("ListDomains").len();
        assert_eq!(pages, 3);
        let table: toml::Table = toml::from_str("region = \"cn-shanghai\"").unwrap();
        assert_eq!(
            list_domains(&table, &client).await.unwrap(),
            vec!["sh.example.com".to_string()]
        );
        let bad: toml::Table = toml::from_str("region = \"cn-hangzhou.evil.com\"").unwrap();
        assert!(list_domains(&bad, &client).await.is_err());
    }

    #[test]
    fn params_are_validated() {
        let t = |pairs: &[(&str, &str)]| -> toml::Table {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
                .collect()
        };
        assert!(Params::parse(&t(&[
            ("domain", "api.example.com"),
            ("region", "cn-shanghai")
        ]))
        .is_ok());
        for bad in [
            vec![("domain", "api.example.com/../x")],
            vec![
                ("domain", "api.example.com"),
                ("region", "cn-hangzhou.evil.com"),
            ],
            vec![("domain", "api.example.com"), ("group_id", "g")],
        ] {
            assert!(Params::parse(&t(&bad)).is_err(), "{bad:?} accepted");
        }
    }
}
