//! `[fanout]`: a timer run splits its certificates into groups and invokes the function
//! asynchronously once per group (FC 3 InvokeFunction, V3-signed, checked by the emulator); the
//! emulator hands each invocation to a running `alicert serve`, which renews that group.
mod support;
use support::rig::free_port;
use support::scenario::Scenario;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::emulator::Seed;
use support::rig::run;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_run_fans_out_one_async_invocation_per_group_and_the_groups_renew() {
    let names: Vec<String> = (1..=5).map(|i| format!("site{i}")).collect();
    let mut seed = Seed::default()
        .zone("example.com")
        .fc_function("alicert")
        .sts_key("STS.FanoutRole", "fanout-role-secret", "fanout-role-token");
    let mut config = String::from(
        "[fanout]\nenabled = true\ngroup_size = 2\nfunction = \"alicert\"\nqualifier = \"prod\"\n\n",
    );
    for name in &names {
        let domain = format!("{name}.example.com");
        seed = seed.cdn_domain(&domain);
        config.push_str(&format!(
            "[[certificate]]\nname = \"{name}\"\ndomains = [\"{domain}\"]\ntargets = [{{ kind = \"cdn\", domain = \"{domain}\" }}]\n\n"
        ));
    }
    let rig = Scenario::from_toml(seed, &config).start().await;

    // The function's instance: `alicert serve`, which the emulator invokes like FC would.
    let port = free_port();
    let mut cmd = rig.command();
    cmd.arg("serve")
        .env("FC_SERVER_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _serve = Serve(cmd.spawn().expect("spawn alicert serve"));
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    rig.emulator
        .set_fc_forward(Some(format!("http://127.0.0.1:{port}")));

    // The timer run, with the function role's STS credentials (V3 signs the token too).
    let mut timer = rig.command();
    timer
        .env("ALICERT_ENDPOINT_FC", rig.emulator.base_url())
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.FanoutRole")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "fanout-role-secret")
        .env("ALIBABA_CLOUD_SECURITY_TOKEN", "fanout-role-token")
        .arg("invoke")
        .arg(r#"{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"daily","payload":"{\"action\":\"renew\"}"}"#);
    let out = run(timer).await;
    out.expect_exit(0);
    assert!(out.result.ok);
    assert!(out.result.certificates.is_empty());
    let groups = out.result.fanout();
    let planned: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| {
            assert_eq!(g.status, "dispatched", "{g:?}");
            assert!(!g.invocation_request_id.as_deref().unwrap().is_empty());
            g.certificates.iter().map(|c| c.as_str()).collect()
        })
        .collect();
    assert_eq!(
        planned,
        vec![
            vec!["site1", "site2"],
            vec!["site3", "site4"],
            vec!["site5"]
        ]
    );

    // FC got one async invocation per group (dispatched concurrently, so in any order), each an
    // explicit renew of that group.
    let state = rig.emulator.state();
    assert_eq!(state.fc_invocations.len(), 3);
    let mut invoked: Vec<Vec<String>> = Vec::new();
    for inv in &state.fc_invocations {
        assert_eq!(inv.function, "alicert");
        assert_eq!(inv.qualifier.as_deref(), Some("prod"));
        assert_eq!(inv.invocation_type, "Async");
        let event: Value = serde_json::from_str(&inv.body).unwrap();
        assert_eq!(event["action"], "renew");
        invoked.push(serde_json::from_value(event["certificates"].clone()).unwrap());
    }
    invoked.sort();
    assert_eq!(invoked, planned);
    // The timer run itself (the role's STS key) only invoked; the groups did the rest.
    assert!(state
        .calls
        .iter()
        .filter(|c| c.access_key_id == "STS.FanoutRole")
        .all(|c| c.action == "InvokeFunction" && c.security_token));

    // The groups renew on their own: every CDN domain ends up with its certificate, the TXT
    // records are gone, and no group fanned out again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = rig.emulator.state();
        let done = names
            .iter()
            .all(|n| state.cdn_cert(&format!("{n}.example.com")).is_some());
        if done && state.txt_records().is_empty() {
            assert_eq!(state.records_added.len(), names.len());
            assert_eq!(state.fc_invocations.len(), 3, "groups do not fan out again");
            for n in &names {
                let cert = state.cdn_cert(&format!("{n}.example.com")).unwrap();
                assert!(cert.info.sans.contains(&format!("{n}.example.com")));
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "groups did not renew within 60s: {:?}",
            state
                .calls
                .iter()
                .map(|c| (&c.action, c.http_status))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_function_fails_each_group_clearly_after_a_verified_signature() {
    let mut config = String::from(
        "[fanout]\nenabled = true\ngroup_size = 1\nfunction = \"no-such-function\"\n\n",
    );
    let mut seed = Seed::default().zone("example.com").fc_function("alicert");
    for name in ["a", "b"] {
        let domain = format!("{name}.example.com");
        seed = seed.cdn_domain(&domain);
        config.push_str(&format!(
            "[[certificate]]\nname = \"{name}\"\ndomains = [\"{domain}\"]\ntargets = [{{ kind = \"cdn\", domain = \"{domain}\" }}]\n\n"
        ));
    }
    let rig = Scenario::from_toml(seed, &config).start().await;
    let mut cmd = rig.command();
    cmd.env("ALICERT_ENDPOINT_FC", rig.emulator.base_url())
        .arg("invoke")
        .arg("{}");
    let out = run(cmd).await;
    out.expect_exit(1);
    assert!(!out.result.ok);
    for g in out.result.fanout() {
        assert_eq!(g.status, "failed");
        assert_eq!(g.error().code, "FunctionNotFound", "{g:?}");
    }
    // The calls were signed correctly: the emulator got as far as looking up the function.
    let state = rig.emulator.state();
    let calls = state.calls_to("InvokeFunction");
    assert_eq!(calls.len(), 2);
    assert!(calls
        .iter()
        .all(|c| c.code.as_deref() == Some("FunctionNotFound")));
}
