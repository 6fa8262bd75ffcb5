//! Application Load Balancer (alb 2020-06-16): an HTTPS/QUIC listener's default certificate
//! (UpdateListenerAttribute `Certificates.1.CertificateId`) or an additional (SNI) certificate
//! (AssociateAdditionalCertificatesWithListener), both by the hub's CAS id `<CertId>-<region>`.
//! Read: GetListenerAttribute / ListListenerCertificates → the CAS certificate. Superseded
//! additional certificates alicert associated (recognised by exact CAS name, see
//! [`crate::naming`]) are dissociated once the rollout is confirmed.
//!
//! Writes are asynchronous jobs (alibabacloud-alb20200616 1.3.3, models/
//! `_update_listener_attribute_response_body.py` etc.: "The asynchronous task ID"; API reference
//! UpdateListenerAttribute / AssociateAdditionalCertificatesWithListener: the listener is
//! `Configuring` until done, SNI certificates `Associating` → `Associated`). A write to a listener
//! that is still configuring is refused, so alicert
//! - serialises its writes per listener across all certificates of the process,
//! - retries the in-configuration codes Terraform's alicloud provider retries on these calls,
//!   with the same `ClientToken` (idempotent retry; ≤ 64 ASCII characters per the API reference),
//! - after each write waits until `ListenerStatus` is `Running` and, for SNI, the certificate is
//!   `Associated` (or gone, after a dissociation) — bounded in time and by the invocation deadline
//!   (every call fails once the client's deadline has passed).
use async_trait::async_trait;
use serde::{Deserialize, Deserializer};

use super::kinds::{parsed, Kind};
pub use super::listener_job::Certificate;
use super::listener_job::{self, Progress};
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::{RegionId, ResourceId};

/// ALB's listener writes. Busy codes: the ones Terraform's alicloud provider
/// (resource_alicloud_alb_listener*.go) retries on these calls.
const ALB: listener_job::Product = listener_job::Product {
    name: "ALB",
    busy: &[
        "IncorrectStatus.Listener",
        "ResourceInConfiguring.Listener",
        "SystemBusy",
        "IdempotenceProcessing",
    ],
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "listener_id")]
    pub listener_id: ResourceId,
    /// The listener's default certificate or an additional (SNI) one.
    #[serde(default)]
    pub certificate: Certificate,
    /// The listener's region (default: `[aliyun] region`).
    pub region: Option<RegionId>,
}

fn listener_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<ResourceId, D::Error> {
    let hint = "; use the listener id the ALB console shows (lsn-...)";
    parsed(d, ResourceId::parse, hint)
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "alb:GetListenerAttribute",
    "alb:UpdateListenerAttribute",
    "alb:ListListenerCertificates",
    "alb:AssociateAdditionalCertificatesWithListener",
    "alb:DissociateAdditionalCertificatesFromListener",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Alb;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![Statement::any(
            "DeployAlb",
            "target kind alb: read the listener's certificates and set the default or an additional (SNI) one, removing the superseded additional copies alicert made (ALB has no resource-level permission for these).",
            &pick(RAM, &["alb:GetListenerAttribute", "alb:UpdateListenerAttribute", "alb:ListListenerCertificates", "alb:AssociateAdditionalCertificatesWithListener", "alb:DissociateAdditionalCertificatesFromListener"]),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Alb {
            alb: super::regional(client, self.region.as_ref()),
            params: self,
            cert_name: cert_name.to_string(),
            client: client.clone(),
        })
    }
}

/// The kind of write, for the wait that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    SetDefault,
    Associate,
    Dissociate,
}

impl Write {
    fn action(self) -> &'static str {
        match self {
            Write::SetDefault => "UpdateListenerAttribute",
            Write::Associate => "AssociateAdditionalCertificatesWithListener",
            Write::Dissociate => "DissociateAdditionalCertificatesFromListener",
        }
    }
}

/// One server certificate of a listener, as ListListenerCertificates reports it.
#[derive(Debug, Clone)]
struct ListenerCert {
    id: String,
    is_default: bool,
    /// `Associating`, `Associated` or `Diassociating` (sic, alb20200616 models).
    status: String,
}

pub struct Alb {
    params: Params,
    cert_name: String,
    /// For CAS (the hub's region).
    client: AliyunClient,
    /// For ALB, in the listener's region.
    alb: AliyunClient,
}

impl Alb {
    fn additional(&self) -> bool {
        self.params.certificate == Certificate::Additional
    }

    fn listener(&self) -> &str {
        self.params.listener_id.as_str()
    }

    /// The listener's server certificates.
    async fn listener_certificates(&self) -> Result<Vec<ListenerCert>> {
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..100 {
            let mut params = vec![
                ("ListenerId", self.listener()),
                ("CertificateType", "Server"),
                // ListListenerCertificatesRequest MaxResults: "Valid values: 1 to 100".
                ("MaxResults", "100"),
            ];
            if !token.is_empty() {
                params.push(("NextToken", &token));
            }
            let rsp = self
                .alb
                .rpc(Product::Alb, "ListListenerCertificates", &params)
                .await?;
            let page: CertPage = super::answer("ListListenerCertificates", rsp)?;
            for c in page.certificates {
                if let Some(id) = c.certificate_id {
                    out.push(ListenerCert {
                        id,
                        is_default: c.is_default,
                        status: c.status.unwrap_or_default(),
                    });
                }
            }
            token = page.next_token.unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    async fn listener_attribute(&self) -> Result<Attribute> {
        let rsp = self
            .alb
            .rpc(
                Product::Alb,
                "GetListenerAttribute",
                &[("ListenerId", self.listener())],
            )
            .await?;
        super::answer("GetListenerAttribute", rsp)
    }

    /// The additional certificates alicert associated for this name: (id, serial info).
    async fn our_additional(&self) -> Result<Vec<(String, Option<CertInfo>)>> {
        let ids = self.listener_certificates().await?.into_iter();
        let ids = ids.filter(|c| !c.is_default).map(|c| c.id);
        listener_job::ours(&self.client, &self.cert_name, ids).await
    }

    /// One write to the listener: under the listener's lock, retried while the listener is
    /// busy, then waited for until the listener is done with it.
    async fn write(&self, write: Write, certificate: &str) -> Result<()> {
        let key = format!("alb/{}/{}", self.alb.region(), self.listener());
        let lock = listener_job::listener_lock(&key);
        let _guard = lock.lock().await;
        let action = write.action();
        let token = listener_job::client_token(action, self.listener(), certificate);
        let params = [
            ("ListenerId", self.listener()),
            ("Certificates.1.CertificateId", certificate),
            ("ClientToken", token.as_str()),
        ];
        let rsp = listener_job::send_while_busy(&ALB, self.listener(), action, || {
            self.alb.rpc(Product::Alb, action, &params)
        })
        .await?;
        let job = super::answer::<Job>(action, rsp)?
            .job_id
            .unwrap_or_default();
        self.settle(write, certificate, &job).await
    }

    /// Wait until the listener is `Running` (or `Stopped`: a stopped listener is not being
    /// configured and waiting will not start it) and `certificate` has the state `write` leads to.
    async fn settle(&self, write: Write, certificate: &str, job: &str) -> Result<()> {
        listener_job::settle(&ALB, self.listener(), write.action(), job, || async {
            let status = self
                .listener_attribute()
                .await?
                .listener_status
                .unwrap_or_default();
            let settled = matches!(status.as_str(), "Running" | "Stopped");
            let cert_state = if !settled || write == Write::SetDefault {
                None
            } else {
                self.listener_certificates()
                    .await?
                    .into_iter()
                    .find(|c| c.id == certificate)
                    .map(|c| c.status)
            };
            let done = settled
                && match write {
                    Write::SetDefault => true,
                    Write::Associate => cert_state.as_deref() == Some("Associated"),
                    Write::Dissociate => cert_state.is_none(),
                };
            Ok(if done {
                Progress::Done
            } else {
                Progress::Running(format!(
                    "listener {status}, certificate {certificate} {}",
                    cert_state.as_deref().unwrap_or("not listed")
                ))
            })
        })
        .await
    }
}

/// What alicert reads of the ALB answers (alibabacloud-alb20200616 1.3.3 models/
/// _list_listener_certificates_response_body.py, _get_listener_attribute_response_body.py:
/// `CertificateId` str, `IsDefault` bool, `Status` str, `NextToken` str, `ListenerStatus` str;
/// the write calls' `JobId` str).
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertEntry {
    #[serde(deserialize_with = "cas::de_id")]
    certificate_id: Option<String>,
    is_default: bool,
    status: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertPage {
    certificates: Vec<CertEntry>,
    next_token: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Attribute {
    listener_status: Option<String>,
    certificates: Vec<CertEntry>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Job {
    job_id: Option<String>,
}

#[async_trait]
impl Target for Alb {
    fn id(&self) -> TargetId {
        let resource = if self.additional() {
            format!("{}/additional", self.params.listener_id)
        } else {
            self.params.listener_id.to_string()
        };
        TargetId::new(TargetKind::Alb, resource)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        if self.additional() {
            return Ok(listener_job::newest(self.our_additional().await?));
        }
        let attribute = self.listener_attribute().await?;
        let default = attribute
            .certificates
            .into_iter()
            .next()
            .and_then(|c| c.certificate_id);
        cas::read_bound(&self.client, default.as_deref()).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let cas = cert.cas.ok_or_else(|| {
            Error::Deploy("alb: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let identifier = cas.identifier();
        let write = if self.additional() {
            Write::Associate
        } else {
            Write::SetDefault
        };
        // Already in place (an interrupted run, or the default and SNI of one listener being
        // the same certificate): nothing to write.
        let present = self.listener_certificates().await?.into_iter().any(|c| {
            c.id == identifier && c.is_default != self.additional() && c.status == "Associated"
        });
        if present {
            tracing::info!(listener = self.listener(), certificate = %identifier, "already on the listener");
            return Ok(());
        }
        self.write(write, &identifier).await
    }
}

capabilities!(Alb: cas);

#[async_trait]
impl CasConsumer for Alb {
    async fn cas_references(&self) -> Result<Vec<String>> {
        let ids = self
            .listener_certificates()
            .await?
            .into_iter()
            .map(|c| c.id);
        Ok(cas::numeric_ids(ids))
    }

    async fn retire(&self, current: &CasCopy) -> Result<()> {
        if !self.additional() {
            return Ok(());
        }
        for (id, _) in self.our_additional().await? {
            if cas::numeric_id(&id) == current.id {
                continue;
            }
            self.write(Write::Dissociate, &id).await?;
            tracing::info!(listener = self.listener(), certificate = %id, "dissociated superseded additional certificate");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> toml::Table {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
            .collect()
    }

    #[test]
    fn params_are_validated() {
        let p = Params::parse(&table(&[
            ("listener_id", "lsn-abc123"),
            ("region", "cn-shanghai"),
        ]))
        .unwrap();
        assert_eq!(p.listener_id.as_str(), "lsn-abc123");
        assert_eq!(p.region.unwrap().as_str(), "cn-shanghai");
        for bad in [
            vec![("listener_id", "lsn-1/../x")],
            vec![("listener_id", "lsn 1")],
            vec![("listener_id", "lsn-1"), ("region", "cn-hangzhou.evil.com")],
            vec![("listener_id", "lsn-1"), ("certificate", "sni")],
        ] {
            assert!(Params::parse(&table(&bad)).is_err(), "{bad:?} accepted");
        }
        let e = Params::parse(&table(&[("listener_id", "a#b")]))
            .err()
            .unwrap();
        assert!(e.contains("`listener_id`"), "{e}");
    }

    #[test]
    fn busy_codes() {
        assert!(ALB.is_busy("IncorrectStatus.Listener"));
        assert!(ALB.is_busy("IncorrectStatus.listener"));
        assert!(ALB.is_busy("ResourceInConfiguring.Listener"));
        assert!(ALB.is_busy("SystemBusy"));
        assert!(ALB.is_busy("IdempotenceProcessing"));
        assert!(!ALB.is_busy("ResourceNotFound.Listener"));
        assert!(!ALB.is_busy("InvalidParameter"));
    }
}
