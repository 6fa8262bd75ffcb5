//! Stand-alone Alibaba Cloud emulator (the one the integration tests use), for manual runs and
//! scripts: `cargo run --example emulator -- --listen 127.0.0.1:9100 --seed seed.json
//! --challtestsrv http://127.0.0.1:8055`. Prints `listening on http://…` once bound; the state is
//! at `GET /__emulator/state`, faults via `POST /__emulator/fail_next`.

#[path = "../tests/support/emulator.rs"]
mod emulator;

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
