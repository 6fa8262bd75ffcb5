//! The emulator's FC 2.0 routes and STS GetCallerIdentity: the V3 signature must carry FC 2.0's
//! API version, an unknown or other-region domain is 404 DomainNameNotFound, a certificate must
//! cover the domain, and STS names the account.
mod support;

use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use serde_json::{json, Value};
use support::emulator::{self, Seed};

const AK: &str = "LTAI5tFc2TestKey0001";
const SECRET: &str = "fc2-secret-0001";

fn code(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::Aliyun { code, .. }) => code,
        Err(other) => panic!("not an Alibaba error: {other}"),
        Ok(v) => panic!("accepted: {v}"),
    }
}

#[tokio::test]
async fn fc2_routes_check_version_domain_region_and_certificate() {
    let emu = emulator::start(
        Seed::default()
            .access_key(AK, SECRET)
            .fc_domain("api.example.com")
            .fc_domain_in("eu.example.com", "eu-central-1"),
    )
    .await;
    let c: AliyunClient = emu.client(AK, SECRET, None);
    let path = "/2021-04-06/custom-domains/api.example.com";
    let got = c
        .roa(Product::Fc2, "GetCustomDomain", "GET", path, None)
        .await
        .unwrap();
    assert_eq!(got["apiVersion"], "2021-04-06");
    assert_eq!(got["protocol"], "HTTP");
    // Signed for FC 3's version on FC 2.0's path.
    assert_eq!(
        code(
            c.roa(Product::Fc, "GetCustomDomain", "GET", path, None)
                .await
        ),
        "InvalidVersion"
    );
    assert_eq!(
        code(
            c.roa(
                Product::Fc2,
                "GetCustomDomain",
                "GET",
                "/2021-04-06/custom-domains/none.example.com",
                None
            )
            .await
        ),
        "DomainNameNotFound"
    );
    // Another region's endpoint does not know it.
    assert_eq!(
        code(
            c.roa(
                Product::Fc2,
                "GetCustomDomain",
                "GET",
                "/2021-04-06/custom-domains/eu.example.com",
                None
            )
            .await
        ),
        "DomainNameNotFound"
    );
    // A certificate for another name is refused.
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = rcgen::CertificateParams::new(vec!["other.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    let body = json!({"protocol": "HTTP,HTTPS", "certConfig": {"certName": "x", "certificate": pem, "privateKey": key.serialize_pem()}});
    let e = code(
        c.roa(Product::Fc2, "UpdateCustomDomain", "PUT", path, Some(&body))
            .await,
    );
    assert_eq!(e, "Certificate.DomainNotMatch");

    let who = c.rpc(Product::Sts, "GetCallerIdentity", &[]).await.unwrap();
    let account = who["AccountId"].as_str().unwrap();
    assert!(!account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn list_custom_domains_holds_limit_to_100_and_pages_by_token() {
    let mut seed = Seed::default().access_key(AK, SECRET);
    for i in 0..5 {
        seed = seed.fc_domain(&format!("d{i}.example.com"));
    }
    let emu = emulator::start(seed.fc_domain_in("eu.example.com", "eu-central-1")).await;
    let c: AliyunClient = emu.client(AK, SECRET, None);
    for (product, path) in [
        (Product::Fc, "/2023-03-30/custom-domains"),
        (Product::Fc2, "/2021-04-06/custom-domains"),
    ] {
        let list = |query: Vec<(&'static str, String)>| {
            let c = c.clone();
            async move {
                let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let req = alicert::aliyun::client::RoaRequest {
                    action: "ListCustomDomains",
                    method: "GET",
                    path,
                    query: &q,
                    headers: &[],
                    body: None,
                };
                c.roa_request(product, &req)
                    .await
                    .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            }
        };
        assert_eq!(
            code(list(vec![("limit", "101".into())]).await),
            "InvalidArgument",
            "{path}"
        );
        let first = list(vec![("limit", "2".into())]).await.unwrap();
        let names: Vec<&str> = first["customDomains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["domainName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["d0.example.com", "d1.example.com"]);
        let token = first["nextToken"].as_str().unwrap().to_string();
        let last = list(vec![("limit", "100".into()), ("nextToken", token)])
            .await
            .unwrap();
        // The rest of this region's domains, and no token after the last page.
        assert_eq!(last["customDomains"].as_array().unwrap().len(), 3);
        assert!(last.get("nextToken").is_none());
    }
}
