//! CAS 2020-04-07 (RPC). Certificates referenced by CAS id must exist here, and CAS refuses to
//! delete a certificate any product still uses (see [`EmulatorState::cas_users`]).
use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct CasCert {
    pub cert_id: u64,
    pub name: String,
    pub cert: String,
    pub key: String,
    pub info: CertInfo,
    pub created_by: String,
    pub created_ms: i64,
}

impl EmulatorState {
    pub fn cas_cert_named(&self, name: &str) -> Option<&CasCert> {
        self.cas_certs.iter().find(|c| c.name == name)
    }
    pub(crate) fn cas_info(&self, cas_id: &str) -> Option<&CertInfo> {
        let id: u64 = cas_id.split('-').next()?.parse().ok()?;
        self.cas_certs
            .iter()
            .find(|c| c.cert_id == id)
            .map(|c| &c.info)
    }
    /// Who still uses CAS certificate `id` (CDN/DCDN, SLB, ALB, OSS), for DeleteUserCertificate.
    pub(super) fn cas_users(&self, id: u64) -> Vec<String> {
        let id_s = id.to_string();
        let is = |c: &str| c.split('-').next() == Some(id_s.as_str());
        let mut users = Vec::new();
        for (kind, map) in [("cdn", &self.cdn_domains), ("dcdn", &self.dcdn_domains)] {
            for (d, c) in map {
                if c.as_ref()
                    .is_some_and(|c| c.cert_type == "cas" && c.cert_id == id_s)
                {
                    users.push(format!("{kind} {d}"));
                }
            }
        }
        for c in &self.services.slb_server_certs {
            if c.ali_cloud_certificate_id.as_deref() == Some(id_s.as_str()) {
                users.push(format!("slb {}", c.server_certificate_id));
            }
        }
        let listeners = [
            ("alb", &self.services.alb_listeners),
            ("nlb", &self.services.nlb_listeners),
        ];
        for (kind, list) in listeners {
            for l in list {
                if l.default_certificate
                    .iter()
                    .chain(&l.additional_certificates)
                    .chain(l.pending())
                    .any(|c| is(c))
                {
                    users.push(format!("{kind} {}", l.id));
                }
            }
        }
        for l in &self.services.ga_listeners {
            if l.uses().into_iter().any(|c| is(c)) {
                users.push(format!("ga {}", l.id));
            }
        }
        for d in &self.services.apig_domains {
            if d.cert_identifier.as_deref().is_some_and(is) {
                users.push(format!("apig {}", d.domain_id));
            }
        }
        users.extend(self.esa_cas_users(id));
        for c in &self.services.oss_cnames {
            if c.certificate
                .as_ref()
                .is_some_and(|d| d.cert_type == "cas" && is(&d.cert_id))
            {
                users.push(format!("oss {}", c.domain));
            }
        }
        users.extend(super::waf::cas_users(self, &is));
        users.extend(super::video::cas_users(self, &id_s));
        users.extend(super::ddos::cas_users(self, id));
        users.extend(self.cloud_resource_users(id));
        users
    }
}

impl Emulator {
    /// Uploads a certificate to CAS directly (someone else's upload); returns its CertId.
    pub fn put_cas_certificate(&self, name: &str, cert_pem: &str, key_pem: &str) -> u64 {
        let info = super::parse_cert(cert_pem).expect("certificate parses");
        let mut inner = self.shared.lock();
        let id = inner.next_cert_id();
        inner.state.cas_certs.push(CasCert {
            cert_id: id,
            name: name.into(),
            cert: cert_pem.into(),
            key: key_pem.into(),
            info,
            created_by: "console".into(),
            created_ms: now_ms(),
        });
        id
    }
}

pub(crate) fn find_cas<'a>(inner: &'a Inner, cas_id: &str) -> Result<&'a CasCert, ApiError> {
    let id: Option<u64> = cas_id.split('-').next().and_then(|s| s.parse().ok());
    id.and_then(|id| inner.state.cas_certs.iter().find(|c| c.cert_id == id))
        .ok_or_else(|| {
            err(
                404,
                "ResourceNotFound.Certificate",
                format!("The CAS certificate {cas_id} does not exist."),
            )
        })
}

pub(crate) fn cas_deployed(c: &CasCert, cas_id: &str, ak: &str) -> DeployedCert {
    DeployedCert {
        cert_name: c.name.clone(),
        cert_id: cas_id.to_string(),
        cert_type: "cas".into(),
        cert_region: REGION.into(),
        cert: c.cert.clone(),
        key: c.key.clone(),
        info: c.info.clone(),
        updated_ms: now_ms(),
        updated_by: ak.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// CAS 2020-04-07
// ---------------------------------------------------------------------------------------------

pub(crate) fn cas_not_found() -> ApiError {
    err(
        400,
        "CertificateNotFound",
        "The certificate does not exist.",
    )
}

pub(crate) fn cas_common(c: &CasCert) -> Map<String, Value> {
    let now = now_ms();
    let mut m = Map::new();
    m.insert("Name".into(), json!(c.name));
    m.insert("CommonName".into(), json!(c.info.common_name));
    m.insert("Sans".into(), json!(c.info.sans.join(",")));
    m.insert("SerialNo".into(), json!(c.info.serial_no));
    m.insert("Fingerprint".into(), json!(c.info.fingerprint));
    // The case of `Sha2` is not documented (cas20200407 models: "The SHA-2 value of the
    // certificate"); the emulator answers in upper case so a client cannot assume lower.
    m.insert("Sha2".into(), json!(c.info.sha2.to_ascii_uppercase()));
    m.insert("Issuer".into(), json!(c.info.issuer_org));
    m.insert("Algorithm".into(), json!(c.info.algorithm));
    m.insert("StartDate".into(), json!(ymd(c.info.not_before_ms)));
    m.insert("EndDate".into(), json!(ymd(c.info.not_after_ms)));
    m.insert("Expired".into(), json!(c.info.not_after_ms < now));
    m.insert("OrgName".into(), json!(""));
    m.insert("Country".into(), json!(""));
    m.insert("Province".into(), json!(""));
    m.insert("City".into(), json!(""));
    m.insert("ResourceGroupId".into(), json!(RESOURCE_GROUP));
    m.insert(
        "InstanceId".into(),
        json!(format!("cas-upload-{}", c.cert_id)),
    );
    m
}

pub(crate) fn cas(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    if super::cas_deploy::handles(action, p) {
        return super::cas_deploy::cas_deploy(inner, action, p);
    }
    Ok(match action {
        "UploadUserCertificate" => {
            let name = p.req("Name")?.to_string();
            // cas20200407 3.9.4 UploadUserCertificateRequest `Name`: "Maximum length: 63
            // characters" and "Certificate names must be unique within the same account"
            // (uniqueness: NameRepeat below). The SDK gives no code for a long name;
            // `InvalidParameter.Name` is the emulator's choice.
            if name.chars().count() > 63 {
                return Err(err(
                    400,
                    "InvalidParameter.Name",
                    format!(
                        "The certificate name must be at most 63 characters; it has {}.",
                        name.chars().count()
                    ),
                ));
            }
            let cert = p.req("Cert")?.to_string();
            let key = p.req("Key")?.to_string();
            if inner.state.cas_certs.iter().any(|c| c.name == name) {
                return Err(err(
                    400,
                    "NameRepeat",
                    "The certificate name already exists.",
                ));
            }
            let info = check_pair(&cert, &key)?;
            let id = inner.next_cert_id();
            inner.state.cas_certs.push(CasCert {
                cert_id: id,
                name,
                cert,
                key,
                info,
                created_by: ctx.ak.to_string(),
                created_ms: now_ms(),
            });
            json!({"CertId": id, "ResourceId": format!("acs:cas:{REGION}:{ACCOUNT_ID}:cert/{id}")})
        }
        "GetUserCertificateDetail" => {
            let id = p.req_u64("CertId")?;
            let filter = p.get("CertFilter").is_some_and(|f| f == "true");
            let c = inner
                .state
                .cas_certs
                .iter()
                .find(|c| c.cert_id == id)
                .ok_or_else(cas_not_found)?;
            let mut m = cas_common(c);
            m.insert("Id".into(), json!(c.cert_id));
            m.insert("Common".into(), json!(c.info.common_name));
            m.insert("IssuerCommonName".into(), json!(c.info.issuer_common_name));
            m.insert("NotBefore".into(), json!(c.info.not_before_ms));
            m.insert("NotAfter".into(), json!(c.info.not_after_ms));
            m.insert("BuyInAliyun".into(), json!(false));
            m.insert(
                "CertIdentifier".into(),
                json!(format!("{}-{REGION}", c.cert_id)),
            );
            m.insert(
                "RemainDay".into(),
                json!(((c.info.not_after_ms - now_ms()) / 86_400_000).max(0)),
            );
            if !filter {
                m.insert("Cert".into(), json!(c.cert));
                m.insert("Key".into(), json!(c.key));
            }
            Value::Object(m)
        }
        // Cloud resources a certificate is deployed on (CDN domains, SLB, ALB, OSS, ...).
        // alibabacloud-cas20200407 3.9.4, client.py list_cloud_resources_with_options (RPC POST,
        // formData) and models/_list_cloud_resources_request.py: `CertIds` is a List[int] sent
        // JSON-encoded (`[123,456]`), `ShowSize` defaults to 20; the response body
        // (models/_list_cloud_resources_response_body.py) is `Data` (CertId, CloudName,
        // CloudProduct, Domain, InstanceId, ...), `Total`, `CurrentPage`, `ShowSize`. Docs are
        // silent on a malformed CertIds: refused here (strictest).
        "ListCloudResources" => {
            let ids: Vec<u64> = match p.get("CertIds") {
                None => Vec::new(),
                Some(v) => serde_json::from_str(v).map_err(|_| {
                    err(
                        400,
                        "InvalidParameter",
                        "CertIds must be a JSON array of certificate IDs.",
                    )
                })?,
            };
            let page = p.u64_or("CurrentPage", 1)?.max(1);
            let size = p.u64_or("ShowSize", 20)?.clamp(1, 1000);
            let mut data = Vec::new();
            for id in ids {
                let name = inner
                    .state
                    .cas_certs
                    .iter()
                    .find(|c| c.cert_id == id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                for user in inner.state.cas_users(id) {
                    let (kind, rid) = user.split_once(' ').unwrap_or((user.as_str(), ""));
                    let product = match kind {
                        "cdn" => "CDN",
                        "dcdn" => "DCDN",
                        "slb" => "SLB",
                        "alb" => "ALB",
                        "oss" => "OSS",
                        "apig" => "APIG",
                        "nlb" => "NLB",
                        "ga" => "GA",
                        other => other,
                    };
                    let domain = matches!(kind, "cdn" | "dcdn" | "oss");
                    data.push(json!({
                        "CertId": id,
                        "CertName": name,
                        "CloudName": "aliyun",
                        "CloudProduct": product,
                        "Domain": if domain { rid } else { "" },
                        "InstanceId": if domain { "" } else { rid },
                        "EnableHttps": 1,
                    }));
                }
            }
            let total = data.len();
            let start = ((page - 1) * size) as usize;
            let data: Vec<Value> = data.into_iter().skip(start).take(size as usize).collect();
            json!({"Data": data, "Total": total, "CurrentPage": page, "ShowSize": size})
        }
        "DeleteUserCertificate" => {
            let id = p.req_u64("CertId")?;
            let users = inner.state.cas_users(id);
            if !users.is_empty() {
                // The emulator's stand-in for CAS refusing to delete a certificate in use.
                return Err(err(
                    400,
                    "CertificateInUse",
                    format!("The certificate is used by: {}.", users.join(", ")),
                ));
            }
            let idx = inner
                .state
                .cas_certs
                .iter()
                .position(|c| c.cert_id == id)
                .ok_or_else(cas_not_found)?;
            inner.state.cas_certs.remove(idx);
            json!({})
        }
        "ListUserCertificateOrder" => {
            // cas20200407 3.9.4 ListUserCertificateOrderRequest: OrderType default CPACK;
            // UPLOAD lists uploaded certificates, CERT issued and uploaded ones (the emulator
            // has only uploads). ShowSize "Default value: 50" and no documented maximum: the
            // emulator never answers more than 50 per page, so a client must page by TotalCount.
            let order_type = p.get("OrderType").unwrap_or("CPACK").to_ascii_uppercase();
            let page = p.u64_or("CurrentPage", 1)?.max(1);
            let size = p.u64_or("ShowSize", 50)?.clamp(1, 50);
            let kw = p.get("Keyword").map(|k| k.to_ascii_lowercase());
            let status = p.get("Status").map(|s| s.to_ascii_uppercase());
            let now = now_ms();
            let status_of = |c: &CasCert| {
                if c.info.not_after_ms < now {
                    "EXPIRED"
                } else if c.info.not_after_ms - now < 30 * 86_400_000 {
                    "WILLEXPIRED"
                } else {
                    "ISSUED"
                }
            };
            // Without Status, certificates are listed only while valid: "当 OrderType=CERT 或者
            // UPLOAD，Status 为空时，将默认返回有效证书，包含已签发和即将过期证书"
            // (help.aliyun.com/document_detail/455804.html).
            let status_ok = |c: &CasCert| match &status {
                Some(s) => s == status_of(c),
                None => status_of(c) != "EXPIRED",
            };
            let items: Vec<&CasCert> = if matches!(order_type.as_str(), "UPLOAD" | "CERT") {
                inner
                    .state
                    .cas_certs
                    .iter()
                    .filter(|c| {
                        kw.as_ref().none_or(|k| {
                            c.name.to_ascii_lowercase().contains(k)
                                || c.info.common_name.to_ascii_lowercase().contains(k)
                                || c.info
                                    .sans
                                    .iter()
                                    .any(|s| s.to_ascii_lowercase().contains(k))
                        })
                    })
                    .filter(|c| status_ok(c))
                    .collect()
            } else {
                vec![]
            };
            let (s, e) = page_bounds(items.len(), page, size);
            // Only the fields ListUserCertificateOrderResponseBody documents as "Returned when
            // OrderType is set to CERT or UPLOAD": EndDate/StartDate (YYYY-MM-DD), never
            // CertEndTime/CertStartTime, Algorithm or Status (CPACK or BUY only).
            let list: Vec<Value> = items[s..e]
                .iter()
                .map(|c| {
                    let mut m = cas_common(c);
                    m.remove("Algorithm");
                    m.insert("CertificateId".into(), json!(c.cert_id));
                    m.insert("Upload".into(), json!(true));
                    Value::Object(m)
                })
                .collect();
            json!({
                "TotalCount": items.len(),
                "CurrentPage": page,
                "ShowSize": size,
                "CertificateOrderList": list,
            })
        }
        _ => return Err(unknown_action()),
    })
}
