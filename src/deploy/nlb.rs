//! Network Load Balancer (nlb 2022-04-30): a TCPSSL listener's default server certificate
//! (UpdateListenerAttribute `CertificateIds.1`) or an additional one
//! (AssociateAdditionalCertificatesWithListener `AdditionalCertificateIds.1`), by the hub's CAS
//! identifier `<CertId>-<region>` as for ALB. Read: GetListenerAttribute (`CertificateIds`) /
//! ListListenerCertificates → the CAS certificate. Superseded additional certificates alicert
//! associated (exact CAS name) are dissociated (DisassociateAdditionalCertificatesWithListener)
//! once the rollout is confirmed.
//!
//! Source: PyPI alibabacloud-nlb20220430 4.1.3, client.py and models/
//! `_update_listener_attribute_request.py` (CertificateIds: "Only one server certificate is
//! supported"), `_associate_additional_certificates_with_listener_request.py`,
//! `_list_listener_certificates_request.py` (MaxResults 1–50), `_get_listener_attribute_
//! response_body.py` (ListenerStatus), `_get_job_status_response_body.py` (Status `Succeeded` |
//! `processing`); API reference AssociateAdditionalCertificatesWithListener ("asynchronous",
//! `Associating` → `Associated`). Writes are jobs ([`listener_job`]): after each write alicert
//! waits until GetJobStatus says `Succeeded`, the listener is `Running` (or `Stopped`) and the
//! certificate has the state the write leads to.
use async_trait::async_trait;
use serde::{Deserialize, Deserializer};

use super::kinds::{parsed, Kind};
use super::listener_job::{self, Certificate, Progress};
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::{RegionId, ResourceId};

/// NLB's listener writes. Busy codes: `Conflict.Lock` and `IncorrectStatus.listener` (the codes
/// the work brief and ../shared/ALIBABA_API.md name for NLB listeners in configuration), and
/// the generic `SystemBusy` / `IdempotenceProcessing` (a repeated ClientToken still running).
const NLB: listener_job::Product = listener_job::Product {
    name: "NLB",
    busy: &[
        "Conflict.Lock",
        "IncorrectStatus.listener",
        "SystemBusy",
        "IdempotenceProcessing",
    ],
};

/// ListListenerCertificatesRequest MaxResults: "Valid values: 1 to 50".
const PAGE: &str = "50";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "listener_id")]
    pub listener_id: ResourceId,
    /// The listener's default certificate or an additional one.
    #[serde(default)]
    pub certificate: Certificate,
    /// The NLB instance's region (default: `[aliyun] region`).
    pub region: Option<RegionId>,
}

fn listener_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<ResourceId, D::Error> {
    let hint = "; use the TCPSSL listener id the NLB console shows (lsn-...)";
    parsed(d, ResourceId::parse, hint)
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "nlb:GetListenerAttribute",
    "nlb:UpdateListenerAttribute",
    "nlb:ListListenerCertificates",
    "nlb:AssociateAdditionalCertificatesWithListener",
    "nlb:DisassociateAdditionalCertificatesWithListener",
    "nlb:GetJobStatus",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Nlb;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![Statement::any(
            "DeployNlb",
            "target kind nlb: read the TCPSSL listener's certificates, set the default or an additional one and follow the asynchronous job.",
            &pick(RAM, &["nlb:GetListenerAttribute", "nlb:UpdateListenerAttribute", "nlb:ListListenerCertificates", "nlb:AssociateAdditionalCertificatesWithListener", "nlb:DisassociateAdditionalCertificatesWithListener", "nlb:GetJobStatus"]),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Nlb {
            nlb: super::regional(client, self.region.as_ref()),
            params: self,
            cert_name: cert_name.to_string(),
            client: client.clone(),
        })
    }
}

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
            Write::Dissociate => "DisassociateAdditionalCertificatesWithListener",
        }
    }

    /// The request's certificate list.
    fn field(self) -> &'static str {
        match self {
            Write::SetDefault => "CertificateIds.1",
            _ => "AdditionalCertificateIds.1",
        }
    }
}

/// What alicert reads of the NLB answers (models named above): ListListenerCertificates
/// `Certificates[]` {`CertificateId`, `IsDefault`, `Status`}, `NextToken`; GetListenerAttribute
/// `ListenerStatus`, `CertificateIds`; the writes' `JobId`; GetJobStatus `Status`.
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
    certificate_ids: Vec<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Job {
    job_id: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct JobStatus {
    status: Option<String>,
}

/// One server certificate of the listener.
struct ListenerCert {
    id: String,
    is_default: bool,
    status: String,
}

pub struct Nlb {
    params: Params,
    cert_name: String,
    /// For CAS (the hub's region).
    client: AliyunClient,
    /// For NLB, in the instance's region.
    nlb: AliyunClient,
}

capabilities!(Nlb: cas);

impl Nlb {
    fn additional(&self) -> bool {
        self.params.certificate == Certificate::Additional
    }

    fn listener(&self) -> &str {
        self.params.listener_id.as_str()
    }

    async fn call(&self, action: &str, extra: &[(&str, &str)]) -> Result<serde_json::Value> {
        let region = self.nlb.region().to_string();
        let mut params = vec![("ListenerId", self.listener()), ("RegionId", &region)];
        params.extend_from_slice(extra);
        self.nlb.rpc(Product::Nlb, action, &params).await
    }

    async fn listener_certificates(&self) -> Result<Vec<ListenerCert>> {
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..100 {
            let mut extra = vec![("CertType", "Server"), ("MaxResults", PAGE)];
            if !token.is_empty() {
                extra.push(("NextToken", &token));
            }
            let rsp = self.call("ListListenerCertificates", &extra).await?;
            let page: CertPage = super::answer("ListListenerCertificates", rsp)?;
            out.extend(page.certificates.into_iter().filter_map(|c| {
                Some(ListenerCert {
                    id: c.certificate_id?,
                    is_default: c.is_default,
                    status: c.status.unwrap_or_default(),
                })
            }));
            token = page.next_token.unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    async fn attribute(&self) -> Result<Attribute> {
        let rsp = self.call("GetListenerAttribute", &[]).await?;
        super::answer("GetListenerAttribute", rsp)
    }

    async fn our_additional(&self) -> Result<Vec<(String, Option<CertInfo>)>> {
        let ids = self.listener_certificates().await?.into_iter();
        let ids = ids.filter(|c| !c.is_default).map(|c| c.id);
        listener_job::ours(&self.client, &self.cert_name, ids).await
    }

    /// One write: under the listener's lock, retried while busy, then waited for.
    async fn write(&self, write: Write, certificate: &str) -> Result<()> {
        let key = format!("nlb/{}/{}", self.nlb.region(), self.listener());
        let lock = listener_job::listener_lock(&key);
        let _guard = lock.lock().await;
        let action = write.action();
        let token = listener_job::client_token(action, self.listener(), certificate);
        let extra = [
            (write.field(), certificate),
            ("ClientToken", token.as_str()),
        ];
        let rsp = listener_job::send_while_busy(&NLB, self.listener(), action, || {
            self.call(action, &extra)
        })
        .await?;
        let job = super::answer::<Job>(action, rsp)?
            .job_id
            .unwrap_or_default();
        listener_job::settle(&NLB, self.listener(), action, &job, || {
            self.progress(write, certificate, &job)
        })
        .await
    }

    /// Where the job of `write` stands: GetJobStatus, the listener's status, the certificate.
    async fn progress(&self, write: Write, certificate: &str, job: &str) -> Result<Progress> {
        if !job.is_empty() {
            let rsp = self
                .nlb
                .rpc(Product::Nlb, "GetJobStatus", &[("JobId", job)])
                .await?;
            let status = super::answer::<JobStatus>("GetJobStatus", rsp)?.status;
            let status = status.unwrap_or_default();
            if !status.eq_ignore_ascii_case("Succeeded") {
                return Ok(Progress::Running(format!("job {status}")));
            }
        }
        let status = self.attribute().await?.listener_status.unwrap_or_default();
        if !matches!(status.as_str(), "Running" | "Stopped") {
            return Ok(Progress::Running(format!("listener {status}")));
        }
        if write == Write::SetDefault {
            return Ok(Progress::Done);
        }
        let state = self
            .listener_certificates()
            .await?
            .into_iter()
            .find(|c| c.id == certificate)
            .map(|c| c.status);
        let done = match write {
            Write::Dissociate => state.is_none(),
            _ => state.as_deref() == Some("Associated"),
        };
        Ok(if done {
            Progress::Done
        } else {
            Progress::Running(format!(
                "certificate {certificate} {}",
                state.as_deref().unwrap_or("not listed")
            ))
        })
    }
}

#[async_trait]
impl Target for Nlb {
    fn id(&self) -> TargetId {
        let resource = if self.additional() {
            format!("{}/additional", self.params.listener_id)
        } else {
            self.params.listener_id.to_string()
        };
        TargetId::new(TargetKind::Nlb, resource)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        if self.additional() {
            return Ok(listener_job::newest(self.our_additional().await?));
        }
        let attribute = self.attribute().await?;
        cas::read_bound(
            &self.client,
            attribute.certificate_ids.first().map(String::as_str),
        )
        .await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let copy = cert.cas.ok_or_else(|| {
            Error::Deploy("nlb: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let identifier = copy.identifier();
        let present = self.listener_certificates().await?.into_iter().any(|c| {
            c.id == identifier && c.is_default != self.additional() && c.status == "Associated"
        });
        if present {
            tracing::info!(listener = self.listener(), certificate = %identifier, "already on the listener");
            return Ok(());
        }
        let write = if self.additional() {
            Write::Associate
        } else {
            Write::SetDefault
        };
        self.write(write, &identifier).await
    }
}

#[async_trait]
impl CasConsumer for Nlb {
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
            ("certificate", "additional"),
            ("region", "cn-shanghai"),
        ]))
        .unwrap();
        assert_eq!(p.certificate, Certificate::Additional);
        for bad in [
            vec![("listener_id", "lsn 1")],
            vec![("listener_id", "lsn-1"), ("certificate", "sni")],
            vec![("listener_id", "lsn-1"), ("region", "cn-hangzhou.evil.com")],
            vec![("listener_id", "lsn-1"), ("port", "443")],
        ] {
            assert!(Params::parse(&table(&bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn busy_codes() {
        for code in ["Conflict.Lock", "IncorrectStatus.Listener", "SystemBusy"] {
            assert!(NLB.is_busy(code), "{code}");
        }
        assert!(!NLB.is_busy("ResourceNotFound.listener"));
    }
}
