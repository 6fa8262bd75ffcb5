//! API Gateway (cloudapi) 2016-07-14 (RPC): group custom domains and their certificates.
use super::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiGatewayDomain {
    pub group_id: String,
    pub domain: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiGatewayDomainState {
    pub group_id: String,
    pub domain: String,
    pub certificate: Option<DeployedCert>,
}

impl Seed {
    pub fn apigateway_domain(mut self, group_id: &str, domain: &str) -> Self {
        self.apigateway_domains.push(ApiGatewayDomain {
            group_id: group_id.into(),
            domain: domain.into(),
        });
        self
    }
}

impl EmulatorState {
    pub fn apigateway_cert(&self, group_id: &str, domain: &str) -> Option<&DeployedCert> {
        self.apigateway_domains
            .iter()
            .find(|d| d.group_id == group_id && d.domain == domain)
            .and_then(|d| d.certificate.as_ref())
    }
}

impl Emulator {
    /// Installs a certificate on a seeded API Gateway domain directly.
    pub fn set_apigateway_certificate(
        &self,
        group_id: &str,
        domain: &str,
        cert_pem: &str,
        key_pem: &str,
    ) {
        let mut dc = direct_cert(domain, cert_pem, key_pem);
        dc.cert_id = random_hex(32);
        let mut inner = self.shared.lock();
        let d = inner
            .state
            .apigateway_domains
            .iter_mut()
            .find(|d| d.group_id == group_id && d.domain == domain)
            .unwrap_or_else(|| panic!("API Gateway domain {group_id}/{domain} is not seeded"));
        d.certificate = Some(dc);
    }
}

pub(crate) fn seed_apigateway(inner: &mut Inner, seed: &Seed) {
    for d in &seed.apigateway_domains {
        inner.state.apigateway_domains.push(ApiGatewayDomainState {
            group_id: d.group_id.clone(),
            domain: d.domain.clone(),
            certificate: None,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// API Gateway (cloudapi) 2016-07-14
// ---------------------------------------------------------------------------------------------

pub(crate) fn apigateway(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    if !matches!(
        action,
        "SetDomainCertificate" | "DescribeDomain" | "DeleteDomainCertificate"
    ) {
        return Err(unknown_action());
    }
    let group_id = p.req("GroupId")?.to_string();
    let domain = p.req("DomainName")?.to_string();
    if !inner
        .state
        .apigateway_domains
        .iter()
        .any(|d| d.group_id == group_id)
    {
        return Err(err(404, "NotFoundGroup", "Cannot find the group."));
    }
    let idx = inner
        .state
        .apigateway_domains
        .iter()
        .position(|d| d.group_id == group_id && d.domain == domain)
        .ok_or_else(|| {
            err(
                404,
                "NotFoundDomain",
                "The domain is not bound to the group.",
            )
        })?;
    Ok(match action {
        "SetDomainCertificate" => {
            let name = p.req("CertificateName")?.to_string();
            let body = p.req("CertificateBody")?.to_string();
            let key = p.req("CertificatePrivateKey")?.to_string();
            let info = check_pair(&body, &key)?;
            require_cover(&info, &domain)?;
            inner.state.apigateway_domains[idx].certificate = Some(DeployedCert {
                cert_name: name,
                cert_id: random_hex(32),
                cert_type: "upload".into(),
                cert_region: REGION.into(),
                cert: body,
                key,
                info,
                updated_ms: now_ms(),
                updated_by: ctx.ak.to_string(),
            });
            json!({})
        }
        "DescribeDomain" => {
            let d = &inner.state.apigateway_domains[idx];
            let mut v = json!({
                "GroupId": d.group_id,
                "DomainName": d.domain,
                "SubDomain": format!("{}-{REGION}.alicloudapi.com", d.group_id),
                "DomainBindingStatus": "BINDING",
                "DomainCNAMEStatus": "RESOLVED",
                "DomainLegalStatus": "NORMAL",
                "DomainWebSocketStatus": "CLOSE",
                "DomainRemark": "",
                "CertificatePrivateKey": "",
            });
            if let Some(c) = &d.certificate {
                let m = v.as_object_mut().expect("object");
                m.insert("CertificateId".into(), json!(c.cert_id));
                m.insert("CertificateName".into(), json!(c.cert_name));
                m.insert("CertificateBody".into(), json!(c.cert));
                m.insert("CertificateValidStart".into(), json!(c.info.not_before_ms));
                m.insert("CertificateValidEnd".into(), json!(c.info.not_after_ms));
            }
            v
        }
        "DeleteDomainCertificate" => {
            let id = p.req("CertificateId")?;
            let d = &mut inner.state.apigateway_domains[idx];
            match &d.certificate {
                Some(c) if c.cert_id == id => d.certificate = None,
                _ => {
                    return Err(err(
                        404,
                        "NotFoundCertificate",
                        "The certificate does not exist.",
                    ))
                }
            }
            json!({})
        }
        _ => return Err(unknown_action()),
    })
}
