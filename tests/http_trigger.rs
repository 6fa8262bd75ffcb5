//! The HTTP trigger routes of the FC runtime, in process (the same `axum` router `alicert serve`
//! runs) against the Alibaba Cloud emulator: every status code, auth, the domain allowlist, the
//! target sets, the body limit (and its Content-Length pre-check), the `/issue` rate limit
//! shared with forced `/renew`, dry-run issue, and `x-fc-function-timeout`.
mod support;

use std::sync::Arc;

use alicert::config::Config;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt;
use serde_json::Value;
use support::emulator::{self, Seed};
use support::rig::{AK_ID, AK_SECRET};
use tower::ServiceExt;

pub const TOKEN: &str = "s3cret-bearer-token-for-tests";

pub fn config_text(base: &str, http_extra: &str) -> String {
    support::rig::trigger_config(
        base,
        TOKEN,
        &format!("max_body_bytes = 2048\nissue_burst = 2\nissue_per_hour = 1\n{http_extra}"),
        "shop = [{ kind = \"cdn\", domain = \"shop.example.com\" }]\nweb = [{ kind = \"cdn\", domain = \"www.example.com\" }]",
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
    let headers = [
        ("x-fc-control-path", "/http-invoke"),
        ("x-fc-request-id", "http-req-1"),
    ];
    send_with(
        router,
        method,
        path,
        &headers,
        auth,
        Body::from(body.to_string()),
    )
    .await
}

async fn send_with(
    router: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    auth: Option<&str>,
    body: Body,
) -> Reply {
    let mut all = headers.to_vec();
    if let Some(a) = auth {
        all.push(("authorization", a));
    }
    let (status, headers, body) = support::router::call(router, method, path, &all, body).await;
    Reply {
        status,
        headers,
        body,
    }
}

/// How many Alibaba Cloud calls the emulator has seen.
fn calls(emu: &emulator::Emulator) -> usize {
    emu.state().calls.len()
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// The CDN read of one target: the only call a status read or a (failing) issue makes here.
const CDN_READ: &str = "DescribeDomainCertificateInfo";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_code_of_the_http_trigger() {
    let emu = emulator::start(support::rig::www_seed()).await;
    let r = router(&config_text(&emu.base_url(), ""));
    let auth = bearer();
    let auth = Some(auth.as_str());

    // 200: health needs no token; status reads the targets and, the certificate being due, its
    // failure state beside the locks (to report `backing_off`) — reads only.
    let h = send(&r, "GET", "/healthz", None, "").await;
    assert_eq!(
        (h.status, h.body["ok"].clone()),
        (StatusCode::OK, Value::Bool(true))
    );
    let s = send(&r, "GET", "/status", auth, "").await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(s.body["certificates"][0]["status"], "would_renew");
    assert_eq!(s.body["request_id"], "http-req-1");
    let after_status = emu.state().calls;
    assert_eq!(
        after_status
            .iter()
            .map(|c| c.action.as_str())
            .collect::<Vec<_>>(),
        [CDN_READ, "GetObject"]
    );

    // Every rejected request below: exactly no call, reads included.
    let mut rejected = 0;
    let mut expect_no_call = |what: &str, before: usize| {
        assert_eq!(calls(&emu), before, "{what} made a call");
        rejected += 1;
    };

    // 401: no token, a wrong one, another scheme; never a hint of the right one.
    for bad in [
        None,
        Some("Bearer nope"),
        Some("Basic czNjcmV0"),
        Some("Bearer"),
        Some(""),
    ] {
        let before = calls(&emu);
        let x = send(&r, "POST", "/renew", bad, "{}").await;
        assert_eq!(x.status, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert_eq!(x.body["error"]["code"], "Unauthorized");
        assert_eq!(x.headers["www-authenticate"], "Bearer");
        assert!(!x.body.to_string().contains(TOKEN));
        expect_no_call("401", before);
    }
    // 404 and 405 (with Allow).
    let before = calls(&emu);
    let x = send(&r, "GET", "/nope", auth, "").await;
    assert_eq!(x.status, StatusCode::NOT_FOUND);
    assert_eq!(x.body["error"]["code"], "NotFound");
    let x = send(&r, "GET", "/renew", auth, "").await;
    assert_eq!(x.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(x.headers["allow"], "POST");
    let x = send(&r, "DELETE", "/healthz", None, "").await;
    assert_eq!(x.status, StatusCode::METHOD_NOT_ALLOWED);
    expect_no_call("404/405", before);
    // An HTTP caller can never reach the event endpoint or the lifecycle hooks: not as an
    // HTTP-trigger request (404), and not without FC's headers at all (403), token or not.
    for (m, p) in [
        ("POST", "/invoke"),
        ("POST", "/initialize"),
        ("GET", "/pre-stop"),
        ("GET", "/pre-freeze"),
    ] {
        let before = calls(&emu);
        assert_eq!(
            send(&r, m, p, auth, "{}").await.status,
            StatusCode::NOT_FOUND,
            "{p}"
        );
        for headers in [&[][..], &[("x-fc-request-id", "")][..]] {
            let x = send_with(&r, m, p, headers, auth, Body::from("{}")).await;
            assert_eq!(x.status, StatusCode::FORBIDDEN, "{p} {headers:?}");
            assert_eq!(x.body["error"]["code"], "Forbidden");
            assert!(x.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--insecure-local"));
        }
        expect_no_call(p, before);
    }
    // 400: malformed bodies, wrong types, the wrong action for the route.
    for body in [
        "{",
        "[]",
        r#"{"force":"yes"}"#,
        r#"{"action":"issue","domains":["www.example.com"]}"#,
        r#"{"certificates":["nosuch"]}"#,
        r#"{"certificates":["nosuch"],"force":true}"#,
        r#"{"action":"status","force":true}"#,
        r#"{"triggerTime":"t","triggerName":"n","action":"status"}"#,
    ] {
        let before = calls(&emu);
        let x = send(&r, "POST", "/renew", auth, body).await;
        assert_eq!(x.status, StatusCode::BAD_REQUEST, "{body}: {}", x.body);
        assert!(!x.body["error"]["message"].as_str().unwrap().is_empty());
        expect_no_call(body, before);
    }
    for body in [
        "not json",
        r#"{"domains":"www.example.com","target_set":"web"}"#,
        r#"{"domains":["10.0.0.1"],"target_set":"web"}"#,
        r#"{"domains":["www.example.com"]}"#,
        r#"{"domains":["www.example.com"],"targets":[]}"#,
        r#"{"action":"renew"}"#,
        r#"{"domains":["www.example.com"],"target_set":"web","force":true}"#,
        r#"{"domains":["www.example.com"],"target_set":"web","targets":"web"}"#,
    ] {
        let before = calls(&emu);
        let x = send(&r, "POST", "/issue", auth, body).await;
        assert_eq!(x.status, StatusCode::BAD_REQUEST, "{body}: {}", x.body);
        expect_no_call(body, before);
    }
    // 403: a domain outside [http] allowed_domains, a set the config does not name, a target
    // list that is not a configured set (another CDN domain, someone's bucket, a verify_tls
    // probe): all checked before anything runs.
    for (body, needle) in [
        (
            r#"{"domains":["www.example.com","evil.org"],"target_set":"web"}"#,
            "evil.org",
        ),
        (
            r#"{"domains":["www.example.com"],"target_set":"other-team"}"#,
            "known: shop, web",
        ),
        (
            r#"{"domains":["www.example.com"],"targets":"other-team"}"#,
            "known: shop, web",
        ),
        (
            r#"{"domains":["www.example.com"],"targets":[{"kind":"cdn","domain":"other-team.example.com"}]}"#,
            "known: shop, web",
        ),
        (
            r#"{"domains":["www.example.com"],"targets":[{"kind":"oss-bundle","bucket":"attacker","prefix":"k/"}]}"#,
            "not one of [http.target_sets]",
        ),
        (
            r#"{"domains":["www.example.com"],"targets":[{"kind":"cdn","domain":"www.example.com","verify_tls":"10.0.0.1:22"}]}"#,
            "not one of [http.target_sets]",
        ),
        (
            r#"{"domains":["www.example.com"],"targets":[{"kind":"cdn","domain":"www.example.com"},{"kind":"cdn","domain":"shop.example.com"}]}"#,
            "not one of [http.target_sets]",
        ),
    ] {
        let before = calls(&emu);
        let x = send(&r, "POST", "/issue", auth, body).await;
        assert_eq!(x.status, StatusCode::FORBIDDEN, "{body}: {}", x.body);
        assert_eq!(x.body["error"]["code"], "Forbidden");
        let m = x.body["error"]["message"].as_str().unwrap();
        assert!(m.contains(needle), "{m} lacks {needle}");
        expect_no_call(body, before);
    }
    // 413: over max_body_bytes, read to the limit (no Content-Length) ...
    let before = calls(&emu);
    let huge = format!(r#"{{"domains":["{}"]}}"#, "a".repeat(5000));
    let x = send(&r, "POST", "/issue", auth, &huge).await;
    assert_eq!(x.status, StatusCode::PAYLOAD_TOO_LARGE);
    // ... and refused on a declared Content-Length alone: the body here is a stream that sends
    // a few bytes and then never ends, so only the pre-check can answer at all.
    let stalled = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"domains\":"))
    })
    .chain(futures_util::stream::pending());
    let headers = [
        ("x-fc-control-path", "/http-invoke"),
        ("x-fc-request-id", "http-req-413"),
        ("content-length", "1000000"),
    ];
    let x = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        send_with(
            &r,
            "POST",
            "/issue",
            &headers,
            auth,
            Body::from_stream(stalled),
        ),
    )
    .await
    .expect("413 without reading the body");
    assert_eq!(x.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", x.body);
    assert!(x.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_body_bytes"));
    expect_no_call("413", before);

    // A dry-run issue reads the set's targets and changes nothing, without taking a token.
    let before = calls(&emu);
    let x = send(
        &r,
        "POST",
        "/issue",
        auth,
        r#"{"domains":["www.example.com"],"target_set":"web","dry_run":true}"#,
    )
    .await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    assert_eq!(x.body["certificates"][0]["status"], "would_renew");
    assert_eq!(
        x.body["certificates"][0]["targets"][0]["status"],
        "would_deploy"
    );
    let state = emu.state();
    assert_eq!(
        state.calls[before..]
            .iter()
            .map(|c| c.action.as_str())
            .collect::<Vec<_>>(),
        [CDN_READ]
    );

    // 429: the /issue token bucket (burst 2), shared with forced /renew. These two run, and
    // fail on the target (the CDN domain does not exist), without any ACME traffic; SPEC's
    // target list form is accepted because it equals the `shop` set.
    let issues = [
        r#"{"domains":["shop.example.com"],"target_set":"shop"}"#,
        r#"{"domains":["shop.example.com"],"targets":[{"domain":"shop.example.com","kind":"cdn"}]}"#,
    ];
    for issue in issues {
        let before = calls(&emu);
        let x = send(&r, "POST", "/issue", auth, issue).await;
        assert_eq!(x.status, StatusCode::OK, "{}", x.body);
        assert_eq!(x.body["ok"], false);
        assert_eq!(x.body["certificates"][0]["status"], "failed");
        let state = emu.state();
        let mut made: Vec<_> = state.calls[before..]
            .iter()
            .map(|c| {
                (
                    c.action.as_str(),
                    c.params.get("DomainName").map(String::as_str),
                )
            })
            .collect();
        // The target's read, and the lock bucket's versioning check that each run makes
        // beside its first reads, in either order (tests/calls.rs): no write, no ACME traffic.
        made.sort();
        assert_eq!(
            made,
            [
                (CDN_READ, Some("shop.example.com")),
                ("GetBucketVersioning", None)
            ]
        );
    }
    for (route, body) in [
        ("/issue", issues[0]),
        ("/renew", r#"{"force":true}"#),
        ("/renew", r#"{"certificates":["www"],"force":true}"#),
    ] {
        let before = calls(&emu);
        let x = send(&r, "POST", route, auth, body).await;
        assert_eq!(
            x.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{route} {body}: {}",
            x.body
        );
        let wait: u64 = x.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3601).contains(&wait), "{wait}");
        expect_no_call("429", before);
    }
    // A forced dry run never reaches the CA: not limited.
    let x = send(
        &r,
        "POST",
        "/renew",
        auth,
        r#"{"force":true,"dry_run":true}"#,
    )
    .await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    assert_eq!(x.body["certificates"][0]["status"], "would_renew");
    assert!(rejected > 30, "{rejected}");
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
