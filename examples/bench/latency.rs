//! The latency run of `make bench`: each alicert workload at 0 ms and at `--latency-ms` per
//! Alibaba Cloud call (the emulator waits that long before answering each one). The calls on
//! the critical path are (wall(L) − wall(0)) / L: the calls that waited for one another. The
//! emulator's call log (start and end of each call) gives the count of calls and, as a check,
//! the longest chain of calls that ran one after another.
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use super::support::emulator::Call;
use super::support::rig::Rig;
use super::{bench_client, Client, Summary, Workload};

/// One workload's latency row.
pub struct Row {
    pub label: String,
    pub zero: Summary,
    pub slow: Summary,
    /// Alibaba Cloud calls per run (from the emulator's log).
    pub calls: f64,
    /// The longest chain of calls that ran one after another, per run (median).
    pub depth: f64,
}

impl Row {
    /// Calls on the critical path: the wall time the latency added, in latencies.
    pub fn critical(&self, latency_ms: u64) -> f64 {
        (self.slow.wall - self.zero.wall) / (latency_ms as f64 / 1e3)
    }
}

/// The most calls of `calls` that ran strictly one after another (the greedy earliest-end
/// choice finds the longest such chain).
pub fn sequential_depth(calls: &[Call]) -> usize {
    let mut spans: Vec<(u64, u64)> = calls.iter().map(|c| (c.started_us, c.ended_us)).collect();
    spans.sort_by_key(|s| s.1);
    let (mut depth, mut free_at) = (0, 0);
    for (start, end) in spans {
        if depth == 0 || start >= free_at {
            depth += 1;
            free_at = end;
        }
    }
    depth
}

/// Runs each workload `runs` times at 0 ms and at `latency_ms`, one run at a time so that the
/// call log of each run can be cut out.
pub async fn run(
    rig: &Rig,
    client: Arc<dyn Client>,
    workloads: &[Arc<Workload>],
    runs: usize,
    latency_ms: u64,
    logs: &Path,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for workload in workloads {
        rig.emulator.set_latency_ms(0);
        let zero = bench_client(client.clone(), workload.clone(), runs, logs, false).await;
        rig.emulator.set_latency_ms(latency_ms);
        let mut samples = Vec::new();
        let (mut calls, mut depths) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            // (bench_client waits out the quota window before the run.)
            let before = rig.emulator.state().calls.len();
            let one = bench_client(client.clone(), workload.clone(), 1, logs, false).await;
            let log = rig.emulator.state().calls.split_off(before);
            calls.push(log.len() as f64);
            depths.push(sequential_depth(&log) as f64);
            samples.push(one);
        }
        rig.emulator.set_latency_ms(0);
        rows.push(Row {
            label: workload.label.clone(),
            slow: merge(&samples),
            zero,
            calls: super::median(calls),
            depth: super::median(depths),
        });
    }
    rows
}

/// The median of single-run summaries.
fn merge(one_run_each: &[Summary]) -> Summary {
    let m = |f: fn(&Summary) -> f64| super::median(one_run_each.iter().map(f).collect());
    Summary {
        wall: m(|s| s.wall),
        cpu: m(|s| s.cpu),
        servers_cpu: m(|s| s.servers_cpu),
        rss_mb: m(|s| s.rss_mb),
        ok: one_run_each.iter().map(|s| s.ok).sum(),
        runs: one_run_each.iter().map(|s| s.runs).sum(),
    }
}

/// The markdown table.
pub fn table(md: &mut String, rows: &[Row], latency_ms: u64, runs: usize) {
    let _ = writeln!(
        md,
        "\nLatency (alicert; the emulator answers every Alibaba Cloud call after {latency_ms} ms, \
         as a region's OpenAPI would; median of {runs} runs each; calls on the critical path = \
         (wall at {latency_ms} ms − wall at 0 ms) / {latency_ms} ms; longest chain = the most \
         calls of the emulator's log that ran one after another):\n"
    );
    let _ = writeln!(
        md,
        "| workload | wall at 0 ms | wall at {latency_ms} ms | Alibaba Cloud calls | calls on the critical path | longest chain | ok runs |"
    );
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {:.3} s | {:.3} s | {:.0} | {:.1} | {:.0} | {}/{} |",
            r.label,
            r.zero.wall,
            r.slow.wall,
            r.calls,
            r.critical(latency_ms),
            r.depth,
            r.zero.ok + r.slow.ok,
            r.zero.runs + r.slow.runs
        );
    }
}
