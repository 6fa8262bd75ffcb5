//! API Gateway (cloudapi) 2016-07-14 (RPC): group custom domains and their certificates.
//! The groups are the seeded domains' `group_id`s, all in the emulator's region (cn-hangzhou):
//! DescribeApiGroups and DescribeApiGroup answer them only on that region's endpoint.
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
    match action {
        "DescribeApiGroups" => return describe_api_groups(inner, p, ctx),
        "DescribeApiGroup" => return describe_api_group(inner, p, ctx),
        _ => {}
    }
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

// DescribeApiGroups (alibabacloud-cloudapi20160714 4.9.0, models/_describe_api_groups_request.py;
// API reference "DescribeApiGroups", alibabacloud.com/help/doc-detail/43616.htm): PageNumber
// "Pages start from page 1. Default value: 1", PageSize "Maximum value: 50. Default value: 10".
// Neither names a code for a value out of range; 400 `InvalidParameter` (as the CDN
// listing here answers) is the emulator's choice: refused rather than clamped.
pub(crate) const API_GROUPS_MAX_PAGE_SIZE: u64 = 50;

/// The groups in `region`: every seeded domain's group, once, in id order.
fn groups_in(inner: &Inner, region: &str) -> Vec<String> {
    if region != REGION {
        return vec![];
    }
    let mut ids: Vec<String> = inner
        .state
        .apigateway_domains
        .iter()
        .map(|d| d.group_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn group_json(id: &str) -> Value {
    json!({
        "GroupId": id,
        "GroupName": format!("group_{id}"),
        "RegionId": REGION,
        "SubDomain": format!("{id}-{REGION}.alicloudapi.com"),
        "BasePath": "/",
        "BillingStatus": "NORMAL",
        "IllegalStatus": "NORMAL",
        "InstanceId": "api-shared-vpc-001",
        "InstanceType": "VPC_SHARED",
        "HttpsPolicy": "HTTPS2_TLS1_0",
        "TrafficLimit": 500,
        "CreatedTime": "2026-01-01T00:00:00Z",
        "ModifiedTime": "2026-01-01T00:00:00Z",
        "Description": "",
    })
}

/// One page of the region's groups (DescribeApiGroupsResponseBody:
/// ApiGroupAttributes.ApiGroupAttribute[], PageNumber, PageSize, TotalCount). Filters alicert
/// does not send are refused, not ignored.
fn describe_api_groups(inner: &Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    for unsupported in [
        "GroupId",
        "GroupName",
        "InstanceId",
        "BasePath",
        "EnableTagAuth",
    ] {
        if p.get(unsupported).is_some() {
            return Err(invalid(
                unsupported,
                "(the emulator lists every group; filters are not modelled)",
            ));
        }
    }
    let paging = |name: &str| {
        err(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid."),
        )
    };
    let number = p.u64_or("PageNumber", 1)?;
    if number == 0 {
        return Err(paging("PageNumber"));
    }
    let size = p.u64_or("PageSize", 10)?;
    if !(1..=API_GROUPS_MAX_PAGE_SIZE).contains(&size) {
        return Err(paging("PageSize"));
    }
    let all = groups_in(inner, ctx.region);
    let page: Vec<Value> = all
        .iter()
        .skip(((number - 1) * size) as usize)
        .take(size as usize)
        .map(|id| group_json(id))
        .collect();
    Ok(json!({
        "ApiGroupAttributes": {"ApiGroupAttribute": page},
        "PageNumber": number,
        "PageSize": size,
        "TotalCount": all.len(),
    }))
}

/// One group and its custom domains (alibabacloud-cloudapi20160714 4.9.0,
/// models/_describe_api_group_response_body.py: `CustomDomains.DomainItem[]` with DomainName,
/// CertificateId, CertificateName, CertificateValidStart/End (ms), the Domain*Status fields).
fn describe_api_group(inner: &Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let group_id = p.req("GroupId")?;
    if !groups_in(inner, ctx.region).iter().any(|g| g == group_id) {
        return Err(err(404, "NotFoundGroup", "Cannot find the group."));
    }
    let items: Vec<Value> = inner
        .state
        .apigateway_domains
        .iter()
        .filter(|d| d.group_id == group_id)
        .map(|d| {
            let mut v = json!({
                "DomainName": d.domain,
                "DomainBindingStatus": "BINDING",
                "DomainCNAMEStatus": "RESOLVED",
                "DomainLegalStatus": "NORMAL",
                "DomainWebSocketStatus": "CLOSE",
                "DomainRemark": "",
                "BindStageName": "RELEASE",
                "CustomDomainType": "PUBLIC",
                "IsHttpRedirectToHttps": false,
            });
            if let Some(c) = &d.certificate {
                let m = v.as_object_mut().expect("object");
                m.insert("CertificateId".into(), json!(c.cert_id));
                m.insert("CertificateName".into(), json!(c.cert_name));
                m.insert("CertificateValidStart".into(), json!(c.info.not_before_ms));
                m.insert("CertificateValidEnd".into(), json!(c.info.not_after_ms));
            }
            v
        })
        .collect();
    let mut v = group_json(group_id);
    let m = v.as_object_mut().expect("object");
    m.insert("Status".into(), json!("NORMAL"));
    m.insert("CustomDomains".into(), json!({"DomainItem": items}));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(
        inner: &mut Inner,
        action: &str,
        params: &[(&str, &str)],
        region: &str,
    ) -> Result<Value, ApiError> {
        let map: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ctx = Ctx {
            ak: "ak",
            region,
            account: ACCOUNT_ID,
        };
        apigateway(inner, action, &Params(&map), &ctx)
    }

    fn seeded(groups: usize) -> Inner {
        let mut seed = Seed::default();
        for i in 0..groups {
            seed = seed.apigateway_domain(&format!("g{i:03}"), &format!("api{i}.example.com"));
        }
        seed = seed.apigateway_domain("g000", "more.example.com");
        Inner::from_seed(&seed)
    }

    #[test]
    fn apigateway_groups_page_size_out_of_the_documented_range_is_refused() {
        let mut inner = seeded(3);
        for bad in ["0", "51", "x"] {
            let e = call(
                &mut inner,
                "DescribeApiGroups",
                &[("PageSize", bad)],
                REGION,
            )
            .unwrap_err();
            assert!(e.code.starts_with("InvalidParameter"), "{bad}: {}", e.code);
        }
        let e = call(
            &mut inner,
            "DescribeApiGroups",
            &[("PageNumber", "0")],
            REGION,
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameter");
        let e = call(
            &mut inner,
            "DescribeApiGroups",
            &[("GroupName", "x")],
            REGION,
        )
        .unwrap_err();
        assert!(e.code.starts_with("InvalidParameter"), "{}", e.code);
    }

    #[test]
    fn apigateway_groups_page_by_ten_and_list_their_custom_domains() {
        let mut inner = seeded(23);
        let page = |inner: &mut Inner, n: &str| {
            call(inner, "DescribeApiGroups", &[("PageNumber", n)], REGION).unwrap()
        };
        let first = page(&mut inner, "1");
        assert_eq!(first["TotalCount"], 23);
        assert_eq!(first["PageSize"], 10);
        let ids = |v: &Value| -> Vec<String> {
            v["ApiGroupAttributes"]["ApiGroupAttribute"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["GroupId"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(&first)[0], "g000");
        assert_eq!(ids(&page(&mut inner, "3")), ["g020", "g021", "g022"]);
        assert!(ids(&page(&mut inner, "4")).is_empty());
        let other = call(&mut inner, "DescribeApiGroups", &[], "cn-beijing").unwrap();
        assert_eq!(other["TotalCount"], 0);

        let g = call(
            &mut inner,
            "DescribeApiGroup",
            &[("GroupId", "g000")],
            REGION,
        )
        .unwrap();
        let names: Vec<&str> = g["CustomDomains"]["DomainItem"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["DomainName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["api0.example.com", "more.example.com"]);
        let e = call(
            &mut inner,
            "DescribeApiGroup",
            &[("GroupId", "nope")],
            REGION,
        )
        .unwrap_err();
        assert_eq!(e.code, "NotFoundGroup");
        let e = call(
            &mut inner,
            "DescribeApiGroup",
            &[("GroupId", "g000")],
            "cn-beijing",
        )
        .unwrap_err();
        assert_eq!(e.code, "NotFoundGroup");
    }
}
