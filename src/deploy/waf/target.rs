//! The `waf` target: reading and writing a CNAME-access domain or a cloud-native port (see the
//! module comment of `waf/mod.rs` for the calls and their sources).
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{instance_id, Mode, Params};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::deploy::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::error::{Error, Result};
use crate::ident::RegionId;

const SETTLE_FOR: Duration = Duration::from_secs(300);
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(3);
/// Domain and port `Status`: 1 normal; 2 being created, 3 being modified, 4 being released.
const BUSY_STATES: [i64; 3] = [2, 3, 4];

pub struct Waf {
    params: Params,
    region: RegionId,
    /// For WAF, in its region.
    waf: AliyunClient,
    /// For CAS (the hub's region).
    client: AliyunClient,
    instance: tokio::sync::OnceCell<String>,
}

impl Waf {
    pub(super) fn new(params: Params, region: RegionId, client: &AliyunClient) -> Waf {
        Waf {
            waf: client.for_region(&region),
            region,
            params,
            client: client.clone(),
            instance: tokio::sync::OnceCell::new(),
        }
    }
}

// Typed answers (field names and types from the models named in waf/mod.rs).
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DomainDetail {
    status: Option<i64>,
    listen: Option<Map<String, Value>>,
    redirect: Option<Map<String, Value>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PortDetails {
    access_port_details: Vec<PortDetail>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PortDetail {
    port: Option<i64>,
    status: Option<i64>,
    certificates: Vec<PortCert>,
}

#[derive(Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PortCert {
    /// `default` or `extension`.
    applied_type: String,
    certificate_id: Option<String>,
}

impl Waf {
    fn region(&self) -> &str {
        self.region.as_str()
    }

    fn domain(&self) -> &str {
        self.params.domain.as_deref().unwrap_or_default()
    }

    async fn instance_id(&self) -> Result<&str> {
        let id = self
            .instance
            .get_or_try_init(|| instance_id(&self.waf, self.region()))
            .await?;
        Ok(id.as_str())
    }

    async fn detail(&self) -> Result<DomainDetail> {
        let instance = self.instance_id().await?;
        let rsp = self
            .waf
            .rpc(
                Product::Waf,
                "DescribeDomainDetail",
                &[
                    ("InstanceId", instance),
                    ("RegionId", self.region()),
                    ("Domain", self.domain()),
                ],
            )
            .await?;
        crate::deploy::answer("DescribeDomainDetail", rsp)
    }

    async fn port_detail(&self) -> Result<PortDetail> {
        let instance = self.instance_id().await?;
        let port = self.params.port.unwrap_or_default().to_string();
        let rsp = self
            .waf
            .rpc(
                Product::Waf,
                "DescribeCloudResourceAccessPortDetails",
                &[
                    ("InstanceId", instance),
                    ("RegionId", self.region()),
                    ("ResourceInstanceId", self.resource_instance()),
                    ("ResourceProduct", self.resource_product()),
                    ("Port", &port),
                ],
            )
            .await?;
        let details: PortDetails =
            crate::deploy::answer("DescribeCloudResourceAccessPortDetails", rsp)?;
        let want = i64::from(self.params.port.unwrap_or_default());
        details
            .access_port_details
            .into_iter()
            .find(|d| d.port == Some(want))
            .ok_or_else(|| {
                Error::Deploy(format!(
                    "waf: port {want} of {} is not added to WAF; add it in the WAF console \
                     (cloud-native mode) first",
                    self.resource_instance()
                ))
            })
    }

    fn resource_instance(&self) -> &str {
        self.params
            .resource_instance_id
            .as_ref()
            .map_or("", |r| r.as_str())
    }

    fn resource_product(&self) -> &str {
        self.params.resource_product.map_or("", |p| p.as_str())
    }

    /// The status of the domain or port alicert writes to.
    async fn status(&self) -> Result<Option<i64>> {
        Ok(match self.params.mode {
            Mode::Cname => self.detail().await?.status,
            Mode::CloudResource => self.port_detail().await?.status,
        })
    }

    /// Wait while WAF is still applying an earlier change (bounded, and every call fails once
    /// the invocation's deadline has passed).
    async fn settle(&self, after: &str) -> Result<()> {
        let started = Instant::now();
        let mut delay = FIRST_POLL;
        for poll in 0u32.. {
            let status = self.status().await?;
            if !status.is_some_and(|s| BUSY_STATES.contains(&s)) {
                return Ok(());
            }
            if started.elapsed() + delay > SETTLE_FOR {
                return Err(Error::Deploy(format!(
                    "waf {}: still status {} {}s after {after}; check it in the WAF console, the \
                     next run retries",
                    self.id().resource,
                    status.unwrap_or_default(),
                    SETTLE_FOR.as_secs()
                )));
            }
            if poll % 10 == 9 {
                tracing::info!(target = %self.id(), status, waited_ms = started.elapsed().as_millis() as u64, "waiting for WAF to apply the change");
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(MAX_POLL);
        }
        unreachable!("the poll loop returns")
    }

    async fn deploy_cname(&self, identifier: &str) -> Result<()> {
        let detail = self.detail().await?;
        let mut listen = detail.listen.unwrap_or_default();
        let https = listen
            .get("HttpsPorts")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
        if !https {
            return Err(Error::Deploy(format!(
                "waf {}: the domain has no HTTPS listen port, so it serves no certificate; add \
                 one in the WAF console",
                self.domain()
            )));
        }
        listen.insert("CertId".into(), Value::String(identifier.to_string()));
        let redirect = redirect_for_modify(detail.redirect.unwrap_or_default());
        let instance = self.instance_id().await?;
        self.waf
            .rpc(
                Product::Waf,
                "ModifyDomain",
                &[
                    ("InstanceId", instance),
                    ("RegionId", self.region()),
                    ("Domain", self.domain()),
                    ("Listen", &Value::Object(listen).to_string()),
                    ("Redirect", &Value::Object(redirect).to_string()),
                ],
            )
            .await?;
        Ok(())
    }

    async fn deploy_cloud_resource(&self, identifier: &str) -> Result<()> {
        let detail = self.port_detail().await?;
        let mut certs = vec![(String::from("default"), identifier.to_string())];
        for c in detail.certificates {
            if c.applied_type != "default" {
                if let Some(id) = c.certificate_id {
                    certs.push((c.applied_type, id));
                }
            }
        }
        let instance = self.instance_id().await?;
        let port = self.params.port.unwrap_or_default().to_string();
        let mut params: Vec<(String, String)> = [
            ("InstanceId", instance),
            ("RegionId", self.region()),
            ("ResourceInstanceId", self.resource_instance()),
            ("ResourceProduct", self.resource_product()),
            ("Port", &port),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (i, (applied, id)) in certs.iter().enumerate() {
            params.push((
                format!("Certificates.{}.AppliedType", i + 1),
                applied.clone(),
            ));
            params.push((format!("Certificates.{}.CertificateId", i + 1), id.clone()));
        }
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.waf
            .rpc(Product::Waf, "ModifyCloudResourceCert", &params)
            .await?;
        Ok(())
    }

    /// The CAS ids the domain or port uses now (`<CertId>-<region>` as WAF reports them).
    async fn bound(&self) -> Result<(Option<String>, Vec<String>)> {
        Ok(match self.params.mode {
            Mode::Cname => {
                let listen = self.detail().await?.listen.unwrap_or_default();
                let id = listen.get("CertId").and_then(cas::id_of);
                (id.clone(), id.into_iter().collect())
            }
            Mode::CloudResource => {
                let certs = self.port_detail().await?.certificates;
                let default = certs
                    .iter()
                    .find(|c| c.applied_type == "default")
                    .and_then(|c| c.certificate_id.clone());
                (
                    default,
                    certs.into_iter().filter_map(|c| c.certificate_id).collect(),
                )
            }
        })
    }
}

/// DescribeDomainDetail's `Redirect` in ModifyDomain's shape: the request takes `Backends` and
/// `BackupBackends` as lists of strings where the answer has `[{"Backend": ..}]`, and has no
/// `BackendList`/`BackUpBackendList` (the answer's flat copies). Everything else is sent back as
/// read.
fn redirect_for_modify(mut redirect: Map<String, Value>) -> Map<String, Value> {
    redirect.remove("BackendList");
    redirect.remove("BackUpBackendList");
    for key in ["Backends", "BackupBackends"] {
        if let Some(Value::Array(list)) = redirect.get(key) {
            let flat: Vec<Value> = list
                .iter()
                .map(|b| match b {
                    Value::Object(o) => o.get("Backend").cloned().unwrap_or(Value::Null),
                    other => other.clone(),
                })
                .filter(|b| !b.is_null())
                .collect();
            redirect.insert(key.into(), Value::Array(flat));
        }
    }
    redirect
}

#[async_trait]
impl Target for Waf {
    fn id(&self) -> TargetId {
        let resource = match self.params.mode {
            Mode::Cname => self.domain().to_string(),
            Mode::CloudResource => format!(
                "{}/{}:{}",
                self.resource_product(),
                self.resource_instance(),
                self.params.port.unwrap_or_default()
            ),
        };
        TargetId::new(TargetKind::Waf, resource)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let (default, _) = self.bound().await?;
        cas::read_bound(&self.client, default.as_deref()).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let cas = cert.cas.ok_or_else(|| {
            Error::Deploy("waf: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let identifier = cas.identifier();
        self.settle("an earlier change").await?;
        match self.params.mode {
            Mode::Cname => self.deploy_cname(&identifier).await?,
            Mode::CloudResource => self.deploy_cloud_resource(&identifier).await?,
        }
        self.settle("the certificate change").await
    }
}

capabilities!(Waf: cas);

#[async_trait]
impl CasConsumer for Waf {
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(cas::numeric_ids(self.bound().await?.1))
    }

    /// WAF keeps no copies of its own: it points at CAS certificates.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "yundun-waf:DescribeDomainDetail",
    "yundun-waf:ModifyDomain",
    "yundun-waf:DescribeCloudResourceAccessPortDetails",
    "yundun-waf:ModifyCloudResourceCert",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_goes_back_in_the_request_shape() {
        let read: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "Backends": [{"Backend": "1.1.1.1"}, {"Backend": "2.2.2.2"}],
            "BackupBackends": [{"Backend": "3.3.3.3"}],
            "BackendList": ["1.1.1.1", "2.2.2.2"],
            "BackUpBackendList": ["3.3.3.3"],
            "Loadbalance": "iphash",
            "ReadTimeout": 120,
            "RequestHeaders": [{"Key": "X-A", "Value": "1"}],
        }))
        .unwrap();
        let sent = Value::Object(redirect_for_modify(read));
        assert_eq!(
            sent,
            serde_json::json!({
                "Backends": ["1.1.1.1", "2.2.2.2"],
                "BackupBackends": ["3.3.3.3"],
                "Loadbalance": "iphash",
                "ReadTimeout": 120,
                "RequestHeaders": [{"Key": "X-A", "Value": "1"}],
            })
        );
    }
}
