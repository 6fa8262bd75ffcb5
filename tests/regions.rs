//! Resources in a region other than `[aliyun] region`, end to end (real binary, Pebble, the
//! emulator with region-templated endpoints): an `oss://…?region=` account key and its lock
//! bucket in cn-shanghai, an `oss-bundle` target in ap-southeast-1, an ALB listener in
//! cn-shanghai, a KMS secret in another
//! region; and the OSS/KMS preconditions (versioned lock bucket, KMS 3.0 instance) as clear errors.
mod support;
use support::scenario::Scenario;

use support::emulator::Seed;

const CERT: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [
  { kind = "oss-bundle", bucket = "sg-bundles", region = "ap-southeast-1", prefix = "certs" },
  { kind = "alb", listener_id = "lsn-sh", region = "cn-shanghai" },
]
"#;

fn seed() -> Seed {
    Seed::default()
        .zone("example.com")
        .bucket_in("sh-state", "cn-shanghai")
        .bucket_in("sg-bundles", "ap-southeast-1")
        .alb_listener_in("lsn-sh", "cn-shanghai")
}

#[tokio::test(flavor = "multi_thread")]
async fn account_key_lock_and_bundle_in_other_regions() {
    let rig = Scenario::from_toml(seed(), CERT)
        .account_key("oss://sh-state/alicert/account.pem?region=cn-shanghai")
        .start()
        .await;
    let run = rig.invoke("{}").await;
    let result = run.ok();
    let c = result.certificate("www");
    assert_eq!(c.status, "issued", "{result:?}");
    assert_eq!(c.target(0).status, "deployed", "{result:?}");
    assert_eq!(c.target(1).status, "deployed", "{result:?}");

    let st = rig.emulator.state();
    // The ALB listener in cn-shanghai serves the new certificate (found only through the
    // cn-shanghai endpoint).
    let served = st
        .alb_default_cert("lsn-sh")
        .expect("lsn-sh has a default certificate");
    assert_eq!(served.serial_no, c.serial(), "{result:?}");
    // The account key: in the cn-shanghai bucket, private.
    let key = st
        .object("sh-state", "alicert/account.pem")
        .expect("account key stored in sh-state");
    assert_eq!(key.headers["x-oss-object-acl"], "private");
    // The bundle: in the ap-southeast-1 bucket, every file private.
    for file in [
        "fullchain.pem",
        "cert.pem",
        "chain.pem",
        "privkey.pem",
        "meta.json",
    ] {
        let o = st
            .object("sg-bundles", &format!("certs/www/{file}"))
            .unwrap_or_else(|| panic!("no certs/www/{file}"));
        assert_eq!(o.headers["x-oss-object-acl"], "private", "{file}");
    }
    // The lock lived in the account key's bucket (and region), and is gone.
    let lock_puts: Vec<_> = st
        .calls_to("PutObject")
        .into_iter()
        .filter(|c| c.params["key"].ends_with("www.lock"))
        .collect();
    assert!(!lock_puts.is_empty(), "no lock was taken");
    assert!(lock_puts.iter().all(|c| c.params["bucket"] == "sh-state"));
    assert!(st.object("sh-state", "alicert/locks/www.lock").is_none());
    // The versioning check ran once, against the lock bucket.
    let checks = st.calls_to("GetBucketVersioning");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].params["bucket"], "sh-state");
    // Every OSS call was accepted: each bucket was addressed in its own region.
    let refused: Vec<_> = st
        .calls
        .iter()
        .filter(|c| c.product == "oss" && c.http_status == 403)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");

    // A second run finds everything in place (reads go to the right regions too).
    let again = rig.invoke("{}").await;
    let c = again.ok().certificate("www");
    assert_eq!(c.status, "up_to_date", "{}", again.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_named_without_its_region_is_refused_by_oss() {
    // The same bucket, but the config forgets `?region=`: OSS (the emulator) answers 403
    // naming the bucket's endpoint, and the run fails without ordering.
    let rig = Scenario::from_toml(seed(), CERT)
        .account_key("oss://sh-state/alicert/account.pem")
        .start()
        .await;
    let run = rig.invoke("{}").await;
    assert_ne!(run.exit, 0, "{}", run.stdout);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("oss-cn-shanghai.aliyuncs.com"),
        "the error names the endpoint to use: {text}"
    );
    assert!(rig
        .emulator
        .state()
        .object("sh-state", "alicert/account.pem")
        .is_none());
}

/// A rig whose `[lock] bucket` has versioning `status` (`Enabled` or `Suspended`).
async fn versioned_lock_bucket(status: &'static str) -> support::rig::Rig {
    let rig = Scenario::new()
        .account_key("oss://sh-state/alicert/account.pem?region=cn-shanghai")
        .seed(move |_| {
            seed()
                .bucket("versioned-locks")
                .bucket_versioning("versioned-locks", status)
        })
        .config(CERT)
        .start()
        .await;
    let text = std::fs::read_to_string(&rig.config_path).unwrap();
    std::fs::write(
        &rig.config_path,
        format!("{text}\n[lock]\nbucket = \"versioned-locks\"\n"),
    )
    .unwrap();
    rig
}

#[tokio::test(flavor = "multi_thread")]
async fn a_versioned_lock_bucket_is_refused_before_any_order() {
    let rig = versioned_lock_bucket("Suspended").await;
    let run = rig.invoke("{}").await;
    assert_ne!(run.exit, 0, "{}", run.stdout);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed", "{}", run.stdout);
    let message = c.error().message.as_str();
    assert!(
        message.contains("versioning") && message.contains("[lock] bucket"),
        "{message}"
    );
    let st = rig.emulator.state();
    assert!(st
        .calls_to("PutObject")
        .iter()
        .all(|c| !c.params["key"].ends_with(".lock")));
    assert!(st.object("sg-bundles", "certs/www/meta.json").is_none());
}

/// A forced run takes the lock beside its first read, so the versioning check runs beside the
/// lock's PUT: the run still refuses to order, and the lock object it made is gone again.
#[tokio::test(flavor = "multi_thread")]
async fn a_versioned_lock_bucket_is_refused_on_a_forced_run_and_leaves_no_lock() {
    let rig = versioned_lock_bucket("Enabled").await;
    let run = rig.invoke(r#"{"force":true}"#).await;
    assert_ne!(run.exit, 0, "{}", run.stdout);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed", "{}", run.stdout);
    let message = c.error().message.as_str();
    assert!(
        message.contains("versioning") && message.contains("[lock] bucket"),
        "{message}"
    );
    let st = rig.emulator.state();
    let lock_puts = st
        .calls_to("PutObject")
        .iter()
        .filter(|c| c.params["key"].ends_with(".lock"))
        .count();
    assert_eq!(lock_puts, 1, "the PUT beside the check");
    assert!(st
        .oss_objects
        .keys()
        .all(|k| !(k.starts_with("versioned-locks/") && k.ends_with(".lock"))));
    assert!(st.calls_to("AddDomainRecord").is_empty(), "no order");
    assert!(st.object("sg-bundles", "certs/www/meta.json").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_secret_in_another_region_and_kms3_instance_rule() {
    // The account key as a KMS secret in cn-shanghai.
    let rig = Scenario::from_toml(seed(), CERT)
        .account_key("kms:alicert/account?region=cn-shanghai")
        .start()
        .await;
    let run = rig.invoke("{}").await;
    run.ok();
    let st = rig.emulator.state();
    assert_eq!(st.kms_secrets["alicert/account"].region, "cn-shanghai");

    // An instance-based (KMS 3.0) account: CreateSecret without the instance and key is a
    // config error naming both keys.
    let rig = Scenario::from_toml(seed().kms_instance("kst-hzz1", &["key-hzz1"]), CERT)
        .account_key("kms:alicert/account")
        .start()
        .await;
    let run = rig.invoke("{}").await;
    assert_ne!(run.exit, 0);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("kms_instance_id") && text.contains("kms_encryption_key_id"),
        "{text}"
    );
    // With both set (same instance), it works.
    rig.set_acme("kms_instance_id", "\"kst-hzz1\"");
    rig.set_acme("kms_encryption_key_id", "\"key-hzz1\"");
    let run = rig.invoke("{}").await;
    run.ok();
    let st = rig.emulator.state();
    let s = &st.kms_secrets["alicert/account"];
    assert_eq!(s.dkms_instance_id.as_deref(), Some("kst-hzz1"));
    assert_eq!(s.encryption_key_id.as_deref(), Some("key-hzz1"));
}
