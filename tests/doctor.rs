//! `alicert doctor`: read-only, exit 0 only when every check is ok, and under a RAM policy
//! missing one statement of `alicert policy` it names exactly that statement's actions (the
//! emulator enforces the policy on every call and answers RAM's ListPoliciesFor*/GetPolicy
//! with it, so doctor can check the write permissions it must not try).
mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::scenario::{four_kinds_seed as seed, Scenario, FOUR_KINDS as CONFIG};

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        other => panic!("not a string or list: {other}"),
    }
}

/// The `doctor` object of `alicert doctor --json`, and the exit code.
async fn doctor(rig: &support::rig::Rig) -> (i32, Value, String) {
    let run = rig.run(&["doctor", "--json"]).await;
    let report = run.json["doctor"].clone();
    assert!(
        report.is_object(),
        "no doctor report:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    (run.exit, report, run.stderr)
}

fn missing_actions(report: &Value) -> BTreeSet<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c.get("actions").map(strings).unwrap_or_default())
        .collect()
}

/// Write calls doctor made (it must make none): anything but Describe/List/Get reads.
fn writes(state: &aliyun_emulator::EmulatorState, from: usize) -> Vec<String> {
    state.calls[from..]
        .iter()
        .map(|c| c.action.clone())
        .filter(|a| {
            !["Describe", "List", "Get", "Head"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_is_ok_under_the_policy_and_names_each_removed_statements_actions() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;

    // Unrestricted (the emulator models that as AdministratorAccess attached).
    let before = rig.emulator.state().calls.len();
    let (exit, report, stderr) = doctor(&rig).await;
    assert_eq!(exit, 0, "{report:#}\n{stderr}");
    assert_eq!(report["ok"], true);
    assert!(
        writes(&rig.emulator.state(), before).is_empty(),
        "doctor wrote: {:?}",
        writes(&rig.emulator.state(), before)
    );
    let areas: BTreeSet<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["area"].as_str())
        .collect();
    for area in [
        "credentials",
        "permissions",
        "zone",
        "target",
        "account_key",
        "lock",
        "acme",
        "caa",
    ] {
        assert!(areas.contains(area), "no {area} check: {report:#}");
    }
    let targets = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["area"] == "target")
        .count();
    assert_eq!(targets, 4, "{report:#}");
    assert!(report["identity"]["account_id"]
        .as_str()
        .is_some_and(|a| !a.is_empty()));

    // Exactly `alicert policy`: still ok, nothing refused.
    let (policy, _) = rig.policy();
    rig.emulator.set_ram_policy(Some(&policy)).unwrap();
    let before = rig.emulator.state().calls.len();
    let (exit, report, stderr) = doctor(&rig).await;
    assert_eq!(exit, 0, "under exactly the policy:\n{report:#}\n{stderr}");
    let refused = rig.emulator.state().calls[before..]
        .iter()
        .filter(|c| c.http_status == 403)
        .count();
    assert_eq!(refused, 0, "calls refused under the full policy");

    // Each statement removed: doctor fails and names exactly its actions.
    let statements = policy["Statement"].as_array().unwrap().clone();
    for (i, statement) in statements.iter().enumerate() {
        let mut reduced = policy.clone();
        reduced["Statement"].as_array_mut().unwrap().remove(i);
        rig.emulator.set_ram_policy(Some(&reduced)).unwrap();
        let removed: BTreeSet<String> = strings(&statement["Action"]).into_iter().collect();
        let (exit, report, stderr) = doctor(&rig).await;
        assert_eq!(
            exit, 1,
            "{removed:?} removed, doctor still ok:\n{report:#}\n{stderr}"
        );
        assert_eq!(report["ok"], false);
        let named = missing_actions(&report);
        if removed.iter().all(|a| a.starts_with("ram:")) {
            // Without it doctor cannot read the attached policies: it names the first read.
            assert!(
                !named.is_empty() && named.is_subset(&removed),
                "{removed:?} removed, named {named:?}\n{report:#}"
            );
        } else {
            assert_eq!(named, removed, "statement {i} removed\n{report:#}");
        }
        // Nothing but permissions is reported wrong.
        for c in report["checks"].as_array().unwrap() {
            assert!(
                c["status"] == "ok" || c["status"] == "missing_permission",
                "{removed:?} removed: {c:#}"
            );
        }
    }
    rig.emulator.set_ram_policy(None).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_the_key_and_the_fix() {
    // The zone is delegated elsewhere, the lock bucket has versioning, a CDN domain is missing.
    let seed = seed()
        .zone_delegated_to("example.com", &["ns1.elsewhere.net", "ns2.elsewhere.net"])
        .bucket_versioning("alicert-state", "Enabled");
    let config = CONFIG.replace(
        r#"{ kind = "alb", listener_id = "lsn-1" },"#,
        r#"{ kind = "alb", listener_id = "lsn-1" },
  { kind = "cdn", domain = "gone.example.com" },"#,
    );
    let rig = Scenario::from_toml(seed, &config).start().await;
    let (exit, report, stderr) = doctor(&rig).await;
    assert_eq!(exit, 1, "{report:#}\n{stderr}");
    let checks = report["checks"].as_array().unwrap();
    let find = |area: &str, subject: &str| {
        checks
            .iter()
            .find(|c| c["area"] == area && c["subject"].as_str().unwrap_or("").contains(subject))
            .unwrap_or_else(|| panic!("no {area} check on {subject}: {report:#}"))
    };
    let zone = find("zone", "example.com");
    assert_eq!(zone["status"], "misconfigured", "{zone:#}");
    assert!(
        zone["detail"]
            .as_str()
            .unwrap()
            .contains("ns1.elsewhere.net"),
        "{zone:#}"
    );
    let lock = find("lock", "alicert-state");
    assert_eq!(lock["status"], "misconfigured", "{lock:#}");
    assert_eq!(lock["key"], "[lock] bucket");
    assert!(
        lock["detail"].as_str().unwrap().contains("versioning"),
        "{lock:#}"
    );
    let gone = find("target", "gone.example.com");
    assert_eq!(gone["status"], "failed", "{gone:#}");
    assert_eq!(gone["key"], "certificate www targets");
    // The others are fine.
    assert_eq!(find("target", "cdn www.example.com")["status"], "ok");
    assert_eq!(find("credentials", "credential chain")["status"], "ok");

    // The table a terminal shows: failures first, each naming its key.
    let run = rig.run(&["doctor"]).await;
    assert_eq!(run.exit, 1);
    let first = run
        .stdout
        .lines()
        .find(|l| l.starts_with("misconfigured") || l.starts_with("failed") || l.starts_with("ok"));
    assert!(
        first.is_some_and(|l| !l.starts_with("ok")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("[lock] bucket"), "{}", run.stdout);
    assert!(run.stdout.contains("checks not ok"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_event_returns_the_report() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    let run = rig.invoke(r#"{"action":"doctor"}"#).await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json["ok"], true);
    assert_eq!(run.json["doctor"]["ok"], true);
    let bad = rig.invoke(r#"{"action":"doctor","force":true}"#).await;
    assert_eq!(bad.exit, 2, "doctor takes no fields: {}", bad.stderr);
}
