//! A debug hook for crash and concurrency tests, driven by the environment only:
//! `ALICERT_TEST_PAUSE_AT=<point>` makes the run print `ALICERT_TEST_PAUSED_AT=<point>` on
//! stderr when it reaches that point and sleep `ALICERT_TEST_PAUSE_SECS` (default 300) before
//! going on, so a test can SIGKILL it there or start a competing run. Points:
//! `txt_created` (TXT records added and marked), `finalized` (order finalized, records not yet
//! deleted), `cas_uploaded` (records deleted and the certificate in CAS, no target deployed
//! yet), `deployed:<kind>` (after each target of that kind was deployed, e.g. `deployed:cdn`;
//! the other targets deploy meanwhile). Unset, it costs one environment lookup per point and changes nothing.
use std::time::Duration;

pub async fn pause(point: &str) {
    let Ok(wanted) = std::env::var("ALICERT_TEST_PAUSE_AT") else {
        return;
    };
    if !wanted.split(',').any(|w| w.trim() == point) {
        return;
    }
    let secs = std::env::var("ALICERT_TEST_PAUSE_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(300.0);
    eprintln!("ALICERT_TEST_PAUSED_AT={point}");
    tokio::time::sleep(Duration::from_secs_f64(secs.max(0.0))).await;
}
