//! The emulator enforces a RAM policy given to it (crates/aliyun-emulator/src/ram.rs): an
//! allowed call passes; a call outside the action list and a call on another resource are
//! refused with the shape Alibaba Cloud answers (RPC 403 Forbidden.RAM + AccessDeniedDetail,
//! OSS 403 AccessDenied + EC), and alicert's error names the denied action.
mod support;

use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use alicert::ident::{BucketName, ObjectKey};
use serde_json::{json, Value};
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tRamKey0001";
const SECRET: &str = "ram-secret-0001";

fn client(emu: &Emulator) -> AliyunClient {
    emu.client(AK, SECRET, None)
}

fn refused(r: Result<Value, Error>) -> (String, String, u16) {
    match r {
        Err(Error::Aliyun {
            code,
            message,
            http_status,
            ..
        }) => (code, message, http_status),
        Err(other) => panic!("not an Alibaba error: {other}"),
        Ok(v) => panic!("accepted: {v}"),
    }
}

async fn started() -> Emulator {
    let emu = emulator::start(
        Seed::default()
            .access_key(AK, SECRET)
            .zone("example.com")
            .zone("other.org")
            .cdn_domain("www.example.com")
            .cdn_domain("www.other.org")
            .bucket("keys"),
    )
    .await;
    let policy = json!({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["alidns:AddDomainRecord", "alidns:DeleteDomainRecord"],
         "Resource": "acs:alidns:*:*:domain/example.com"},
        {"Effect": "Allow", "Action": "cdn:DescribeDomainCertificateInfo",
         "Resource": ["acs:cdn:*:*:domain/www.example.com"]},
        {"Effect": "Allow", "Action": ["oss:GetObject", "oss:PutObject", "oss:PutObjectAcl"],
         "Resource": "acs:oss:*:*:keys/alicert/*"},
        {"Effect": "Deny", "Action": "oss:PutObject", "Resource": "acs:oss:*:*:keys/alicert/locked*"},
    ]});
    emu.set_ram_policy(Some(&policy)).unwrap();
    emu
}

#[tokio::test]
async fn rpc_calls_are_checked_against_action_and_resource() {
    let emu = started().await;
    let c = client(&emu);
    let add = |zone: &'static str| {
        let c = c.clone();
        async move {
            c.rpc(
                Product::Alidns,
                "AddDomainRecord",
                &[
                    ("DomainName", zone),
                    ("RR", "_acme-challenge"),
                    ("Type", "TXT"),
                    ("Value", "v"),
                ],
            )
            .await
        }
    };
    // Allowed: the action on the granted zone.
    let id = add("example.com").await.unwrap()["RecordId"]
        .as_str()
        .unwrap()
        .to_string();
    // DeleteDomainRecord carries only the RecordId: authorised on the record's zone.
    c.rpc(Product::Alidns, "DeleteDomainRecord", &[("RecordId", &id)])
        .await
        .unwrap();
    // Another zone: refused.
    let (code, message, status) = refused(add("other.org").await);
    assert_eq!((code.as_str(), status), ("Forbidden.RAM", 403));
    assert!(
        message.contains("RAM denied alidns:AddDomainRecord"),
        "{message}"
    );
    // An action outside the list, on the granted zone: refused.
    let (code, message, _) = refused(
        c.rpc(
            Product::Alidns,
            "DescribeDomainRecords",
            &[("DomainName", "example.com")],
        )
        .await,
    );
    assert_eq!(code, "Forbidden.RAM");
    assert!(
        message.contains("alidns:DescribeDomainRecords"),
        "{message}"
    );
    // CDN: the granted domain only.
    c.rpc(
        Product::Cdn,
        "DescribeDomainCertificateInfo",
        &[("DomainName", "www.example.com")],
    )
    .await
    .unwrap();
    let (code, _, _) = refused(
        c.rpc(
            Product::Cdn,
            "DescribeDomainCertificateInfo",
            &[("DomainName", "www.other.org")],
        )
        .await,
    );
    assert_eq!(code, "Forbidden.RAM");
    // The refusals are in the call log with their code, and changed nothing.
    let state = emu.state();
    assert!(state
        .records
        .iter()
        .all(|r| r.domain_name != "other.org" || r.rr != "_acme-challenge"));
    let denied: Vec<_> = state
        .calls
        .iter()
        .filter(|c| c.code.as_deref() == Some("Forbidden.RAM"))
        .collect();
    assert_eq!(denied.len(), 3);
}

#[tokio::test]
async fn the_rpc_denial_has_alibabas_shape() {
    let emu = started().await;
    let c = client(&emu);
    let r = c
        .rpc(Product::Cdn, "DescribeUserDomains", &[("PageNumber", "1")])
        .await;
    let (code, message, status) = refused(r);
    assert_eq!((code.as_str(), status), ("Forbidden.RAM", 403));
    assert!(
        message.starts_with(
            "User not authorized to operate on the specified resource, or this API doesn't support RAM."
        ),
        "{message}"
    );
    // The body itself: AccessDeniedDetail with AuthAction and NoPermissionType.
    let body = raw_denied_body(&emu).await;
    assert_eq!(body["Code"], "Forbidden.RAM");
    let d = &body["AccessDeniedDetail"];
    assert_eq!(d["AuthAction"], "cdn:DescribeUserDomains");
    assert_eq!(d["NoPermissionType"], "ImplicitDeny");
    assert_eq!(d["PolicyType"], "AccountLevelIdentityBasedPolicy");
    assert!(d["EncodedDiagnosticMessage"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
}

/// The JSON the emulator answers a refused call with (alicert's client keeps only code and
/// message): a request signed here with alicert's RPC signer, sent with reqwest.
async fn raw_denied_body(emu: &Emulator) -> Value {
    use alicert::aliyun::signer::{percent_encode, rpc_signature};
    let now = time::OffsetDateTime::now_utc();
    let timestamp = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let nonce = format!("{}", now.unix_timestamp_nanos());
    let mut params: std::collections::BTreeMap<String, String> = [
        ("Action", "DescribeUserDomains"),
        ("Version", "2018-05-10"),
        ("Format", "JSON"),
        ("AccessKeyId", AK),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce.as_str()),
        ("Timestamp", timestamp.as_str()),
        ("PageNumber", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signature = rpc_signature(SECRET, "POST", &params);
    params.insert("Signature".into(), signature);
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let rsp = reqwest::Client::new()
        .post(format!("{}/?{}", emu.base_url(), query.join("&")))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status().as_u16(), 403);
    rsp.json().await.unwrap()
}

#[tokio::test]
async fn oss_calls_are_checked_and_deny_wins() {
    let emu = started().await;
    let c = client(&emu);
    let bucket = BucketName::parse("keys").unwrap();
    let key = |k: &str| ObjectKey::parse(k).unwrap();
    // Allowed: a private put (PutObject + PutObjectAcl) and a get under the prefix.
    c.oss_put(&bucket, &key("alicert/account.pem"), b"k".to_vec(), true)
        .await
        .unwrap();
    assert_eq!(
        c.oss_get(&bucket, &key("alicert/account.pem"))
            .await
            .unwrap(),
        Some(b"k".to_vec())
    );
    // Outside the prefix: refused with OSS's shape.
    let e = c
        .oss_put(&bucket, &key("elsewhere/x"), b"k".to_vec(), true)
        .await
        .unwrap_err();
    match &e {
        Error::Aliyun {
            code,
            message,
            http_status,
            ..
        } => {
            assert_eq!((code.as_str(), *http_status), ("AccessDenied", 403));
            assert!(message.contains("RAM denied oss:PutObject"), "{message}");
        }
        other => panic!("{other}"),
    }
    // An explicit Deny inside the allowed prefix wins.
    let e = c
        .oss_put(&bucket, &key("alicert/locked.lock"), b"k".to_vec(), true)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Aliyun { ref code, ref message, .. } if code == "AccessDenied" && message.contains("oss:PutObject")),
        "{e}"
    );
    // A delete (not granted) is refused and the object stays.
    let e = c
        .oss_delete(&bucket, &key("alicert/account.pem"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Aliyun { ref code, .. } if code == "AccessDenied"),
        "{e}"
    );
    let state = emu.state();
    assert!(state.oss_objects.contains_key("keys/alicert/account.pem"));
    assert!(!state.oss_objects.contains_key("keys/elsewhere/x"));
    assert!(!state.oss_objects.contains_key("keys/alicert/locked.lock"));
    // Clearing the policy lifts every check.
    emu.set_ram_policy(None).unwrap();
    c.oss_delete(&bucket, &key("alicert/account.pem"))
        .await
        .unwrap();
}
