//! Hostile input, generated (proptest): malformed JSON, wrong types, huge bodies, odd paths and
//! methods, bad tokens at the HTTP trigger router, at the event parser and at `alicert invoke`.
//! Never a panic; always a clear 4xx with a JSON error, or exit 2 with a message.
mod support;

use std::sync::Arc;

use alicert::config::Config;
use alicert::event::Event;
use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use serde_json::Value;
use sha2::Digest;
use tower::ServiceExt;

const TOKEN: &str = "fuzz-token";

/// A config with no certificate, no target set and `/issue` allowed for no domain, and a CA that
/// is not there: no generated request can cause a network call, whatever passes the checks.
fn router() -> axum::Router {
    let text = format!(
        r#"
[acme]
directory = "https://127.0.0.1:9/dir"
account_key = "file:/nonexistent/alicert-fuzz.pem"
[aliyun]
access_key_id = "LTAIfuzz"
access_key_secret = "fuzz-secret"
[http]
token_sha256 = "{}"
max_body_bytes = 4096
"#,
        hex::encode(sha2::Sha256::digest(TOKEN.as_bytes()))
    );
    let config = Config::parse(&text, "fuzz.toml").unwrap();
    config.validate().unwrap();
    alicert::runtime::router(Arc::new(Ok(config)))
}

/// JSON-ish text: valid events, their fragments, wrong types, deep nesting, junk.
fn jsonish() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("-1".to_string()),
        Just("1e999".to_string()),
        Just("\"\\u0000\"".to_string()),
        "\"[a-z*.:/\\-]{0,40}\"".prop_map(|s| s),
        Just("\"renew\"".to_string()),
        Just("\"issue\"".to_string()),
        Just("\"status\"".to_string()),
    ];
    let key = prop_oneof![
        Just("action"),
        Just("domains"),
        Just("targets"),
        Just("certificates"),
        Just("force"),
        Just("dry_run"),
        Just("payload"),
        Just("triggerName"),
        Just("kind"),
        Just("__proto__"),
    ];
    let value = scalar.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    });
    prop_oneof![
        4 => value,
        1 => ".{0,64}".prop_map(|s| s),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => (1usize..2000).prop_map(|n| "[".repeat(n)),
        1 => (1usize..200).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
    ]
}

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("DELETE"),
        Just("PATCH"),
        Just("HEAD"),
        Just("OPTIONS"),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/renew".to_string()),
        Just("/issue".to_string()),
        Just("/status".to_string()),
        Just("/healthz".to_string()),
        Just("/invoke".to_string()),
        Just("/renew/".to_string()),
        Just("//renew".to_string()),
        Just("/RENEW".to_string()),
        Just("/2016-08-15/proxy/s/f/issue".to_string()),
        Just("/renew?x=%00".to_string()),
        "/[a-zA-Z0-9._~-]{0,30}".prop_map(|s| s),
    ]
}

fn auth() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(format!("Bearer {TOKEN}"))),
        Just(Some(format!("bearer   {TOKEN}  "))),
        Just(Some("Bearer ".to_string())),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => jsonish().prop_map(String::into_bytes),
        1 => (4097usize..300_000).prop_map(|n| vec![b'{'; n]),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn event_parser_never_panics(text in jsonish()) {
        match Event::parse(text.as_bytes()) {
            Ok(_) => {}
            Err(e) => {
                prop_assert!(e.is_user_error(), "{e}");
                prop_assert!(!e.to_string().is_empty());
            }
        }
        // The same text as an FC timer payload.
        let wrapped = serde_json::json!({"triggerName": "t", "payload": text}).to_string();
        if let Err(e) = Event::parse(wrapped.as_bytes()) {
            prop_assert!(e.is_user_error(), "{e}");
        }
    }

    #[test]
    fn http_router_answers_every_request_with_a_clear_status(
        method in method(), path in path(), auth in auth(), body in body(),
        from_trigger in any::<bool>(), from_fc in any::<bool>()
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, fc_status, json) = rt.block_on(async {
            let mut req = Request::builder().method(method).uri(path.as_str());
            if from_trigger {
                req = req.header("x-fc-control-path", "/http-invoke");
            }
            if from_fc {
                req = req.header("x-fc-request-id", "fuzz-1");
            }
            if let Some(a) = &auth {
                req = req.header("authorization", a.as_str());
            }
            let rsp = router().oneshot(req.body(Body::from(body.clone())).unwrap()).await.unwrap();
            let status = rsp.status().as_u16();
            let fc_status = rsp.headers().get("x-fc-status").map(|v| v.to_str().unwrap().to_string());
            let bytes = axum::body::to_bytes(rsp.into_body(), 1 << 20).await.unwrap();
            (status, fc_status, serde_json::from_slice::<Value>(&bytes).ok())
        });
        if !from_fc && !from_trigger {
            // Without any of FC's headers nothing is served: no route, no hook, no event.
            prop_assert_eq!(status, 403, "{} {}", method, path);
            if method != "HEAD" {
                let json = json.expect("every answer is JSON");
                prop_assert_eq!(&json["error"]["code"], "Forbidden");
            }
            return Ok(());
        }
        let hook = !from_trigger && matches!(path.as_str(), "/initialize" | "/pre-stop" | "/pre-freeze");
        let invoke = !from_trigger && path == "/invoke";
        if hook {
            // POST /initialize, GET /pre-stop, GET /pre-freeze: 200; other methods 405.
            prop_assert!([200, 405].contains(&status), "{method} {path}: {status}");
        } else if invoke && method == "POST" {
            // An FC invocation: 200 with the result, or FC's function-error signal.
            prop_assert!(status == 200 || status == 413, "{method} {path}: {status}");
            if status == 200 {
                let json = json.expect("every answer is JSON");
                match fc_status.as_deref() {
                    None => prop_assert!(json["ok"].is_boolean(), "{json}"),
                    Some(s) => {
                        prop_assert_eq!(s, "404");
                        prop_assert!(json["error"]["code"].is_string(), "{json}");
                    }
                }
            }
        } else if invoke {
            prop_assert_eq!(status, 405, "{} {}", method, path);
        } else {
            prop_assert!(
                [200, 400, 401, 403, 404, 405, 413, 429].contains(&status),
                "{method} {path}: {status}"
            );
            if method == "HEAD" {
                // HTTP answers HEAD without a body (axum drops it).
                return Ok(());
            }
            let json = json.expect("every answer is JSON");
            if status == 200 {
                prop_assert!(json["ok"].is_boolean());
            } else {
                prop_assert!(json["error"]["code"].is_string(), "{json}");
                prop_assert!(!json["error"]["message"].as_str().unwrap_or("").is_empty());
                prop_assert!(!json.to_string().contains(TOKEN));
            }
        }
    }
}

proptest! {
    // Each case starts the binary: a few dozen are enough to show the contract.
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invoke_rejects_malformed_events_with_exit_2(text in jsonish()) {
        // Only inputs that are not a valid event (a valid `{}` would run, and exit 0 or 2 on
        // the missing credentials, which is checked elsewhere).
        prop_assume!(Event::parse(text.as_bytes()).is_err());
        // `-` / `@file` / `--flag` mean other things on a command line; NUL cannot be passed.
        prop_assume!(!text.starts_with(['-', '@']) && !text.contains('\0'));
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("alicert.toml");
        std::fs::write(&config, "[acme]\naccount_key = \"file:/nonexistent/k.pem\"\n").unwrap();
        let out = std::process::Command::new(support::rig::alicert_bin())
            .env_clear()
            .env("ALICERT_CONFIG", &config)
            .arg("invoke")
            .arg(&text)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        prop_assert_eq!(out.status.code(), Some(2), "{}", stderr);
        prop_assert!(stderr.contains("alicert: input:"), "{}", stderr);
        prop_assert!(!stderr.contains("panicked"));
        prop_assert!(out.stdout.is_empty());
    }
}

#[test]
fn invoke_command_line_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alicert.toml");
    std::fs::write(
        &config,
        "[acme]\naccount_key = \"file:/nonexistent/k.pem\"\n",
    )
    .unwrap();
    for args in [
        vec!["invoke", "--timeout", "0", "{}"],
        vec!["invoke", "--timeout", "soon", "{}"],
        vec!["invoke", "@/nonexistent/event.json"],
        vec!["invoke", "{}", "extra"],
        vec![
            "invoke",
            r#"{"action":"issue","domains":["10.0.0.1"],"targets":[]}"#,
        ],
        vec!["frobnicate"],
    ] {
        let out = std::process::Command::new(support::rig::alicert_bin())
            .env_clear()
            .env("ALICERT_CONFIG", &config)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            !stderr.trim().is_empty() && !stderr.contains("panicked"),
            "{args:?}"
        );
    }
}
