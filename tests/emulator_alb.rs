//! The emulator holds ALB, SLB and CAS to the rules Alibaba Cloud documents (each rule's source
//! is cited where the emulator implements it): asynchronous ALB listener jobs that refuse
//! overlapping writes, `ClientToken` idempotence, SLB server certificate names, CAS names of at
//! most 63 characters, CAS listings with `EndDate` only, an upper-case `Sha2`, pages of at most
//! 50, and expired uploads hidden unless asked for. Each test shows the old behaviour refused.
mod support;

use std::time::Duration;

use alicert::aliyun::client::RetryPolicy;
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tAlbKey0001";
const SECRET: &str = "alb-secret-0001";

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

/// A self-signed certificate and its key for `name`, valid from `days_from` to `days_to`.
fn self_signed(name: &str, days_from: i64, days_to: i64) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(days_from);
    params.not_after = now + time::Duration::days(days_to);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

async fn upload(c: &AliyunClient, name: &str, cert: &str, key: &str) -> Result<u64, Error> {
    let rsp = c
        .rpc_with_form(
            Product::Cas,
            "UploadUserCertificate",
            &[("Name", name)],
            &[("Cert", cert), ("Key", key)],
        )
        .await?;
    Ok(rsp["CertId"].as_u64().expect("CertId"))
}

async fn listener_status(c: &AliyunClient, id: &str) -> String {
    let rsp = c
        .rpc(Product::Alb, "GetListenerAttribute", &[("ListenerId", id)])
        .await
        .unwrap();
    rsp["ListenerStatus"].as_str().unwrap().to_string()
}

async fn sni_status(c: &AliyunClient, listener: &str, cert: &str) -> Option<String> {
    let rsp = c
        .rpc(
            Product::Alb,
            "ListListenerCertificates",
            &[("ListenerId", listener), ("MaxResults", "100")],
        )
        .await
        .unwrap();
    rsp["Certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["CertificateId"] == cert && x["IsDefault"] == false)
        .map(|x| x["Status"].as_str().unwrap().to_string())
}

async fn wait_running(c: &AliyunClient, id: &str) {
    for _ in 0..100 {
        if listener_status(c, id).await == "Running" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("listener {id} never became Running");
}

#[tokio::test]
async fn alb_writes_are_jobs_and_a_second_immediate_write_is_refused() {
    let emu = start(Seed::default().alb_listener("lsn-1").alb_job_ms(400)).await;
    let c = client(&emu);
    let (a_pem, a_key) = self_signed("a.example.com", -1, 60);
    let (b_pem, b_key) = self_signed("b.example.com", -1, 60);
    let a = format!(
        "{}-cn-hangzhou",
        upload(&c, "a", &a_pem, &a_key).await.unwrap()
    );
    let b = format!(
        "{}-cn-hangzhou",
        upload(&c, "b", &b_pem, &b_key).await.unwrap()
    );
    assert_eq!(listener_status(&c, "lsn-1").await, "Running");

    let rsp = c
        .rpc(
            Product::Alb,
            "UpdateListenerAttribute",
            &[
                ("ListenerId", "lsn-1"),
                ("Certificates.1.CertificateId", &a),
            ],
        )
        .await
        .unwrap();
    assert!(
        rsp["JobId"].as_str().is_some_and(|j| !j.is_empty()),
        "{rsp}"
    );
    // The job runs: the listener is configuring and the old (no) default is still in effect.
    assert_eq!(listener_status(&c, "lsn-1").await, "Configuring");
    assert!(emu.state().alb_default_cert("lsn-1").is_none());
    // A second write meanwhile — what alicert used to send for default + SNI — is refused.
    let e = c
        .rpc(
            Product::Alb,
            "AssociateAdditionalCertificatesWithListener",
            &[
                ("ListenerId", "lsn-1"),
                ("Certificates.1.CertificateId", &b),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "IncorrectStatus.Listener");
    assert_eq!(emu.state().alb_listener("lsn-1").unwrap().refused_busy, 1);

    wait_running(&c, "lsn-1").await;
    assert_eq!(
        emu.state().alb_default_cert("lsn-1").unwrap().sans,
        vec!["a.example.com".to_string()]
    );
    // Once running, the SNI write is accepted and goes Associating → Associated.
    sni_write(&c, "AssociateAdditionalCertificatesWithListener", &b).await;
    assert_eq!(
        sni_status(&c, "lsn-1", &b).await.as_deref(),
        Some("Associating")
    );
    assert!(emu.state().alb_additional_certs("lsn-1").is_empty());
    wait_running(&c, "lsn-1").await;
    assert_eq!(
        sni_status(&c, "lsn-1", &b).await.as_deref(),
        Some("Associated")
    );
    // Dissociating: `Diassociating` (the SDK's spelling) until the job ends, then gone.
    sni_write(&c, "DissociateAdditionalCertificatesFromListener", &b).await;
    assert_eq!(
        sni_status(&c, "lsn-1", &b).await.as_deref(),
        Some("Diassociating")
    );
    wait_running(&c, "lsn-1").await;
    assert_eq!(sni_status(&c, "lsn-1", &b).await, None);
}

#[tokio::test]
async fn alb_client_tokens_make_a_retried_write_idempotent() {
    let emu = start(Seed::default().alb_listener("lsn-1").alb_job_ms(300)).await;
    let c = client(&emu);
    let (pem, key) = self_signed("a.example.com", -1, 60);
    let a = format!("{}-cn-hangzhou", upload(&c, "a", &pem, &key).await.unwrap());
    let write = |token: &'static str| {
        let c = c.clone();
        let a = a.clone();
        async move {
            c.rpc(
                Product::Alb,
                "AssociateAdditionalCertificatesWithListener",
                &[
                    ("ListenerId", "lsn-1"),
                    ("Certificates.1.CertificateId", &a),
                    ("ClientToken", token),
                ],
            )
            .await
        }
    };
    let first: Value = write("alicert-token-1").await.unwrap();
    // The same token while its job runs: still processing, not a second job.
    assert_eq!(
        code(write("alicert-token-1").await.unwrap_err()),
        "IdempotenceProcessing"
    );
    wait_running(&c, "lsn-1").await;
    // Afterwards: the first job's id, nothing run again (the listener stays Running).
    let again = write("alicert-token-1").await.unwrap();
    assert_eq!(again["JobId"], first["JobId"]);
    assert_eq!(listener_status(&c, "lsn-1").await, "Running");
    // Tokens are ASCII, at most 64 characters (API reference, ClientToken).
    let long = "x".repeat(65);
    let e = c
        .rpc(
            Product::Alb,
            "AssociateAdditionalCertificatesWithListener",
            &[
                ("ListenerId", "lsn-1"),
                ("Certificates.1.CertificateId", &a),
                ("ClientToken", &long),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidParameter.ClientToken");
    // MaxResults is 1-100.
    let e = c
        .rpc(
            Product::Alb,
            "ListListenerCertificates",
            &[("ListenerId", "lsn-1"), ("MaxResults", "500")],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidParameter.MaxResults");
}

#[tokio::test]
async fn slb_server_certificate_names_follow_the_documented_rule() {
    let emu = start(Seed::default()).await;
    let c = client(&emu);
    let (pem, key) = self_signed("a.example.com", -1, 60);
    let cas_id = upload(&c, "a", &pem, &key).await.unwrap().to_string();
    let make = |name: String| {
        let c = c.clone();
        let cas_id = cas_id.clone();
        async move {
            c.rpc(
                Product::Slb,
                "UploadServerCertificate",
                &[
                    ("RegionId", "cn-hangzhou"),
                    ("AliCloudCertificateId", &cas_id),
                    ("AliCloudCertificateName", "a"),
                    ("AliCloudCertificateRegionId", "cn-hangzhou"),
                    ("ServerCertificateName", &name),
                ],
            )
            .await
        }
    };
    for bad in [
        "x".repeat(81),
        "1alicert-www".to_string(),
        "-alicert".to_string(),
        "alicert:www:1".to_string(),
        "alicert www".to_string(),
    ] {
        let e = make(bad.clone()).await.unwrap_err();
        assert_eq!(code(e), "InvalidParameter.ServerCertificateName", "{bad}");
    }
    for good in ["x".repeat(80), "alicert-www_1.a".to_string()] {
        make(good.clone())
            .await
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    assert_eq!(emu.state().services.slb_server_certs.len(), 2);
}

#[tokio::test]
async fn cas_names_listings_and_fingerprints_follow_the_documented_rules() {
    let emu = start(Seed::default()).await;
    let c = client(&emu);
    let (pem, key) = self_signed("a.example.com", -1, 60);
    // Name: at most 63 characters, unique per account.
    let e = upload(&c, &"n".repeat(64), &pem, &key).await.unwrap_err();
    assert_eq!(code(e), "InvalidParameter.Name");
    let id = upload(&c, &"n".repeat(63), &pem, &key).await.unwrap();
    let e = upload(&c, &"n".repeat(63), &pem, &key).await.unwrap_err();
    assert_eq!(code(e), "NameRepeat");

    // An upload is listed with EndDate (YYYY-MM-DD) and an upper-case Sha2; CertEndTime,
    // CertStartTime, Algorithm and Status are for bought certificates only.
    let list = |extra: Vec<(&'static str, String)>| {
        let c = c.clone();
        async move {
            let mut params: Vec<(&str, String)> = vec![("OrderType", "UPLOAD".into())];
            params.extend(extra);
            let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.rpc(Product::Cas, "ListUserCertificateOrder", &p)
                .await
                .unwrap()
        }
    };
    let rsp = list(vec![]).await;
    let item = &rsp["CertificateOrderList"][0];
    assert_eq!(item["CertificateId"], id);
    let end = item["EndDate"].as_str().unwrap();
    assert!(
        time::Date::parse(
            end,
            time::macros::format_description!("[year]-[month]-[day]")
        )
        .is_ok(),
        "{end}"
    );
    for absent in ["CertEndTime", "CertStartTime", "Algorithm", "Status"] {
        assert!(item.get(absent).is_none(), "{absent} in {item}");
    }
    let sha2 = item["Sha2"].as_str().unwrap();
    assert_eq!(sha2, sha2.to_ascii_uppercase());
    assert_eq!(sha2.len(), 64);
    assert_ne!(
        sha2,
        sha2.to_ascii_lowercase(),
        "a SHA-256 hex with no letter"
    );

    // An expired upload is listed only when asked for by Status.
    let (old_pem, old_key) = self_signed("a.example.com", -90, -1);
    let expired = emu.put_cas_certificate("old", &old_pem, &old_key);
    let ids = |rsp: &Value| -> Vec<u64> {
        rsp["CertificateOrderList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["CertificateId"].as_u64().unwrap())
            .collect()
    };
    assert!(!ids(&list(vec![]).await).contains(&expired));
    let only_expired = list(vec![("Status", "EXPIRED".into())]).await;
    assert_eq!(ids(&only_expired), vec![expired]);

    // Pages hold at most 50, whatever ShowSize asks: TotalCount says how many there are.
    for i in 0..60 {
        emu.put_cas_certificate(&format!("bulk-{i}"), &pem, &key);
    }
    let first = list(vec![("ShowSize", "100".into())]).await;
    assert_eq!(ids(&first).len(), 50);
    assert_eq!(first["TotalCount"], 61);
    let second = list(vec![
        ("ShowSize", "100".into()),
        ("CurrentPage", "2".into()),
    ])
    .await;
    assert_eq!(ids(&second).len(), 11);
}

/// ALB is regional (alb20200616 `_endpoint_map`: `alb.<region>.aliyuncs.com`, no RegionId on
/// the listener actions): a listener is found only through its own region's endpoint, and the
/// client's `for_region` addresses it there.
#[tokio::test]
async fn an_alb_listener_is_found_only_through_its_own_region() {
    let emu = start(Seed::default().alb_listener_in("lsn-sh-1", "cn-shanghai")).await;
    let c = client(&emu);
    let params = [("ListenerId", "lsn-sh-1")];
    let e = c
        .rpc(Product::Alb, "GetListenerAttribute", &params)
        .await
        .unwrap_err();
    assert_eq!(code(e), "ResourceNotFound.Listener");
    let shanghai = c.for_region(&"cn-shanghai".parse().unwrap());
    let rsp = shanghai
        .rpc(Product::Alb, "GetListenerAttribute", &params)
        .await
        .unwrap();
    assert_eq!(rsp["ListenerId"], "lsn-sh-1");
}

/// An SNI (additional certificate) write of `action` for certificate `id` on `lsn-1`.
async fn sni_write(c: &alicert::aliyun::AliyunClient, action: &str, id: &str) {
    c.rpc(
        Product::Alb,
        action,
        &[
            ("ListenerId", "lsn-1"),
            ("Certificates.1.CertificateId", id),
        ],
    )
    .await
    .unwrap();
}
