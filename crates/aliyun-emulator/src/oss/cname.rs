//! OSS bucket CNAMEs: PutCname (`POST /<bucket>/?cname&comp=add`) and ListCname
//! (`GET /<bucket>/?cname`).
use super::*;

pub(crate) fn xml_tag(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Returns (status, XML body) or an OSS error (status, code, message).
pub(crate) fn oss_cname(
    inner: &mut Inner,
    action: &str,
    bucket: &str,
    body: &[u8],
    ak: &str,
) -> Result<(u16, String), (u16, &'static str, String)> {
    match action {
        "ListCname" => {
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListCnameResult><Bucket>{bucket}</Bucket><Owner>{ACCOUNT_ID}</Owner>"
            );
            for c in inner
                .state
                .services
                .oss_cnames
                .iter()
                .filter(|c| c.bucket == bucket)
            {
                xml.push_str(&format!(
                    "<Cname><Domain>{}</Domain><LastModified>{}</LastModified><Status>Enabled</Status>",
                    c.domain,
                    rfc3339(now_ms())
                ));
                if let Some(d) = &c.certificate {
                    xml.push_str(&format!(
                        "<Certificate><Type>{}</Type><CertId>{}</CertId><Status>Enabled</Status>\
                         <CreationDate>{}</CreationDate><Fingerprint>{}</Fingerprint>\
                         <ValidStartDate>{}</ValidStartDate><ValidEndDate>{}</ValidEndDate></Certificate>",
                        if d.cert_type == "cas" { "CAS" } else { "BYOC" },
                        d.cert_id,
                        rfc3339(d.updated_ms),
                        d.info.fingerprint,
                        rfc3339(d.info.not_before_ms),
                        rfc3339(d.info.not_after_ms),
                    ));
                }
                xml.push_str("</Cname>");
            }
            xml.push_str("</ListCnameResult>");
            Ok((200, xml))
        }
        "PutCname" => {
            let text = String::from_utf8_lossy(body).to_string();
            let domain = xml_tag(&text, "Domain").ok_or((
                400,
                "MalformedXML",
                "Domain is missing".to_string(),
            ))?;
            let cc = xml_tag(&text, "CertificateConfiguration");
            let idx = inner
                .state
                .services
                .oss_cnames
                .iter()
                .position(|c| c.bucket == bucket && c.domain == domain)
                .ok_or((
                    400,
                    "NeedVerifyDomainOwnership",
                    format!("{domain} is not bound to {bucket} (the emulator needs it seeded)"),
                ))?;
            if let Some(cc) = cc {
                let force = xml_tag(&cc, "Force").is_some_and(|f| f.eq_ignore_ascii_case("true"));
                if inner.state.services.oss_cnames[idx].certificate.is_some() && !force {
                    return Err((
                        409,
                        "CertificateAlreadyExist",
                        "set Force to replace".into(),
                    ));
                }
                let deployed = if let Some(cas_id) = xml_tag(&cc, "CertId") {
                    let c = find_cas(inner, &cas_id)
                        .map_err(|e| (404, "NoSuchCertificate", e.message))?;
                    cas_deployed(c, &cas_id, ak)
                } else {
                    let cert = xml_tag(&cc, "Certificate").unwrap_or_default();
                    let key = xml_tag(&cc, "PrivateKey").unwrap_or_default();
                    let info = check_pair(&cert, &key)
                        .map_err(|e| (400, "InvalidCertificate", e.message))?;
                    DeployedCert {
                        cert_name: String::new(),
                        cert_id: format!("{}-{REGION}", inner.next_cert_id()),
                        cert_type: "upload".into(),
                        cert_region: REGION.into(),
                        cert,
                        key,
                        info,
                        updated_ms: now_ms(),
                        updated_by: ak.to_string(),
                    }
                };
                if !super::cert_covers(&deployed.info, &domain) {
                    return Err((
                        400,
                        "InvalidCertificate",
                        format!("the certificate does not cover {domain}"),
                    ));
                }
                inner.state.services.oss_cnames[idx].certificate = Some(deployed);
            }
            Ok((200, String::new()))
        }
        _ => Err((
            405,
            "MethodNotAllowed",
            "unsupported bucket operation".into(),
        )),
    }
}

/// The seeded `oss_cnames`.
pub(crate) fn seed_oss_cnames(seed: &ServicesSeed) -> Vec<OssCname> {
    seed.oss_cnames
        .iter()
        .map(|(b, d)| OssCname {
            bucket: b.clone(),
            domain: d.clone(),
            certificate: None,
        })
        .collect()
}

impl Emulator {
    /// Binds CAS certificate `cas_id` to a seeded bucket domain, as a console user would
    /// (ListCname then shows `<CertId>{cas_id}-<region>`).
    pub fn set_oss_cname_certificate_from_cas(&self, bucket: &str, domain: &str, cas_id: u64) {
        let mut inner = self.shared.lock();
        let c = inner
            .state
            .cas_certs
            .iter()
            .find(|c| c.cert_id == cas_id)
            .unwrap_or_else(|| panic!("no CAS certificate {cas_id}"))
            .clone();
        let cname = inner
            .state
            .services
            .oss_cnames
            .iter_mut()
            .find(|c| c.bucket == bucket && c.domain == domain)
            .unwrap_or_else(|| panic!("OSS domain {domain} of bucket {bucket} is not seeded"));
        cname.certificate = Some(cas_deployed(&c, &format!("{cas_id}-{REGION}"), "console"));
    }
}
