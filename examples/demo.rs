//! `make demo`: a full local issuance. Starts Pebble + pebble-challtestsrv and the Alibaba Cloud
//! emulator, runs `alicert invoke` against them, prints the result JSON, stops everything.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::time::Instant;

use support::emulator::Seed;
use support::rig::{alicert_bin, Rig};

#[tokio::main]
async fn main() {
    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com")
        .apigateway_domain("demo-group", "api.example.com");
    eprintln!("demo: starting Pebble, pebble-challtestsrv and the Alibaba Cloud emulator");
    let rig = Rig::start(
        seed,
        "oss://alicert-state/acme/account.pem",
        r#"
[[certificate]]
name = "www"
domains = ["example.com", "*.example.com"]
targets = [
  { kind = "cas" },
  { kind = "cdn", domain = "www.example.com" },
  { kind = "apigateway", group_id = "demo-group", domain = "api.example.com" },
]
"#,
    )
    .await;
    eprintln!("demo: ACME directory {}", rig.pebble.directory_url());
    eprintln!("demo: Alibaba Cloud emulator {}", rig.emulator.base_url());
    eprintln!("demo: config {}", rig.config_path.display());
    eprintln!("demo: running `alicert invoke '{{}}'`");
    let started = Instant::now();
    // Under /usr/bin/time (when there is one) to report the process's peak RSS too.
    let time = std::path::Path::new("/usr/bin/time");
    let run = if time.exists() {
        let mut cmd = rig.command_of(time);
        cmd.args(["-f", "demo-peak-rss-kb=%M"])
            .arg(alicert_bin())
            .args(["invoke", "{}"]);
        support::rig::run(cmd).await
    } else {
        rig.invoke("{}").await
    };
    let elapsed = started.elapsed();
    let peak_rss = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("demo-peak-rss-kb="))
        .map(|kb| format!("; peak RSS of alicert {kb} KiB"))
        .unwrap_or_default();
    eprint!("{}", run.stderr);
    println!("{}", run.stdout.trim_end());
    let state = rig.emulator.state();
    eprintln!(
        "demo: issuance took {:.2}s{peak_rss}; TXT records created {}, deleted {}, left {}",
        elapsed.as_secs_f64(),
        state.records_added.len(),
        state.records_deleted.len(),
        state.txt_records().len()
    );
    let ok = run.exit == 0
        && run.result.certificates[0].status == "issued"
        && state.txt_records().is_empty();
    drop(rig);
    if !ok {
        eprintln!("demo: FAILED (exit code {})", run.exit);
        std::process::exit(1);
    }
    eprintln!("demo: ok");
}
