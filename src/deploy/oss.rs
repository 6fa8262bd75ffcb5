//! OSS bucket custom domain (CNAME) certificate. Write: PutCname (`POST /?cname&comp=add`) with a
//! CertificateConfiguration naming the hub's CAS copy (`<CertId>-<region>`, Force=true); without
//! a CAS copy, the PEM certificate and key. Read: ListCname (`GET /?cname`) → the domain's
//! Certificate/CertId → the CAS certificate.
use async_trait::async_trait;

use super::hub;
use super::{NewCert, Target};
use crate::aliyun::client::OssRequest;
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::{BucketName, RegionId};

pub struct Params {
    pub bucket: BucketName,
    pub domain: String,
    /// The bucket's region; default `[aliyun] region`.
    pub region: Option<RegionId>,
}

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        let v = super::params(t, &["bucket", "domain"], &["region"])?;
        let domain = v[1].unwrap().to_ascii_lowercase();
        crate::domain::validate(&domain).map_err(|e| format!("`domain`: {e}"))?;
        Ok(Params {
            bucket: BucketName::parse(v[0].unwrap()).map_err(|e| format!("`bucket`: {e}"))?,
            domain,
            region: v[2]
                .map(RegionId::parse)
                .transpose()
                .map_err(|e| format!("`region`: {e}"))?,
        })
    }
}

pub struct OssCname {
    params: Params,
    client: AliyunClient,
}

impl OssCname {
    pub fn new(params: Params, client: AliyunClient) -> OssCname {
        let client = match &params.region {
            Some(r) => client.for_region(r),
            None => client,
        };
        OssCname { params, client }
    }

    /// The CAS id of the certificate bound to the domain, if any.
    async fn bound_cert_id(&self) -> Result<Option<String>> {
        let body = self
            .client
            .oss_request(&OssRequest {
                sub_resources: &[("cname", "")],
                ..OssRequest::bucket("ListCname", "GET", &self.params.bucket)
            })
            .await?;
        let xml = String::from_utf8_lossy(&body);
        for cname in xml_blocks(&xml, "Cname") {
            let domain = xml_text(cname, "Domain").unwrap_or_default();
            if !domain.eq_ignore_ascii_case(&self.params.domain) {
                continue;
            }
            return Ok(xml_blocks(cname, "Certificate")
                .first()
                .and_then(|c| xml_text(c, "CertId"))
                .filter(|id| !id.is_empty()));
        }
        Err(Error::Deploy(format!(
            "oss: {} is not bound to bucket {} (bind it first: OSS console > Bucket > Domain Names)",
            self.params.domain, self.params.bucket
        )))
    }
}

#[async_trait]
impl Target for OssCname {
    fn kind(&self) -> &'static str {
        "oss"
    }

    fn id(&self) -> String {
        format!("{}/{}", self.params.bucket, self.params.domain)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        match self.bound_cert_id().await? {
            Some(id) => hub::read_cas_cert(&self.client, &id).await,
            None => Ok(None),
        }
    }

    fn uses_cas(&self) -> bool {
        true
    }

    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(self
            .bound_cert_id()
            .await?
            .map(|id| hub::numeric_id(&id).to_string())
            .into_iter()
            .collect())
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

/// The inner text of every `<tag>…</tag>` (no attributes, no nesting of the same tag).
fn xml_blocks<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_blocks(xml, tag).first().map(|s| xml_unescape(s.trim()))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
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
        let cnames = xml_blocks(xml, "Cname");
        assert_eq!(cnames.len(), 2);
        assert_eq!(
            xml_text(cnames[0], "Domain").as_deref(),
            Some("a.example.com")
        );
        assert!(xml_blocks(cnames[0], "Certificate").is_empty());
        let cert = xml_blocks(cnames[1], "Certificate")[0];
        assert_eq!(
            xml_text(cert, "CertId").as_deref(),
            Some("14000002-cn-hangzhou")
        );
        assert_eq!(xml_unescape(&xml_escape("a<&>b")), "a<&>b");
    }
}
