//! The emulator holds WAF 3.0 (waf-openapi 2021-10-01) to the rules of
//! alibabacloud-waf-openapi20211001 7.8.7 (see crates/aliyun-emulator/src/waf.rs): RegionId one
//! of two and the endpoint's own, InstanceId required and real, ModifyDomain's Listen/Redirect in
//! the request shapes, CAS global certificate ids covering the domain, writes that take time and
//! refuse overlap, the whole certificate list on ModifyCloudResourceCert, pages of at most 50.
//! Each test shows a violation refused; `list_domains` is shown to read every page.
mod support;

use alicert::aliyun::client::RetryPolicy;
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use alicert::ident::RegionId;
use serde_json::{json, Value};
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tWafKey00001";
const SECRET: &str = "waf-secret-0001";
const INSTANCE: &str = "waf_v3prepaid_public_cn-emu0001";

async fn start(seed: Seed) -> Emulator {
    emulator::start(
        seed.access_key(AK, SECRET)
            .waf_instance("cn-hangzhou", INSTANCE)
            .waf_job_ms(300),
    )
    .await
}

fn client(emu: &Emulator) -> AliyunClient {
    emu.client(AK, SECRET, None).with_retry(RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    })
}

fn code(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::Aliyun { code, .. }) => code,
        other => panic!("not an Alibaba error: {other:?}"),
    }
}

fn self_signed(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

async fn cas_identifier(emu: &Emulator, name: &str) -> String {
    let (cert, key) = self_signed(name);
    let id = emu.put_cas_certificate(&format!("c-{name}"), &cert, &key);
    format!("{id}-cn-hangzhou")
}

fn listen(cert_id: &str) -> String {
    json!({"HttpPorts": [80], "HttpsPorts": [443], "CertId": cert_id, "TLSVersion": "tlsv1.2"})
        .to_string()
}

fn redirect() -> String {
    json!({"Backends": ["192.0.2.1"], "Loadbalance": "iphash"}).to_string()
}

async fn modify(c: &AliyunClient, extra: &[(&str, &str)]) -> Result<Value, Error> {
    let mut params = vec![
        ("InstanceId", INSTANCE),
        ("RegionId", "cn-hangzhou"),
        ("Domain", "www.example.com"),
    ];
    for (k, v) in extra {
        params.retain(|(p, _)| p != k);
        params.push((k, v));
    }
    params.retain(|(_, v)| !v.is_empty());
    c.rpc(Product::Waf, "ModifyDomain", &params).await
}

#[tokio::test]
async fn modify_domain_takes_only_the_request_shapes_and_a_covering_cas_id() {
    let emu = start(Seed::default().waf_domain("www.example.com", "cn-hangzhou")).await;
    let c = client(&emu);
    let good = cas_identifier(&emu, "www.example.com").await;
    let other = cas_identifier(&emu, "other.example.org").await;
    let numeric = good.split('-').next().unwrap().to_string();
    let (l, r) = (listen(&good), redirect());
    let described = json!({"Backends": [{"Backend": "192.0.2.1"}], "Loadbalance": "iphash"});
    let unknown = json!({"HttpsPorts": [443], "CertId": good, "Certificate": "x"});
    let no_lb = json!({"Backends": ["192.0.2.1"]});
    for (extra, want) in [
        (vec![("RegionId", "")], "MissingParameter.RegionId"),
        (
            vec![("RegionId", "cn-shanghai")],
            "InvalidParameter.RegionId",
        ),
        (vec![("InstanceId", "")], "MissingParameter.InstanceId"),
        (vec![("InstanceId", "waf-other")], "Waf.Instance.NotFound"),
        (vec![("Redirect", r.as_str())], "MissingParameter.Listen"),
        (vec![("Listen", l.as_str())], "MissingParameter.Redirect"),
        (
            vec![("Listen", &unknown.to_string()), ("Redirect", r.as_str())],
            "InvalidParameter.Listen",
        ),
        (
            vec![("Listen", l.as_str()), ("Redirect", &described.to_string())],
            "InvalidParameter.Redirect",
        ),
        (
            vec![("Listen", l.as_str()), ("Redirect", &no_lb.to_string())],
            "MissingParameter.Redirect.Loadbalance",
        ),
        (
            vec![("Listen", &listen(&numeric)), ("Redirect", r.as_str())],
            "InvalidParameter.CertId",
        ),
        (
            vec![("Listen", &listen(&other)), ("Redirect", r.as_str())],
            "Certificate.DomainNotMatch",
        ),
        (
            vec![
                ("Listen", l.as_str()),
                ("Redirect", r.as_str()),
                ("Domain", "x.example.com"),
            ],
            "Waf.Domain.NotFound",
        ),
    ] {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, &**v)).collect();
        assert_eq!(code(modify(&c, &extra).await), want, "{extra:?}");
    }
    // The good write applies, and the domain is "being modified" for a while: a second write
    // meanwhile is refused.
    modify(&c, &[("Listen", &l), ("Redirect", &r)])
        .await
        .unwrap();
    let detail = |c: AliyunClient| async move {
        c.rpc(
            Product::Waf,
            "DescribeDomainDetail",
            &[("InstanceId", INSTANCE), ("Domain", "www.example.com")],
        )
        .await
        .unwrap()
    };
    let d = detail(c.clone()).await;
    assert_eq!(d["Status"], 3, "{d}");
    assert_eq!(d["Listen"]["CertId"], good.as_str());
    assert_eq!(d["CertDetail"]["Id"], good.as_str());
    assert_eq!(d["Redirect"]["Backends"], json!([{"Backend": "192.0.2.1"}]));
    assert_eq!(
        code(modify(&c, &[("Listen", &l), ("Redirect", &r)]).await),
        "Waf.Resource.Modifying"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(detail(c.clone()).await["Status"], 1);
    // ModifyDomain replaced the configuration: the seeded settings not sent are gone.
    let state = emu.state();
    let stored = state.waf_domain("www.example.com").unwrap();
    assert!(
        !stored.listen.contains_key("Http2Enabled"),
        "{:?}",
        stored.listen
    );
}

#[tokio::test]
async fn regions_are_two_and_each_instance_lives_behind_its_own_endpoint() {
    let emu = start(Seed::default().waf_instance("ap-southeast-1", "waf-intl-1")).await;
    let c = client(&emu);
    let sg = c.for_region(&RegionId::parse("ap-southeast-1").unwrap());
    let at = |c: &AliyunClient, region: &str| {
        let c = c.clone();
        let region = region.to_string();
        async move {
            c.rpc(Product::Waf, "DescribeInstance", &[("RegionId", &region)])
                .await
        }
    };
    assert_eq!(at(&c, "cn-hangzhou").await.unwrap()["InstanceId"], INSTANCE);
    assert_eq!(
        at(&sg, "ap-southeast-1").await.unwrap()["InstanceId"],
        "waf-intl-1"
    );
    assert_eq!(code(at(&c, "ap-southeast-1").await), "InvalidRegionId");
    assert_eq!(code(at(&c, "us-east-1").await), "InvalidParameter.RegionId");
}

#[tokio::test]
async fn cloud_resource_certificates_are_replaced_as_a_whole() {
    let emu = start(Seed::default().waf_port("clb7", "lb-1", 443, "cn-hangzhou")).await;
    let c = client(&emu);
    let a = cas_identifier(&emu, "www.example.com").await;
    let b = cas_identifier(&emu, "api.example.com").await;
    let call = |certs: Vec<(&'static str, String)>, port: &str| {
        let c = c.clone();
        let port = port.to_string();
        async move {
            let mut p: Vec<(String, String)> = vec![
                ("InstanceId".into(), INSTANCE.into()),
                ("RegionId".into(), "cn-hangzhou".into()),
                ("ResourceInstanceId".into(), "lb-1".into()),
                ("ResourceProduct".into(), "clb7".into()),
                ("Port".into(), port),
            ];
            for (i, (t, id)) in certs.into_iter().enumerate() {
                p.push((format!("Certificates.{}.AppliedType", i + 1), t.into()));
                p.push((format!("Certificates.{}.CertificateId", i + 1), id));
            }
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            c.rpc(Product::Waf, "ModifyCloudResourceCert", &p).await
        }
    };
    for (certs, port, want) in [
        (vec![], "443", "MissingParameter.Certificates"),
        (
            vec![("default", a.clone()), ("default", b.clone())],
            "443",
            "InvalidParameter.Certificates",
        ),
        (
            vec![("extension", a.clone())],
            "443",
            "InvalidParameter.Certificates",
        ),
        (
            vec![("sni", a.clone())],
            "443",
            "InvalidParameter.Certificates.AppliedType",
        ),
        (
            vec![("default", "999-cn-hangzhou".into())],
            "443",
            "ResourceNotFound.Certificate",
        ),
        (
            vec![("default", a.clone())],
            "8443",
            "Waf.CloudResource.NotFound",
        ),
    ] {
        assert_eq!(code(call(certs, port).await), want);
    }
    call(
        vec![("default", a.clone()), ("extension", b.clone())],
        "443",
    )
    .await
    .unwrap();
    let state = emu.state();
    let port = state.waf_port("lb-1", 443).unwrap();
    assert_eq!(
        port.certificates,
        vec![("default".to_string(), a), ("extension".to_string(), b)]
    );
    assert_eq!(
        code(call(vec![("default", port.certificates[1].1.clone())], "443").await),
        "Waf.Resource.Modifying"
    );
}

#[tokio::test]
async fn domains_come_in_pages_of_at_most_50_and_list_domains_reads_them_all() {
    let mut seed = Seed::default();
    for i in 0..120 {
        seed = seed.waf_domain(&format!("d{i:03}.example.com"), "cn-hangzhou");
    }
    seed = seed.waf_domain("intl.example.com", "ap-southeast-1");
    let emu = start(seed).await;
    let c = client(&emu);
    let page = |size: &str| {
        let c = c.clone();
        let size = size.to_string();
        async move {
            c.rpc(
                Product::Waf,
                "DescribeDomains",
                &[("InstanceId", INSTANCE), ("PageSize", &size)],
            )
            .await
        }
    };
    assert_eq!(code(page("51").await), "InvalidParameter.PageSize");
    assert_eq!(
        page("50").await.unwrap()["Domains"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    let table: toml::Table = toml::from_str("domain = \"x.example.com\"").unwrap();
    let all = alicert::deploy::waf::list_domains(&table, &c)
        .await
        .unwrap();
    assert_eq!(all.len(), 120, "{all:?}");
    assert!(all.contains(&"d119.example.com".to_string()));
    assert!(!all.contains(&"intl.example.com".to_string()));
    let calls = emu.state().calls_to("DescribeDomains").len();
    assert_eq!(calls, 2 + 3, "three pages of 50");
}
