//! Stand-alone Alibaba Cloud emulator (the one the integration tests use), for manual runs and
//! scripts: `cargo run --example emulator -- --listen 127.0.0.1:9100 --seed seed.json
//! --challtestsrv http://127.0.0.1:8055`. Prints `listening on http://…` once bound; the state is
//! at `GET /__emulator/state`, faults via `POST /__emulator/fail_next`. Random seeded faults:
//! `--throttling 0.3 --unavailable 0.1 --slow 0.1 --slow-ms 500 --drop 0.05 --fault-seed 7`
//! (rates 0.0–1.0; or `"faults"` in the seed file, or `POST /__emulator/faults` at run time).
//! A fixed latency on every call: `--latency-ms 50` (or `ALICERT_EMULATOR_LATENCY_MS`,
//! `"latency_ms"` in the seed, `POST /__emulator/latency {"ms": 50}`).

use aliyun_emulator as emulator;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Alibaba Cloud API emulator for alicert tests")]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:9100")]
    listen: SocketAddr,
    /// JSON seed file (access keys, zones, CDN/API Gateway domains, buckets, KMS secrets).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// pebble-challtestsrv management URL; TXT records are pushed there (overrides the seed's).
    #[arg(long)]
    challtestsrv: Option<String>,
    /// Seed of the fault RNG (same seed, same faults for the same sequence of requests).
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Share of requests answered `Throttling.User` (HTTP 400).
    #[arg(long)]
    throttling: Option<f64>,
    /// Share of requests answered `ServiceUnavailable` (HTTP 503).
    #[arg(long)]
    unavailable: Option<f64>,
    /// Share of requests answered only after `--slow-ms`.
    #[arg(long)]
    slow: Option<f64>,
    #[arg(long)]
    slow_ms: Option<u64>,
    /// Share of requests handled and then cut off mid-response.
    #[arg(long)]
    drop: Option<f64>,
    /// Milliseconds added to every Alibaba Cloud call (a region's OpenAPI latency).
    #[arg(long, env = "ALICERT_EMULATOR_LATENCY_MS")]
    latency_ms: Option<u64>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut seed = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
                eprintln!("cannot read seed {}: {e}", path.display());
                std::process::exit(2)
            });
            serde_json::from_str::<emulator::Seed>(&text).unwrap_or_else(|e| {
                eprintln!("bad seed {}: {e}", path.display());
                std::process::exit(2)
            })
        }
        None => emulator::Seed::default(),
    };
    if args.challtestsrv.is_some() {
        seed.challtestsrv = args.challtestsrv.clone();
    }
    seed.latency_ms = args.latency_ms.unwrap_or(seed.latency_ms);
    let f = &mut seed.faults;
    f.seed = args.fault_seed.unwrap_or(f.seed);
    f.throttling = args.throttling.unwrap_or(f.throttling);
    f.unavailable = args.unavailable.unwrap_or(f.unavailable);
    f.slow = args.slow.unwrap_or(f.slow);
    f.slow_ms = args.slow_ms.unwrap_or(f.slow_ms);
    f.drop = args.drop.unwrap_or(f.drop);
    let total = f.throttling + f.unavailable + f.slow + f.drop;
    if !(0.0..=1.0).contains(&total)
        || [f.throttling, f.unavailable, f.slow, f.drop]
            .iter()
            .any(|r| *r < 0.0)
    {
        eprintln!(
            "fault rates must be between 0 and 1 and add up to at most 1 (they add up to {total})"
        );
        std::process::exit(2)
    }
    let emu = match emulator::start_on(seed, args.listen).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.listen);
            std::process::exit(1)
        }
    };
    println!("listening on {}", emu.base_url());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
}
