//! No secret in any output: a full issuance through `alicert invoke` and another through the
//! HTTP trigger of `alicert serve`, both with `RUST_LOG=trace` and STS credentials, and none of
//! the access key secret, the STS token, the ACME account key, the certificate private keys or
//! the bearer token appears in stdout, stderr or the result.
mod support;
use support::outcome::RunResultView;
use support::scenario::Scenario;

use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::Digest;
use support::emulator::Seed;
use support::rig::BUCKET;

const STS_ID: &str = "STS.NSecretsTestKey";
const STS_SECRET: &str = "sts-secret-Zq8v2LmN4pR7tW1x";
const STS_TOKEN: &str = "CAIS+sts/token==Vh3kP9sQ2wE5rT8yU1iO4pA7sD0fG3hJ6kL9zX2cV5bN8m";
const BEARER: &str = "bearer-TOKEN-9f8e7d6c5b4a3210-keepout";

/// Every form of `secret` that could leak: itself, percent-encoded once and twice, and each
/// base64 line of a PEM body.
fn forms(secret: &str) -> Vec<String> {
    let mut v = vec![secret.trim().to_string()];
    let once = alicert::aliyun::signer::percent_encode(secret);
    v.push(alicert::aliyun::signer::percent_encode(&once));
    v.push(once);
    for line in secret.lines() {
        let l = line.trim();
        if l.len() >= 24 && !l.starts_with("-----") {
            v.push(l.to_string());
        }
    }
    v.sort();
    v.dedup();
    v
}

fn assert_absent(what: &str, secret: &str, haystacks: &[(&str, &str)]) {
    for form in forms(secret) {
        for (name, text) in haystacks {
            assert!(
                !text.contains(&form),
                "{what} appears in {name} (as `{}…`)",
                &form[..form.len().min(12)]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_and_results_hold_no_secret() {
    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com")
        .cdn_domain("api.example.com")
        .sts_key(STS_ID, STS_SECRET, STS_TOKEN);
    let sha = hex::encode(sha2::Sha256::digest(BEARER.as_bytes()));
    let rig = Scenario::new()
        .seed(|_| seed)
        .config(&format!(
            r#"
[http]
token_sha256 = "{sha}"
allowed_domains = ["api.example.com"]
[http.target_sets]
api = [{{ kind = "cdn", domain = "api.example.com" }}]

[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{{ kind = "cas" }}, {{ kind = "cdn", domain = "www.example.com" }}]
"#
        ))
        .start()
        .await;
    // 1. `alicert invoke` with STS credentials from the environment, everything traced.
    let mut cmd = rig.command();
    cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", STS_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", STS_SECRET)
        .env("ALIBABA_CLOUD_SECURITY_TOKEN", STS_TOKEN)
        .env("RUST_LOG", "trace")
        .args(["invoke", "{}"]);
    let run = support::rig::run(cmd).await;
    run.expect_exit(0);
    assert_eq!(run.result.certificates[0].status, "issued");
    assert!(run.stderr.lines().count() > 200, "trace logging is on");

    // 2. `alicert serve`, HTTP trigger POST /issue with the bearer token and the function
    // role's STS credentials in FC's headers.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut serve = rig.command();
    serve
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env("RUST_LOG", "trace")
        .env("FC_SERVER_PORT", port.to_string())
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = serve.spawn().unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve did not listen"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rsp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/issue"))
        .header("x-fc-control-path", "/http-invoke")
        .header("x-fc-request-id", "http-issue-1")
        .header("x-fc-access-key-id", STS_ID)
        .header("x-fc-access-key-secret", STS_SECRET)
        .header("x-fc-security-token", STS_TOKEN)
        .header("authorization", format!("Bearer {BEARER}"))
        .json(&serde_json::json!({
            "domains": ["api.example.com"],
            "targets": [{"kind": "cdn", "domain": "api.example.com"}]
        }))
        .send()
        .await
        .unwrap();
    let status = rsp.status();
    let reply = rsp.text().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let serve_out = std::fs::read_to_string(&out_path).unwrap();
    let serve_err = std::fs::read_to_string(&err_path).unwrap();
    assert_eq!(status, 200, "{reply}\n{serve_err}");
    let result: RunResultView = serde_json::from_str(&reply).unwrap();
    assert_eq!(result.certificates[0].status, "issued", "{result:?}");

    // The secrets, read back from where they ended up.
    let state = rig.emulator.state();
    let account_key = state
        .object(BUCKET, "acme/account.pem")
        .unwrap()
        .text()
        .unwrap()
        .to_string();
    let www_key = state.cdn_cert("www.example.com").unwrap().key.clone();
    let api_key = state.cdn_cert("api.example.com").unwrap().key.clone();
    assert!(www_key.contains("PRIVATE KEY") && api_key.contains("PRIVATE KEY"));
    assert!(state
        .calls
        .iter()
        .all(|c| c.access_key_id == STS_ID && c.security_token));

    let outputs = [
        ("invoke stdout (result)", run.stdout.as_str()),
        ("invoke stderr (trace log)", run.stderr.as_str()),
        ("serve stdout", serve_out.as_str()),
        ("serve stderr (trace log)", serve_err.as_str()),
        ("HTTP reply", reply.as_str()),
    ];
    assert_absent("the STS access key secret", STS_SECRET, &outputs);
    assert_absent("the STS security token", STS_TOKEN, &outputs);
    assert_absent("the ACME account key", &account_key, &outputs);
    assert_absent("the www certificate private key", &www_key, &outputs);
    assert_absent("the api certificate private key", &api_key, &outputs);
    assert_absent("the bearer token", BEARER, &outputs);
    assert_absent(
        "the rig's access key secret",
        support::rig::AK_SECRET,
        &outputs,
    );
}
