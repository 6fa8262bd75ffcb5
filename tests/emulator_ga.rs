//! The emulator holds Global Accelerator (ga 2019-11-20) to the rules its SDK models and API
//! reference give (cited in crates/aliyun-emulator/src/ga.rs): RegionId cn-hangzhou, required
//! AcceleratorId, asynchronous writes that keep the listener `configuring`/`updating` and refuse
//! any write to the accelerator meanwhile (`StateError.Accelerator`), 10 certificates per call,
//! CAS identifiers that exist and cover their domain, MaxResults 1–50, Role values, associate
//! vs update by domain. Each test shows a violation refused.
mod support;

use alicert::aliyun::client::RetryPolicy;
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tGaKey00001";
const SECRET: &str = "ga-secret-00001";

async fn start(seed: Seed) -> Emulator {
    emulator::start(seed.access_key(AK, SECRET)).await
}

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

fn cas_cert(emu: &Emulator, name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let id = emu.put_cas_certificate(&format!("m-{name}"), &cert.pem(), &key.serialize_pem());
    format!("{id}-cn-hangzhou")
}

async fn call(
    c: &AliyunClient,
    action: &str,
    params: &[(&str, &str)],
) -> Result<serde_json::Value, Error> {
    let mut all = vec![("RegionId", "cn-hangzhou")];
    all.extend_from_slice(params);
    c.rpc(Product::Ga, action, &all).await
}

#[tokio::test]
async fn writes_are_jobs_that_lock_the_accelerator() {
    let emu = start(
        Seed::default()
            .ga_listener("lsr-1", "ga-a")
            .ga_listener("lsr-2", "ga-a")
            .ga_job_ms(400),
    )
    .await;
    let c = client(&emu);
    let a = cas_cert(&emu, "a.example.com");
    call(
        &c,
        "UpdateListener",
        &[("ListenerId", "lsr-1"), ("Certificates.1.Id", &a)],
    )
    .await
    .unwrap();
    let l = call(&c, "DescribeListener", &[("ListenerId", "lsr-1")])
        .await
        .unwrap();
    assert_eq!(l["State"], "configuring");
    assert_eq!(
        l["Certificates"].as_array().unwrap().len(),
        0,
        "not applied yet"
    );
    // Another write to the same accelerator (even another listener) is refused meanwhile.
    let e = call(
        &c,
        "AssociateAdditionalCertificatesWithListener",
        &[
            ("ListenerId", "lsr-2"),
            ("AcceleratorId", "ga-a"),
            ("Certificates.1.Domain", "a.example.com"),
            ("Certificates.1.Id", &a),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), "StateError.Accelerator");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let l = call(&c, "DescribeListener", &[("ListenerId", "lsr-1")])
        .await
        .unwrap();
    assert_eq!(l["State"], "active");
    assert_eq!(l["Certificates"][0]["Id"], a.as_str());
    assert_eq!(l["AcceleratorId"], "ga-a");
}

/// (action, parameters, the code it must be refused with).
type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);

#[tokio::test]
async fn certificate_rules() {
    let emu = start(Seed::default().ga_listener("lsr-1", "ga-a").ga_job_ms(0)).await;
    let c = client(&emu);
    let a = cas_cert(&emu, "a.example.com");
    let numeric = a.split('-').next().unwrap().to_string();
    let eleven: Vec<(String, String)> = (1..=11)
        .map(|i| {
            let d = format!("d{i}.example.com");
            (d.clone(), cas_cert(&emu, &d))
        })
        .collect();
    let keys: Vec<(String, String)> = (1..=11)
        .map(|i| {
            (
                format!("Certificates.{i}.Domain"),
                format!("Certificates.{i}.Id"),
            )
        })
        .collect();
    let mut too_many = vec![("ListenerId", "lsr-1"), ("AcceleratorId", "ga-a")];
    for ((dk, ik), (d, id)) in keys.iter().zip(&eleven) {
        too_many.push((dk.as_str(), d.as_str()));
        too_many.push((ik.as_str(), id.as_str()));
    }
    let assoc = |d: &'static str, id: &str| -> Vec<(&'static str, String)> {
        vec![
            ("ListenerId", "lsr-1".into()),
            ("AcceleratorId", "ga-a".into()),
            ("Certificates.1.Domain", d.into()),
            ("Certificates.1.Id", id.into()),
        ]
    };
    let cases: Vec<Case> = vec![
        (
            "UpdateListener",
            vec![("Certificates.1.Id", a.clone())],
            "MissingParameter.ListenerId",
        ),
        (
            "UpdateListener",
            vec![
                ("ListenerId", "lsr-9".into()),
                ("Certificates.1.Id", a.clone()),
            ],
            "NotExist.Listener",
        ),
        (
            "UpdateListener",
            vec![
                ("ListenerId", "lsr-1".into()),
                ("Certificates.1.Id", numeric.clone()),
            ],
            "InvalidParameter.Certificates.1.Id",
        ),
        (
            "UpdateListener",
            vec![
                ("ListenerId", "lsr-1".into()),
                ("Certificates.1.Id", "999-cn-hangzhou".into()),
            ],
            "ResourceNotFound.Certificate",
        ),
        (
            "ListListenerCertificates",
            vec![("ListenerId", "lsr-1".into())],
            "MissingParameter.AcceleratorId",
        ),
        (
            "ListListenerCertificates",
            vec![
                ("ListenerId", "lsr-1".into()),
                ("AcceleratorId", "ga-b".into()),
            ],
            "InvalidParameter.AcceleratorId",
        ),
        (
            "ListListenerCertificates",
            vec![
                ("ListenerId", "lsr-1".into()),
                ("AcceleratorId", "ga-a".into()),
                ("MaxResults", "51".into()),
            ],
            "InvalidParameter.MaxResults",
        ),
        (
            "ListListenerCertificates",
            vec![
                ("ListenerId", "lsr-1".into()),
                ("AcceleratorId", "ga-a".into()),
                ("Role", "sni".into()),
            ],
            "InvalidParameter.Role",
        ),
        (
            "AssociateAdditionalCertificatesWithListener",
            assoc("b.example.com", &a),
            "Certificate.DomainNotMatch",
        ),
        (
            "UpdateAdditionalCertificateWithListener",
            vec![
                ("ListenerId", "lsr-1".into()),
                ("AcceleratorId", "ga-a".into()),
                ("Domain", "a.example.com".into()),
                ("CertificateId", a.clone()),
            ],
            "NotExist.Domain",
        ),
    ];
    for (action, params, want) in cases {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let e = call(&c, action, &params).await.unwrap_err();
        assert_eq!(code(e), want, "{action} {params:?}");
    }
    let e = call(&c, "AssociateAdditionalCertificatesWithListener", &too_many)
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidParameter.Certificates");
    let e = c
        .rpc(
            Product::Ga,
            "DescribeListener",
            &[("ListenerId", "lsr-1"), ("RegionId", "cn-shanghai")],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidParameter.RegionId");
    // Within the rules: associate, then a second associate of the domain is refused (update it).
    let ok: Vec<(&str, String)> = assoc("a.example.com", &a);
    let ok: Vec<(&str, &str)> = ok.iter().map(|(k, v)| (*k, v.as_str())).collect();
    call(&c, "AssociateAdditionalCertificatesWithListener", &ok)
        .await
        .unwrap();
    let e = call(&c, "AssociateAdditionalCertificatesWithListener", &ok)
        .await
        .unwrap_err();
    assert_eq!(code(e), "Exist.Domain");
    let page = call(
        &c,
        "ListListenerCertificates",
        &[
            ("ListenerId", "lsr-1"),
            ("AcceleratorId", "ga-a"),
            ("Role", "additional"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(page["Certificates"][0]["Domain"], "a.example.com");
    assert_eq!(page["Certificates"][0]["State"], "active");
    assert_eq!(
        emu.state().ga_listener("lsr-1").unwrap().additional.len(),
        1
    );
}
