//! Hostile input to the HTTP trigger, the runtime port, events and the configuration (issue 11,
//! parts 1, 4, 5, 6, 7, 9): a caller can choose no target of its own, a dry run changes nothing,
//! an ambiguous event is an error, a request not from FC is refused, a forced renew is rate
//! limited, and no number (CLI, header, event, config) makes alicert panic. In process against
//! the Alibaba Cloud emulator, or the binary; no Pebble (a CA that is not there proves that no
//! order starts).
mod support;

use std::sync::Arc;

use alicert::config::Config;
use alicert::event::Event;
use alicert::handler::{self, Invocation};
use axum::body::Body;
use axum::http::StatusCode;
use proptest::prelude::*;
use serde_json::Value;
use sha2::Digest;
use support::emulator::{self, Emulator};
use support::rig::{alicert_bin, AK_ID, AK_SECRET, BUCKET};

const TOKEN: &str = "hostile-bearer-token";

/// A config against the emulator whose CA is a closed port: any order would fail at once.
fn config_text(base: &str, extra_http: &str) -> String {
    support::rig::trigger_config(
        base,
        TOKEN,
        &format!("issue_burst = 1\nissue_per_hour = 1\n{extra_http}"),
        "web = [{ kind = \"cdn\", domain = \"www.example.com\" }]",
    )
}

fn load(text: &str) -> Config {
    let mut c = Config::parse(text, "hostile.toml").unwrap();
    c.normalize().unwrap();
    c.validate().unwrap();
    c
}

async fn emulator() -> Emulator {
    emulator::start(support::rig::www_seed()).await
}

/// The emulator's calls that change something (anything but a read).
fn writes(emu: &Emulator) -> Vec<String> {
    emu.state()
        .calls
        .iter()
        .filter(|c| {
            !(c.action.starts_with("Describe")
                || c.action.starts_with("List")
                || c.action.starts_with("Get")
                || c.action == "HeadObject")
        })
        .map(|c| c.action.clone())
        .collect()
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    support::router::call(router, method, path, headers, Body::from(body.to_string())).await
}

fn trigger_headers(auth: &str) -> [(&'static str, &str); 3] {
    [
        ("x-fc-control-path", "/http-invoke"),
        ("x-fc-request-id", "hostile-1"),
        ("authorization", auth),
    ]
}

// Part 1: target sets are checked at config load, naming the set, the target and the file.
#[test]
fn target_sets_are_validated_at_load() {
    for (sets, needle) in [
        (
            r#"web = [{ kind = "cdn" }]"#,
            r#"hostile.toml: [http.target_sets] web targets[0] (kind = "cdn")"#,
        ),
        (
            r#"web = [{ kind = "cdn", domain = "www.example.com" }, { kind = "nope" }]"#,
            "[http.target_sets] web targets[1]",
        ),
        (
            r#"web = []"#,
            "[http.target_sets] web: targets must not be empty",
        ),
        (
            r#""a b" = [{ kind = "cdn", domain = "www.example.com" }]"#,
            "a set name is 1 to 64",
        ),
        (
            r#"web = { targets = [{ kind = "cdn", domain = "www.example.com" }], allowed_domains = ["10.0.0.1"] }"#,
            "[http.target_sets] web allowed_domains",
        ),
        (
            r#"web = { targets = [{ kind = "cdn", domain = "www.example.com" }], allowed = ["x"] }"#,
            "allowed",
        ),
        (r#"web = "www.example.com""#, "a target set is a list"),
    ] {
        let text = format!("[acme]\naccount_key = \"file:/k.pem\"\n[http.target_sets]\n{sets}\n");
        let e = Config::parse(&text, "hostile.toml")
            .and_then(|c| c.validate().map(|_| c))
            .unwrap_err();
        assert!(e.is_user_error(), "{e}");
        assert!(e.to_string().contains(needle), "{e}\nlacks {needle}");
    }
    // Through the binary: exit 2, the message names the file and the set.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alicert.toml");
    std::fs::write(
        &path,
        "[acme]\naccount_key = \"file:/k.pem\"\n[http.target_sets]\nweb = [{ kind = \"cdn\", domain = \"www.example.com\", sni = 1 }]\n",
    )
    .unwrap();
    let out = std::process::Command::new(alicert_bin())
        .env_clear()
        .env("ALICERT_CONFIG", &path)
        .arg("status")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("alicert.toml: [http.target_sets] web targets[0]"),
        "{stderr}"
    );
}

// Part 1, over HTTP: a caller cannot name a target, only a configured set; nothing is read for
// a refused request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_cannot_choose_its_targets() {
    let emu = emulator().await;
    let config = load(&config_text(&emu.base_url(), ""));
    let r = alicert::runtime::router(Arc::new(Ok(config.clone())));
    let auth = format!("Bearer {TOKEN}");
    for body in [
        // Someone else's CDN domain, an SLB listener, an attacker's bucket, an internal probe.
        r#"{"domains":["www.example.com"],"targets":[{"kind":"cdn","domain":"cdn.other-team.example.com"}]}"#,
        r#"{"domains":["www.example.com"],"targets":[{"kind":"slb","listener_id":"lb-1:443"}]}"#,
        r#"{"domains":["www.example.com"],"targets":[{"kind":"oss-bundle","bucket":"attacker","prefix":"x/"}]}"#,
        r#"{"domains":["www.example.com"],"targets":[{"kind":"cdn","domain":"www.example.com","verify_tls":"169.254.100.200:80"}]}"#,
        r#"{"domains":["www.example.com"],"target_set":"../web"}"#,
        r#"{"domains":["www.example.com"],"target_set":"WEB"}"#,
        r#"{"domains":["evil.org"],"target_set":"web"}"#,
    ] {
        let (status, _, json) = call(&r, "POST", "/issue", &trigger_headers(&auth), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}: {json}");
        assert_eq!(json["error"]["code"], "Forbidden");
    }
    assert!(emu.state().calls.is_empty(), "{:?}", emu.state().calls);

    // The same through the event endpoint (an `issue` event): an input error, nothing read.
    for targets in [
        serde_json::json!([{"kind": "cdn", "domain": "cdn.other-team.example.com"}]),
        serde_json::json!("nope"),
    ] {
        let event = serde_json::json!({"action": "issue", "domains": ["www.example.com"], "targets": targets});
        let event = Event::parse(event.to_string().as_bytes()).unwrap();
        let e = handler::handle(&config, event, &Invocation::default())
            .await
            .unwrap_err();
        assert!(e.is_user_error(), "{e}");
        assert!(e.to_string().contains("[http.target_sets]"), "{e}");
    }
    assert!(emu.state().calls.is_empty());
}

// Part 4: a dry run changes nothing: issue (flag or field), renew, revoke, account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_are_dry_everywhere() {
    let emu = emulator().await;
    let config = load(&config_text(&emu.base_url(), ""));
    let issue =
        r#"{"action":"issue","domains":["www.example.com"],"target_set":"web","dry_run":true}"#;
    let result = handler::handle(
        &config,
        Event::parse(issue.as_bytes()).unwrap(),
        &Invocation::default(),
    )
    .await
    .unwrap();
    let c = &result.certificates[0];
    assert_eq!(
        serde_json::to_value(c).unwrap()["status"],
        "would_renew",
        "{c:?}"
    );
    assert_eq!(
        serde_json::to_value(&c.targets[0]).unwrap()["status"],
        "would_deploy"
    );
    assert!(c.error.is_none(), "{c:?}");
    assert_eq!(writes(&emu), Vec::<String>::new());

    // `alicert --dry-run invoke` on an issue event without the field, and on the others.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alicert.toml");
    std::fs::write(&path, config_text(&emu.base_url(), "")).unwrap();
    for (args, check) in [
        (
            vec![
                "--dry-run",
                "invoke",
                r#"{"action":"issue","domains":["www.example.com"],"target_set":"web"}"#,
            ],
            "/certificates/0/status=would_renew",
        ),
        (
            vec!["--dry-run", "invoke", r#"{"force":true}"#],
            "/certificates/0/status=would_renew",
        ),
        (
            vec!["--dry-run", "account", "deactivate", "--yes"],
            "/account/would=deactivate the account",
        ),
        (
            vec!["--dry-run", "account", "rollover"],
            "/account/op=rollover",
        ),
    ] {
        let out = std::process::Command::new(alicert_bin())
            .env_clear()
            .env("ALICERT_CONFIG", &path)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (pointer, want) = check.split_once('=').unwrap();
        assert_eq!(
            json.pointer(pointer).and_then(Value::as_str),
            Some(want),
            "{args:?}: {json}"
        );
    }
    assert_eq!(writes(&emu), Vec::<String>::new());

    // A revoke dry run lists what the targets serve and opens no account (the CA is a closed
    // port: any ACME request would fail the run).
    let key = rcgen::KeyPair::generate().unwrap();
    let served = rcgen::CertificateParams::new(vec!["www.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    emu.set_cdn_certificate("www.example.com", &served, &key.serialize_pem());
    let revoke = r#"{"action":"revoke","certificate":"www","reason":4,"dry_run":true}"#;
    let result = handler::handle(
        &config,
        Event::parse(revoke.as_bytes()).unwrap(),
        &Invocation::default(),
    )
    .await
    .unwrap();
    let report = serde_json::to_value(result.revocation.unwrap()).unwrap();
    assert_eq!(report["revoked"][0]["status"], "would_revoke", "{report}");

    let out = std::process::Command::new(alicert_bin())
        .env_clear()
        .env("ALICERT_CONFIG", &path)
        .args(["--dry-run", "revoke", "--certificate", "www"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["revocation"]["revoked"][0]["status"], "would_revoke",
        "{json}"
    );
    assert_eq!(writes(&emu), Vec::<String>::new());
}

// Part 5: only the real FC timer shape is unwrapped; anything else is an error naming the field
// (exit 2 from the binary, before the config is even read).
#[test]
fn ambiguous_events_are_errors() {
    for (event, needle) in [
        (
            r#"{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"daily","action":"status"}"#,
            "timer event field `action`",
        ),
        (
            r#"{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"daily"}"#,
            "`payload` is missing",
        ),
        (
            r#"{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"daily","payload":{"action":"status"}}"#,
            "`payload` must be a string",
        ),
        (
            r#"{"triggerName":"daily","payload":"{\"action\":\"account\",\"op\":\"deactivate\",\"confirm\":true}"}"#,
            "`triggerTime` is missing",
        ),
        (
            r#"{"action":"status","force":true}"#,
            "not a field of action `status`",
        ),
        (
            r#"{"action":"renew","reason":4}"#,
            "not a field of action `renew`",
        ),
        (
            r#"{"action":"revoke","certificate":"www","reason":7}"#,
            "reason 7",
        ),
    ] {
        let out = std::process::Command::new(alicert_bin())
            .env_clear()
            .env("ALICERT_CONFIG", "/nonexistent/alicert.toml")
            .args(["invoke", event])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{event}: {stderr}");
        assert!(stderr.contains(needle), "{event}: {stderr} lacks {needle}");
        assert!(out.stdout.is_empty());
    }
}

// Part 6: the runtime port refuses what FC did not send, whatever the request holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_port_fails_closed() {
    let emu = emulator().await;
    let config = load(&config_text(&emu.base_url(), "auth = \"function\""));
    let r = alicert::runtime::router(Arc::new(Ok(config.clone())));
    for (method, path, headers) in [
        ("POST", "/invoke", vec![]),
        ("POST", "/invoke", vec![("x-fc-request-id", " ")]),
        (
            "POST",
            "/invoke",
            vec![("x-forwarded-for", "10.0.0.1"), ("x-fc-status", "")],
        ),
        ("GET", "/status", vec![("x-fc-made-up", "1")]),
        ("POST", "/initialize", vec![]),
        ("GET", "/healthz", vec![]),
    ] {
        let (status, _, json) = call(
            &r,
            method,
            path,
            &headers,
            r#"{"action":"account","op":"deactivate","confirm":true}"#,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} {headers:?}");
        assert_eq!(json["error"]["code"], "Forbidden");
    }
    assert!(emu.state().calls.is_empty());
    // Any one of FC's request headers is FC's shape (a role's credentials alone, say).
    let (status, _, json) = call(
        &r,
        "POST",
        "/invoke",
        &[
            ("x-fc-access-key-id", AK_ID),
            ("x-fc-access-key-secret", AK_SECRET),
        ],
        r#"{"action":"status"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["certificates"][0]["status"], "would_renew", "{json}");
    // With --insecure-local (the router option), the same status read is served.
    let local = alicert::runtime::router_with(
        Arc::new(Ok(config)),
        alicert::runtime::ServeOptions {
            insecure_local: true,
        },
    );
    let (status, _, json) = call(&local, "POST", "/invoke", &[], r#"{"action":"status"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["certificates"][0]["status"], "would_renew", "{json}");
}

// Part 7: forced /renew takes from the same bucket as /issue (burst 1 here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_renew_loop_is_rate_limited() {
    let emu = emulator().await;
    let r = alicert::runtime::router(Arc::new(Ok(load(&config_text(&emu.base_url(), "")))));
    let auth = format!("Bearer {TOKEN}");
    let headers = trigger_headers(&auth);
    // The first forced renew runs (and fails: the CA is not there).
    let (status, _, json) = call(&r, "POST", "/renew", &headers, r#"{"force":true}"#).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["certificates"][0]["status"], "failed");
    let calls = emu.state().calls.len();
    for (route, body) in [
        ("/renew", r#"{"force":true}"#),
        (
            "/issue",
            r#"{"domains":["www.example.com"],"target_set":"web"}"#,
        ),
    ] {
        let (status, headers, json) = call(&r, "POST", route, &headers, body).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{route}: {json}");
        assert!(headers.contains_key("retry-after"));
        assert!(json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("per instance"));
    }
    assert_eq!(emu.state().calls.len(), calls);
}

// Part 9: a lock object with an expiry no clock can show is an error naming the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_lock_object_is_an_error_not_a_panic() {
    let emu = emulator().await;
    let config = load(&config_text(&emu.base_url(), ""));
    for expires in [i64::MAX, 253_402_300_800, 9_000_000_000_000] {
        let lock = serde_json::json!({"owner": "crafted", "certificate": "www", "acquired": 0, "expires": expires});
        emu.put_object(BUCKET, "acme/locks/www.lock", lock.to_string().as_bytes());
        let result = handler::handle(
            &config,
            Event::parse(b"{}").unwrap(),
            &Invocation::default(),
        )
        .await
        .unwrap();
        let c = serde_json::to_value(&result.certificates[0]).unwrap();
        assert_eq!(c["status"], "failed", "{c}");
        let m = c["error"]["message"].as_str().unwrap();
        assert!(
            m.contains("impossible expiry") && m.contains("crafted"),
            "{m}"
        );
    }
    assert_eq!(writes(&emu).iter().filter(|a| *a != "PutObject").count(), 0);
}

fn fc_router() -> axum::Router {
    let text = format!(
        "[acme]\ndirectory = \"https://127.0.0.1:9/dir\"\naccount_key = \"file:/nonexistent/k.pem\"\n[aliyun]\naccess_key_id = \"LTAIx\"\naccess_key_secret = \"s\"\n[http]\ntoken_sha256 = \"{}\"\n",
        hex::encode(sha2::Sha256::digest(TOKEN.as_bytes()))
    );
    alicert::runtime::router(Arc::new(Ok(load(&text))))
}

/// Numbers as text: every u64 edge, past u64, negative, fractions, exponents, junk.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..200_000).prop_map(|n| n.to_string()),
        Just(u64::MAX.to_string()),
        Just("18446744073709551616".to_string()),
        Just("86400".to_string()),
        Just("86401".to_string()),
        Just("0".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1e30".to_string()),
        Just("2.5".to_string()),
        Just("0x10".to_string()),
        Just("+5".to_string()),
        "[0-9]{20,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    // The header FC sends with each invocation: any value, on /invoke and on the HTTP trigger.
    #[test]
    fn any_function_timeout_header_is_served_or_refused_cleanly(value in number_text()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let valid = value.parse::<u64>().is_ok_and(|n| (1..=86_400).contains(&n));
        rt.block_on(async {
            let r = fc_router();
            // A cheap event that fails on input after the deadline is known.
            let (status, headers, json) = call(&r, "POST", "/invoke",
                &[("x-fc-request-id", "n-1"), ("x-fc-function-timeout", value.as_str())],
                r#"{"certificates":["nosuch"]}"#).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers.get("x-fc-status").unwrap(), "404");
            let m = json["error"]["message"].as_str().unwrap().to_string();
            assert_eq!(m.contains("x-fc-function-timeout"), !valid, "{value}: {m}");
            let (status, _, json) = call(&r, "GET", "/status",
                &[("x-fc-request-id", "n-2"), ("x-fc-control-path", "/http-invoke"),
                  ("x-fc-function-timeout", value.as_str())], "").await;
            if valid {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}: {json}");
            } else {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{value}: {json}");
                assert!(json["error"]["message"].as_str().unwrap().contains("x-fc-function-timeout"));
            }
        });
    }

    // Event numbers: `reason` (and numbers where a bool or list belongs) are checked.
    #[test]
    fn any_event_number_is_parsed_or_refused_cleanly(value in number_text(), key in prop_oneof![
        Just("reason"), Just("force"), Just("certificates"), Just("confirm"), Just("dry_run")
    ]) {
        let action = if key == "confirm" { "account" } else if key == "reason" { "revoke" } else { "renew" };
        let body = format!(r#"{{"action":"{action}","certificate":"www","{key}":{value}}}"#);
        let body = if action == "renew" { body.replace(r#""certificate":"www","#, "") } else { body };
        let body = if action == "account" { body.replace(r#""certificate":"www","#, "") } else { body };
        match Event::parse(body.as_bytes()) {
            Ok(Event::Revoke { reason: Some(r), .. }) => {
                prop_assert!(matches!(r.code(), 0..=6 | 8..=10), "{body}");
            }
            Ok(e) => prop_assert!(false, "{body} parsed as {e:?}"),
            Err(e) => {
                prop_assert!(e.is_user_error(), "{e}");
                let needle = if serde_json::from_str::<Value>(&body).is_ok() { key } else { "not valid JSON" };
                prop_assert!(e.to_string().contains(needle), "{body}: {e}");
            }
        }
    }

    // Config numbers: any value of any numeric key loads or is a config error, and a config
    // that loads builds the runtime (rate limiter included) and answers.
    #[test]
    fn any_config_number_loads_or_is_a_config_error(
        key in prop_oneof![
            Just(("acme", "renew_before_days")), Just(("acme", "max_concurrent_orders")),
            Just(("dns", "propagation_timeout_secs")), Just(("dns", "sweep_grace_secs")),
            Just(("dns", "ttl")), Just(("dns", "max_concurrent_calls")),
            Just(("aliyun.retry", "max_attempts")), Just(("aliyun.retry", "base_delay_ms")),
            Just(("aliyun.retry", "max_delay_ms")), Just(("aliyun.retry", "max_elapsed_secs")),
            Just(("aliyun.retry", "request_timeout_secs")), Just(("http", "max_body_bytes")),
            Just(("http", "issue_burst")), Just(("http", "issue_per_hour")),
            Just(("lock", "ttl_secs")), Just(("fanout", "group_size")),
            Just(("fanout", "max_concurrent_calls")),
        ],
        value in number_text(),
    ) {
        let (table, name) = key;
        let text = if table == "acme" {
            format!("[acme]\naccount_key = \"file:/k.pem\"\n{name} = {value}\n")
        } else {
            format!("[acme]\naccount_key = \"file:/k.pem\"\n[{table}]\n{name} = {value}\n")
        };
        let loaded = Config::parse(&text, "n.toml").and_then(|mut c| {
            c.normalize()?;
            c.validate()?;
            Ok(c)
        });
        match loaded {
            Err(e) => {
                prop_assert!(matches!(e, alicert::error::Error::Config(_)), "{e}");
                prop_assert!(e.to_string().starts_with("config: n.toml"), "{e}");
            }
            Ok(c) => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let status = rt.block_on(async {
                    let r = alicert::runtime::router(Arc::new(Ok(c)));
                    call(&r, "GET", "/healthz", &[("x-fc-request-id", "c"), ("x-fc-control-path", "/http-invoke")], "").await.0
                });
                prop_assert_eq!(status, StatusCode::OK);
            }
        }
    }
}

proptest! {
    // Each case starts the binary.
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_cli_timeout_exits_cleanly(value in number_text()) {
        prop_assume!(!value.starts_with('-'));
        let valid = value.parse::<u64>().is_ok_and(|n| (1..=86_400).contains(&n));
        // A malformed event: with a valid timeout the run stops at the event (exit 2 too).
        let out = std::process::Command::new(alicert_bin())
            .env_clear()
            .env("ALICERT_CONFIG", "/nonexistent/alicert.toml")
            .args(["invoke", "--timeout", value.as_str(), r#"{"forse":true}"#])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        prop_assert_eq!(out.status.code(), Some(2), "{}: {}", value, stderr);
        prop_assert!(!stderr.contains("panicked"), "{}", stderr);
        if valid {
            prop_assert!(stderr.contains("forse"), "{}: {}", value, stderr);
        } else {
            prop_assert!(stderr.contains("--timeout") || stderr.contains("invalid value"), "{}: {}", value, stderr);
        }
    }
}
