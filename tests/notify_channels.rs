//! Every notification channel against a local receiver that checks what the platform's docs
//! require (Lark/Feishu and DingTalk signatures and their one-hour clock window, WeCom's key
//! and 2048-byte limit, Slack's `{"text"}` and `ok` answer) and answers as the platform does;
//! e-mail through the emulated DirectMail. Through the real binary and the emulator.
mod support;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use support::rig::{Rig, BUCKET};
use support::scenario::{cdn, Scenario};

const LARK_SECRET: &str = "lark-Secret/0123+=";
const DING_SECRET: &str = "SECding0123456789+/=";
const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
const SENDER: &str = "alerts@mail.example.com";

use support::inbox::Inbox;

fn hmac_b64(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    B64.encode(mac.finalize().into_bytes())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn query_of(uri: &Uri, key: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Lark/Feishu custom bot with signature verification on: timestamp (seconds) within an hour,
/// sign = base64(HMAC-SHA256(key = "<timestamp>\n<secret>", message = "")); else 19021.
fn lark(body: &Value) -> Response {
    let ts = body["timestamp"]
        .as_str()
        .and_then(|t| t.parse::<i64>().ok());
    let signed = ts.is_some_and(|ts| {
        (now() - ts).abs() <= 3600
            && body["sign"].as_str()
                == Some(&hmac_b64(format!("{ts}\n{LARK_SECRET}").as_bytes(), b""))
    });
    if !signed {
        let msg = "sign match fail or timestamp is not within one hour from current time";
        return axum::Json(json!({"code": 19021, "msg": msg, "data": {}})).into_response();
    }
    if body["msg_type"] != "text" || body["content"]["text"].as_str().is_none_or(str::is_empty) {
        return axum::Json(json!({"code": 9499, "msg": "Bad Request", "data": {}})).into_response();
    }
    axum::Json(json!({"code": 0, "msg": "success", "data": {}})).into_response()
}

/// DingTalk robot, signed: timestamp (ms) within an hour, sign = base64(HMAC-SHA256(secret,
/// "<timestamp>\n<secret>")) URL-encoded in the query; else errcode 310000.
fn dingtalk(uri: &Uri, body: &Value) -> Response {
    let ts = query_of(uri, "timestamp").and_then(|t| t.parse::<i64>().ok());
    let signed = ts.is_some_and(|ts| {
        (now() * 1000 - ts).abs() <= 3_600_000
            && query_of(uri, "sign").as_deref()
                == Some(&hmac_b64(
                    DING_SECRET.as_bytes(),
                    format!("{ts}\n{DING_SECRET}").as_bytes(),
                ))
    });
    if !signed || body["msgtype"] != "text" {
        return axum::Json(json!({"errcode": 310000, "errmsg": "sign not match"})).into_response();
    }
    axum::Json(json!({"errcode": 0, "errmsg": "ok"})).into_response()
}

/// WeCom group robot: `?key=` must be the robot's; text content at most 2048 bytes.
fn wecom(uri: &Uri, body: &Value) -> Response {
    if query_of(uri, "key").as_deref() != Some(WECOM_KEY) {
        return axum::Json(json!({"errcode": 93000, "errmsg": "invalid webhook url"}))
            .into_response();
    }
    match body["text"]["content"].as_str() {
        Some(c) if body["msgtype"] == "text" && !c.is_empty() && c.len() <= 2048 => {
            axum::Json(json!({"errcode": 0, "errmsg": "ok"})).into_response()
        }
        _ => axum::Json(json!({"errcode": 40058, "errmsg": "invalid content"})).into_response(),
    }
}

/// Slack incoming webhook: `{"text": …}` → 200 `ok`, else 400 `no_text`.
fn slack(body: &Value) -> Response {
    match body["text"].as_str() {
        Some(t) if !t.is_empty() => (StatusCode::OK, "ok").into_response(),
        _ => (StatusCode::BAD_REQUEST, "no_text").into_response(),
    }
}

/// The channel of a request by its path, answered as that platform does.
fn route(uri: &Uri, json: &Value) -> Option<(&'static str, Response)> {
    let path = uri.path();
    Some(if path.starts_with("/open-apis/bot/v2/hook/") {
        ("lark", lark(json))
    } else if path == "/robot/send" {
        ("dingtalk", dingtalk(uri, json))
    } else if path == "/cgi-bin/webhook/send" {
        ("wecom", wecom(uri, json))
    } else if path.starts_with("/services/") {
        ("slack", slack(json))
    } else {
        return support::inbox::webhook_only(uri, json);
    })
}

async fn receivers() -> (String, Inbox) {
    support::inbox::start(route).await
}

/// `[notify]` with every channel, secrets as `env:` references, and `[report]`.
async fn rig(base: &str) -> Rig {
    let notify = format!(
        r#"[notify]
webhook = "{base}/hook"
dingtalk_webhook = "{base}/robot/send?access_token=ding-token"
dingtalk_secret = "env:TEST_DING_SECRET"
[notify.lark]
webhook = "{base}/open-apis/bot/v2/hook/0f1e2d"
secret = "env:TEST_LARK_SECRET"
[notify.wecom]
webhook = "env:TEST_WECOM_URL"
[notify.slack]
webhook = "{base}/services/T000/B000/XXXX"
[notify.mail]
account_name = "{SENDER}"
to = ["ops@example.com", "oncall@example.com"]
from_alias = "alicert"

[report]
bucket = "{BUCKET}"
"#
    );
    Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("www.example.com")
                .dm_sender(SENDER)
        })
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .config(&notify)
        .start()
        .await
}

fn env(base: &str, lark_secret: &str) -> Vec<(String, String)> {
    vec![
        ("TEST_DING_SECRET".into(), DING_SECRET.into()),
        ("TEST_LARK_SECRET".into(), lark_secret.into()),
        (
            "TEST_WECOM_URL".into(),
            format!("{base}/cgi-bin/webhook/send?key={WECOM_KEY}"),
        ),
    ]
}

/// The text a channel carried.
fn text_of(channel: &str, body: &Value) -> String {
    match channel {
        "lark" => body["content"]["text"].as_str(),
        "dingtalk" | "wecom" => body["text"]["content"].as_str(),
        "slack" => body["text"].as_str(),
        _ => body["summary"].as_str(),
    }
    .unwrap_or_default()
    .to_string()
}

#[tokio::test]
async fn test_notify_reaches_every_channel_with_a_report_link_and_no_secret() {
    let (base, inbox) = receivers().await;
    let rig = rig(&base).await;
    let env = env(&base, LARK_SECRET);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = rig
        .run_with_env(&env, &["invoke", r#"{"action":"test-notify"}"#])
        .await;
    out.expect_exit(0);
    let got = inbox.lock().unwrap().clone();
    let mut channels: Vec<&str> = got.iter().map(|(c, _, _)| c.as_str()).collect();
    channels.sort();
    assert_eq!(
        channels,
        ["dingtalk", "lark", "slack", "webhook", "wecom"],
        "{}",
        out.stderr
    );
    for (channel, body, _) in &got {
        let text = text_of(channel, body);
        assert!(text.contains("test-notify"), "{channel}: {text}");
        // The presigned link to report.html: V4, 7 days.
        let link = text
            .split("Report: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{channel}: no link in {text}"));
        assert!(
            link.contains(&format!("/{BUCKET}/alicert/report.html?")),
            "{link}"
        );
        for part in [
            "x-oss-signature-version=OSS4-HMAC-SHA256",
            "x-oss-expires=604800",
            "x-oss-signature=",
        ] {
            assert!(link.contains(part), "{part} in {link}");
        }
        let all = body.to_string();
        for secret in [
            LARK_SECRET,
            DING_SECRET,
            support::rig::AK_SECRET,
            "ding-token",
            WECOM_KEY,
        ] {
            assert!(!all.contains(secret), "{channel} carried a secret: {all}");
        }
    }
    // DirectMail: one mail to both recipients, from the configured sender.
    let mails = rig.emulator.state().mails;
    assert_eq!(mails.len(), 1, "{}", out.stderr);
    assert_eq!(mails[0].to, ["ops@example.com", "oncall@example.com"]);
    assert_eq!(mails[0].account_name, SENDER);
    assert!(mails[0].text_body.as_deref().unwrap().contains("Report: "));
    for secret in [LARK_SECRET, DING_SECRET, support::rig::AK_SECRET, WECOM_KEY] {
        assert!(
            !out.stderr.contains(secret) && !out.stdout.contains(secret),
            "secret in output"
        );
    }
}

#[tokio::test]
async fn a_wrong_signature_is_refused_and_reported() {
    let (base, inbox) = receivers().await;
    let rig = rig(&base).await;
    let env = env(&base, "not-the-bot-secret");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = rig
        .run_with_env(&env, &["invoke", r#"{"action":"test-notify"}"#])
        .await;
    assert_ne!(out.exit, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("lark") && out.stderr.contains("19021"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not-the-bot-secret"));
    // The other channels were still tried.
    assert_eq!(inbox.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn a_failed_run_notifies_with_the_error_and_the_report_link() {
    let (base, inbox) = receivers().await;
    let rig = rig(&base).await;
    rig.emulator
        .fail_next("SetCdnDomainSSLCertificate", "Forbidden.RAM", 403);
    let env = env(&base, LARK_SECRET);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = rig.run_with_env(&env, &["invoke", "{}"]).await;
    out.expect_exit(1);
    let got = inbox.lock().unwrap().clone();
    let slack = got
        .iter()
        .find(|(c, _, _)| c == "slack")
        .expect("slack message");
    let text = text_of("slack", &slack.1);
    assert!(
        text.contains("FAILED") && text.contains("Forbidden.RAM"),
        "{text}"
    );
    assert!(
        text.contains("Report: ") && text.contains("x-oss-signature="),
        "{text}"
    );
    let webhook = got
        .iter()
        .find(|(c, _, _)| c == "webhook")
        .expect("webhook");
    assert_eq!(webhook.1["event"], "failed");
    assert!(webhook.1["report_url"]
        .as_str()
        .unwrap()
        .contains("report.html"));
    assert_eq!(rig.emulator.state().mails.len(), 1);
}

/// The emulator's SingleSendMail refuses what the SDK model rules out.
#[tokio::test]
async fn emulated_single_send_mail_enforces_the_model() {
    use alicert::aliyun::Product;
    let emu = support::emulator::start(
        support::emulator::Seed::default()
            .access_key("AK1", "secret1")
            .dm_sender(SENDER),
    )
    .await;
    let client = emu.client("AK1", "secret1", None);
    let send = |account: &str, to: String, subject: String, alias: &str| {
        let client = client.clone();
        let account = account.to_string();
        let alias = alias.to_string();
        async move {
            let mut p = vec![
                ("AccountName", account.as_str()),
                ("AddressType", "1"),
                ("ReplyToAddress", "false"),
                ("ToAddress", to.as_str()),
                ("Subject", subject.as_str()),
                ("TextBody", "body"),
            ];
            if !alias.is_empty() {
                p.push(("FromAlias", alias.as_str()));
            }
            match client.rpc(Product::Dm, "SingleSendMail", &p).await {
                Ok(v) => Ok(v),
                Err(alicert::error::Error::Aliyun { code, .. }) => Err(code),
                Err(e) => panic!("{e}"),
            }
        }
    };
    let ok = send(SENDER, "a@example.com".into(), "s".into(), "alicert")
        .await
        .unwrap();
    assert!(ok["EnvId"].as_str().is_some());
    let many = (0..101)
        .map(|i| format!("u{i}@example.com"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        send(SENDER, many, "s".into(), "").await.unwrap_err(),
        "InvalidToAddress"
    );
    assert_eq!(
        send(SENDER, "a@example.com".into(), "s".repeat(257), "")
            .await
            .unwrap_err(),
        "InvalidSubject.Malformed"
    );
    assert_eq!(
        send(
            SENDER,
            "a@example.com".into(),
            "s".into(),
            "sixteen chars .."
        )
        .await
        .unwrap_err(),
        "InvalidFromAlias.Malformed"
    );
    assert_eq!(
        send(
            "other@mail.example.com",
            "a@example.com".into(),
            "s".into(),
            ""
        )
        .await
        .unwrap_err(),
        "InvalidMailAddress.NotFound"
    );
    assert_eq!(emu.state().mails.len(), 1);
    // No DirectMail outside its five regions.
    let shanghai = client.for_region(&alicert::ident::RegionId::parse("cn-shanghai").unwrap());
    let params = [
        ("AccountName", SENDER),
        ("AddressType", "1"),
        ("ReplyToAddress", "false"),
        ("ToAddress", "a@example.com"),
        ("Subject", "s"),
        ("TextBody", "b"),
    ];
    let refused = shanghai.rpc(Product::Dm, "SingleSendMail", &params).await;
    assert!(
        matches!(&refused, Err(alicert::error::Error::Aliyun { code, .. }) if code == "InvalidRegionId"),
        "{refused:?}"
    );
}
