//! A target's capabilities survive what its table adds: `reuse_key` reads the key back from a
//! `cas` target that also has `verify_tls` (before issue 12 the `verify_tls` wrapper was the
//! place such a capability could be lost). Real binary, Pebble and the emulator.
mod support;

use serde_json::Value;
use support::edge::edge;
use support::scenario::{Scenario, Target};

/// The newest certificate in the emulator's CAS (what a CAS-fed edge serves).
fn newest_cas_cert(state: &Value) -> Option<(String, String)> {
    let newest = state["cas_certs"]
        .as_array()?
        .iter()
        .max_by_key(|c| c["cert_id"].as_u64())?;
    Some((
        newest["cert"].as_str()?.to_string(),
        newest["key"].as_str()?.to_string(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_key_works_with_verify_tls_set() {
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com"))
        .certificate("www", &["www.example.com"])
        .option("reuse_key = true")
        .target(Target::toml(
            r#"{ kind = "cas", verify_tls = "www.example.com:443", verify_tls_connect = "EDGE" }"#,
        ))
        .start()
        .await;
    let edge = edge(rig.emulator.base_url(), newest_cas_cert).await;
    let text = std::fs::read_to_string(&rig.config_path)
        .unwrap()
        .replace("EDGE", &edge.addr.to_string());
    std::fs::write(&rig.config_path, text).unwrap();

    let first = rig.invoke("{}").await;
    let serial = first.certificate("www").serial().to_string();
    let key = |serial: &str| {
        let name = alicert::naming::upload_name("www", serial);
        let state = rig.emulator.state();
        let c = state.cas_certs.iter().find(|c| c.name == name);
        c.map(|c| c.key.clone()).unwrap()
    };
    let first_key = key(&serial);

    let second = rig.invoke(r#"{"force":true}"#).await;
    let www = second.certificate_with("www", "renewed");
    let renewed = www.serial();
    assert_ne!(renewed, serial);
    assert!(
        www.notes.iter().any(|n| n.contains("kept the private key")),
        "{:?}",
        www.notes
    );
    assert_eq!(key(renewed), first_key, "a new key behind verify_tls");
    // And the served certificate is what was read: the edge serves the renewed serial.
    assert_eq!(www.target(0).serial(), renewed);
}
