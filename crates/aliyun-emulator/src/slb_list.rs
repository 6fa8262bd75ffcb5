//! SLB 2014-05-15 listings: DescribeLoadBalancerListeners (the region's listeners, paged) and
//! DescribeDomainExtensions (an HTTPS listener's SNI domains). The seeded listeners and domain
//! extensions are all in the emulator's region (cn-hangzhou); elsewhere the lists are empty.
use super::*;

// DescribeLoadBalancerListeners (alibabacloud-slb20140515 3.3.31,
// models/_describe_load_balancer_listeners_request.py; API reference
// "DescribeLoadBalancerListeners"): `MaxResults` "Valid values: 1 to 100. If you do not specify
// this parameter, the default value 20 is used", `NextToken` from the previous answer,
// `ListenerProtocol` one of tcp, udp, http, https; `LoadBalancerId.N` (up to 10), `ListenerPort`,
// `Description` and `Tag.N` filter further (not modelled: refused). The answer
// (…_response_body.py): `Listeners[]` (LoadBalancerId, ListenerPort, ListenerProtocol, Status,
// `HTTPSListenerConfig.ServerCertificateId`, …), `MaxResults`, `NextToken` (empty on the last
// page), `TotalCount`. Neither names the code for a value out of range; 400
// `InvalidParameter.<name>` is the emulator's choice: refused rather than clamped.
pub(crate) const LISTENERS_MAX_RESULTS: u64 = 100;
const LISTENERS_DEFAULT_RESULTS: u64 = 20;
const PROTOCOLS: [&str; 4] = ["tcp", "udp", "http", "https"];

pub(crate) fn listeners(inner: &Inner, p: &Params) -> Result<Value, ApiError> {
    let region = p.req("RegionId")?;
    for unsupported in [
        "ListenerPort",
        "Description",
        "LoadBalancerId.1",
        "Tag.1.Key",
    ] {
        if p.get(unsupported).is_some() {
            return Err(invalid(
                unsupported,
                "(the emulator lists every listener of the region; filters are not modelled)",
            ));
        }
    }
    let size = p.u64_or("MaxResults", LISTENERS_DEFAULT_RESULTS)?;
    if !(1..=LISTENERS_MAX_RESULTS).contains(&size) {
        return Err(invalid("MaxResults", "must be 1 to 100"));
    }
    let protocol = p.get("ListenerProtocol").map(str::to_ascii_lowercase);
    if let Some(proto) = &protocol {
        if !PROTOCOLS.contains(&proto.as_str()) {
            return Err(invalid(
                "ListenerProtocol",
                "must be tcp, udp, http or https",
            ));
        }
    }
    let mut all: Vec<&SlbListener> = inner
        .state
        .services
        .slb_listeners
        .iter()
        .filter(|_| region == REGION)
        .filter(|l| protocol.as_ref().is_none_or(|p| &l.protocol == p))
        .collect();
    all.sort_by(|a, b| (&a.load_balancer_id, a.port).cmp(&(&b.load_balancer_id, b.port)));
    // The token is the offset of the next page ("slb-next-<n>"); anything else is refused.
    let start = match p.get("NextToken") {
        None => 0,
        Some(t) => t
            .strip_prefix("slb-next-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= all.len())
            .ok_or_else(|| invalid("NextToken", "not a token this listing gave"))?,
    };
    let end = (start + size as usize).min(all.len());
    let page: Vec<Value> = all[start..end].iter().map(|l| listener_json(l)).collect();
    let next = if end < all.len() {
        format!("slb-next-{end}")
    } else {
        String::new()
    };
    Ok(json!({
        "Listeners": page,
        "MaxResults": size,
        "NextToken": next,
        "TotalCount": all.len(),
    }))
}

fn listener_json(l: &SlbListener) -> Value {
    let mut v = json!({
        "LoadBalancerId": l.load_balancer_id,
        "ListenerPort": l.port,
        "ListenerProtocol": l.protocol,
        "Status": "running",
        "Bandwidth": -1,
        "Scheduler": "wrr",
        "Description": "",
    });
    if l.protocol == "https" {
        v["HTTPSListenerConfig"] = json!({
            "ServerCertificateId": l.server_certificate_id.clone().unwrap_or_default(),
            "EnableHttp2": "on",
            "TLSCipherPolicy": "tls_cipher_policy_1_0",
        });
    }
    v
}

// DescribeDomainExtensions (models/_describe_domain_extensions_request.py): `RegionId`,
// `LoadBalancerId` and `ListenerPort` "This parameter is required", `DomainExtensionId`
// optional; the answer: `DomainExtensions.DomainExtension[]` (DomainExtensionId, Domain,
// ServerCertificateId). Not paged.
pub(crate) fn domain_extensions(inner: &Inner, p: &Params) -> Result<Value, ApiError> {
    let region = p.req("RegionId")?;
    let lb = p.req("LoadBalancerId")?;
    let port: u16 = p
        .req("ListenerPort")?
        .parse()
        .map_err(|_| invalid("ListenerPort", "not a port"))?;
    let s = &inner.state.services;
    if region != REGION || !s.slb_listeners.iter().any(|l| l.load_balancer_id == lb) {
        return Err(err(
            404,
            "InvalidLoadBalancerId.NotFound",
            "The specified load balancer does not exist.",
        ));
    }
    if !(s.slb_listeners.iter()).any(|l| l.load_balancer_id == lb && l.port == port) {
        return Err(err(
            400,
            "ListenerNotExist",
            "The specified listener does not exist.",
        ));
    }
    let only = p.get("DomainExtensionId");
    let list: Vec<Value> = (s.slb_domain_extensions.iter())
        .filter(|e| e.load_balancer_id == lb && e.port == port)
        .filter(|e| only.is_none_or(|id| e.id == id))
        .map(|e| {
            json!({
                "DomainExtensionId": e.id,
                "Domain": e.domain,
                "ServerCertificateId": e.server_certificate_id.clone().unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({"DomainExtensions": {"DomainExtension": list}}))
}

impl Emulator {
    /// Makes an SLB server certificate of CAS certificate `cas_id` (as UploadServerCertificate
    /// with AliCloudCertificateId does) and sets it on a seeded HTTPS listener, or on one of its
    /// domain extensions when `extension` names one, as a console user would.
    pub fn set_slb_certificate_from_cas(
        &self,
        lb: &str,
        port: u16,
        extension: Option<&str>,
        cas_id: u64,
    ) {
        let mut inner = self.shared.lock();
        let c = inner
            .state
            .cas_certs
            .iter()
            .find(|c| c.cert_id == cas_id)
            .unwrap_or_else(|| panic!("no CAS certificate {cas_id}"))
            .clone();
        let id = format!("{ACCOUNT_ID}_{}", random_hex(12));
        let s = &mut inner.state.services;
        s.slb_server_certs.push(SlbServerCert {
            server_certificate_id: id.clone(),
            name: c.name.clone(),
            region: REGION.into(),
            ali_cloud_certificate_id: Some(c.cert_id.to_string()),
            ali_cloud_certificate_name: Some(c.name.clone()),
            cert: c.cert.clone(),
            info: c.info.clone(),
        });
        let slot = match extension {
            Some(ext) => {
                let e = (s.slb_domain_extensions.iter_mut())
                    .find(|e| e.id == ext && e.load_balancer_id == lb && e.port == port)
                    .unwrap_or_else(|| panic!("SLB domain extension {ext} is not seeded"));
                &mut e.server_certificate_id
            }
            None => {
                let l = (s.slb_listeners.iter_mut())
                    .find(|l| l.load_balancer_id == lb && l.port == port && l.protocol == "https")
                    .unwrap_or_else(|| panic!("SLB HTTPS listener {lb}:{port} is not seeded"));
                &mut l.server_certificate_id
            }
        };
        *slot = Some(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(inner: &Inner, action: &str, params: &[(&str, &str)]) -> Result<Value, ApiError> {
        let mut map: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("RegionId".into()).or_insert(REGION.into());
        match action {
            "DescribeLoadBalancerListeners" => listeners(inner, &Params(&map)),
            _ => domain_extensions(inner, &Params(&map)),
        }
    }

    fn seeded() -> Inner {
        let mut seed = Seed::default()
            .slb_listener_of("lb-a", 80, "http")
            .slb_domain_extension("de-1", "lb-a", 443, "sni.example.com");
        for i in 0..25 {
            seed = seed.slb_listener(&format!("lb-{i:02}"), 443);
        }
        Inner::from_seed(&seed.slb_listener("lb-a", 443))
    }

    #[test]
    fn slb_listeners_max_results_out_of_the_documented_range_is_refused() {
        let inner = seeded();
        for bad in ["0", "101", "x"] {
            let e = call(
                &inner,
                "DescribeLoadBalancerListeners",
                &[("MaxResults", bad)],
            );
            let code = e.unwrap_err().code;
            assert_eq!(code, "InvalidParameter.MaxResults", "{bad}");
        }
        for (k, v) in [
            ("ListenerProtocol", "quic"),
            ("NextToken", "forged"),
            ("LoadBalancerId.1", "lb-a"),
        ] {
            let e = call(&inner, "DescribeLoadBalancerListeners", &[(k, v)]);
            assert!(e.unwrap_err().code.starts_with("InvalidParameter"), "{k}");
        }
    }

    #[test]
    fn slb_listeners_page_by_token_and_filter_by_protocol() {
        let inner = seeded();
        let first = call(&inner, "DescribeLoadBalancerListeners", &[]).unwrap();
        assert_eq!(first["Listeners"].as_array().unwrap().len(), 20);
        assert_eq!(first["TotalCount"], 27);
        let https = [("ListenerProtocol", "https"), ("MaxResults", "25")];
        let page = call(&inner, "DescribeLoadBalancerListeners", &https).unwrap();
        assert_eq!(page["TotalCount"], 26);
        let token = page["NextToken"].as_str().unwrap().to_string();
        let rest = [https[0], https[1], ("NextToken", token.as_str())];
        let last = call(&inner, "DescribeLoadBalancerListeners", &rest).unwrap();
        let got: Vec<(&str, &str)> = last["Listeners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let lb = l["LoadBalancerId"].as_str().unwrap();
                (lb, l["ListenerProtocol"].as_str().unwrap())
            })
            .collect();
        assert_eq!(got, [("lb-a", "https")]);
        assert_eq!(last["NextToken"], "");
        let mut other = BTreeMap::new();
        other.insert("RegionId".to_string(), "cn-beijing".to_string());
        assert_eq!(listeners(&inner, &Params(&other)).unwrap()["TotalCount"], 0);

        let ext = [("LoadBalancerId", "lb-a"), ("ListenerPort", "443")];
        let ext = call(&inner, "DescribeDomainExtensions", &ext).unwrap();
        let list = &ext["DomainExtensions"]["DomainExtension"];
        assert_eq!(list[0]["DomainExtensionId"], "de-1");
        assert_eq!(list[0]["Domain"], "sni.example.com");
        let none = [("LoadBalancerId", "lb-a"), ("ListenerPort", "8443")];
        let e = call(&inner, "DescribeDomainExtensions", &none).unwrap_err();
        assert_eq!(e.code, "ListenerNotExist");
        let e = call(
            &inner,
            "DescribeDomainExtensions",
            &[("LoadBalancerId", "lb-a")],
        );
        assert!(e.is_err());
    }
}
