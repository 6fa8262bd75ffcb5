//! Global Accelerator (ga 2019-11-20): an HTTPS listener's default certificate (UpdateListener
//! `Certificates.1.Id`) or its additional (SNI) certificates, one per domain of the certificate
//! (AssociateAdditionalCertificatesWithListener `Certificates.N.Domain`/`.Id` for a domain
//! without one, UpdateAdditionalCertificateWithListener for a domain that has one), by the hub's
//! CAS identifier `<CertId>-<region>`. Read: DescribeListener (`Certificates[0].Id`) /
//! ListListenerCertificates `Role=additional` (alicert's by exact CAS name) → CAS.
//!
//! Source: PyPI alibabacloud-ga20191120 3.0.2, client.py (`_endpoint_map`: cn-hangzhou only) and
//! models/ `_update_listener_request.py` (RegionId: "Set the value to cn-hangzhou"),
//! `_associate_additional_certificates_with_listener_request.py`,
//! `_update_additional_certificate_with_listener_request.py`,
//! `_list_listener_certificates_request.py` (MaxResults 1–50, Role), `_describe_listener_
//! response_body.py` (`AcceleratorId`, `State`, `Certificates[].Id`); API reference
//! AssociateAdditionalCertificatesWithListener: asynchronous, the listener is `updating` until
//! `active`, not callable repeatedly for one accelerator within a period. So GA is always called
//! in cn-hangzhou (no `region` key), and each write is a job ([`listener_job`]): retried while the
//! accelerator is busy, then waited for until the listener is `active` and the certificate bound.
//! A replaced additional certificate is replaced in place: nothing to dissociate afterwards.
use async_trait::async_trait;
use serde::{Deserialize, Deserializer};

use super::kinds::{parsed, Kind};
use super::listener_job::{self, Certificate, Progress};
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::{RegionId, ResourceId};

/// GA's API region (models: "Set the value to cn-hangzhou").
const GA_REGION: &str = "cn-hangzhou";

/// GA's listener writes. Busy: `StateError.Accelerator` (Terraform's alicloud GA resources
/// retry it on writes to an accelerator that is not active), `StateError.Listener` (the same
/// for the listener; docs silent), `SystemBusy`.
const GA: listener_job::Product = listener_job::Product {
    name: "GA",
    busy: &[
        "StateError.Accelerator",
        "StateError.Listener",
        "SystemBusy",
    ],
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "listener_id")]
    pub listener_id: ResourceId,
    /// The listener's default certificate or its additional (SNI) ones.
    #[serde(default)]
    pub certificate: Certificate,
}

fn listener_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<ResourceId, D::Error> {
    let hint = "; use the HTTPS listener id the Global Accelerator console shows (lsr-...)";
    parsed(d, ResourceId::parse, hint)
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "ga:DescribeListener",
    "ga:UpdateListener",
    "ga:ListListenerCertificates",
    "ga:AssociateAdditionalCertificatesWithListener",
    "ga:UpdateAdditionalCertificateWithListener",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Ga;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![Statement::any(
            "DeployGa",
            "target kind ga: read the Global Accelerator listener's certificates and set the default or the per-domain additional ones.",
            &pick(RAM, &["ga:DescribeListener", "ga:UpdateListener", "ga:ListListenerCertificates", "ga:AssociateAdditionalCertificatesWithListener", "ga:UpdateAdditionalCertificateWithListener"]),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        let region = RegionId::parse(GA_REGION).expect("a region id");
        Box::new(Ga {
            ga: client.for_region(&region),
            params: self,
            cert_name: cert_name.to_string(),
            client: client.clone(),
        })
    }
}

/// The writes alicert makes.
#[derive(Debug, Clone, Copy)]
enum Write {
    SetDefault,
    Associate,
    Update,
}

impl Write {
    fn action(self) -> &'static str {
        match self {
            Write::SetDefault => "UpdateListener",
            Write::Associate => "AssociateAdditionalCertificatesWithListener",
            Write::Update => "UpdateAdditionalCertificateWithListener",
        }
    }
}

/// What alicert reads of the GA answers (models named above).
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Listener {
    accelerator_id: String,
    state: String,
    certificates: Vec<ListenerCertificate>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ListenerCertificate {
    id: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertPage {
    certificates: Vec<CertEntry>,
    next_token: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertEntry {
    #[serde(deserialize_with = "cas::de_id")]
    certificate_id: Option<String>,
    domain: Option<String>,
    state: Option<String>,
}

pub struct Ga {
    params: Params,
    cert_name: String,
    /// For CAS (the hub's region).
    client: AliyunClient,
    /// For GA, in cn-hangzhou.
    ga: AliyunClient,
}

capabilities!(Ga: cas);

impl Ga {
    fn additional(&self) -> bool {
        self.params.certificate == Certificate::Additional
    }

    fn listener(&self) -> &str {
        self.params.listener_id.as_str()
    }

    async fn call(&self, action: &str, extra: &[(&str, &str)]) -> Result<serde_json::Value> {
        let mut params = vec![("ListenerId", self.listener()), ("RegionId", GA_REGION)];
        params.extend_from_slice(extra);
        self.ga.rpc(Product::Ga, action, &params).await
    }

    async fn describe(&self) -> Result<Listener> {
        let rsp = self.call("DescribeListener", &[]).await?;
        super::answer("DescribeListener", rsp)
    }

    /// The additional certificates: (domain, certificate id, state).
    async fn additional_certificates(
        &self,
        accelerator: &str,
    ) -> Result<Vec<(String, String, String)>> {
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..100 {
            let mut extra = vec![
                ("AcceleratorId", accelerator),
                ("Role", "additional"),
                ("MaxResults", "50"),
            ];
            if !token.is_empty() {
                extra.push(("NextToken", &token));
            }
            let rsp = self.call("ListListenerCertificates", &extra).await?;
            let page: CertPage = super::answer("ListListenerCertificates", rsp)?;
            out.extend(
                page.certificates.into_iter().filter_map(|c| {
                    Some((c.domain?, c.certificate_id?, c.state.unwrap_or_default()))
                }),
            );
            token = page.next_token.unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// One write, retried while busy, then waited for until the listener is `active` and,
    /// for an additional certificate, `domain` is bound to `certificate` and `active`.
    async fn write(
        &self,
        write: Write,
        extra: &[(&str, &str)],
        bound: Option<(&str, &str)>,
    ) -> Result<()> {
        let action = write.action();
        let accelerator = self.describe().await?.accelerator_id;
        let key = format!("ga/{accelerator}");
        let lock = listener_job::listener_lock(&key);
        let _guard = lock.lock().await;
        let what = extra.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(",");
        let token = listener_job::client_token(action, self.listener(), &what);
        let mut params = extra.to_vec();
        params.push(("ClientToken", &token));
        if bound.is_some() {
            params.push(("AcceleratorId", &accelerator));
        }
        listener_job::send_while_busy(&GA, self.listener(), action, || self.call(action, &params))
            .await?;
        listener_job::settle(&GA, self.listener(), action, &token, || async {
            let l = self.describe().await?;
            if l.state != "active" {
                return Ok(Progress::Running(format!("listener {}", l.state)));
            }
            let Some((domain, certificate)) = bound else {
                return Ok(Progress::Done);
            };
            let entry = self
                .additional_certificates(&accelerator)
                .await?
                .into_iter()
                .find(|(d, _, _)| d == domain);
            Ok(match entry {
                Some((_, c, s)) if c == certificate && s == "active" => Progress::Done,
                other => Progress::Running(format!("{domain}: {other:?}")),
            })
        })
        .await
    }

    async fn our_additional(&self) -> Result<Vec<(String, Option<CertInfo>)>> {
        let accelerator = self.describe().await?.accelerator_id;
        let ids = self.additional_certificates(&accelerator).await?;
        listener_job::ours(
            &self.client,
            &self.cert_name,
            ids.into_iter().map(|(_, c, _)| c),
        )
        .await
    }
}

#[async_trait]
impl Target for Ga {
    fn id(&self) -> TargetId {
        let resource = if self.additional() {
            format!("{}/additional", self.params.listener_id)
        } else {
            self.params.listener_id.to_string()
        };
        TargetId::new(TargetKind::Ga, resource)
    }

    /// For additional certificates, the oldest of alicert's bound ones: every domain must
    /// serve the new certificate before the target counts as renewed.
    async fn current(&self) -> Result<Option<CertInfo>> {
        if self.additional() {
            let ours = self.our_additional().await?;
            if ours.iter().any(|(_, info)| info.is_none()) {
                return Ok(None);
            }
            return Ok(ours
                .into_iter()
                .filter_map(|(_, i)| i)
                .min_by_key(|i| (i.not_after, i.not_before)));
        }
        let l = self.describe().await?;
        cas::read_bound(&self.client, l.certificates.first().map(|c| c.id.as_str())).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let copy = cert.cas.ok_or_else(|| {
            Error::Deploy("ga: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let id = copy.identifier();
        if !self.additional() {
            return self
                .write(Write::SetDefault, &[("Certificates.1.Id", &id)], None)
                .await;
        }
        let accelerator = self.describe().await?.accelerator_id;
        let existing = self.additional_certificates(&accelerator).await?;
        for domain in &cert.info.names {
            match existing.iter().find(|(d, _, _)| d == domain) {
                Some((_, c, _)) if *c == id => {}
                Some(_) => {
                    let extra = [("Domain", domain.as_str()), ("CertificateId", id.as_str())];
                    self.write(Write::Update, &extra, Some((domain, &id)))
                        .await?
                }
                None => {
                    let extra = [
                        ("Certificates.1.Domain", domain.as_str()),
                        ("Certificates.1.Id", id.as_str()),
                    ];
                    self.write(Write::Associate, &extra, Some((domain, &id)))
                        .await?
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl CasConsumer for Ga {
    async fn cas_references(&self) -> Result<Vec<String>> {
        let l = self.describe().await?;
        let extra = self.additional_certificates(&l.accelerator_id).await?;
        let ids = l.certificates.into_iter().map(|c| c.id);
        Ok(cas::numeric_ids(
            ids.chain(extra.into_iter().map(|(_, c, _)| c)),
        ))
    }

    /// Additional certificates are replaced in place, per domain: nothing left to dissociate.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_validated_and_take_no_region() {
        let t = |pairs: &[(&str, &str)]| -> toml::Table {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
                .collect()
        };
        assert!(Params::parse(&t(&[
            ("listener_id", "lsr-1"),
            ("certificate", "additional")
        ]))
        .is_ok());
        let e = Params::parse(&t(&[("listener_id", "lsr-1"), ("region", "cn-shanghai")]))
            .err()
            .unwrap();
        assert!(e.contains("unknown key `region`"), "{e}");
        assert!(Params::parse(&t(&[("listener_id", "lsr 1")])).is_err());
    }
}
