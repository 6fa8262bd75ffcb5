//! The emulator holds ApsaraVideo Live (2016-11-01) and VOD (2017-03-21) to their SDK models
//! (alibabacloud-live20161101 3.0.2, alibabacloud-vod20170321 3.12.1; see
//! crates/aliyun-emulator/src/video.rs): required DomainName/SSLProtocol, Live's PEM with `on`,
//! VOD's CAS id, enum values, certificates that cover the domain, Live's duplicate-name check,
//! pages of at most 50. Each test shows a violation refused; `list_domains` reads every page.
mod support;

use alicert::aliyun::client::RetryPolicy;
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tVideoKey001";
const SECRET: &str = "video-secret-0001";

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

async fn set(
    c: &AliyunClient,
    product: Product,
    action: &str,
    p: &[(&str, &str)],
) -> Result<Value, Error> {
    c.rpc(product, action, p).await
}

#[tokio::test]
async fn live_takes_the_pem_and_refuses_what_its_model_refuses() {
    let emu = start(Seed::default().live_domain("live.example.com")).await;
    let c = client(&emu);
    let (cert, key) = self_signed("live.example.com");
    let (other, other_key) = self_signed("other.example.org");
    let (second, second_key) = self_signed("live.example.com");
    let live = |p: Vec<(&'static str, String)>| {
        let c = c.clone();
        async move {
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            set(&c, Product::Live, "SetLiveDomainCertificate", &p).await
        }
    };
    let base = |pem: &str, key: &str, name: &str| {
        vec![
            ("DomainName", "live.example.com".to_string()),
            ("SSLProtocol", "on".into()),
            ("CertType", "upload".into()),
            ("CertName", name.into()),
            ("SSLPub", pem.into()),
            ("SSLPri", key.into()),
        ]
    };
    let without = |mut v: Vec<(&'static str, String)>, k: &str| {
        v.retain(|(p, _)| *p != k);
        v
    };
    let with = |mut v: Vec<(&'static str, String)>, k: &'static str, val: &str| {
        v.retain(|(p, _)| *p != k);
        v.push((k, val.into()));
        v
    };
    for (p, want) in [
        (
            without(base(&cert, &key, "a"), "DomainName"),
            "MissingParameter.DomainName",
        ),
        (
            without(base(&cert, &key, "a"), "SSLProtocol"),
            "MissingParameter.SSLProtocol",
        ),
        (
            without(base(&cert, &key, "a"), "SSLPri"),
            "MissingParameter.SSLPri",
        ),
        (
            with(base(&cert, &key, "a"), "SSLProtocol", "yes"),
            "InvalidParameter.SSLProtocol",
        ),
        (
            with(base(&cert, &key, "a"), "CertType", "pem"),
            "InvalidParameter.CertType",
        ),
        (
            with(base(&cert, &key, "a"), "DomainName", "x.example.com"),
            "InvalidDomain.NotFound",
        ),
        (base(&other, &other_key, "a"), "Certificate.DomainNotMatch"),
    ] {
        assert_eq!(code(live(p.clone()).await), want, "{:?}", &p[..2]);
    }
    live(base(&cert, &key, "alicert-a")).await.unwrap();
    // The same name for a different certificate needs ForceSet=1.
    assert_eq!(
        code(live(base(&second, &second_key, "alicert-a")).await),
        "Certificate.NameDuplicate"
    );
    live(with(
        base(&second, &second_key, "alicert-a"),
        "ForceSet",
        "1",
    ))
    .await
    .unwrap();
    let d = set(
        &c,
        Product::Live,
        "DescribeLiveDomainCertificateInfo",
        &[("DomainName", "live.example.com")],
    )
    .await
    .unwrap();
    let info = &d["CertInfos"]["CertInfo"][0];
    assert_eq!(info["SSLProtocol"], "on");
    assert_eq!(info["SSLPub"], second.as_str());
}

#[tokio::test]
async fn vod_takes_a_cas_id_in_one_of_two_regions() {
    let emu = start(Seed::default().vod_domain("vod.example.com")).await;
    let c = client(&emu);
    let (cert, key) = self_signed("vod.example.com");
    let (other, other_key) = self_signed("other.example.org");
    let id = emu.put_cas_certificate("vod-cert", &cert, &key).to_string();
    let foreign = emu
        .put_cas_certificate("other", &other, &other_key)
        .to_string();
    let vod = |id: &str, region: &str| {
        let c = c.clone();
        let (id, region) = (id.to_string(), region.to_string());
        async move {
            set(
                &c,
                Product::Vod,
                "SetVodDomainSSLCertificate",
                &[
                    ("DomainName", "vod.example.com"),
                    ("SSLProtocol", "on"),
                    ("CertType", "cas"),
                    ("CertId", &id),
                    ("CertRegion", &region),
                ],
            )
            .await
        }
    };
    assert_eq!(
        code(vod(&format!("{id}-cn-hangzhou"), "cn-hangzhou").await),
        "InvalidParameter.CertId"
    );
    assert_eq!(
        code(vod(&id, "cn-shanghai").await),
        "InvalidParameter.CertRegion"
    );
    assert_eq!(
        code(vod("999", "cn-hangzhou").await),
        "ResourceNotFound.Certificate"
    );
    assert_eq!(
        code(vod(&foreign, "cn-hangzhou").await),
        "Certificate.DomainNotMatch"
    );
    vod(&id, "cn-hangzhou").await.unwrap();
    let d = set(
        &c,
        Product::Vod,
        "DescribeVodDomainCertificateInfo",
        &[("DomainName", "vod.example.com")],
    )
    .await
    .unwrap();
    let info = &d["CertInfos"]["CertInfo"][0];
    assert_eq!(info["ServerCertificateStatus"], "on");
    assert_eq!(info["CertType"], "cas");
    assert_eq!(info["CertId"], id.as_str());
    assert_eq!(info["ServerCertificate"], cert.as_str());
}

#[tokio::test]
async fn user_domains_come_in_pages_of_at_most_50_and_list_domains_reads_them_all() {
    let mut seed = Seed::default();
    for i in 0..75 {
        seed = seed
            .live_domain(&format!("l{i:02}.example.com"))
            .vod_domain(&format!("v{i:02}.example.com"));
    }
    let emu = start(seed).await;
    let c = client(&emu);
    for (product, action) in [
        (Product::Live, "DescribeLiveUserDomains"),
        (Product::Vod, "DescribeVodUserDomains"),
    ] {
        assert_eq!(
            code(set(&c, product, action, &[("PageSize", "51")]).await),
            "InvalidParameter.PageSize"
        );
    }
    let table = toml::Table::new();
    let live = alicert::deploy::live::list_domains(&table, &c)
        .await
        .unwrap();
    let vod = alicert::deploy::vod::list_domains(&table, &c)
        .await
        .unwrap();
    assert_eq!((live.len(), vod.len()), (75, 75));
    assert!(
        live.contains(&"l74.example.com".to_string())
            && vod.contains(&"v74.example.com".to_string())
    );
    let state = emu.state();
    assert_eq!(state.calls_to("DescribeLiveUserDomains").len(), 1 + 2);
    assert_eq!(state.calls_to("DescribeVodUserDomains").len(), 1 + 2);
}
