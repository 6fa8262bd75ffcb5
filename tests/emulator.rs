//! Checks of the test support itself: the Alibaba Cloud emulator verifies requests like Alibaba,
//! pushes Alidns TXT records into a real pebble-challtestsrv, and the Pebble harness serves an
//! ACME directory trusted through the generated CA.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use alicert::aliyun::signer::{oss_v4_authorization, percent_encode, rpc_signature, OssV4Request};
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};
use support::pebble;

const AK: &str = "LTAI5tTESTKEY000000001";
const SECRET: &str = "test-secret-0001";
const STS_AK: &str = "STS.NUgYrLnoC37mZZCNnAbez2GRx";
const STS_SECRET: &str = "sts-secret";
const STS_TOKEN: &str = "CAIS+sts-token/with=odd&chars";

fn seed() -> Seed {
    Seed::default()
        .access_key(AK, SECRET)
        .sts_key(STS_AK, STS_SECRET, STS_TOKEN)
        .zone("example.com")
        .zone("example.org")
        .cdn_domain("www.example.com")
        .apigateway_domain("grp-1", "api.example.com")
        .bucket("certs")
        .kms_secret("alicert/account", "account-key-pem")
}

fn timestamp(offset_secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&fmt).unwrap()
}

fn nonce() -> String {
    use rand::Rng;
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}

/// A signed RPC request as alicert would send it.
struct Rpc {
    base: String,
    ak: String,
    secret: String,
    token: Option<String>,
    http: reqwest::Client,
}

struct RpcReq<'a> {
    version: &'a str,
    action: &'a str,
    query: Vec<(&'a str, String)>,
    form: Vec<(&'a str, String)>,
    timestamp: String,
    nonce: String,
    /// Sign with this secret instead of the right one.
    sign_secret: Option<&'a str>,
}

impl<'a> RpcReq<'a> {
    fn new(version: &'a str, action: &'a str) -> Self {
        RpcReq {
            version,
            action,
            query: vec![],
            form: vec![],
            timestamp: timestamp(0),
            nonce: nonce(),
            sign_secret: None,
        }
    }
    fn q(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.query.push((k, v.into()));
        self
    }
    fn form(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.form.push((k, v.into()));
        self
    }
}

impl Rpc {
    fn new(emu: &Emulator) -> Self {
        Rpc {
            base: emu.base_url(),
            ak: AK.into(),
            secret: SECRET.into(),
            token: None,
            http: reqwest::Client::new(),
        }
    }
    fn sts(emu: &Emulator, token: Option<&str>) -> Self {
        Rpc {
            ak: STS_AK.into(),
            secret: STS_SECRET.into(),
            token: token.map(|t| t.to_string()),
            ..Rpc::new(emu)
        }
    }

    async fn send(&self, r: RpcReq<'_>) -> (u16, Value) {
        let mut query: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in [
            ("Action", r.action),
            ("Version", r.version),
            ("Format", "JSON"),
            ("AccessKeyId", self.ak.as_str()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", r.nonce.as_str()),
            ("Timestamp", r.timestamp.as_str()),
        ] {
            query.insert(k.into(), v.into());
        }
        if let Some(t) = &self.token {
            query.insert("SecurityToken".into(), t.clone());
        }
        for (k, v) in &r.query {
            query.insert(k.to_string(), v.clone());
        }
        let mut all = query.clone();
        for (k, v) in &r.form {
            all.insert(k.to_string(), v.clone());
        }
        let sig = rpc_signature(r.sign_secret.unwrap_or(&self.secret), "POST", &all);
        query.insert("Signature".into(), sig);
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        let mut req = self.http.post(format!("{}/?{}", self.base, qs.join("&")));
        if !r.form.is_empty() {
            let body: Vec<String> = r
                .form
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.join("&"));
        }
        let resp = req.send().await.expect("send RPC");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("JSON body");
        assert!(
            body["RequestId"].as_str().is_some_and(|s| !s.is_empty()),
            "every response carries a RequestId: {body}"
        );
        (status, body)
    }

    async fn ok(&self, r: RpcReq<'_>) -> Value {
        let action = r.action.to_string();
        let (status, body) = self.send(r).await;
        assert_eq!(status, 200, "{action}: {body}");
        body
    }
}

const ALIDNS: &str = "2015-01-09";
const CAS: &str = "2020-04-07";
const CDN: &str = "2018-05-10";
const CLOUDAPI: &str = "2016-07-14";
const KMS: &str = "2016-01-20";

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(body["Code"], want_code, "{body}");
    assert_eq!(status, want_status, "{body}");
    for f in ["RequestId", "Code", "Message", "HostId", "Recommend"] {
        assert!(body.get(f).is_some(), "error lacks {f}: {body}");
    }
}

#[tokio::test]
async fn signed_request_succeeds_and_request_ids_are_fresh() {
    let emu = emulator::start(seed()).await;
    let rpc = Rpc::new(&emu);
    let a = rpc.ok(RpcReq::new(ALIDNS, "DescribeDomains")).await;
    assert_eq!(a["TotalCount"], 2);
    assert_eq!(a["PageNumber"], 1);
    assert_eq!(a["Domains"]["Domain"][0]["DomainName"], "example.com");
    assert!(a["Domains"]["Domain"][0]["DnsServers"]["DnsServer"].is_array());
    let b = rpc
        .ok(RpcReq::new(ALIDNS, "DescribeDomains").q("KeyWord", "org"))
        .await;
    assert_eq!(b["TotalCount"], 1);
    assert_ne!(a["RequestId"], b["RequestId"]);
    // Paging.
    let c = rpc
        .ok(RpcReq::new(ALIDNS, "DescribeDomains")
            .q("PageSize", "1")
            .q("PageNumber", "2"))
        .await;
    assert_eq!(c["Domains"]["Domain"][0]["DomainName"], "example.org");
    // Values needing percent-encoding (space, '*', '~', non-ASCII) are signed correctly.
    let d = rpc
        .ok(RpcReq::new(ALIDNS, "GetMainDomainName").q("InputString", "*.a b~中.example.com"))
        .await;
    assert_eq!(d["DomainName"], "example.com");

    let st = emu.state();
    assert_eq!(st.calls.len(), 4);
    assert!(st
        .calls
        .iter()
        .all(|c| c.product == "alidns" && c.access_key_id == AK && c.code.is_none()));
    assert_eq!(st.calls[3].params["Signature"], "<redacted>");
}

#[tokio::test]
async fn bad_requests_are_rejected_with_alibaba_codes() {
    let emu = emulator::start(seed()).await;
    let rpc = Rpc::new(&emu);

    let mut r = RpcReq::new(ALIDNS, "DescribeDomains");
    r.sign_secret = Some("not-the-secret");
    let (s, b) = rpc.send(r).await;
    assert_error(s, &b, 400, "SignatureDoesNotMatch");

    let n = nonce();
    let mut r = RpcReq::new(ALIDNS, "DescribeDomains");
    r.nonce = n.clone();
    rpc.ok(r).await;
    let mut r = RpcReq::new(ALIDNS, "DescribeDomains");
    r.nonce = n;
    let (s, b) = rpc.send(r).await;
    assert_error(s, &b, 400, "SignatureNonceUsed");

    let mut r = RpcReq::new(ALIDNS, "DescribeDomains");
    r.timestamp = timestamp(-16 * 60);
    let (s, b) = rpc.send(r).await;
    assert_error(s, &b, 400, "InvalidTimeStamp.Expired");
    let mut r = RpcReq::new(ALIDNS, "DescribeDomains");
    r.timestamp = timestamp(-14 * 60);
    rpc.ok(r).await;

    let stranger = Rpc {
        ak: "LTAI-unknown".into(),
        ..Rpc::new(&emu)
    };
    let (s, b) = stranger.send(RpcReq::new(ALIDNS, "DescribeDomains")).await;
    assert_error(s, &b, 404, "InvalidAccessKeyId.NotFound");

    let (s, b) = rpc.send(RpcReq::new(ALIDNS, "NoSuchAction")).await;
    assert_error(s, &b, 400, "InvalidAction.NotFound");

    let (s, b) = rpc
        .send(RpcReq::new(ALIDNS, "AddDomainRecord").q("DomainName", "example.com"))
        .await;
    assert_error(s, &b, 400, "MissingParameter.RR");

    // STS credentials need their token.
    let (s, b) = Rpc::sts(&emu, None)
        .send(RpcReq::new(ALIDNS, "DescribeDomains"))
        .await;
    assert_error(s, &b, 400, "MissingSecurityToken");
    let (s, b) = Rpc::sts(&emu, Some("wrong"))
        .send(RpcReq::new(ALIDNS, "DescribeDomains"))
        .await;
    assert_error(s, &b, 400, "InvalidSecurityToken.Mismatch");
    Rpc::sts(&emu, Some(STS_TOKEN))
        .ok(RpcReq::new(ALIDNS, "DescribeDomains"))
        .await;

    // Injected failure: once, after authentication.
    emu.fail_next("DescribeDomains", "Throttling.User", 503);
    let (s, b) = rpc.send(RpcReq::new(ALIDNS, "DescribeDomains")).await;
    assert_error(s, &b, 503, "Throttling.User");
    rpc.ok(RpcReq::new(ALIDNS, "DescribeDomains")).await;

    let st = emu.state();
    assert!(st
        .calls
        .iter()
        .any(|c| c.security_token && c.code.is_none()));
}

#[tokio::test]
async fn alidns_records_cas_cdn_apigateway_kms() {
    let emu = emulator::start(seed()).await;
    let rpc = Rpc::new(&emu);

    // Records.
    let add = add_challenge_txt;
    let id1 = rpc.ok(add("v1")).await["RecordId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id1.chars().all(|c| c.is_ascii_digit()));
    let (s, b) = rpc.send(add("v1")).await;
    assert_error(s, &b, 400, "DomainRecordDuplicate");
    let (s, b) = rpc.send(add("v2").q("DomainName", "nope.example")).await;
    assert_error(s, &b, 400, "InvalidDomainName.NoExist");
    let id2 = rpc.ok(add("v2")).await["RecordId"]
        .as_str()
        .unwrap()
        .to_string();
    rpc.ok(RpcReq::new(ALIDNS, "UpdateDomainRecordRemark")
        .q("RecordId", &id2)
        .q("Remark", "alicert"))
        .await;
    let list = rpc
        .ok(RpcReq::new(ALIDNS, "DescribeDomainRecords")
            .q("DomainName", "example.com")
            .q("RRKeyWord", "_acme-challenge")
            .q("TypeKeyWord", "TXT"))
        .await;
    assert_eq!(list["TotalCount"], 2);
    let recs = list["DomainRecords"]["Record"].as_array().unwrap();
    assert_eq!(recs[0]["TTL"], 600);
    assert_eq!(recs[0]["Status"], "ENABLE");
    assert_eq!(recs[0]["Line"], "default");
    assert_eq!(recs[1]["Remark"], "alicert");
    let sub = rpc
        .ok(RpcReq::new(ALIDNS, "DescribeSubDomainRecords")
            .q("SubDomain", "_acme-challenge.example.com"))
        .await;
    assert_eq!(sub["TotalCount"], 2);
    rpc.ok(RpcReq::new(ALIDNS, "DeleteDomainRecord").q("RecordId", &id1))
        .await;
    let (s, b) = rpc
        .send(RpcReq::new(ALIDNS, "DeleteDomainRecord").q("RecordId", &id1))
        .await;
    assert_error(s, &b, 400, "DomainRecordNotBelongToUser");
    let st = emu.state();
    assert_eq!(st.txt_values("_acme-challenge.example.com."), vec!["v2"]);
    assert_eq!(st.records_added.len(), 2);
    assert_eq!(st.records_added[0].record_id, id1);

    // CAS upload, detail, list; CDN from CAS; API Gateway upload.
    let (cert, key) = self_signed(&["www.example.com", "api.example.com"]);
    let upload = |name: &str, key: &str| {
        RpcReq::new(CAS, "UploadUserCertificate")
            .q("Name", name)
            .form("Cert", &cert)
            .form("Key", key)
    };
    let up = rpc.ok(upload("www-1", &key)).await;
    let cert_id = up["CertId"].as_u64().unwrap();
    let (s, b) = rpc.send(upload("www-1", &key)).await;
    assert_error(s, &b, 400, "NameRepeat");
    let (_, other_key) = self_signed(&["x.example.com"]);
    let (s, b) = rpc.send(upload("www-2", &other_key)).await;
    assert_error(s, &b, 400, "Certificate.NotMatch");
    let detail = rpc
        .ok(RpcReq::new(CAS, "GetUserCertificateDetail").q("CertId", cert_id.to_string()))
        .await;
    assert_eq!(detail["Cert"], cert.as_str());
    assert_eq!(detail["Sans"], "www.example.com,api.example.com");
    assert!(detail["NotAfter"].as_i64().unwrap() > 0);
    let list = rpc
        .ok(RpcReq::new(CAS, "ListUserCertificateOrder")
            .q("OrderType", "UPLOAD")
            .q("Keyword", "www"))
        .await;
    assert_eq!(list["TotalCount"], 1);
    assert_eq!(list["CertificateOrderList"][0]["CertificateId"], cert_id);
    assert_eq!(
        list["CertificateOrderList"][0]["SerialNo"],
        detail["SerialNo"]
    );

    let info = rpc
        .ok(RpcReq::new(CDN, "DescribeDomainCertificateInfo").q("DomainName", "www.example.com"))
        .await;
    assert_eq!(
        info["CertInfos"]["CertInfo"][0]["ServerCertificateStatus"],
        "off"
    );
    rpc.ok(RpcReq::new(CDN, "SetCdnDomainSSLCertificate")
        .q("DomainName", "www.example.com")
        .q("SSLProtocol", "on")
        .q("CertType", "cas")
        .q("CertId", cert_id.to_string()))
        .await;
    let info = rpc
        .ok(RpcReq::new(CDN, "DescribeDomainCertificateInfo").q("DomainName", "www.example.com"))
        .await;
    let ci = &info["CertInfos"]["CertInfo"][0];
    assert_eq!(ci["ServerCertificateStatus"], "on");
    assert_eq!(ci["CertId"], cert_id.to_string());
    assert_eq!(ci["ServerCertificate"], cert.as_str());
    assert!(ci["CertExpireTime"].as_str().unwrap().ends_with('Z'));
    let (s, b) = rpc
        .send(RpcReq::new(CDN, "DescribeDomainCertificateInfo").q("DomainName", "cdn.nope.com"))
        .await;
    assert_error(s, &b, 400, "InvalidDomain.NotFound");

    rpc.ok(RpcReq::new(CLOUDAPI, "SetDomainCertificate")
        .q("GroupId", "grp-1")
        .q("DomainName", "api.example.com")
        .q("CertificateName", "api-1")
        .form("CertificateBody", &cert)
        .form("CertificatePrivateKey", &key))
        .await;
    let d = rpc
        .ok(RpcReq::new(CLOUDAPI, "DescribeDomain")
            .q("GroupId", "grp-1")
            .q("DomainName", "api.example.com"))
        .await;
    assert_eq!(d["CertificateName"], "api-1");
    assert_eq!(d["CertificatePrivateKey"], "");
    assert_eq!(d["DomainBindingStatus"], "BINDING");
    let (s, b) = rpc
        .send(
            RpcReq::new(CLOUDAPI, "DescribeDomain")
                .q("GroupId", "grp-1")
                .q("DomainName", "nope.example.com"),
        )
        .await;
    assert_error(s, &b, 404, "NotFoundDomain");

    // KMS: SecretData in a form body, signed.
    let g = rpc
        .ok(RpcReq::new(KMS, "GetSecretValue").q("SecretName", "alicert/account"))
        .await;
    assert_eq!(g["SecretData"], "account-key-pem");
    rpc.ok(RpcReq::new(KMS, "CreateSecret")
        .q("SecretName", "new")
        .q("VersionId", "v1")
        .form("SecretData", "line1\nline2 +&="))
        .await;
    let (s, b) = rpc
        .send(
            RpcReq::new(KMS, "CreateSecret")
                .q("SecretName", "new")
                .q("VersionId", "v1")
                .form("SecretData", "x"),
        )
        .await;
    assert_error(s, &b, 400, "Rejected.ResourceExist");
    rpc.ok(RpcReq::new(KMS, "PutSecretValue")
        .q("SecretName", "new")
        .q("VersionId", "v2")
        .form("SecretData", "second"))
        .await;
    let g = rpc
        .ok(RpcReq::new(KMS, "GetSecretValue").q("SecretName", "new"))
        .await;
    assert_eq!(g["SecretData"], "second");
    assert_eq!(g["VersionId"], "v2");
    let (s, b) = rpc
        .send(RpcReq::new(KMS, "GetSecretValue").q("SecretName", "missing"))
        .await;
    assert_error(s, &b, 404, "Forbidden.ResourceNotFound");

    let st = emu.state();
    assert_eq!(st.cdn_cert("www.example.com").unwrap().cert_type, "cas");
    assert!(st.apigateway_cert("grp-1", "api.example.com").is_some());
    assert_eq!(st.secret_value("new"), Some("second"));
    let cas_call = st.calls_to("UploadUserCertificate")[0];
    assert_eq!(cas_call.params["Key"], "<redacted>");
}

fn self_signed(names: &[&str]) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

// ---------------------------------------------------------------------------------------------
// OSS
// ---------------------------------------------------------------------------------------------

struct OssResp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

/// How a test OSS request is made; [`OssSpec::new`] is a correct V4 request to the default
/// (cn-hangzhou) endpoint, and each field breaks one rule.
struct OssSpec<'a> {
    method: &'a str,
    bucket: &'a str,
    key: &'a str,
    query: &'a [(&'a str, &'a str)],
    body: &'a str,
    extra: &'a [(&'a str, &'a str)],
    secret: &'a str,
    /// `Some(r)`: sent to `/__region/<r>` (region r's endpoint).
    endpoint_region: Option<&'a str>,
    scope_region: &'a str,
    /// Seconds added to the real time in x-oss-date.
    date_offset: i64,
    send_date: bool,
    send_content_sha256: bool,
    /// Sign with V1 (`OSS ak:sig`) instead.
    v1: bool,
}

impl<'a> OssSpec<'a> {
    fn new(method: &'a str, bucket: &'a str, key: &'a str) -> Self {
        OssSpec {
            method,
            bucket,
            key,
            query: &[],
            body: "",
            extra: &[],
            secret: SECRET,
            endpoint_region: None,
            scope_region: "cn-hangzhou",
            date_offset: 0,
            send_date: true,
            send_content_sha256: true,
            v1: false,
        }
    }
}

/// V1 as oss2's ProviderAuth computed it: base64(HMAC-SHA1(secret, VERB\nMD5\nType\nDate\n
/// x-oss-headers + /bucket/key)) — here only to show the emulator refuses it.
fn v1_signature(
    secret: &str,
    verb: &str,
    content_type: &str,
    date: &str,
    resource: &str,
) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{verb}\n\n{content_type}\n{date}\n{resource}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn oss_send(emu: &Emulator, spec: &OssSpec<'_>) -> OssResp {
    let content_type = if spec.method == "PUT" {
        "text/plain"
    } else {
        ""
    };
    let when = time::OffsetDateTime::now_utc() + time::Duration::seconds(spec.date_offset);
    let date_time = when
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let mut headers: Vec<(String, String)> = spec
        .extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if spec.send_date {
        headers.push(("x-oss-date".into(), date_time.clone()));
    }
    if spec.send_content_sha256 {
        headers.push(("x-oss-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
    }
    if !content_type.is_empty() {
        headers.push(("content-type".into(), content_type.into()));
    }
    let authorization = if spec.v1 {
        let date = httpdate::fmt_http_date(SystemTime::now());
        headers.push(("date".into(), date.clone()));
        let sig = v1_signature(
            spec.secret,
            spec.method,
            content_type,
            &date,
            &format!("/{}/{}", spec.bucket, spec.key),
        );
        format!("OSS {AK}:{sig}")
    } else {
        oss_v4_authorization(
            AK,
            spec.secret,
            &OssV4Request {
                verb: spec.method,
                bucket: spec.bucket,
                key: spec.key,
                query: spec
                    .query
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                headers: headers.clone(),
                date_time: &date_time,
                region: spec.scope_region,
            },
        )
    };
    let mut url = reqwest::Url::parse(&emu.base_url()).unwrap();
    {
        let mut segs = url.path_segments_mut().unwrap();
        segs.pop_if_empty();
        if let Some(r) = spec.endpoint_region {
            segs.push("__region").push(r);
        }
        segs.push(spec.bucket);
        segs.extend(spec.key.split('/'));
    }
    if !spec.query.is_empty() {
        let q: Vec<String> = spec
            .query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.to_string()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        url.set_query(Some(&q.join("&")));
    }
    let mut req = reqwest::Client::new()
        .request(spec.method.parse().unwrap(), url)
        .header("authorization", authorization);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if spec.method == "PUT" {
        req = req.body(spec.body.to_string());
    }
    let resp = req.send().await.unwrap();
    OssResp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

/// A correct V4 request to `/<bucket>/<key>` in cn-hangzhou (`path` = `/<bucket>/<key>`).
async fn oss(
    emu: &Emulator,
    method: &str,
    path: &str,
    body: &str,
    extra: &[(&str, &str)],
    secret: &str,
) -> OssResp {
    let (bucket, key) = path.trim_start_matches('/').split_once('/').unwrap();
    oss_send(
        emu,
        &OssSpec {
            body,
            extra,
            secret,
            ..OssSpec::new(method, bucket, key)
        },
    )
    .await
}

#[tokio::test]
async fn oss_put_get_forbid_overwrite_and_auth() {
    let emu = emulator::start(seed()).await;
    let path = "/certs/alicert/www/cert.pem";
    let forbid = [
        ("x-oss-forbid-overwrite", "true"),
        ("x-oss-server-side-encryption", "KMS"),
        ("x-oss-object-acl", "private"),
    ];
    let r = oss(&emu, "PUT", path, "hello", &forbid, SECRET).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.contains_key("etag"));
    let r = oss(&emu, "PUT", path, "again", &forbid, SECRET).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("<Code>FileAlreadyExists</Code>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<RequestId>"), "{}", r.body);
    // The object's ACL is recorded.
    let st = emu.state();
    let obj = st.object("certs", "alicert/www/cert.pem").unwrap();
    assert_eq!(obj.headers["x-oss-object-acl"], "private");
    // Without the header, overwriting is allowed.
    let r = oss(&emu, "PUT", path, "replaced", &[], SECRET).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // An ACL OSS does not know is refused.
    let r = oss(
        &emu,
        "PUT",
        path,
        "x",
        &[("x-oss-object-acl", "everyone")],
        SECRET,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);

    let r = oss(&emu, "GET", path, "", &[], SECRET).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "replaced");
    let r = oss(&emu, "HEAD", path, "", &[], SECRET).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-length"], "8");

    let r = oss(&emu, "GET", "/certs/missing", "", &[], SECRET).await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<Code>NoSuchKey</Code>"), "{}", r.body);
    let r = oss(&emu, "GET", "/nobucket/x", "", &[], SECRET).await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<Code>NoSuchBucket</Code>"), "{}", r.body);
    let r = oss(&emu, "GET", path, "", &[], "wrong-secret").await;
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        r.body
    );

    let r = oss(&emu, "DELETE", path, "", &[], SECRET).await;
    assert_eq!(r.status, 204);
    assert!(emu
        .state()
        .object("certs", "alicert/www/cert.pem")
        .is_none());

    // The first PUT stored the SSE header.
    let puts = emu.state();
    let first_put = puts.calls_to("PutObject")[0];
    assert_eq!(first_put.http_status, 200);
}

/// Each V4 rule of the emulator refuses the request that breaks it, while the same request
/// made correctly passes (so no rule passes only because everything is refused).
#[tokio::test]
async fn oss_v4_rules_refuse_v1_and_bad_v4_requests() {
    let emu = emulator::start(seed().bucket_in("shanghai-b", "cn-shanghai")).await;
    let ok = oss_send(&emu, &OssSpec::new("GET", "certs", "none")).await;
    assert_eq!(
        ok.status, 404,
        "a valid V4 request reaches the object: {}",
        ok.body
    );

    let get = || OssSpec::new("GET", "certs", "none");
    // (why, request, status, what the body must name)
    let cases = [
        // V1, correctly computed, is refused (EC 0002-00000080).
        ("V1", OssSpec { v1: true, ..get() }, 403, "0002-00000080"),
        // x-oss-date missing, or 16 minutes off; 14 minutes off is inside the window.
        (
            "no date",
            OssSpec {
                send_date: false,
                ..get()
            },
            403,
            "",
        ),
        (
            "-16 min",
            OssSpec {
                date_offset: -16 * 60,
                ..get()
            },
            403,
            "",
        ),
        (
            "+16 min",
            OssSpec {
                date_offset: 16 * 60,
                ..get()
            },
            403,
            "",
        ),
        (
            "-14 min",
            OssSpec {
                date_offset: -14 * 60,
                ..get()
            },
            404,
            "",
        ),
        (
            "no content sha256",
            OssSpec {
                send_content_sha256: false,
                ..get()
            },
            403,
            "x-oss-content-sha256",
        ),
        // A scope naming another region than the endpoint's (EC 0002-00000226).
        (
            "scope region",
            OssSpec {
                scope_region: "cn-shanghai",
                ..get()
            },
            403,
            "0002-00000226",
        ),
    ];
    for (why, spec, status, names) in cases {
        let r = oss_send(&emu, &spec).await;
        assert_eq!(r.status, status, "{why}: {}", r.body);
        assert!(r.body.contains(names), "{why}: {}", r.body);
    }

    // The cn-shanghai bucket through the default (cn-hangzhou) endpoint: refused, naming
    // the endpoint to use — even with a cn-shanghai scope.
    for scope in ["cn-hangzhou", "cn-shanghai"] {
        let r = oss_send(
            &emu,
            &OssSpec {
                scope_region: scope,
                ..OssSpec::new("GET", "shanghai-b", "none")
            },
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(
            r.body
                .contains("<Endpoint>oss-cn-shanghai.aliyuncs.com</Endpoint>"),
            "{}",
            r.body
        );
    }
    // Its own endpoint with a cn-hangzhou scope: refused; with its region: passes.
    // Then the cn-hangzhou bucket through the cn-shanghai endpoint: refused (last checked below).
    let mut r = None;
    for (bucket, scope, status) in [
        ("shanghai-b", "cn-hangzhou", 403),
        ("shanghai-b", "cn-shanghai", 404),
        ("certs", "cn-shanghai", 403),
    ] {
        let spec = OssSpec {
            endpoint_region: Some("cn-shanghai"),
            scope_region: scope,
            ..OssSpec::new("GET", bucket, "none")
        };
        let got = oss_send(&emu, &spec).await;
        assert_eq!(got.status, status, "{bucket} {scope}: {}", got.body);
        r = Some(got);
    }
    let r = r.unwrap();
    assert!(
        r.body.contains("oss-cn-hangzhou.aliyuncs.com"),
        "{}",
        r.body
    );

    // A bucket sub-resource is part of the signed canonical query.
    let r = oss_send(
        &emu,
        &OssSpec {
            query: &[("versioning", "")],
            ..OssSpec::new("GET", "certs", "")
        },
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn oss_bucket_versioning_is_answered_per_the_api() {
    let emu = emulator::start(
        seed()
            .bucket("versioned")
            .bucket_versioning("versioned", "Enabled")
            .bucket("suspended")
            .bucket_versioning("suspended", "Suspended"),
    )
    .await;
    let get = |bucket: &'static str| OssSpec {
        query: &[("versioning", "")],
        ..OssSpec::new("GET", bucket, "")
    };
    let r = oss_send(&emu, &get("certs")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<VersioningConfiguration>") && !r.body.contains("<Status>"),
        "{}",
        r.body
    );
    let r = oss_send(&emu, &get("versioned")).await;
    assert!(r.body.contains("<Status>Enabled</Status>"), "{}", r.body);
    let r = oss_send(&emu, &get("suspended")).await;
    assert!(r.body.contains("<Status>Suspended</Status>"), "{}", r.body);
    // With versioning, x-oss-forbid-overwrite does not protect an existing object.
    let forbid = [("x-oss-forbid-overwrite", "true")];
    for body in ["one", "two"] {
        let r = oss(&emu, "PUT", "/versioned/k", body, &forbid, SECRET).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

#[test]
fn md5_matches_rfc_1321_vectors() {
    assert_eq!(
        hex::encode(emulator::md5(b"")),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(
        hex::encode(emulator::md5(b"abc")),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    assert_eq!(
        hex::encode(emulator::md5(
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
        )),
        "57edf4a22be3c955ac49da2e2107b67a"
    );
}

#[test]
fn seed_json_accepts_short_forms() {
    let s: Seed = serde_json::from_str(
        r#"{"access_keys":[{"id":"a","secret":"b"}],"zones":["example.com",{"name":"example.org","records":[{"rr":"www","type":"A","value":"1.2.3.4"}]}],"cdn_domains":["www.example.com"]}"#,
    )
    .unwrap();
    assert_eq!(s.zones[0].name, "example.com");
    assert_eq!(s.zones[1].records[0].value, "1.2.3.4");
    assert!(s.challtestsrv.is_none());
}

// ---------------------------------------------------------------------------------------------
// With a real Pebble + challtestsrv
// ---------------------------------------------------------------------------------------------

async fn wait_txt(p: &pebble::Pebble, name: &str, want: &[&str]) {
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    let mut got = Vec::new();
    for _ in 0..50 {
        got = p.txt(name).await;
        if got == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("TXT {name}: want {want:?}, got {got:?}");
}

#[tokio::test]
async fn txt_records_reach_challtestsrv_and_deletes_remove_only_their_value() {
    let p = pebble::start().await;
    let emu = emulator::start(seed().challtestsrv(&p.challtestsrv_url())).await;
    let rpc = Rpc::new(&emu);
    let name = "_acme-challenge.example.com";
    let add = add_challenge_txt;
    let apex = rpc.ok(add("apex-value")).await["RecordId"]
        .as_str()
        .unwrap()
        .to_string();
    let wild = rpc.ok(add("wildcard-value")).await["RecordId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_txt(&p, name, &["apex-value", "wildcard-value"]).await;

    rpc.ok(RpcReq::new(ALIDNS, "DeleteDomainRecord").q("RecordId", &apex))
        .await;
    wait_txt(&p, name, &["wildcard-value"]).await;
    rpc.ok(RpcReq::new(ALIDNS, "DeleteDomainRecord").q("RecordId", &wild))
        .await;
    wait_txt(&p, name, &[]).await;
    assert!(emu.state().dns_push_errors.is_empty());
}

#[tokio::test]
async fn pebble_directory_is_reachable_with_the_generated_ca() {
    let p = pebble::start().await;
    let pem = p.ca_pem();
    assert_eq!(
        pem.matches("BEGIN CERTIFICATE").count(),
        1,
        "CA file holds only the CA"
    );
    let dir: Value = p
        .https_client()
        .get(p.directory_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(dir["newNonce"].as_str().is_some(), "{dir}");
    assert!(dir["newOrder"].as_str().is_some(), "{dir}");

    // A client that does not trust the CA is refused.
    let untrusting = reqwest::Client::new().get(p.directory_url()).send().await;
    assert!(untrusting.is_err());

    // The way alicert connects: instant-acme with the CA file as its only root.
    let (account, _creds) = instant_acme::Account::builder_with_root(p.ca_bundle())
        .unwrap()
        .create(
            &instant_acme::NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            p.directory_url().to_string(),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("create account: {e}\n{}", p.logs()));
    assert!(account.id().starts_with("https://127.0.0.1:"));
}

/// The whole path alicert takes, driven by hand: DNS-01 through the emulator's Alidns (apex +
/// wildcard at one name), Pebble validates against challtestsrv, then CAS upload + CDN deploy.
#[tokio::test]
async fn dns01_order_through_emulator_and_pebble() {
    use instant_acme::{
        Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
        RetryPolicy,
    };

    let p = pebble::start().await;
    let emu = emulator::start(seed().challtestsrv(&p.challtestsrv_url())).await;
    let rpc = Rpc::new(&emu);

    let (account, _) = Account::builder_with_root(p.ca_bundle())
        .unwrap()
        .create(
            &NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            p.directory_url().to_string(),
            None,
        )
        .await
        .unwrap();
    let ids = [
        Identifier::Dns("www.example.com".into()),
        Identifier::Dns("*.www.example.com".into()),
    ];
    let mut order = account.new_order(&NewOrder::new(&ids)).await.unwrap();
    let mut record_ids = Vec::new();
    let mut authzs = order.authorizations();
    while let Some(a) = authzs.next().await {
        let mut authz = a.unwrap();
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let mut ch = authz
            .challenge(ChallengeType::Dns01)
            .expect("dns-01 offered");
        let Identifier::Dns(base) = ch.identifier().identifier.clone() else {
            panic!("dns identifier")
        };
        let rr = format!("_acme-challenge.{}", base.trim_end_matches(".example.com"));
        let value = ch.key_authorization().dns_value();
        let added = rpc
            .ok(RpcReq::new(ALIDNS, "AddDomainRecord")
                .q("DomainName", "example.com")
                .q("RR", rr)
                .q("Type", "TXT")
                .q("Value", value))
            .await;
        record_ids.push(added["RecordId"].as_str().unwrap().to_string());
        ch.set_ready().await.unwrap();
    }
    let status = order
        .poll_ready(&RetryPolicy::new().timeout(Duration::from_secs(30)))
        .await
        .unwrap_or_else(|e| panic!("poll_ready: {e}\n{}", p.logs()));
    assert_eq!(status, OrderStatus::Ready, "{}", p.logs());
    let key_pem = order.finalize().await.unwrap();
    let chain = order
        .poll_certificate(&RetryPolicy::new().timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    for id in &record_ids {
        rpc.ok(RpcReq::new(ALIDNS, "DeleteDomainRecord").q("RecordId", id))
            .await;
    }
    assert!(emu.state().txt_records().is_empty());
    wait_txt(&p, "_acme-challenge.www.example.com", &[]).await;

    let up = rpc
        .ok(RpcReq::new(CAS, "UploadUserCertificate")
            .q("Name", "www-pebble")
            .form("Cert", &chain)
            .form("Key", &key_pem))
        .await;
    rpc.ok(RpcReq::new(CDN, "SetCdnDomainSSLCertificate")
        .q("DomainName", "www.example.com")
        .q("SSLProtocol", "on")
        .q("CertType", "cas")
        .q("CertId", up["CertId"].to_string()))
        .await;
    let st = emu.state();
    let deployed = st.cdn_cert("www.example.com").unwrap();
    assert!(deployed
        .info
        .sans
        .contains(&"*.www.example.com".to_string()));
    assert!(deployed
        .info
        .issuer_common_name
        .to_lowercase()
        .contains("pebble"));
}

// ---------------------------------------------------------------------------------------------
// Regions
// ---------------------------------------------------------------------------------------------

/// alicert's own client with region-templated endpoints (as the rig sets them).
fn regional_client(emu: &Emulator) -> alicert::aliyun::AliyunClient {
    emu.client(AK, SECRET, None)
}

fn code_of(r: alicert::error::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(alicert::error::Error::Aliyun { code, .. }) => code,
        other => panic!("expected an Alibaba error, got {other:?}"),
    }
}

/// KMS secrets, FC custom domains and buckets are found only through their own region's
/// endpoint; the same request to the right region passes.
#[tokio::test]
async fn regional_resources_are_only_found_through_their_region() {
    use alicert::aliyun::Product;
    let emu = emulator::start(
        seed()
            .kms_secret_in("sh/secret", "v", "cn-shanghai")
            .fc_domain_in("sh.example.com", "cn-shanghai")
            .bucket_in("sh-bucket", "cn-shanghai"),
    )
    .await;
    let hz = regional_client(&emu);
    let sh = hz.for_region(&alicert::ident::RegionId::parse("cn-shanghai").unwrap());
    let get = |c: &alicert::aliyun::AliyunClient, name: &'static str| {
        let c = c.clone();
        async move {
            c.rpc(Product::Kms, "GetSecretValue", &[("SecretName", name)])
                .await
        }
    };
    assert!(get(&hz, "alicert/account").await.is_ok());
    assert_eq!(
        code_of(get(&sh, "alicert/account").await),
        "Forbidden.ResourceNotFound"
    );
    assert!(get(&sh, "sh/secret").await.is_ok());
    assert_eq!(
        code_of(get(&hz, "sh/secret").await),
        "Forbidden.ResourceNotFound"
    );

    let path = "/2023-03-30/custom-domains/sh.example.com";
    assert!(sh
        .roa(Product::Fc, "GetCustomDomain", "GET", path, None)
        .await
        .is_ok());
    assert_eq!(
        code_of(
            hz.roa(Product::Fc, "GetCustomDomain", "GET", path, None)
                .await
        ),
        "DomainNameNotFound"
    );

    let bucket = alicert::ident::BucketName::parse("sh-bucket").unwrap();
    let key = alicert::ident::ObjectKey::parse("k").unwrap();
    assert!(sh
        .oss_put(&bucket, &key, b"x".to_vec(), false)
        .await
        .is_ok());
    assert_eq!(code_of(hz.oss_get(&bucket, &key).await), "AccessDenied");
    assert_eq!(sh.oss_get(&bucket, &key).await.unwrap().unwrap(), b"x");
}

/// AddDomainRecord of the TXT record `_acme-challenge.example.com` = `value`.
fn add_challenge_txt(value: &'static str) -> RpcReq<'static> {
    RpcReq::new(ALIDNS, "AddDomainRecord")
        .q("DomainName", "example.com")
        .q("RR", "_acme-challenge")
        .q("Type", "TXT")
        .q("Value", value)
}
