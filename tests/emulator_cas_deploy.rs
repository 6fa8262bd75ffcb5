//! The emulator's CAS deployment jobs, each rule shown rejecting a violation: required
//! parameters, enum values, unknown ids, page sizes, and a job left in `editing` never runs.
mod support;

use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tCasDeployKey01";
const SECRET: &str = "cas-deploy-secret-01";

fn code(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::Aliyun { code, .. }) => code,
        Err(other) => panic!("not an Alibaba error: {other}"),
        Ok(v) => panic!("accepted: {v}"),
    }
}

async fn start() -> (Emulator, AliyunClient, u64) {
    let emu = emulator::start(
        Seed::default()
            .access_key(AK, SECRET)
            .cas_contact(7)
            .cloud_resource(1001, "SAE", "app.example.com"),
    )
    .await;
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = rcgen::CertificateParams::new(vec!["app.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    let cert = emu.put_cas_certificate("c1", &pem, &key.serialize_pem());
    let client = emu.client(AK, SECRET, None);
    (emu, client, cert)
}

async fn create(c: &AliyunClient, cert: &str, extra: &[(&str, &str)]) -> Result<Value, Error> {
    let mut p = vec![
        ("CertIds", cert),
        ("ContactIds", "7"),
        ("JobType", "user"),
        ("Name", "job"),
        ("ResourceIds", "1001"),
    ];
    for (k, v) in extra {
        p.retain(|(name, _)| name != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    c.rpc(Product::Cas, "CreateDeploymentJob", &p).await
}

#[tokio::test]
async fn create_deployment_job_checks_every_parameter() {
    let (_emu, c, cert) = start().await;
    let cert = cert.to_string();
    for missing in ["CertIds", "ContactIds", "JobType", "Name", "ResourceIds"] {
        let e = code(create(&c, &cert, &[(missing, "")]).await);
        assert!(
            e.starts_with("MissingParameter") || e.contains(missing),
            "{missing}: {e}"
        );
    }
    assert!(
        code(create(&c, &cert, &[("JobType", "trustee")]).await).starts_with("InvalidParameter")
    );
    assert_eq!(
        code(create(&c, &cert, &[("ResourceIds", "9999")]).await),
        "InvalidParameter.ResourceIds"
    );
    assert_eq!(
        code(create(&c, &cert, &[("ContactIds", "8")]).await),
        "InvalidParameter.ContactIds"
    );
    assert_eq!(
        code(create(&c, "424242", &[]).await),
        "InvalidParameter.CertIds"
    );
    assert!(
        code(create(&c, &cert, &[("ResourceIds", "a,b")]).await).starts_with("InvalidParameter")
    );
    create(&c, &cert, &[]).await.unwrap();
}

#[tokio::test]
async fn a_job_left_in_editing_never_runs() {
    let (emu, c, cert) = start().await;
    let job = create(&c, &cert.to_string(), &[]).await.unwrap()["JobId"].to_string();
    for _ in 0..5 {
        let rsp = c
            .rpc(Product::Cas, "DescribeDeploymentJob", &[("JobId", &job)])
            .await
            .unwrap();
        assert_eq!(rsp["Status"], "editing");
    }
    assert_eq!(emu.state().cloud_resource(1001).unwrap().cert_id, None);
    // Only the documented target states; then it runs to success.
    assert!(code(
        c.rpc(
            Product::Cas,
            "UpdateDeploymentJobStatus",
            &[("JobId", &job), ("Status", "success")]
        )
        .await
    )
    .starts_with("InvalidParameter"));
    assert_eq!(
        code(
            c.rpc(
                Product::Cas,
                "UpdateDeploymentJobStatus",
                &[("JobId", "5"), ("Status", "pending")]
            )
            .await
        ),
        "InvalidParameter.JobId"
    );
    c.rpc(
        Product::Cas,
        "UpdateDeploymentJobStatus",
        &[("JobId", &job), ("Status", "pending")],
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let rsp = c
            .rpc(Product::Cas, "DescribeDeploymentJob", &[("JobId", &job)])
            .await
            .unwrap();
        seen.push(rsp["Status"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["scheduling", "processing", "success", "success"]);
    assert_eq!(
        emu.state().cloud_resource(1001).unwrap().cert_id,
        Some(cert)
    );
    // A finished job cannot be moved back.
    assert_eq!(
        code(
            c.rpc(
                Product::Cas,
                "UpdateDeploymentJobStatus",
                &[("JobId", &job), ("Status", "editing")]
            )
            .await
        ),
        "InvalidStatus"
    );
    let workers = c
        .rpc(Product::Cas, "ListWorkerResource", &[("JobId", &job)])
        .await
        .unwrap();
    assert_eq!(workers["Data"][0]["ResourceId"], 1001);
    assert_eq!(workers["Data"][0]["Status"], "success");
    assert!(code(
        c.rpc(
            Product::Cas,
            "ListWorkerResource",
            &[("JobId", &job), ("ShowSize", "101")]
        )
        .await
    )
    .starts_with("InvalidParameter"));
    // The account's resources, with what each has bound.
    let listed = c
        .rpc(
            Product::Cas,
            "ListCloudResources",
            &[("CloudName", "aliyun")],
        )
        .await
        .unwrap();
    assert_eq!(listed["Data"][0]["Id"], 1001);
    assert_eq!(listed["Data"][0]["CertId"], cert);
    // CAS keeps a certificate in use.
    assert_eq!(
        code(
            c.rpc(
                Product::Cas,
                "DeleteUserCertificate",
                &[("CertId", &cert.to_string())]
            )
            .await
        ),
        "CertificateInUse"
    );
}
