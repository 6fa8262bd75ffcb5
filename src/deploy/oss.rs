//! OSS bucket custom domain (CNAME) certificate. Write: PutCname (`POST /?cname&comp=add`) with a
//! CertificateConfiguration naming the hub's CAS copy (`<CertId>-<region>`, Force=true); without
//! a CAS copy, the PEM certificate and key. Read: ListCname (`GET /?cname`) → the domain's
//! Certificate/CertId → the CAS certificate.
use async_trait::async_trait;
use serde::Deserialize;

use super::kinds::Kind;
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::client::OssRequest;
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::{BucketName, RegionId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub bucket: BucketName,
    #[serde(deserialize_with = "super::kinds::domain")]
    pub domain: String,
    /// The bucket's region; default `[aliyun] region`.
    pub region: Option<RegionId>,
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "oss:ListCname",
    "oss:PutCname",
    "yundun-cert:DescribeSSLCertificatePrivateKey",
    "yundun-cert:DescribeSSLCertificatePublicKeyDetail",
    "yundun-cert:CreateSSLCertificate",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Oss;

    fn ram(
        &self,
        ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![
            Statement::new(
                "DeployOss",
                "target kind oss: read the bucket's custom domains and attach the certificate to the configured one (this bucket only).",
                &pick(RAM, &["oss:ListCname", "oss:PutCname"]),
                vec![crate::secret_ref::oss_bucket_arn(ctx.scope, self.bucket.as_str())],
            ),
            // OSS API reference, PutCname, "Permissions": attaching a CAS certificate to a
            // bucket's domain also needs these three
            // (https://www.alibabacloud.com/help/en/oss/developer-reference/putcname).
            Statement::any(
                "DeployOssCasCertificate",
                "target kind oss: what OSS's PutCname needs to attach a CAS certificate (OSS API reference, PutCname, Permissions).",
                &pick(
                    RAM,
                    &[
                        "yundun-cert:DescribeSSLCertificatePrivateKey",
                        "yundun-cert:DescribeSSLCertificatePublicKeyDetail",
                        "yundun-cert:CreateSSLCertificate",
                    ],
                ),
            ),
        ];
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(OssCname {
            client: super::regional(client, self.region.as_ref()),
            params: self,
        })
    }
}

pub struct OssCname {
    params: Params,
    client: AliyunClient,
}

/// The bucket's custom domains (ListCname), as OSS answers them.
async fn cnames(client: &AliyunClient, bucket: &BucketName) -> Result<Vec<CnameEntry>> {
    let body = client
        .oss_request(&OssRequest {
            sub_resources: &[("cname", "")],
            ..OssRequest::bucket("ListCname", "GET", bucket)
        })
        .await?;
    let xml = String::from_utf8_lossy(&body);
    list_cnames(&xml).ok_or_else(|| {
        Error::Deploy(format!(
            "oss: ListCname of bucket {bucket} answered XML alicert cannot read"
        ))
    })
}

/// The custom domains bound to `bucket` (`client` in the bucket's region), for `alicert scan`.
pub(crate) async fn bucket_domains(
    client: &AliyunClient,
    bucket: &BucketName,
) -> Result<Vec<String>> {
    Ok(cnames(client, bucket)
        .await?
        .into_iter()
        .map(|c| c.domain)
        .filter(|d| !d.is_empty())
        .collect())
}

impl OssCname {
    /// The CAS id of the certificate bound to the domain, if any.
    async fn bound_cert_id(&self) -> Result<Option<String>> {
        let cnames = cnames(&self.client, &self.params.bucket).await?;
        if let Some(c) = cnames
            .into_iter()
            .find(|c| c.domain.eq_ignore_ascii_case(&self.params.domain))
        {
            return Ok(c.cert_id.filter(|id| !id.is_empty()));
        }
        Err(Error::Deploy(format!(
            "oss: {} is not bound to bucket {} (bind it first: OSS console > Bucket > Domain Names)",
            self.params.domain, self.params.bucket
        )))
    }
}

#[async_trait]
impl Target for OssCname {
    fn id(&self) -> TargetId {
        TargetId::new(
            TargetKind::Oss,
            format!("{}/{}", self.params.bucket, self.params.domain),
        )
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let bound = self.bound_cert_id().await?;
        cas::read_bound(&self.client, bound.as_deref()).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let certificate = match cert.cas {
            Some(cas) => format!("<CertId>{}</CertId>", xml_escape(&cas.identifier())),
            None => format!(
                "<Certificate>{}</Certificate><PrivateKey>{}</PrivateKey>",
                xml_escape(cert.fullchain),
                xml_escape(cert.private_key.expose())
            ),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BucketCnameConfiguration><Cname>\
             <Domain>{}</Domain><CertificateConfiguration>{certificate}<Force>true</Force>\
             </CertificateConfiguration></Cname></BucketCnameConfiguration>",
            xml_escape(&self.params.domain)
        );
        self.client
            .oss_request(&OssRequest {
                sub_resources: &[("cname", ""), ("comp", "add")],
                content_type: "application/xml",
                body: Some(body.into_bytes()),
                ..OssRequest::bucket("PutCname", "POST", &self.params.bucket)
            })
            .await?;
        Ok(())
    }
}

capabilities!(OssCname: cas);

#[async_trait]
impl CasConsumer for OssCname {
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(cas::numeric_ids(self.bound_cert_id().await?))
    }

    /// A CNAME holds one certificate: nothing else to drop.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

/// One `<Cname>` of a ListCname answer (OSS API reference "ListCname":
/// `ListCnameResult/Cname/{Domain, Certificate/CertId}`).
#[derive(Debug, PartialEq, Eq)]
struct CnameEntry {
    domain: String,
    cert_id: Option<String>,
}

/// The CNAMEs of a ListCname answer, parsed with quick-xml (entities unescaped); `None` if the
/// XML is not well formed.
fn list_cnames(xml: &str) -> Option<Vec<CnameEntry>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if path.len() == 1 && name == "Cname" {
                    out.push(CnameEntry {
                        domain: String::new(),
                        cert_id: None,
                    });
                }
                path.push(name);
            }
            Event::Text(t) => {
                let text = t.unescape().ok()?;
                let at: Vec<&str> = path.iter().map(String::as_str).collect();
                match (at.as_slice(), out.last_mut()) {
                    ([_, "Cname", "Domain"], Some(c)) => c.domain.push_str(text.trim()),
                    ([_, "Cname", "Certificate", "CertId"], Some(c)) => {
                        c.cert_id
                            .get_or_insert_with(String::new)
                            .push_str(text.trim());
                    }
                    _ => {}
                }
            }
            Event::End(_) => {
                path.pop()?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some(out)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_list_cname_xml() {
        let xml = "<ListCnameResult><Bucket>b</Bucket><Cname><Domain>a.example.com</Domain>\
                   <Status>Enabled</Status></Cname><Cname><Domain>static.example.com</Domain>\
                   <Certificate><Type>CAS</Type><CertId>14000002-cn-hangzhou</CertId></Certificate>\
                   </Cname></ListCnameResult>";
        assert_eq!(
            list_cnames(xml).unwrap(),
            vec![
                CnameEntry {
                    domain: "a.example.com".into(),
                    cert_id: None
                },
                CnameEntry {
                    domain: "static.example.com".into(),
                    cert_id: Some("14000002-cn-hangzhou".into())
                },
            ]
        );
        assert!(list_cnames("<a><b></a>").is_none());
        let escaped = format!(
            "<R><Cname><Domain>{}</Domain></Cname></R>",
            xml_escape("a&b")
        );
        assert_eq!(list_cnames(&escaped).unwrap()[0].domain, "a&b");
    }
}
