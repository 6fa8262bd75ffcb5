//! The emulator holds NLB (nlb 2022-04-30) to the rules its SDK models and API reference give
//! (cited in crates/aliyun-emulator/src/nlb.rs): asynchronous listener jobs that refuse
//! overlapping writes with `Conflict.Lock`, GetJobStatus, one default certificate, at most 15
//! additional ones per call, CAS identifiers that exist, TCPSSL listeners only, MaxResults
//! 1–50, the endpoint's region. Each test shows a violation refused.
mod support;

use alicert::aliyun::client::RetryPolicy;
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tNlbKey0001";
const SECRET: &str = "nlb-secret-0001";

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
    c.rpc(Product::Nlb, action, params).await
}

#[tokio::test]
async fn writes_are_jobs_that_lock_the_listener() {
    let emu = start(Seed::default().nlb_listener("lsn-1").nlb_job_ms(400)).await;
    let c = client(&emu);
    let (a, b) = (
        cas_cert(&emu, "a.example.com"),
        cas_cert(&emu, "b.example.com"),
    );
    let job = call(
        &c,
        "UpdateListenerAttribute",
        &[
            ("ListenerId", "lsn-1"),
            ("CertificateIds.1", &a),
            ("ClientToken", "t-1"),
        ],
    )
    .await
    .unwrap()["JobId"]
        .as_str()
        .unwrap()
        .to_string();
    let attr = call(&c, "GetListenerAttribute", &[("ListenerId", "lsn-1")])
        .await
        .unwrap();
    assert_eq!(attr["ListenerStatus"], "Configuring");
    assert_eq!(
        attr["CertificateIds"].as_array().unwrap().len(),
        0,
        "not applied yet"
    );
    let status = call(&c, "GetJobStatus", &[("JobId", &job)]).await.unwrap();
    assert_eq!(status["Status"], "processing");
    // Another write meanwhile is refused; repeating the token is not a second write.
    let e = call(
        &c,
        "AssociateAdditionalCertificatesWithListener",
        &[("ListenerId", "lsn-1"), ("AdditionalCertificateIds.1", &b)],
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), "Conflict.Lock");
    let e = call(
        &c,
        "UpdateListenerAttribute",
        &[
            ("ListenerId", "lsn-1"),
            ("CertificateIds.1", &a),
            ("ClientToken", "t-1"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), "IdempotenceProcessing");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let status = call(&c, "GetJobStatus", &[("JobId", &job)]).await.unwrap();
    assert_eq!(status["Status"], "Succeeded");
    let attr = call(&c, "GetListenerAttribute", &[("ListenerId", "lsn-1")])
        .await
        .unwrap();
    assert_eq!(attr["ListenerStatus"], "Running");
    assert_eq!(attr["CertificateIds"][0], a.as_str());
    let e = call(&c, "GetJobStatus", &[("JobId", "nope")])
        .await
        .unwrap_err();
    assert_eq!(code(e), "ResourceNotFound.job");
    assert_eq!(emu.state().nlb_listener("lsn-1").unwrap().refused_busy, 1);
}

/// (action, parameters, the code it must be refused with).
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn certificate_rules() {
    let emu = start(
        Seed::default()
            .nlb_listener("lsn-1")
            .nlb_tcp_listener("lsn-tcp")
            .nlb_job_ms(0),
    )
    .await;
    let c = client(&emu);
    let a = cas_cert(&emu, "a.example.com");
    let b = cas_cert(&emu, "b.example.com");
    let numeric = a.split('-').next().unwrap().to_string();
    let many: Vec<String> = (0..16)
        .map(|i| cas_cert(&emu, &format!("m{i}.example.com")))
        .collect();
    let mut sixteen = vec![("ListenerId", "lsn-1")];
    let keys: Vec<String> = (1..=16)
        .map(|i| format!("AdditionalCertificateIds.{i}"))
        .collect();
    for (k, v) in keys.iter().zip(&many) {
        sixteen.push((k.as_str(), v.as_str()));
    }
    let cases: Vec<Case> = vec![
        (
            "UpdateListenerAttribute",
            vec![("CertificateIds.1", &a)],
            "MissingParameter.ListenerId",
        ),
        (
            "UpdateListenerAttribute",
            vec![("ListenerId", "lsn-9"), ("CertificateIds.1", &a)],
            "ResourceNotFound.listener",
        ),
        (
            "UpdateListenerAttribute",
            vec![
                ("ListenerId", "lsn-1"),
                ("CertificateIds.1", &a),
                ("CertificateIds.2", &b),
            ],
            "InvalidParameter.CertificateIds",
        ),
        (
            "UpdateListenerAttribute",
            vec![("ListenerId", "lsn-1"), ("CertificateIds.1", &numeric)],
            "InvalidParameter.CertificateIds",
        ),
        (
            "UpdateListenerAttribute",
            vec![
                ("ListenerId", "lsn-1"),
                ("CertificateIds.1", "99999-cn-hangzhou"),
            ],
            "ResourceNotFound.Certificate",
        ),
        (
            "UpdateListenerAttribute",
            vec![("ListenerId", "lsn-tcp"), ("CertificateIds.1", &a)],
            "OperationDenied.ListenerProtocolNotSupport",
        ),
        (
            "UpdateListenerAttribute",
            vec![
                ("ListenerId", "lsn-1"),
                ("CertificateIds.1", &a),
                ("RegionId", "cn-beijing"),
            ],
            "InvalidParameter.RegionId",
        ),
        (
            "AssociateAdditionalCertificatesWithListener",
            vec![("ListenerId", "lsn-1")],
            "MissingParameter.AdditionalCertificateIds",
        ),
        (
            "AssociateAdditionalCertificatesWithListener",
            sixteen.clone(),
            "InvalidParameter.AdditionalCertificateIds",
        ),
        (
            "DisassociateAdditionalCertificatesWithListener",
            sixteen,
            "InvalidParameter.AdditionalCertificateIds",
        ),
        (
            "ListListenerCertificates",
            vec![("ListenerId", "lsn-1"), ("MaxResults", "51")],
            "InvalidParameter.MaxResults",
        ),
        (
            "ListListenerCertificates",
            vec![("ListenerId", "lsn-1"), ("CertType", "Client")],
            "InvalidParameter.CertType",
        ),
    ];
    for (action, params, want) in cases {
        let e = call(&c, action, &params).await.unwrap_err();
        assert_eq!(code(e), want, "{action} {params:?}");
    }
    // The same calls within the rules work; the listener only changes through them.
    call(
        &c,
        "AssociateAdditionalCertificatesWithListener",
        &[("ListenerId", "lsn-1"), ("AdditionalCertificateIds.1", &b)],
    )
    .await
    .unwrap();
    let page = call(
        &c,
        "ListListenerCertificates",
        &[("ListenerId", "lsn-1"), ("MaxResults", "50")],
    )
    .await
    .unwrap();
    assert_eq!(page["Certificates"][0]["CertificateId"], b.as_str());
    assert_eq!(page["Certificates"][0]["Status"], "Associated");
    assert_eq!(page["Certificates"][0]["IsDefault"], false);
    let l = emu.state().nlb_listener("lsn-1").unwrap().clone();
    assert_eq!(l.default_certificate, None);
    assert_eq!(l.additional_certificates, vec![b]);
}

#[tokio::test]
async fn a_listener_is_only_found_through_its_regions_endpoint() {
    let emu = start(Seed::default().nlb_listener_in("lsn-bj", "cn-beijing")).await;
    let c = client(&emu);
    let e = call(&c, "GetListenerAttribute", &[("ListenerId", "lsn-bj")])
        .await
        .unwrap_err();
    assert_eq!(code(e), "ResourceNotFound.listener");
    let beijing = c.for_region(&alicert::ident::RegionId::parse("cn-beijing").unwrap());
    let attr = call(
        &beijing,
        "GetListenerAttribute",
        &[("ListenerId", "lsn-bj"), ("RegionId", "cn-beijing")],
    )
    .await
    .unwrap();
    assert_eq!(attr["ListenerProtocol"], "TCPSSL");
}
