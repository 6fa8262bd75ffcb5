//! The emulator holds cloud-native API Gateway (apig 2024-03-27, ROA) to the rules its SDK and
//! API reference give (cited in crates/aliyun-emulator/src/apig.rs): V3 signatures with the
//! product's own x-acs-version, action names per method and path, regional domains, ListDomains
//! pages of at most 100, UpdateDomain's field names, types and enum values, HTTPS needing
//! `forceHttps` and a CAS certificate identifier that exists and covers the domain, and a PUT
//! that resets whatever it does not carry. Each test shows a violation refused.
mod support;

use alicert::aliyun::client::{RetryPolicy, RoaRequest};
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use serde_json::{json, Value};
use support::emulator::{self, ApigDomain, Emulator, Seed};

const AK: &str = "LTAI5tApigKey001";
const SECRET: &str = "apig-secret-0001";
const NAME: &str = "api.example.com";

async fn start(seed: Seed) -> Emulator {
    emulator::start(seed.access_key(AK, SECRET)).await
}

/// A client that never retries: every refusal reaches the test.
fn client(emu: &Emulator) -> AliyunClient {
    emu.client(AK, SECRET, None).with_retry(RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    })
}

fn code(e: Error) -> String {
    match e {
        Error::Aliyun { code, .. } => code,
        other => panic!("not an Alibaba error: {other}"),
    }
}

/// A CAS certificate for `name` (someone's upload); its identifier `<CertId>-cn-hangzhou`.
fn cas_cert(emu: &Emulator, name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let id = emu.put_cas_certificate(&format!("manual-{name}"), &cert.pem(), &key.serialize_pem());
    format!("{id}-cn-hangzhou")
}

fn domain_id(emu: &Emulator) -> String {
    emu.state().apig_domain(NAME).unwrap().domain_id.clone()
}

async fn update(c: &AliyunClient, id: &str, body: Value) -> Result<Value, Error> {
    c.roa(
        Product::Apig,
        "UpdateDomain",
        "PUT",
        &format!("/v1/domains/{id}"),
        Some(&body),
    )
    .await
}

async fn list(c: &AliyunClient, query: &[(&str, &str)]) -> Result<Value, Error> {
    let rsp = c
        .roa_request(
            Product::Apig,
            &RoaRequest {
                action: "ListDomains",
                method: "GET",
                path: "/v1/domains",
                query,
                headers: &[],
                body: None,
            },
        )
        .await?;
    Ok(serde_json::from_slice(&rsp.body).unwrap())
}

#[tokio::test]
async fn get_and_list_find_only_the_regions_own_domains() {
    let emu = start(Seed::default().apig_domain(NAME).apig(ApigDomain {
        region: "cn-shanghai".into(),
        ..ApigDomain::new("sh.example.com")
    }))
    .await;
    let c = client(&emu);
    let id = domain_id(&emu);
    let got = c
        .roa(
            Product::Apig,
            "GetDomain",
            "GET",
            &format!("/v1/domains/{id}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(got["data"]["name"], NAME);
    assert_eq!(got["data"]["protocol"], "HTTP");
    let missing = c
        .roa(
            Product::Apig,
            "GetDomain",
            "GET",
            "/v1/domains/d-nope",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(missing), "NotFound.Domain");
    // The Shanghai domain is not found through the Hangzhou endpoint, and is through its own.
    let sh = emu
        .state()
        .apig_domain("sh.example.com")
        .unwrap()
        .domain_id
        .clone();
    let path = format!("/v1/domains/{sh}");
    let e = c
        .roa(Product::Apig, "GetDomain", "GET", &path, None)
        .await
        .unwrap_err();
    assert_eq!(code(e), "NotFound.Domain");
    let region = alicert::ident::RegionId::parse("cn-shanghai").unwrap();
    let shanghai = c.for_region(&region);
    assert!(shanghai
        .roa(Product::Apig, "GetDomain", "GET", &path, None)
        .await
        .is_ok());
    let page = list(&c, &[]).await.unwrap();
    assert_eq!(page["data"]["totalSize"], 1, "{page}");
    assert_eq!(page["data"]["items"][0]["name"], NAME);
}

#[tokio::test]
async fn list_pages_hold_at_most_100_and_start_at_1() {
    let mut seed = Seed::default();
    for i in 0..3 {
        seed = seed.apig_domain(&format!("d{i}.example.com"));
    }
    let emu = start(seed).await;
    let c = client(&emu);
    for bad in [
        ("pageSize", "101"),
        ("pageSize", "0"),
        ("pageNumber", "0"),
        ("pageSize", "x"),
    ] {
        let e = list(&c, &[bad]).await.unwrap_err();
        assert_eq!(code(e), format!("InvalidParameter.{}", bad.0), "{bad:?}");
    }
    let page = list(&c, &[("pageSize", "2"), ("pageNumber", "2")])
        .await
        .unwrap();
    assert_eq!(page["data"]["totalSize"], 3);
    assert_eq!(page["data"]["items"].as_array().unwrap().len(), 1);
    let like = list(&c, &[("nameLike", "d1.")]).await.unwrap();
    assert_eq!(like["data"]["items"][0]["name"], "d1.example.com");
    assert_eq!(like["data"]["totalSize"], 1);
}

#[tokio::test]
async fn the_version_and_the_action_must_match_the_route() {
    let emu = start(Seed::default().apig_domain(NAME)).await;
    let c = client(&emu);
    let id = domain_id(&emu);
    // FC 3's version on an apig path.
    let e = c
        .roa(
            Product::Fc,
            "GetDomain",
            "GET",
            &format!("/v1/domains/{id}"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidVersion");
    // GET is GetDomain, not UpdateDomain; DELETE is no action alicert may call.
    for (action, method) in [("UpdateDomain", "GET"), ("GetDomain", "DELETE")] {
        let e = c
            .roa(
                Product::Apig,
                action,
                method,
                &format!("/v1/domains/{id}"),
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(code(e), "InvalidAction.NotFound", "{action} {method}");
    }
}

#[tokio::test]
async fn update_domain_checks_every_field() {
    let emu = start(
        Seed::default()
            .apig_domain(NAME)
            .apig_domain("other.example.com"),
    )
    .await;
    let c = client(&emu);
    let id = domain_id(&emu);
    let good = cas_cert(&emu, NAME);
    let foreign = cas_cert(&emu, "elsewhere.example.org");
    let numeric = good.split('-').next().unwrap().to_string();
    let base = json!({"protocol": "HTTPS", "forceHttps": false, "certIdentifier": good});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases = [
        (without("forceHttps"), "MissingParameter.forceHttps"),
        (without("certIdentifier"), "MissingParameter.certIdentifier"),
        (
            with("certIdentifier", json!(numeric)),
            "InvalidParameter.certIdentifier",
        ),
        (
            with("certIdentifier", json!("999999-cn-hangzhou")),
            "ResourceNotFound.Certificate",
        ),
        (
            with("certIdentifier", json!(foreign)),
            "Certificate.DomainNotMatch",
        ),
        (
            with("protocol", json!("HTTP,HTTPS")),
            "InvalidParameter.protocol",
        ),
        (
            with("http2Option", json!("On")),
            "InvalidParameter.http2Option",
        ),
        (with("tlsMin", json!("TLS 0.9")), "InvalidParameter.tlsMin"),
        (with("tlsMax", json!("TLSv1.3")), "InvalidParameter.tlsMax"),
        (
            with("domainScope", json!("Global")),
            "InvalidParameter.domainScope",
        ),
        (
            with("forceHttps", json!("true")),
            "InvalidParameter.forceHttps",
        ),
        (
            with("mTLSEnabled", json!(1)),
            "InvalidParameter.mTLSEnabled",
        ),
        (
            with("mTLSEnabled", json!(true)),
            "InvalidParameter.mTLSEnabled",
        ),
        (with("certName", json!("x")), "InvalidParameter.certName"),
        (
            with(
                "tlsCipherSuitesConfig",
                json!({"configType": "Custom", "suites": []}),
            ),
            "InvalidParameter.tlsCipherSuitesConfig",
        ),
        (
            with(
                "tlsCipherSuitesConfig",
                json!({"tlsCipherSuite": [{"name": 1}]}),
            ),
            "InvalidParameter.tlsCipherSuitesConfig",
        ),
    ];
    let mut both = base.clone();
    both["tlsMin"] = json!("TLS 1.3");
    both["tlsMax"] = json!("TLS 1.2");
    for (body, want) in cases.into_iter().chain([(both, "InvalidParameter.tlsMin")]) {
        let e = update(&c, &id, body.clone()).await.unwrap_err();
        assert_eq!(code(e), want, "{body}");
    }
    assert_eq!(
        emu.state().apig_domain(NAME).unwrap().updates,
        0,
        "a refused update changed nothing"
    );
    update(&c, &id, base.clone()).await.unwrap();
    let d = emu.state().apig_domain(NAME).unwrap().clone();
    assert_eq!(d.cert_identifier.as_deref(), Some(good.as_str()));
    assert_eq!(d.protocol, "HTTPS");
}

#[tokio::test]
async fn update_domain_is_a_put_what_it_leaves_out_is_reset() {
    // The settings a user chose in the console.
    let emu = start(Seed::default().apig(ApigDomain {
        protocol: "HTTPS".into(),
        force_https: true,
        http2_option: "Open".into(),
        tls_min: Some("TLS 1.2".into()),
        tls_max: Some("TLS 1.3".into()),
        ..ApigDomain::new(NAME)
    }))
    .await;
    let c = client(&emu);
    let id = domain_id(&emu);
    let cert = cas_cert(&emu, NAME);
    // A client that sends only the certificate (and what HTTPS requires) loses them.
    update(
        &c,
        &id,
        json!({"protocol": "HTTPS", "forceHttps": false, "certIdentifier": cert}),
    )
    .await
    .unwrap();
    let d = emu.state().apig_domain(NAME).unwrap().clone();
    assert_eq!(d.http2_option, "GlobalConfig");
    assert_eq!(d.tls_min, None);
    assert_eq!(d.tls_max, None);
    assert!(!d.force_https);
}
