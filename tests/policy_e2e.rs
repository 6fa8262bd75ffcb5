//! `alicert policy` is enough, and every statement of it is needed: a run with the function's
//! credentials restricted (by the emulator's RAM enforcement) to exactly the policy `alicert
//! policy` prints for a config with CDN, OSS, FC 3 and ALB targets, an OSS account key and the
//! lock bucket beside it issues and deploys everything; then, for each statement in turn, a
//! forced run with that statement removed fails, and both the emulator (a call refused with
//! Forbidden.RAM / AccessDenied) and alicert's output name an action of that statement.
mod support;

use serde_json::Value;
use support::scenario::{four_kinds_seed as seed, Scenario, FOUR_KINDS as CONFIG};

/// `Action` of a statement as a list.
fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(v) => v
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        other => panic!("Action {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_policy_is_enough_and_each_statement_is_needed() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    let (policy, stderr) = rig.policy();
    let statements = policy["Statement"].as_array().unwrap().clone();
    assert!(statements.len() >= 8, "{policy}");
    // The purposes go to stderr, one per statement.
    assert_eq!(
        stderr.lines().filter(|l| l.contains(": ")).count(),
        statements.len(),
        "{stderr}"
    );

    // Exactly the policy: everything issues and deploys.
    rig.emulator.set_ram_policy(Some(&policy)).unwrap();
    let run = rig.invoke("{}").await;
    let c = run.certificate_with("www", "issued");
    assert_eq!(c.targets.len(), 4, "{}", run.stdout);
    assert!(
        c.targets.iter().all(|t| t.status() == "deployed"),
        "{}",
        run.stdout
    );
    let refused = |state: &aliyun_emulator::EmulatorState| {
        state
            .calls
            .iter()
            .filter(|c| {
                matches!(c.code.as_deref(), Some("Forbidden.RAM" | "AccessDenied"))
                    && c.http_status == 403
            })
            .count()
    };
    assert_eq!(
        refused(&rig.emulator.state()),
        0,
        "no call refused under the full policy"
    );

    // The statements' ids, from the purposes on stderr (`n. Id: purpose`, in order).
    let ids: Vec<String> = stderr
        .lines()
        .filter_map(|l| {
            l.split_once(". ")?
                .1
                .split_once(": ")
                .map(|(id, _)| id.to_string())
        })
        .collect();
    assert_eq!(ids.len(), statements.len(), "{stderr}");

    // Each statement is needed: without it a forced run is refused one of its actions, says so,
    // and fails, except for the failure memory, which is best effort by design (a read error is
    // logged and the order goes on: pipeline/certificate.rs `load_backoff`).
    for (i, id) in ids.iter().enumerate() {
        // What only `alicert doctor` calls (no fc2 target here: GetCallerIdentity is doctor's
        // alone): tests/doctor.rs removes each of those and checks doctor names it.
        if id.starts_with("Doctor") || id == "CallerIdentity" {
            continue;
        }
        let mut reduced = policy.clone();
        reduced["Statement"].as_array_mut().unwrap().remove(i);
        rig.emulator.set_ram_policy(Some(&reduced)).unwrap();
        let before = rig.emulator.state().calls.len();
        let run = rig.invoke(r#"{"action":"renew","force":true}"#).await;
        let removed = actions(&statements[i]);
        let state = rig.emulator.state();
        let denied: Vec<&aliyun_emulator::Call> = state.calls[before..]
            .iter()
            .filter(|c| c.http_status == 403)
            .collect();
        assert!(
            !denied.is_empty(),
            "{id} removed: nothing was refused\n{}",
            run.stdout
        );
        let output = format!("{}\n{}", run.stdout, run.stderr);
        assert!(
            removed.iter().any(|a| output.contains(a.as_str())),
            "{id} {removed:?} removed: alicert does not name its action\n{output}"
        );
        if id == "FailureState" {
            assert_eq!(run.exit, 0, "{id}: best effort\n{output}");
        } else {
            assert_ne!(
                run.exit, 0,
                "{id} {removed:?} removed, the run still succeeded:\n{}",
                run.stdout
            );
        }
    }
    rig.emulator.set_ram_policy(None).unwrap();
}
