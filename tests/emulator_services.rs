//! The emulator's SLB/ALB, FC 3 (V3 signatures), OSS CNAME and OSS ListBuckets parts verify
//! requests like Alibaba Cloud: alicert's client gets through, wrong or partial signatures do not.
mod support;

use alicert::aliyun::client::OssRequest;
use alicert::aliyun::signer::{sha256_hex, v3_authorization, V3Request};
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tSvcKey0001";
const SECRET: &str = "svc-secret-0001";
const STS_AK: &str = "STS.NSvcKey0002";
const STS_SECRET: &str = "svc-sts-secret";
const STS_TOKEN: &str = "CAIS+svc/token=";

async fn start() -> Emulator {
    emulator::start(
        Seed::default()
            .access_key(AK, SECRET)
            .sts_key(STS_AK, STS_SECRET, STS_TOKEN)
            .fc_domain("api.example.com")
            .bucket("web")
            .oss_cname("web", "img.example.com")
            .slb_listener("lb-1", 443)
            .alb_listener("lsn-1"),
    )
    .await
}

fn client(emu: &Emulator, ak: &str, secret: &str, token: Option<&str>) -> AliyunClient {
    emu.client(ak, secret, token)
}

fn code(e: Error) -> String {
    match e {
        Error::Aliyun { code, .. } => code,
        other => panic!("not an Alibaba error: {other}"),
    }
}

#[tokio::test]
async fn fc_v3_signatures_are_verified() {
    let emu = start().await;
    let path = "/2023-03-30/custom-domains/api.example.com";
    // Plain and STS credentials get through.
    for c in [
        client(&emu, AK, SECRET, None),
        client(&emu, STS_AK, STS_SECRET, Some(STS_TOKEN)),
    ] {
        let rsp = c
            .roa(Product::Fc, "GetCustomDomain", "GET", path, None)
            .await
            .unwrap();
        assert_eq!(rsp["protocol"], "HTTP");
    }
    // A wrong secret, a missing STS token, an unknown domain.
    let bad = client(&emu, AK, "wrong", None);
    let e = bad
        .roa(Product::Fc, "GetCustomDomain", "GET", path, None)
        .await
        .unwrap_err();
    assert_eq!(code(e), "SignatureDoesNotMatch");
    let no_token = client(&emu, STS_AK, STS_SECRET, None);
    let e = no_token
        .roa(Product::Fc, "GetCustomDomain", "GET", path, None)
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidSecurityToken.Mismatch");
    let good = client(&emu, AK, SECRET, None);
    let e = good
        .roa(
            Product::Fc,
            "GetCustomDomain",
            "GET",
            "/2023-03-30/custom-domains/nope.example.com",
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Aliyun { http_status: 404, request_id, .. } if !request_id.is_empty())
    );
    assert_eq!(code(e), "DomainNameNotFound");

    // An x-acs-* header left out of the signature is refused, and so is a body that does not
    // match x-acs-content-sha256.
    let http = reqwest::Client::new();
    let host = emu.addr().to_string();
    let date = time::OffsetDateTime::now_utc()
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap();
    let empty = sha256_hex(b"");
    let signed = vec![
        ("host".to_string(), host.clone()),
        ("x-acs-action".to_string(), "GetCustomDomain".to_string()),
        ("x-acs-version".to_string(), "2023-03-30".to_string()),
        ("x-acs-date".to_string(), date.clone()),
        (
            "x-acs-signature-nonce".to_string(),
            "n-unsigned-1".to_string(),
        ),
        ("x-acs-content-sha256".to_string(), empty.clone()),
    ];
    let auth = v3_authorization(
        AK,
        SECRET,
        &V3Request {
            method: "GET",
            path,
            headers: signed.clone(),
            payload_sha256: &empty,
            ..Default::default()
        },
    );
    let mut req = http
        .get(format!("{}{path}", emu.base_url()))
        .header("authorization", auth);
    for (k, v) in signed.iter().filter(|(k, _)| k != "host") {
        req = req.header(k, v);
    }
    let rsp = req.header("x-acs-extra", "smuggled").send().await.unwrap();
    assert_eq!(rsp.status(), 400);
    let body: serde_json::Value = rsp.json().await.unwrap();
    assert_eq!(body["Code"], "UnsignedHeader");

    // PUT with a certificate that is not a certificate: a clear product error, nothing stored.
    let e = good
        .roa(
            Product::Fc,
            "UpdateCustomDomain",
            "PUT",
            path,
            Some(&serde_json::json!({"protocol": "HTTPS", "certConfig": {"certName": "x", "certificate": "nope", "privateKey": "nope"}})),
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "Certificate.FormatError");
    assert!(emu.state().fc_cert("api.example.com").is_none());
}

#[tokio::test]
async fn oss_cname_sub_resources_are_signed() {
    let emu = start().await;
    let good = client(&emu, STS_AK, STS_SECRET, Some(STS_TOKEN));
    let web = alicert::ident::BucketName::parse("web").unwrap();
    let list = good
        .oss_request(&OssRequest {
            sub_resources: &[("cname", "")],
            ..OssRequest::bucket("ListCname", "GET", &web)
        })
        .await
        .unwrap();
    let xml = String::from_utf8(list).unwrap();
    assert!(xml.contains("<Domain>img.example.com</Domain>"), "{xml}");

    let bad = client(&emu, AK, "wrong", None);
    let e = bad
        .oss_request(&OssRequest {
            sub_resources: &[("cname", "")],
            ..OssRequest::bucket("ListCname", "GET", &web)
        })
        .await
        .unwrap_err();
    assert_eq!(code(e), "SignatureDoesNotMatch");

    // A request signed (V4) without its sub-resource does not pass for one with it.
    let date_time = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let headers = vec![
        ("x-oss-date".to_string(), date_time.clone()),
        (
            "x-oss-content-sha256".to_string(),
            "UNSIGNED-PAYLOAD".to_string(),
        ),
    ];
    let authorization = alicert::aliyun::signer::oss_v4_authorization(
        AK,
        SECRET,
        &alicert::aliyun::signer::OssV4Request {
            verb: "GET",
            bucket: "web",
            key: "",
            query: vec![],
            headers: headers.clone(),
            date_time: &date_time,
            region: "cn-hangzhou",
        },
    );
    let mut req = reqwest::Client::new()
        .get(format!("{}/web/?cname", emu.base_url()))
        .header("authorization", authorization);
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let rsp = req.send().await.unwrap();
    assert_eq!(rsp.status(), 403);
    assert!(rsp.text().await.unwrap().contains("SignatureDoesNotMatch"));

    // PutCname for a domain not bound to the bucket is refused.
    let e = good
        .oss_request(&OssRequest {
            sub_resources: &[("cname", ""), ("comp", "add")],
            content_type: "application/xml",
            body: Some(
                b"<BucketCnameConfiguration><Cname><Domain>other.example.com</Domain></Cname></BucketCnameConfiguration>"
                    .to_vec(),
            ),
            ..OssRequest::bucket("PutCname", "POST", &web)
        })
        .await
        .unwrap_err();
    assert_eq!(code(e), "NeedVerifyDomainOwnership");
}

#[tokio::test]
async fn slb_and_alb_are_signed_rpc_and_check_their_resources() {
    let emu = start().await;
    let bad = client(&emu, AK, "wrong", None);
    let e = bad
        .rpc(
            Product::Slb,
            "DescribeServerCertificates",
            &[("RegionId", "cn-hangzhou")],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "SignatureDoesNotMatch");
    let good = client(&emu, AK, SECRET, None);
    let rsp = good
        .rpc(
            Product::Slb,
            "DescribeLoadBalancerHTTPSListenerAttribute",
            &[
                ("RegionId", "cn-hangzhou"),
                ("LoadBalancerId", "lb-1"),
                ("ListenerPort", "443"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(rsp["ServerCertificateId"], "");
    let e = good
        .rpc(
            Product::Slb,
            "SetLoadBalancerHTTPSListenerAttribute",
            &[
                ("RegionId", "cn-hangzhou"),
                ("LoadBalancerId", "lb-1"),
                ("ListenerPort", "443"),
                ("ServerCertificateId", "nope"),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "ServerCertificateId.NotFound");
    // ALB wants the global id `<CertId>-<region>` of a certificate that exists in CAS.
    let e = good
        .rpc(
            Product::Alb,
            "UpdateListenerAttribute",
            &[
                ("ListenerId", "lsn-1"),
                ("Certificates.1.CertificateId", "12345"),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidParameter.Certificates.N.CertificateId");
    let e = good
        .rpc(
            Product::Alb,
            "UpdateListenerAttribute",
            &[
                ("ListenerId", "lsn-1"),
                ("Certificates.1.CertificateId", "12345-cn-hangzhou"),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "ResourceNotFound.Certificate");
}

/// ListBuckets (GetService): `GET /` signed with bucket-less V4 scope, every bucket whatever its
/// region, paged by `marker`/`max-keys` (at most 1000, per the OSS API reference).
#[tokio::test]
async fn oss_list_buckets_pages_and_refuses_max_keys_above_1000() {
    let emu = emulator::start(
        Seed::default()
            .access_key(AK, SECRET)
            .bucket("web")
            .bucket("assets")
            .bucket_in("eu", "cn-shanghai"),
    )
    .await;
    let good = client(&emu, AK, SECRET, None);
    let list = |query: &'static [(&'static str, &'static str)]| {
        let good = good.clone();
        async move {
            good.oss_request(&OssRequest {
                sub_resources: query,
                ..OssRequest::service("ListBuckets", "GET")
            })
            .await
            .map(|b| String::from_utf8(b).unwrap())
        }
    };
    let first = list(&[("max-keys", "2")]).await.unwrap();
    assert!(first.contains("<IsTruncated>true</IsTruncated>"), "{first}");
    assert!(first.contains("<NextMarker>eu</NextMarker>"), "{first}");
    assert!(first.contains("<Name>assets</Name>") && !first.contains("<Name>web</Name>"));
    // The bucket in another region is listed through this one, with its region.
    assert!(first.contains("<Region>cn-shanghai</Region>"), "{first}");
    let rest = list(&[("marker", "eu"), ("max-keys", "2")]).await.unwrap();
    assert!(rest.contains("<Name>web</Name>"), "{rest}");
    // The last page carries no paging elements.
    assert!(!rest.contains("IsTruncated"), "{rest}");
    for bad in [
        &[("max-keys", "1001")][..],
        &[("max-keys", "0")],
        &[("max-keys", "x")],
    ] {
        assert_eq!(code(list(bad).await.unwrap_err()), "InvalidArgument");
    }
    let wrong = client(&emu, AK, "wrong", None);
    let e = wrong
        .oss_request(&OssRequest::service("ListBuckets", "GET"))
        .await
        .unwrap_err();
    assert_eq!(code(e), "SignatureDoesNotMatch");
}
