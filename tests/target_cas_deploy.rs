//! `cas-deploy`: CAS deployment jobs to cloud resources, through Pebble and the emulator. Each
//! resource is its own target with its own job (created editing, moved to pending, polled to
//! its end); renewal moves every resource to the new CAS copy and the superseded copy goes;
//! a resource whose worker fails is a failed target while the others deploy.
mod support;

use support::emulator::Seed;
use support::scenario::{Scenario, Target};

const CONTACT: u64 = 7;

fn seed() -> Seed {
    Seed::default()
        .zone("example.com")
        .cas_contact(CONTACT)
        .cloud_resource(1001, "SAE", "app.example.com")
        .cloud_resource(1002, "webHosting", "www.example.com")
        .cloud_resource(1003, "MSE", "other.example.com")
}

fn scenario(seed: Seed) -> Scenario {
    Scenario::new()
        .seed(|_| seed)
        .certificate("app", &["app.example.com", "www.example.com"])
        .target(Target::toml(
            r#"{ kind = "cas-deploy", resource_ids = [1001, 1002] }"#,
        ))
}

fn foreign_pem(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    (pem, key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_resource_gets_its_job_and_renewal_retires_the_old_copy() {
    let rig = scenario(seed()).start().await;
    let (pem, key) = foreign_pem("other.example.com");
    let foreign = rig.emulator.put_cas_certificate("someone-else", &pem, &key);
    rig.emulator.set_cloud_resource_cert(1003, foreign);

    let first = rig.invoke("{}").await;
    first.expect_exit(0);
    let c = first.certificate_with("app", "issued");
    let labels: Vec<String> = c.targets.iter().map(|t| t.label()).collect();
    assert_eq!(
        labels,
        ["cas-deploy 1001", "cas-deploy 1002"],
        "{}",
        first.stdout
    );
    let serial = c.serial().to_string();
    for t in &c.targets {
        assert_eq!((t.status(), t.serial()), ("deployed", serial.as_str()));
    }
    let state = rig.emulator.state();
    let ours = state
        .cas_certs
        .iter()
        .find(|x| x.name.starts_with("alicert-app-"))
        .unwrap()
        .cert_id;
    for r in [1001, 1002] {
        assert_eq!(state.cloud_resource(r).unwrap().cert_id, Some(ours), "{r}");
    }
    // Targets deploy concurrently, so the jobs may be created in either order.
    let mut jobs: Vec<_> = state.cas_deploy.jobs.iter().collect();
    jobs.sort_by_key(|j| j.resource_ids.clone());
    assert_eq!(jobs.len(), 2);
    for (job, resource) in jobs.iter().zip([1001, 1002]) {
        assert_eq!(job.resource_ids, [resource]);
        assert_eq!(job.cert_ids, [ours]);
        assert_eq!(job.contact_ids, [CONTACT]);
        assert_eq!(job.job_type, "user");
        assert_eq!(
            job.history,
            ["editing", "pending", "scheduling", "processing", "success"]
        );
    }

    let again = rig.invoke("{}").await;
    again.expect_exit(0);
    assert_eq!(again.certificate("app").status(), "up_to_date");
    assert_eq!(rig.emulator.state().cas_deploy.jobs.len(), 2);

    let forced = rig.invoke(r#"{"force":true}"#).await;
    forced.expect_exit(0);
    let f = forced.certificate_with("app", "renewed");
    assert_ne!(f.serial(), serial);
    let state = rig.emulator.state();
    let new = state
        .cas_certs
        .iter()
        .find(|x| x.name.starts_with("alicert-app-"))
        .unwrap()
        .cert_id;
    assert_ne!(new, ours);
    for r in [1001, 1002] {
        assert_eq!(state.cloud_resource(r).unwrap().cert_id, Some(new), "{r}");
    }
    assert!(
        !state.cas_certs.iter().any(|x| x.cert_id == ours),
        "the superseded copy stays"
    );
    // Someone else's certificate, on a resource alicert does not manage, is untouched.
    assert!(state.cas_certs.iter().any(|x| x.cert_id == foreign));
    assert_eq!(state.cloud_resource(1003).unwrap().cert_id, Some(foreign));
    assert_eq!(state.cas_deploy.jobs.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_resource_is_a_failed_target_and_the_others_deploy() {
    let seed = Seed::default()
        .zone("example.com")
        .cas_contact(CONTACT)
        .cloud_resource(1001, "SAE", "app.example.com")
        .failing_cloud_resource(1002, "webHosting", "www.example.com");
    let rig = scenario(seed).start().await;
    let out = rig.invoke("{}").await;
    assert_ne!(out.exit, 0, "{}", out.stdout);
    let c = out.certificate("app");
    assert_eq!(c.status(), "failed");
    let ok = c.target(0);
    assert_eq!(
        (ok.label().as_str(), ok.status()),
        ("cas-deploy 1001", "deployed")
    );
    let failed = c.target(1);
    assert_eq!(
        (failed.label().as_str(), failed.status()),
        ("cas-deploy 1002", "failed")
    );
    let message = &failed.error().message;
    assert!(
        message.contains("cas-deploy 1002") && message.contains("worker error"),
        "{message}"
    );
    let state = rig.emulator.state();
    assert!(state.cloud_resource(1001).unwrap().cert_id.is_some());
    assert_eq!(state.cloud_resource(1002).unwrap().cert_id, None);
    let job_for = |r: u64| {
        state
            .cas_deploy
            .jobs
            .iter()
            .find(|j| j.resource_ids == [r])
            .map(|j| j.status.as_str())
    };
    assert_eq!(
        (job_for(1001), job_for(1002)),
        (Some("success"), Some("error"))
    );

    // The next run deploys only to the resource still due.
    let next = rig.invoke("{}").await;
    let c = next.certificate("app");
    assert_eq!(c.target(0).status(), "up_to_date", "{}", next.stdout);
    assert_eq!(c.target(1).status(), "failed");
    let jobs = &rig.emulator.state().cas_deploy.jobs;
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[2].resource_ids, [1002]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_resource_or_no_contact_fails_with_the_fix() {
    let seed = Seed::default()
        .zone("example.com")
        .cloud_resource(1001, "SAE", "app.example.com");
    let rig = Scenario::new()
        .seed(|_| seed)
        .certificate("app", &["app.example.com"])
        .target(Target::toml(
            r#"{ kind = "cas-deploy", resource_ids = [1001] }"#,
        ))
        .start()
        .await;
    let out = rig.invoke("{}").await;
    let t = out.certificate("app").target(0).clone();
    assert_eq!(t.status(), "failed");
    assert!(
        t.error().message.contains("need a contact"),
        "{:?}",
        t.error()
    );
    assert!(rig
        .emulator
        .state()
        .calls_to("CreateDeploymentJob")
        .is_empty());

    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").cas_contact(CONTACT))
        .certificate("app", &["app.example.com"])
        .target(Target::toml(
            r#"{ kind = "cas-deploy", resource_ids = [4242] }"#,
        ))
        .start()
        .await;
    let out = rig.invoke("{}").await;
    let c = out.certificate("app");
    assert_eq!(c.status(), "failed");
    assert!(
        c.target(0)
            .error()
            .message
            .contains("no cloud resource 4242"),
        "{c:?}"
    );
}
