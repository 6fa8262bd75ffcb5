//! Application Load Balancer (alb 2020-06-16): an HTTPS/QUIC listener's default certificate
//! (UpdateListenerAttribute `Certificates.1.CertificateId`) or an additional (SNI) certificate
//! (AssociateAdditionalCertificatesWithListener), both by the hub's CAS id `<CertId>-<region>`.
//! Read: GetListenerAttribute / ListListenerCertificates → the CAS certificate. Superseded
//! additional certificates alicert associated are dissociated once the rollout is confirmed.
use async_trait::async_trait;
use serde_json::Value;

use super::hub::{self, CasCopy};
use super::{upload_prefix, NewCert, Target};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};

pub struct Params {
    pub listener_id: String,
    /// Additional (SNI) certificate instead of the listener's default one.
    pub additional: bool,
}

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        let v = super::params(t, &["listener_id"], &["certificate"])?;
        let additional = match v[1].unwrap_or("default") {
            "default" => false,
            "additional" => true,
            other => {
                return Err(format!(
                    "`certificate` must be \"default\" or \"additional\", not \"{other}\""
                ))
            }
        };
        Ok(Params {
            listener_id: v[0].unwrap().to_string(),
            additional,
        })
    }
}

pub struct Alb {
    params: Params,
    prefix: String,
    client: AliyunClient,
}

impl Alb {
    pub fn new(params: Params, cert_name: &str, client: AliyunClient) -> Alb {
        Alb {
            params,
            prefix: upload_prefix(cert_name),
            client,
        }
    }

    /// The listener's server certificates: (CertificateId, is default).
    async fn listener_certificates(&self) -> Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..20 {
            let mut params = vec![
                ("ListenerId", self.params.listener_id.as_str()),
                ("CertificateType", "Server"),
                ("MaxResults", "100"),
            ];
            if !token.is_empty() {
                params.push(("NextToken", &token));
            }
            let rsp = self
                .client
                .rpc(Product::Alb, "ListListenerCertificates", &params)
                .await?;
            for c in rsp["Certificates"].as_array().into_iter().flatten() {
                if let Some(id) = hub::id_string(&c["CertificateId"]) {
                    out.push((id, is_true(&c["IsDefault"])));
                }
            }
            token = rsp["NextToken"].as_str().unwrap_or_default().to_string();
            if token.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// The additional certificates alicert associated for this name: (id, serial info).
    async fn our_additional(&self) -> Result<Vec<(String, Option<CertInfo>)>> {
        let mut out = Vec::new();
        for (id, is_default) in self.listener_certificates().await? {
            if is_default {
                continue;
            }
            let ours = hub::cas_name(&self.client, &id)
                .await?
                .is_some_and(|n| n.starts_with(&self.prefix));
            if ours {
                out.push((id.clone(), hub::read_cas_cert(&self.client, &id).await?));
            }
        }
        Ok(out)
    }
}

fn is_true(v: &Value) -> bool {
    v.as_bool() == Some(true) || v.as_str() == Some("true")
}

#[async_trait]
impl Target for Alb {
    fn kind(&self) -> &'static str {
        "alb"
    }

    fn id(&self) -> String {
        if self.params.additional {
            format!("{}/additional", self.params.listener_id)
        } else {
            self.params.listener_id.clone()
        }
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        if self.params.additional {
            // The newest of alicert's additional certificates is the one that counts: latest
            // validity, and among certificates issued within the same second the later CAS id.
            let cas_number = |id: &str| {
                id.split('-')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            return Ok(self
                .our_additional()
                .await?
                .into_iter()
                .filter_map(|(id, info)| info.map(|i| (id, i)))
                .max_by_key(|(id, i)| (i.not_after, i.not_before, cas_number(id)))
                .map(|(_, info)| info));
        }
        let rsp = self
            .client
            .rpc(
                Product::Alb,
                "GetListenerAttribute",
                &[("ListenerId", &self.params.listener_id)],
            )
            .await?;
        let default = rsp["Certificates"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|c| hub::id_string(&c["CertificateId"]));
        match default {
            Some(id) => hub::read_cas_cert(&self.client, &id).await,
            None => Ok(None),
        }
    }

    fn uses_cas(&self) -> bool {
        true
    }

    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(self
            .listener_certificates()
            .await?
            .into_iter()
            .map(|(id, _)| hub::numeric_id(&id).to_string())
            .collect())
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let cas = cert.cas.ok_or_else(|| {
            Error::Deploy("alb: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let identifier = cas.identifier();
        let action = if self.params.additional {
            "AssociateAdditionalCertificatesWithListener"
        } else {
            "UpdateListenerAttribute"
        };
        self.client
            .rpc(
                Product::Alb,
                action,
                &[
                    ("ListenerId", &self.params.listener_id),
                    ("Certificates.1.CertificateId", &identifier),
                ],
            )
            .await?;
        Ok(())
    }

    async fn retire(&self, current: &CasCopy) -> Result<()> {
        if !self.params.additional {
            return Ok(());
        }
        for (id, _) in self.our_additional().await? {
            if hub::numeric_id(&id) == current.id {
                continue;
            }
            self.client
                .rpc(
                    Product::Alb,
                    "DissociateAdditionalCertificatesFromListener",
                    &[
                        ("ListenerId", &self.params.listener_id),
                        ("Certificates.1.CertificateId", &id),
                    ],
                )
                .await?;
            tracing::info!(listener = %self.params.listener_id, certificate = %id, "dissociated superseded additional certificate");
        }
        Ok(())
    }
}
