//! The emulator holds Anti-DDoS Pro/Premium (ddoscoo 2020-01-01) to its SDK models
//! (alibabacloud-ddoscoo20200101 4.0.4; see crates/aliyun-emulator/src/ddos.rs): AssociateWebCert
//! takes CertId or CertIdentifier (never both) or CertName+Cert+Key, for a domain with a website
//! rule in the endpoint's region, with a certificate that covers it; DescribeWebRules pages of at
//! most 10. Each test shows a violation refused; `list_domains` reads every page.
mod support;

use alicert::aliyun::client::RetryPolicy;
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use alicert::ident::RegionId;
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tDdosKey0001";
const SECRET: &str = "ddos-secret-0001";

async fn start(seed: Seed) -> Emulator {
    emulator::start(seed.access_key(AK, SECRET)).await
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

async fn associate(c: &AliyunClient, form: &[(&str, &str)]) -> Result<Value, Error> {
    c.rpc_with_form(Product::Ddoscoo, "AssociateWebCert", &[], form)
        .await
}

#[tokio::test]
async fn associate_web_cert_takes_one_way_of_naming_the_certificate() {
    let emu = start(
        Seed::default()
            .ddos_domain("www.example.com", "cn-hangzhou")
            .ddos_domain("intl.example.com", "ap-southeast-1"),
    )
    .await;
    let c = client(&emu);
    let (cert, key) = self_signed("www.example.com");
    let (other, other_key) = self_signed("other.example.org");
    let id = emu.put_cas_certificate("www", &cert, &key).to_string();
    let foreign = emu
        .put_cas_certificate("other", &other, &other_key)
        .to_string();
    let ident = format!("{id}-cn-hangzhou");
    let d = "www.example.com";
    for (form, want) in [
        (
            vec![("CertIdentifier", ident.as_str())],
            "MissingParameter.Domain",
        ),
        (vec![("Domain", d)], "InvalidParameter.CertId"),
        (
            vec![("Domain", d), ("CertId", &id), ("CertIdentifier", &ident)],
            "InvalidParameter.CertIdentifier",
        ),
        (
            vec![("Domain", d), ("CertIdentifier", &id)],
            "InvalidParameter.CertIdentifier",
        ),
        (
            vec![("Domain", d), ("CertName", "n"), ("Cert", &cert)],
            "InvalidParameter.CertId",
        ),
        (
            vec![("Domain", d), ("CertId", &foreign)],
            "Certificate.DomainNotMatch",
        ),
        (
            vec![
                ("Domain", d),
                ("CertId", &id),
                ("CertRegion", "cn-shanghai"),
            ],
            "InvalidParameter.CertRegion",
        ),
        (
            vec![("Domain", "intl.example.com"), ("CertId", &id)],
            "Ddos.Domain.NotFound",
        ),
        (
            vec![("Domain", "x.example.com"), ("CertId", &id)],
            "Ddos.Domain.NotFound",
        ),
    ] {
        assert_eq!(code(associate(&c, &form).await), want, "{form:?}");
    }
    associate(&c, &[("Domain", d), ("CertIdentifier", &ident)])
        .await
        .unwrap();
    let certs = c
        .rpc(Product::Ddoscoo, "DescribeCerts", &[("Domain", d)])
        .await
        .unwrap();
    let related: Vec<&Value> = certs["Certs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["DomainRelated"] == true)
        .collect();
    assert_eq!(related.len(), 1, "{certs}");
    assert_eq!(related[0]["Id"].to_string(), id);
    // The Premium website is only behind ap-southeast-1's endpoint.
    let sg = c.for_region(&RegionId::parse("ap-southeast-1").unwrap());
    associate(
        &sg,
        &[
            ("Domain", "intl.example.com"),
            ("CertName", "intl"),
            ("Cert", &other),
            ("Key", &other_key),
        ],
    )
    .await
    .map(drop)
    .unwrap_err();
    let (intl, intl_key) = self_signed("intl.example.com");
    associate(
        &sg,
        &[
            ("Domain", "intl.example.com"),
            ("CertName", "intl"),
            ("Cert", &intl),
            ("Key", &intl_key),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        emu.state().ddos_cert("intl.example.com").unwrap().name,
        "intl"
    );
}

#[tokio::test]
async fn web_rules_come_in_pages_of_at_most_10_and_list_domains_reads_them_all() {
    let mut seed = Seed::default();
    for i in 0..25 {
        seed = seed.ddos_domain(&format!("w{i:02}.example.com"), "cn-hangzhou");
    }
    let emu = start(seed.ddos_domain("intl.example.com", "ap-southeast-1")).await;
    let c = client(&emu);
    let rules = |p: &[(&str, &str)]| {
        let c = c.clone();
        let p: Vec<(String, String)> = p
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move {
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            c.rpc(Product::Ddoscoo, "DescribeWebRules", &p).await
        }
    };
    assert_eq!(
        code(rules(&[("PageNumber", "1"), ("PageSize", "11")]).await),
        "InvalidParameter.PageSize"
    );
    assert_eq!(
        code(rules(&[("PageNumber", "1")]).await),
        "MissingParameter.PageSize"
    );
    let table = toml::Table::new();
    let all = alicert::deploy::ddos::list_domains(&table, &c)
        .await
        .unwrap();
    assert_eq!(all.len(), 25, "{all:?}");
    assert!(!all.contains(&"intl.example.com".to_string()));
    let table: toml::Table = toml::from_str("region = \"ap-southeast-1\"").unwrap();
    let intl = alicert::deploy::ddos::list_domains(&table, &c)
        .await
        .unwrap();
    assert_eq!(intl, vec!["intl.example.com".to_string()]);
}
