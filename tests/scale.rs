//! Many certificates in one invocation: orders run concurrently (bounded by
//! `[acme] max_concurrent_orders`), and every certificate still gets its own order, its own TXT
//! record (deleted afterwards), its own deploy, and its result in config order.
mod support;
use support::scenario::Scenario;

use std::collections::HashSet;

use support::emulator::Seed;

const CERTS: usize = 50;
const LIMIT: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_certificates_in_one_invocation_run_concurrently_and_report_in_config_order() {
    let names: Vec<String> = (0..CERTS).map(|i| format!("c{i:02}")).collect();
    let mut seed = Seed::default().zone("example.com");
    let mut config = String::new();
    // Config order deliberately differs from name order, so ordering by completion or by name
    // would both be caught.
    let mut order: Vec<&String> = names.iter().collect();
    order.reverse();
    for name in &order {
        let domain = format!("{name}.example.com");
        seed = seed.cdn_domain(&domain);
        config.push_str(&format!(
            "[[certificate]]\nname = \"{name}\"\ndomains = [\"{domain}\"]\ntargets = [{{ kind = \"cdn\", domain = \"{domain}\" }}]\n\n"
        ));
    }
    let rig = Scenario::from_toml(seed, &config).start().await;
    // The rig writes `[acme]` first; bound the orders below the number of certificates.
    let text = std::fs::read_to_string(&rig.config_path).unwrap();
    let text = text.replacen(
        "[acme]\n",
        &format!("[acme]\nmax_concurrent_orders = {LIMIT}\n"),
        1,
    );
    std::fs::write(&rig.config_path, text).unwrap();

    let run = rig.invoke("{}").await;
    run.expect_exit(0);
    assert!(run.result.ok);
    let certs = &run.result.certificates;
    let got: Vec<&str> = certs.iter().map(|c| c.name.as_str()).collect();
    let want: Vec<&str> = order.iter().map(|s| s.as_str()).collect();
    assert_eq!(got, want, "results are in config order");

    let state = rig.emulator.state();
    let mut serials = HashSet::new();
    for c in certs {
        let name = c.name.as_str();
        let domain = format!("{name}.example.com");
        assert_eq!(c.status, "issued", "{c:?}");
        assert_eq!(c.domains[0], domain.as_str());
        let serial = c.serial();
        assert!(serials.insert(serial.to_string()), "serial {serial} reused");
        assert_eq!(c.target(0).status, "deployed", "{c:?}");
        assert_eq!(c.target(0).serial(), serial);
        // The CDN domain serves this certificate's serial, covering its own name.
        let deployed = state.cdn_cert(&domain).expect("deployed");
        assert_eq!(deployed.info.serial_no, serial);
        assert!(
            deployed.info.sans.contains(&domain),
            "{:?}",
            deployed.info.sans
        );
    }

    // One TXT record per order, each deleted by its RecordId, nothing left.
    assert_eq!(state.records_added.len(), CERTS);
    assert_eq!(state.records_deleted.len(), CERTS);
    let added: HashSet<_> = state.records_added.iter().map(|r| &r.record_id).collect();
    let deleted: HashSet<_> = state.records_deleted.iter().map(|r| &r.record_id).collect();
    assert_eq!(added, deleted);
    assert!(state.txt_records().is_empty());
    // The zones are listed once for the whole invocation, not once per order.
    assert_eq!(state.calls_to("DescribeDomains").len(), 1);
    // Orders overlapped, and never more than the limit at once: with one TXT record per order,
    // the records alive at any point of the call log count the orders in their DNS phase.
    let (mut alive, mut peak) = (0i64, 0i64);
    for call in state.calls.iter().filter(|c| c.http_status == 200) {
        match call.action.as_str() {
            "AddDomainRecord" => alive += 1,
            "DeleteDomainRecord" => alive -= 1,
            _ => continue,
        }
        peak = peak.max(alive);
    }
    assert!(peak > 1, "orders did not overlap (peak {peak})");
    assert!(peak <= LIMIT as i64, "{peak} orders at once, limit {LIMIT}");
    // One ACME account for all of them (the other PUTs are the certificates' run locks).
    let key_puts = state
        .calls_to("PutObject")
        .iter()
        .filter(|c| {
            c.params
                .get("key")
                .is_some_and(|k| k.ends_with("account.pem"))
        })
        .count();
    assert_eq!(key_puts, 1);
}
