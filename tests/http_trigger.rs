//! The HTTP trigger routes of the FC runtime, in process (the same `axum` router `alicert serve`
//! runs) against the Alibaba Cloud emulator: every status code, auth, the domain allowlist, the
//! body limit, the `/issue` rate limit, and `x-fc-function-timeout`.
mod support;

use std::sync::Arc;

use alicert::config::Config;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use sha2::Digest;
use support::emulator::{self, Seed};
use support::rig::{AK_ID, AK_SECRET, BUCKET};
use tower::ServiceExt;

pub const TOKEN: &str = "s3cret-bearer-token-for-tests";

pub fn config_text(base: &str, http_extra: &str) -> String {
    let sha = hex::encode(sha2::Sha256::digest(TOKEN.as_bytes()));
    let endpoints: String = ["alidns", "cas", "cdn", "apigateway", "kms", "oss"]
        .iter()
        .map(|p| format!("{p} = \"{base}\"\n"))
        .collect();
    format!(
        r#"
[acme]
directory = "https://127.0.0.1:9/dir"
account_key = "oss://{BUCKET}/acme/account.pem"

[aliyun]
access_key_id = "{AK_ID}"
access_key_secret = "{AK_SECRET}"
[aliyun.endpoints]
{endpoints}
[aliyun.retry]
max_attempts = 1

[http]
token_sha256 = "{sha}"
allowed_domains = ["example.com"]
max_body_bytes = 2048
issue_burst = 2
issue_per_hour = 1
{http_extra}

[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{{ kind = "cdn", domain = "www.example.com" }}]
"#
    )
}

fn router(text: &str) -> axum::Router {
    let mut config = Config::parse(text, "http-test.toml").unwrap();
    config.normalize().unwrap();
    config.validate().unwrap();
    alicert::runtime::router(Arc::new(Ok(config)))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(
    router: &axum::Router,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("x-fc-control-path", "/http-invoke")
        .header("x-fc-request-id", "http-req-1");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let rsp = router
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = rsp.status();
    let headers = rsp.headers().clone();
    let bytes = axum::body::to_bytes(rsp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_code_of_the_http_trigger() {
    let emu = emulator::start(
        Seed::default()
            .access_key(AK_ID, AK_SECRET)
            .bucket(BUCKET)
            .zone("example.com")
            .cdn_domain("www.example.com"),
    )
    .await;
    let r = router(&config_text(&emu.base_url(), ""));
    let auth = bearer();
    let auth = Some(auth.as_str());

    // 200: health needs no token; status reads the targets.
    let h = send(&r, "GET", "/healthz", None, "").await;
    assert_eq!(
        (h.status, h.body["ok"].clone()),
        (StatusCode::OK, Value::Bool(true))
    );
    let s = send(&r, "GET", "/status", auth, "").await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(s.body["certificates"][0]["status"], "would_renew");
    assert_eq!(s.body["request_id"], "http-req-1");

    // 401: no token, a wrong one, another scheme; never a hint of the right one.
    for bad in [
        None,
        Some("Bearer nope"),
        Some("Basic czNjcmV0"),
        Some("Bearer"),
        Some(""),
    ] {
        let x = send(&r, "POST", "/renew", bad, "{}").await;
        assert_eq!(x.status, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert_eq!(x.body["error"]["code"], "Unauthorized");
        assert_eq!(x.headers["www-authenticate"], "Bearer");
        assert!(!x.body.to_string().contains(TOKEN));
    }
    // 404 and 405 (with Allow).
    let x = send(&r, "GET", "/nope", auth, "").await;
    assert_eq!(x.status, StatusCode::NOT_FOUND);
    assert_eq!(x.body["error"]["code"], "NotFound");
    let x = send(&r, "GET", "/renew", auth, "").await;
    assert_eq!(x.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(x.headers["allow"], "POST");
    let x = send(&r, "DELETE", "/healthz", None, "").await;
    assert_eq!(x.status, StatusCode::METHOD_NOT_ALLOWED);
    // An HTTP caller can never reach the event endpoint or the lifecycle hooks.
    for (m, p) in [
        ("POST", "/invoke"),
        ("POST", "/initialize"),
        ("GET", "/pre-stop"),
    ] {
        assert_eq!(
            send(&r, m, p, auth, "{}").await.status,
            StatusCode::NOT_FOUND,
            "{p}"
        );
    }
    // 400: malformed bodies, wrong types, the wrong action for the route.
    for body in [
        "{",
        "[]",
        r#"{"force":"yes"}"#,
        r#"{"action":"issue","domains":["www.example.com"]}"#,
        r#"{"certificates":["nosuch"]}"#,
    ] {
        let x = send(&r, "POST", "/renew", auth, body).await;
        assert_eq!(x.status, StatusCode::BAD_REQUEST, "{body}: {}", x.body);
        assert!(!x.body["error"]["message"].as_str().unwrap().is_empty());
    }
    for body in [
        "not json",
        r#"{"domains":"www.example.com"}"#,
        r#"{"domains":["10.0.0.1"],"targets":[]}"#,
        r#"{"action":"renew"}"#,
        r#"{"domains":["www.example.com"],"targets":[{"kind":"cnd"}]}"#,
    ] {
        let x = send(&r, "POST", "/issue", auth, body).await;
        assert_eq!(x.status, StatusCode::BAD_REQUEST, "{body}: {}", x.body);
    }
    // 403: a domain outside [http] allowed_domains (checked before anything runs).
    let x = send(
        &r,
        "POST",
        "/issue",
        auth,
        r#"{"domains":["www.example.com","evil.org"],"targets":[{"kind":"cdn","domain":"www.example.com"}]}"#,
    )
    .await;
    assert_eq!(x.status, StatusCode::FORBIDDEN);
    assert!(x.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("evil.org"));
    // 413: over max_body_bytes.
    let huge = format!(r#"{{"domains":["{}"]}}"#, "a".repeat(5000));
    let x = send(&r, "POST", "/issue", auth, &huge).await;
    assert_eq!(x.status, StatusCode::PAYLOAD_TOO_LARGE);
    // 429: the /issue token bucket (burst 2). These two run, and fail on the target (the CDN
    // domain does not exist), without any ACME traffic.
    let issue = r#"{"domains":["shop.example.com"],"targets":[{"kind":"cdn","domain":"shop.example.com"}]}"#;
    for _ in 0..2 {
        let x = send(&r, "POST", "/issue", auth, issue).await;
        assert_eq!(x.status, StatusCode::OK, "{}", x.body);
        assert_eq!(x.body["ok"], false);
        assert_eq!(x.body["certificates"][0]["status"], "failed");
    }
    let x = send(&r, "POST", "/issue", auth, issue).await;
    assert_eq!(x.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        x.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // No call was made for any rejected request: only the status read and the two issues.
    let state = emu.state();
    assert!(
        state
            .calls
            .iter()
            .all(|c| c.action == "DescribeDomainCertificateInfo"),
        "{:?}",
        state.calls
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_auth_and_missing_token() {
    let emu = emulator::start(
        Seed::default()
            .access_key(AK_ID, AK_SECRET)
            .cdn_domain("www.example.com"),
    )
    .await;
    // authType function: FC authenticates, alicert checks no token.
    let r = router(&config_text(&emu.base_url(), "auth = \"function\""));
    let x = send(&r, "GET", "/status", None, "").await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    // No token configured: everything but /healthz is refused, saying how to set it up.
    let text = config_text(&emu.base_url(), "").replace("token_sha256", "# token_sha256");
    let r = router(&text);
    let x = send(&r, "GET", "/status", Some("Bearer anything"), "").await;
    assert_eq!(x.status, StatusCode::UNAUTHORIZED);
    assert!(x.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("token_sha256"));
    assert_eq!(
        send(&r, "GET", "/healthz", None, "").await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fc_function_timeout_header_bounds_the_invocation() {
    let emu = emulator::start(
        Seed::default()
            .access_key(AK_ID, AK_SECRET)
            .cdn_domain("www.example.com"),
    )
    .await;
    let r = router(&config_text(&emu.base_url(), ""));
    let req = Request::builder()
        .method("POST")
        .uri("/invoke")
        .header("x-fc-request-id", "timer-1")
        .header("x-fc-function-timeout", "3")
        .body(Body::from("{}"))
        .unwrap();
    let started = std::time::Instant::now();
    let rsp = r.oneshot(req).await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(rsp.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    let c = &body["certificates"][0];
    assert_eq!(c["status"], "failed");
    assert_eq!(c["error"]["code"], "NotAttempted", "{body}");
    assert!(emu.state().calls.is_empty());
}
