//! `alicert serve`: the FC custom-runtime contract, over real HTTP, against Pebble + the emulator.
mod support;
use support::outcome::RunResultView;
use support::rig::free_port;
use support::scenario::{cdn, Scenario};

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::rig::Rig;

struct Server {
    child: Child,
    base: String,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(rig: &Rig, with_env_credentials: bool) -> Server {
    serve_with(rig, with_env_credentials, &[])
}

fn serve_with(rig: &Rig, with_env_credentials: bool, flags: &[&str]) -> Server {
    let port = free_port();
    let mut cmd = rig.command();
    if !with_env_credentials {
        cmd.env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID");
        cmd.env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    }
    cmd.arg("serve")
        .args(flags)
        .env("FC_SERVER_PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn alicert serve");
    let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let lines = stdout.clone();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            lines.lock().unwrap().push(line);
        }
    });
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "alicert serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        stdout,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_over_the_fc_contract_with_role_credentials_from_headers() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com").cdn_domain("www.example.com").sts_key(
                "STS.FcRoleKey",
                "fc-role-secret",
                "fc-role-token",
            )
        })
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .start()
        .await;
    let server = serve(&rig, false);
    let http = reqwest::Client::new();

    // FC's lifecycle hooks carry x-fc-request-id like every FC request; without it, refused.
    for (method, path) in [
        ("POST", "/initialize"),
        ("GET", "/pre-stop"),
        ("GET", "/pre-freeze"),
    ] {
        let url = format!("{}{path}", server.base);
        let rsp = http
            .request(method.parse().unwrap(), &url)
            .header("x-fc-request-id", "hook-1")
            .send()
            .await
            .unwrap();
        assert_eq!(rsp.status(), 200, "{method} {path}");
        let rsp = http
            .request(method.parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(rsp.status(), 403, "{method} {path}");
    }

    // A timer event, wrapped as FC sends it, with the function role's STS credentials.
    let timer = serde_json::json!({
        "triggerTime": "2026-11-26T03:00:00Z",
        "triggerName": "daily",
        "payload": "{\"action\":\"renew\"}"
    });
    let rsp = http
        .post(format!("{}/invoke", server.base))
        .header("x-fc-request-id", "req-123")
        .header("x-fc-access-key-id", "STS.FcRoleKey")
        .header("x-fc-access-key-secret", "fc-role-secret")
        .header("x-fc-security-token", "fc-role-token")
        .json(&timer)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
    assert!(rsp.headers().get("x-fc-status").is_none());
    let result: RunResultView = rsp.json().await.unwrap();
    assert!(result.ok, "{result:?}");
    assert_eq!(result.request_id, "req-123");
    assert_eq!(result.certificates[0].status, "issued");
    assert_eq!(result.certificates[0].target(0).status, "deployed");
    let state = rig.emulator.state();
    assert!(!state.calls.is_empty());
    assert!(state
        .calls
        .iter()
        .all(|c| c.access_key_id == "STS.FcRoleKey" && c.security_token));

    // A bad event is an invocation failure: x-fc-status 404 and a JSON error naming the field.
    let rsp = http
        .post(format!("{}/invoke", server.base))
        .header("x-fc-request-id", "req-bad")
        .header("x-fc-access-key-id", "")
        .header("x-fc-access-key-secret", "")
        .header("x-fc-security-token", "")
        .body(r#"{"action":"renew","force":"yes"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.headers().get("x-fc-status").unwrap(), "404");
    let body: serde_json::Value = rsp.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("force"),
        "{body}"
    );

    // Empty credential headers mean none, and the environment has none either: a clear error.
    let rsp = http
        .post(format!("{}/invoke", server.base))
        .header("x-fc-request-id", "req-nocreds")
        .header("x-fc-access-key-id", "")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.headers().get("x-fc-status").unwrap(), "404");
    let body: serde_json::Value = rsp.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ALIBABA_CLOUD_ACCESS_KEY_ID"));

    // An HTTP-trigger request to /invoke never runs the handler unauthenticated, and neither
    // does any request without FC's headers (a port exposed off FC): not even a status read.
    let calls_before = rig.emulator.state().calls.len();
    let rsp = http
        .post(format!("{}/invoke", server.base))
        .header("x-fc-request-id", "req-http")
        .header("x-fc-control-path", "/http-invoke")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 404);
    for body in [
        r#"{"action":"status"}"#,
        r#"{"action":"account","op":"deactivate","confirm":true}"#,
    ] {
        let rsp = http
            .post(format!("{}/invoke", server.base))
            // None of FC's request headers (what a caller of an exposed port would send).
            .header("authorization", "Bearer anything")
            .header("x-forwarded-for", "203.0.113.7")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(rsp.status(), 403, "{body}");
        let refusal: serde_json::Value = rsp.json().await.unwrap();
        assert_eq!(refusal["error"]["code"], "Forbidden", "{refusal}");
    }
    assert_eq!(rig.emulator.state().calls.len(), calls_before);

    let lines = server.stdout.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l == "FC Invoke Start RequestId: req-123"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "FC Invoke End RequestId: req-123"),
        "{lines:?}"
    );
}

/// `serve --insecure-local`: for running the runtime off FC. It answers without FC's headers,
/// and listens on the loopback address only (read back from the kernel's socket table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_local_serves_without_fc_headers_on_loopback_only() {
    let rig = Scenario::new()
        .seed(|s| s.cdn_domain("www.example.com"))
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .start()
        .await;
    let server = serve_with(&rig, true, &["--insecure-local"]);
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    let listening = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let ours: Vec<&str> = listening
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
            f.len() > 3 && f[3] == "0A" && f[1].ends_with(&format!(":{port:04X}"))
        })
        .collect();
    assert!(!ours.is_empty(), "not listening on {port}");
    assert!(
        ours.iter().all(|l| l
            .split_whitespace()
            .nth(1)
            .unwrap()
            .starts_with("0100007F:")),
        "{ours:?}"
    );
    let rsp = reqwest::Client::new()
        .post(format!("{}/invoke", server.base))
        .body(r#"{"action":"status"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
    let result: RunResultView = rsp.json().await.unwrap();
    assert_eq!(result.certificates[0].status, "would_renew", "{result:?}");
}
