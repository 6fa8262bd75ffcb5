//! The emulator's request checks end to end, without alicert: requests signed here with the
//! crate's SDK-checked signature functions (signature.rs' vectors) are accepted, and the same
//! requests with a wrong secret, a tampered parameter, a replayed nonce or a missing STS token
//! are refused with Alibaba's codes. (RPC, FC 3's V3 and OSS V4; the products' own rules are
//! tested through alicert's client in the root crate's tests/emulator*.rs.)

use std::collections::BTreeMap;

use aliyun_emulator::signature::{
    oss_v4_canonical_request, oss_v4_signature, oss_v4_string_to_sign, rpc_signature, sha256_hex,
    v3_canonical_request, v3_signature, OssV4Input, V3Input,
};
use aliyun_emulator::Seed;
use serde_json::Value;

const AK: &str = "LTAI5tEmulatorKey";
const SECRET: &str = "emulator-secret";

fn now(fmt: &[time::format_description::FormatItem<'_>]) -> String {
    time::OffsetDateTime::now_utc().format(fmt).expect("format")
}

fn rpc_params(ak: &str, nonce: &str) -> BTreeMap<String, String> {
    let ts = now(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ));
    [
        ("Action", "DescribeDomains"),
        ("Version", "2015-01-09"),
        ("Format", "JSON"),
        ("AccessKeyId", ak),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", ts.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// POSTs the parameters as a form; returns (status, Code or "").
async fn rpc(base: &str, params: &BTreeMap<String, String>) -> (u16, String) {
    let rsp = reqwest::Client::new()
        .post(format!("{base}/"))
        .form(params)
        .send()
        .await
        .expect("emulator answers");
    let status = rsp.status().as_u16();
    let body: Value = rsp.json().await.expect("JSON body");
    let code = body["Code"].as_str().unwrap_or_default().to_string();
    (status, code)
}

fn signed(mut params: BTreeMap<String, String>, secret: &str) -> BTreeMap<String, String> {
    let sig = rpc_signature(secret, "POST", &params);
    params.insert("Signature".into(), sig);
    params
}

#[tokio::test]
async fn rpc_signatures_are_checked() {
    let emu = aliyun_emulator::start(
        Seed::default()
            .access_key(AK, SECRET)
            .sts_key("STS.key", "sts-secret", "the-token")
            .zone("example.com"),
    )
    .await;
    let base = emu.base_url();

    let ok = signed(rpc_params(AK, "n-1"), SECRET);
    assert_eq!(rpc(&base, &ok).await, (200, String::new()));
    // The same nonce again is a replay.
    assert_eq!(rpc(&base, &ok).await, (400, "SignatureNonceUsed".into()));

    let wrong_secret = signed(rpc_params(AK, "n-2"), "not-the-secret");
    assert_eq!(
        rpc(&base, &wrong_secret).await,
        (400, "SignatureDoesNotMatch".into())
    );

    let mut tampered = signed(rpc_params(AK, "n-3"), SECRET);
    tampered.insert("PageSize".into(), "50".into());
    assert_eq!(
        rpc(&base, &tampered).await,
        (400, "SignatureDoesNotMatch".into())
    );

    let unknown = signed(rpc_params("LTAI5tNobody", "n-4"), SECRET);
    assert_eq!(
        rpc(&base, &unknown).await,
        (404, "InvalidAccessKeyId.NotFound".into())
    );

    let no_token = signed(rpc_params("STS.key", "n-5"), "sts-secret");
    assert_eq!(
        rpc(&base, &no_token).await,
        (400, "MissingSecurityToken".into())
    );
    let mut with_token = rpc_params("STS.key", "n-6");
    with_token.insert("SecurityToken".into(), "the-token".into());
    assert_eq!(
        rpc(&base, &signed(with_token, "sts-secret")).await,
        (200, String::new())
    );
}

/// PUT /<bucket>/<key> with an OSS V4 header signature made with `secret`; returns the status
/// and the XML error Code (empty on success).
async fn oss_put(base: &str, secret: &str, body: &'static [u8]) -> (u16, String) {
    let date_time = now(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ));
    let headers = vec![
        ("content-type".to_string(), "text/plain".to_string()),
        ("x-oss-date".to_string(), date_time.clone()),
        (
            "x-oss-content-sha256".to_string(),
            "UNSIGNED-PAYLOAD".to_string(),
        ),
    ];
    let input = OssV4Input {
        method: "PUT",
        bucket: "b1",
        key: "dir/a.txt",
        headers: headers.clone(),
        date_time: &date_time,
        region: aliyun_emulator::DEFAULT_REGION,
        payload: "UNSIGNED-PAYLOAD",
        ..Default::default()
    };
    let sts = oss_v4_string_to_sign(&input, &oss_v4_canonical_request(&input));
    let auth = format!(
        "OSS4-HMAC-SHA256 Credential={AK}/{}/{}/oss/aliyun_v4_request,Signature={}",
        &date_time[..8],
        aliyun_emulator::DEFAULT_REGION,
        oss_v4_signature(secret, &input, &sts)
    );
    let mut req = reqwest::Client::new()
        .put(format!("{base}/b1/dir/a.txt"))
        .header("authorization", auth)
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let rsp = req.send().await.expect("emulator answers");
    let status = rsp.status().as_u16();
    let text = rsp.text().await.expect("body");
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(c, _)| c.to_string())
        .unwrap_or_default();
    (status, code)
}

#[tokio::test]
async fn oss_v4_signatures_are_checked() {
    let emu = aliyun_emulator::start(Seed::default().access_key(AK, SECRET).bucket("b1")).await;
    let base = emu.base_url();
    assert_eq!(oss_put(&base, SECRET, b"hello").await, (200, String::new()));
    assert_eq!(
        emu.state()
            .object("b1", "dir/a.txt")
            .map(|o| o.body.clone()),
        Some(b"hello".to_vec())
    );
    assert_eq!(
        oss_put(&base, "not-the-secret", b"evil").await,
        (403, "SignatureDoesNotMatch".into())
    );
    assert_eq!(
        emu.state()
            .object("b1", "dir/a.txt")
            .map(|o| o.body.clone()),
        Some(b"hello".to_vec())
    );
}

/// GetCustomDomain (FC 3, ROA, V3-signed with `secret`); returns (status, Code or "").
async fn fc_get_domain(base: &str, secret: &str, nonce: &str) -> (u16, String) {
    let path = "/2023-03-30/custom-domains/www.example.com";
    let payload = sha256_hex(b"");
    let date = now(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ));
    let headers: Vec<(String, String)> = [
        ("host", base.trim_start_matches("http://")),
        ("x-acs-action", "GetCustomDomain"),
        ("x-acs-version", "2023-03-30"),
        ("x-acs-date", date.as_str()),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-content-sha256", payload.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let input = V3Input {
        method: "GET",
        path,
        headers: headers.clone(),
        payload_sha256: &payload,
        ..Default::default()
    };
    let mut names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    names.sort();
    let auth = format!(
        "ACS3-HMAC-SHA256 Credential={AK},SignedHeaders={},Signature={}",
        names.join(";"),
        v3_signature(secret, &v3_canonical_request(&input))
    );
    let mut req = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("authorization", auth);
    for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
        req = req.header(k, v);
    }
    let rsp = req.send().await.expect("emulator answers");
    let status = rsp.status().as_u16();
    let body: Value = rsp.json().await.unwrap_or_default();
    let code = body["Code"].as_str().unwrap_or_default().to_string();
    (status, code)
}

#[tokio::test]
async fn v3_signatures_are_checked() {
    let emu = aliyun_emulator::start(
        Seed::default()
            .access_key(AK, SECRET)
            .fc_domain("www.example.com"),
    )
    .await;
    let base = emu.base_url();
    assert_eq!(
        fc_get_domain(&base, SECRET, "v3-1").await,
        (200, String::new())
    );
    assert_eq!(
        fc_get_domain(&base, SECRET, "v3-1").await,
        (400, "SignatureNonceUsed".into())
    );
    assert_eq!(
        fc_get_domain(&base, "not-the-secret", "v3-2").await,
        (400, "SignatureDoesNotMatch".into())
    );
}
