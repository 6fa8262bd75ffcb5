//! `make bench`: alicert against lego and certbot on the same local ACME workloads, alicert's
//! scale (many certificates in one invocation) and its cold start (exec of `bootstrap` → port open).
//!
//! Pebble (PEBBLE_VA_NOSLEEP=1) + pebble-challtestsrv + the Alibaba Cloud emulator run on loopback
//! (tests/support). Every client gets one unmeasured warm-up run (account registration), then
//! `--runs` measured runs per workload. Wall time, CPU time (user+sys of the client and every
//! process it waited for: lego's and certbot's hook scripts) and peak RSS come from wait4(2).
//! alicert also reads and deploys to a CDN target through the emulator; lego and certbot only issue.
//! The fan-out run (examples/bench/fanout.rs): `--fanout` certificates through `[fanout]`, each
//! group run by its own `alicert serve` against Pebble.
//! Prints markdown tables and writes them to `--out`.
#[path = "bench/fanout.rs"]
mod fanout;
#[path = "bench/latency.rs"]
mod latency;
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::Value;
use support::emulator::Seed;
use support::rig::Rig;

#[derive(Parser)]
#[command(about = "alicert vs lego vs certbot on Pebble; alicert scale and cold start")]
struct Args {
    /// Measured runs per client and workload (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The alicert binary to measure (the release build).
    #[arg(long)]
    alicert: PathBuf,
    /// The lego binary; empty skips lego.
    #[arg(long, default_value = "lego")]
    lego: String,
    /// The certbot binary; empty skips certbot.
    #[arg(long, default_value = "target/bench/certbot-venv/bin/certbot")]
    certbot: String,
    /// DNS-01 hook for lego and certbot (puts TXT records into challtestsrv).
    #[arg(long, default_value = "scripts/challtestsrv-hook.sh")]
    hook: PathBuf,
    /// Certificates in the scale run (each needs an order).
    #[arg(long, default_value_t = 50)]
    scale: usize,
    /// `max_concurrent_orders` of the reference scale runs (1 = sequential), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,50")]
    compare_concurrency: Vec<usize>,
    /// Cold starts measured.
    #[arg(long, default_value_t = 20)]
    cold_runs: usize,
    /// The FC entry script copied beside the binary for the cold start.
    #[arg(long, default_value = "bootstrap")]
    bootstrap: PathBuf,
    /// The deployment zip, for its size (skipped when absent).
    #[arg(long, default_value = "dist/alicert-fc.zip")]
    zip: PathBuf,
    /// Markdown results file.
    #[arg(long, default_value = "target/bench/results.md")]
    out: PathBuf,
    /// Latency of every Alibaba Cloud call in the latency run (0 skips that run).
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Only the latency run (no lego/certbot comparison, scale or cold start).
    #[arg(long)]
    latency_only: bool,
    /// Certificates in the fan-out run (0 skips it): one timer event, `[fanout] enabled`.
    #[arg(long, default_value_t = 1000)]
    fanout: usize,
    /// `[fanout] group_size` of the fan-out run.
    #[arg(long, default_value_t = 20)]
    fanout_group_size: usize,
    /// Groups running at once in the fan-out run (FC instances, one `alicert serve` each).
    #[arg(long, default_value_t = 5)]
    fanout_instances: usize,
    /// Latency of every Alibaba Cloud call in the fan-out run.
    #[arg(long, default_value_t = 0)]
    fanout_latency_ms: u64,
    /// Only the fan-out run (with `--lego "" --certbot ""` it needs neither).
    #[arg(long)]
    fanout_only: bool,
}

/// One measured process run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: f64,
    /// CPU of the emulator, Pebble and challtestsrv during the run.
    servers_cpu: f64,
    rss_kb: u64,
    ok: bool,
}

/// Runs `cmd` (built by [`base_command`]) to completion under GNU time and measures it; output
/// goes to `<logs>/<tag>.{out,err}`.
///
/// Wall time is taken here and CPU time from wait4(2) of the `time` process (the client, its hooks,
/// and `time`'s own ~1 ms). Peak RSS is `time`'s `%M`: wait4's own ru_maxrss of a child spawned
/// from this process is not usable, because Linux carries the spawner's RSS high-water mark over
/// the exec (posix_spawn/vfork shares our memory until then), so every client would report at
/// least this harness's RSS. `time` forks a small copy of itself instead.
fn measure(inner: Command, logs: &Path, tag: &str) -> (Sample, String, String) {
    let out_path = logs.join(format!("{tag}.out"));
    let err_path = logs.join(format!("{tag}.err"));
    let rss_path = logs.join(format!("{tag}.maxrss"));
    let mut cmd = Command::new("/usr/bin/time");
    cmd.env_clear()
        .envs(
            inner
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_os_string(), v?.to_os_string()))),
        )
        .args(["-f", "%M", "-o"])
        .arg(&rss_path)
        .arg(inner.get_program())
        .args(inner.get_args());
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create .out"))
        .stderr(File::create(&err_path).expect("create .err"));
    let servers_before = servers_cpu();
    let started = Instant::now();
    // Reaped below by wait4(2), which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("bench: cannot run {cmd:?}: {e}"));
    let mut status: libc::c_int = 0;
    // SAFETY: plain syscall on our own child's pid with valid out-pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    assert!(rc > 0, "wait4 failed: {}", std::io::Error::last_os_error());
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let sample = Sample {
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        servers_cpu: servers_cpu() - servers_before,
        rss_kb: std::fs::read_to_string(&rss_path)
            .ok()
            .and_then(|t| t.lines().last()?.trim().parse().ok())
            .unwrap_or(0),
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (sample, read(&out_path), read(&err_path))
}

/// CPU seconds used so far by this process (the emulator runs in it) and its long-running
/// children (Pebble, pebble-challtestsrv): the server side of every measured run.
fn servers_cpu() -> f64 {
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let stat_cpu = |pid: &str| -> f64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (num(11) + num(12)) / tick
    };
    let mut total = stat_cpu("self");
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in children.split_whitespace() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.starts_with("pebble") {
                total += stat_cpu(pid);
            }
        }
    }
    total
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median wall, CPU and peak RSS of some runs, and how many succeeded.
struct Summary {
    wall: f64,
    cpu: f64,
    servers_cpu: f64,
    rss_mb: f64,
    ok: usize,
    runs: usize,
}

fn summarize(samples: &[Sample]) -> Summary {
    Summary {
        wall: median(samples.iter().map(|s| s.wall).collect()),
        cpu: median(samples.iter().map(|s| s.cpu).collect()),
        servers_cpu: median(samples.iter().map(|s| s.servers_cpu).collect()),
        rss_mb: median(samples.iter().map(|s| s.rss_kb as f64 / 1024.0).collect()),
        ok: samples.iter().filter(|s| s.ok).count(),
        runs: samples.len(),
    }
}

struct Workload {
    label: String,
    /// alicert certificate names in the rig config.
    names: Vec<String>,
    /// What lego and certbot order.
    domains: Vec<String>,
}

impl Workload {
    fn new(label: &str, names: &[&str], domains: &[&str]) -> Arc<Workload> {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Arc::new(Workload {
            label: label.into(),
            names: own(names),
            domains: own(domains),
        })
    }
}

/// A client under test: builds the command of one issuance of a workload.
trait Client: Send + Sync {
    fn label(&self) -> String;
    fn command(&self, workload: &Workload) -> Command;
    /// Whether a run's output shows a successful issuance (besides exit 0).
    fn succeeded(&self, _workload: &Workload, _stdout: &str) -> bool {
        true
    }
}

/// `alicert invoke {"force": true, "certificates": [...]}`: every listed certificate is ordered
/// and deployed to its CDN target.
struct Alicert {
    bin: PathBuf,
    env: Vec<(String, String)>,
}

impl Client for Alicert {
    fn label(&self) -> String {
        "alicert (issue + deploy)".into()
    }
    fn command(&self, workload: &Workload) -> Command {
        let mut cmd = base_command(&self.bin, &self.env);
        cmd.arg("invoke")
            .arg(serde_json::json!({"force": true, "certificates": workload.names}).to_string());
        cmd
    }
    fn succeeded(&self, workload: &Workload, stdout: &str) -> bool {
        let v: Value = serde_json::from_str(stdout).unwrap_or(Value::Null);
        v["ok"] == true
            && v["certificates"].as_array().is_some_and(|c| {
                c.len() == workload.names.len()
                    && c.iter()
                        .all(|c| c["status"] == "renewed" || c["status"] == "issued")
            })
    }
}

struct Lego {
    bin: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    directory: String,
    dns: SocketAddr,
}

impl Client for Lego {
    fn label(&self) -> String {
        format!("lego {}", debian_version("lego").unwrap_or_default())
            .trim()
            .to_string()
    }
    fn command(&self, workload: &Workload) -> Command {
        let mut cmd = base_command(Path::new(&self.bin), &self.env);
        cmd.args(["--accept-tos", "--email", "bench@example.com", "--server"])
            .arg(&self.directory)
            .arg("--path")
            .arg(&self.dir)
            .args(["--key-type", "ec256", "--dns", "exec", "--dns.disable-cp"])
            .arg("--dns.resolvers")
            .arg(self.dns.to_string());
        for d in &workload.domains {
            cmd.args(["--domains", d]);
        }
        cmd.arg("run");
        cmd
    }
}

struct Certbot {
    bin: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    directory: String,
    hook: PathBuf,
}

impl Client for Certbot {
    fn label(&self) -> String {
        let out = Command::new(&self.bin).arg("--version").output();
        out.ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "certbot".into())
    }
    fn command(&self, workload: &Workload) -> Command {
        let mut cmd = base_command(Path::new(&self.bin), &self.env);
        let hook = |op: &str| format!("{} {op}", self.hook.display());
        cmd.args(["certonly", "--non-interactive", "--agree-tos"])
            .args(["-m", "bench@example.com", "--server", &self.directory])
            .arg("--config-dir")
            .arg(self.dir.join("config"))
            .arg("--work-dir")
            .arg(self.dir.join("work"))
            .arg("--logs-dir")
            .arg(self.dir.join("logs"))
            .args(["--manual", "--preferred-challenges", "dns"])
            .args(["--manual-auth-hook", &hook("present")])
            .args(["--manual-cleanup-hook", &hook("cleanup")])
            .args(["--key-type", "ecdsa", "--force-renewal"])
            .args(["--cert-name", &workload.names[0]]);
        for d in &workload.domains {
            cmd.args(["-d", d]);
        }
        cmd
    }
}

/// A clean environment: PATH plus `env`.
fn base_command(bin: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn debian_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs (one warm-up and) `runs` measured issuances of `workload` by `client`.
/// A little over the emulator's one-second quota window (crates/aliyun-emulator/src/quota.rs).
const QUOTA_WINDOW: std::time::Duration = std::time::Duration::from_millis(1100);

async fn bench_client(
    client: Arc<dyn Client>,
    workload: Arc<Workload>,
    runs: usize,
    logs: &Path,
    warm_up: bool,
) -> Summary {
    let label = client.label();
    let short = label
        .split_whitespace()
        .next()
        .unwrap_or("client")
        .to_string();
    let mut samples = Vec::new();
    for i in 0..runs + usize::from(warm_up) {
        // Each run starts with the account's one-second rate-quota windows empty, as a timer's
        // runs do (the emulator counts per account, so a run right after the last one would
        // find CDN's 30 deploys per second partly spent by it).
        tokio::time::sleep(QUOTA_WINDOW).await;
        let measured = !warm_up || i > 0;
        let tag = format!(
            "{short}-{}-{i}",
            workload.label.replace([' ', ':', '+'], "_")
        );
        let (c, w, dir, t) = (
            client.clone(),
            workload.clone(),
            logs.to_path_buf(),
            tag.clone(),
        );
        let (mut sample, stdout, _stderr) =
            tokio::task::spawn_blocking(move || measure(c.command(&w), &dir, &t))
                .await
                .expect("join");
        sample.ok = sample.ok && client.succeeded(&workload, &stdout);
        eprintln!(
            "bench: {label:<28} {:<16} run {i}{} {:>7.3}s cpu {:>6.3}s (servers {:>6.3}s) rss {:>6.1} MB {}",
            workload.label,
            if measured { " " } else { "w" },
            sample.wall,
            sample.cpu,
            sample.servers_cpu,
            sample.rss_kb as f64 / 1024.0,
            if sample.ok { "ok" } else { "FAILED" }
        );
        if !sample.ok {
            eprintln!("bench: see {}", logs.join(format!("{tag}.err")).display());
        }
        if measured {
            samples.push(sample);
        }
    }
    summarize(&samples)
}

/// A config with `[acme] max_concurrent_orders = n` (the rig writes the `[acme]` table first).
fn config_with_concurrency(rig: &Rig, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(&rig.config_path).expect("read rig config");
    let text = text.replacen(
        "[acme]\n",
        &format!("[acme]\nmax_concurrent_orders = {n}\n"),
        1,
    );
    let path = rig.dir.path().join(format!("alicert-concurrency-{n}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

struct ColdStart {
    to_port_ms: f64,
    status_rtt_ms: f64,
    exec_to_status_ms: f64,
    serve_rss_mb: f64,
    ok: usize,
    runs: usize,
}

/// Exec `bootstrap` (which execs `alicert serve`) until the port accepts, then one `status` invoke.
fn cold_start_once(dir: &Path, env: &[(String, String)], i: usize) -> Option<(f64, f64, f64, f64)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut cmd = base_command(&dir.join("bootstrap"), env);
    cmd.env("FC_SERVER_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn bootstrap");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let to_port = loop {
        if TcpStream::connect(addr).is_ok() {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let body = r#"{"action":"status","certificates":["one"]}"#;
    let sent = Instant::now();
    let response = (|| -> std::io::Result<String> {
        let mut s = TcpStream::connect(addr)?;
        write!(
            s,
            "POST /invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             x-fc-request-id: cold-{i}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text)
    })();
    let rtt = sent.elapsed();
    let exec_to_status = started.elapsed();
    let rss_mb = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN);
    let _ = child.kill();
    let _ = child.wait();
    let text = response.ok()?;
    let ok = text.starts_with("HTTP/1.1 200")
        && text.contains("\"ok\":true")
        && !text.contains("x-fc-status");
    ok.then_some((
        to_port.as_secs_f64() * 1e3,
        rtt.as_secs_f64() * 1e3,
        exec_to_status.as_secs_f64() * 1e3,
        rss_mb,
    ))
}

async fn cold_start(rig: &Rig, args: &Args) -> ColdStart {
    let dir = rig.dir.path().join("fc-code");
    std::fs::create_dir_all(&dir).expect("mkdir fc-code");
    std::fs::copy(&args.bootstrap, dir.join("bootstrap")).expect("copy bootstrap");
    std::fs::copy(&args.alicert, dir.join("alicert")).expect("copy alicert");
    let env = rig.env();
    let runs = args.cold_runs;
    let results = tokio::task::spawn_blocking(move || {
        (0..runs)
            .map(|i| cold_start_once(&dir, &env, i))
            .collect::<Vec<_>>()
    })
    .await
    .expect("join");
    let ok: Vec<_> = results.iter().flatten().copied().collect();
    ColdStart {
        to_port_ms: median(ok.iter().map(|r| r.0).collect()),
        status_rtt_ms: median(ok.iter().map(|r| r.1).collect()),
        exec_to_status_ms: median(ok.iter().map(|r| r.2).collect()),
        serve_rss_mb: median(ok.iter().map(|r| r.3).collect()),
        ok: ok.len(),
        runs,
    }
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let alicert_bin = std::fs::canonicalize(&args.alicert)
        .unwrap_or_else(|e| panic!("bench: alicert binary {}: {e}", args.alicert.display()));
    let hook = std::fs::canonicalize(&args.hook)
        .unwrap_or_else(|e| panic!("bench: hook {}: {e}", args.hook.display()));

    let scale_names: Vec<String> = (0..args.scale).map(|i| format!("s{i:03}")).collect();
    let mut seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com")
        .cdn_domain("img.example.com");
    let mut config = String::from(
        r#"
[[certificate]]
name = "one"
domains = ["www.example.com"]
targets = [{ kind = "cdn", domain = "www.example.com" }]

[[certificate]]
name = "wild"
domains = ["example.com", "*.example.com"]
targets = [{ kind = "cdn", domain = "img.example.com" }]
"#,
    );
    for name in &scale_names {
        let domain = format!("{name}.scale.example.com");
        seed = seed.cdn_domain(&domain);
        let _ = write!(
            config,
            "\n[[certificate]]\nname = \"{name}\"\ndomains = [\"{domain}\"]\ntargets = [{{ kind = \"cdn\", domain = \"{domain}\" }}]\n"
        );
    }
    eprintln!("bench: starting Pebble (PEBBLE_VA_NOSLEEP=1), pebble-challtestsrv and the emulator");
    let rig = Rig::start(seed, "oss://alicert-state/acme/account.pem", &config).await;
    // alicert reaches Pebble 2.4 through a front that serialises the requests it can hang on
    // under concurrent orders (tests/support/serial_front.rs); lego and certbot, one order at
    // a time, talk to Pebble directly.
    let front = support::serial_front::start(&rig.pebble).await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    let logs = args.out.parent().unwrap_or(Path::new(".")).join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).expect("mkdir logs");
    eprintln!("bench: logs in {}", logs.display());

    let ca = rig.pebble.ca_bundle().display().to_string();
    let cts = rig.pebble.challtestsrv_url();
    let directory = rig.pebble.directory_url().to_string();
    let alicert = |env: Vec<(String, String)>| -> Arc<dyn Client> {
        Arc::new(Alicert {
            bin: alicert_bin.clone(),
            env,
        })
    };
    let mut clients = vec![alicert(rig.env())];
    if !args.lego.is_empty() {
        let dir = rig.dir.path().join("lego");
        clients.push(Arc::new(Lego {
            bin: args.lego.clone(),
            env: vec![
                ("EXEC_PATH".into(), hook.display().to_string()),
                ("EXEC_POLLING_INTERVAL".into(), "1".into()),
                ("EXEC_PROPAGATION_TIMEOUT".into(), "10".into()),
                // Between the two challenges of one name (apex + wildcard); default 60 s.
                ("EXEC_SEQUENCE_INTERVAL".into(), "0".into()),
                ("LEGO_CA_CERTIFICATES".into(), ca.clone()),
                ("BENCH_CHALLTESTSRV".into(), cts.clone()),
                ("HOME".into(), dir.display().to_string()),
            ],
            dir,
            directory: directory.clone(),
            dns: rig.pebble.dns_addr(),
        }));
    }
    if !args.certbot.is_empty() {
        let dir = rig.dir.path().join("certbot");
        clients.push(Arc::new(Certbot {
            bin: args.certbot.clone(),
            env: vec![
                ("REQUESTS_CA_BUNDLE".into(), ca.clone()),
                ("BENCH_CHALLTESTSRV".into(), cts.clone()),
                ("HOME".into(), dir.display().to_string()),
            ],
            dir,
            directory: directory.clone(),
            hook: hook.clone(),
        }));
    }

    // 1. Clients side by side.
    let workloads = [
        Workload::new("one name", &["one"], &["www.example.com"]),
        Workload::new(
            "apex + wildcard",
            &["wild"],
            &["example.com", "*.example.com"],
        ),
    ];
    if args.fanout_only {
        drop(rig);
        let mut md = String::new();
        let mut targets = Vec::new();
        let ok = fanout_report(&mut md, &args, &alicert_bin, &logs, &mut targets).await;
        for (t, ok) in &targets {
            let _ = writeln!(md, "- {}: {t}", pass(*ok));
        }
        finish(&args, &md, ok);
        return;
    }
    let names: Vec<&str> = scale_names.iter().map(String::as_str).collect();
    let scale_many = Workload::new(&format!("scale: {} certs", names.len()), &names, &[]);
    if args.latency_only {
        // The account is registered by an unmeasured run first, as in the comparison.
        bench_client(alicert(rig.env()), workloads[0].clone(), 0, &logs, true).await;
        let mut md = String::new();
        let rows = latency_rows(
            &args,
            &rig,
            alicert(rig.env()),
            &workloads,
            &scale_many,
            &logs,
        )
        .await;
        let mut targets = Vec::new();
        latency_report(&mut md, &args, &rows, &mut targets);
        for (t, ok) in &targets {
            let _ = writeln!(md, "- {}: {t}", pass(*ok));
        }
        println!("{md}");
        return;
    }
    let mut rows: Vec<(usize, usize, Summary)> = Vec::new();
    for (w, workload) in workloads.iter().enumerate() {
        for (c, client) in clients.iter().enumerate() {
            let s = bench_client(client.clone(), workload.clone(), args.runs, &logs, w == 0).await;
            rows.push((w, c, s));
        }
    }

    // 2. Scale: one certificate vs `scale` certificates in one invocation, at the default
    // concurrency and at the --compare-concurrency values for reference.
    let scale_one = Workload::new("scale: 1 cert", &names[..1], &[]);
    let one = bench_client(alicert(rig.env()), scale_one, args.runs, &logs, false).await;
    let many = bench_client(
        alicert(rig.env()),
        scale_many.clone(),
        args.runs,
        &logs,
        false,
    )
    .await;
    let compare_runs = args.runs.min(3);
    let mut compared = Vec::new();
    for &n in &args.compare_concurrency {
        let mut env = rig.env();
        env.retain(|(k, _)| k != "ALICERT_CONFIG");
        env.push((
            "ALICERT_CONFIG".into(),
            config_with_concurrency(&rig, n).display().to_string(),
        ));
        let s = bench_client(alicert(env), scale_many.clone(), compare_runs, &logs, false).await;
        compared.push((n, s));
    }

    // 3. Cold start.
    let cold = cold_start(&rig, &args).await;

    // 4. Latency: the same workloads with every Alibaba Cloud call slowed to a region's latency.
    let latency = latency_rows(
        &args,
        &rig,
        alicert(rig.env()),
        &workloads,
        &scale_many,
        &logs,
    )
    .await;

    // Report.
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Median of {} runs each, after one unmeasured warm-up run per client (account registration). \
         Pebble with `PEBBLE_VA_NOSLEEP=1`, pebble-challtestsrv and the Alibaba Cloud emulator on loopback, \
         {} cores. Wall time around the process; CPU time (user+sys, the client plus the hook processes it \
         ran) from wait4(2); peak RSS from GNU time (`%M`).\n",
        args.runs,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let _ = writeln!(
        md,
        "| workload | client | wall | CPU (user+sys) | peak RSS | ok runs |"
    );
    let _ = writeln!(md, "| --- | --- | ---: | ---: | ---: | ---: |");
    for (w, c, s) in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.3} s | {:.3} s | {:.1} MB | {}/{} |",
            workloads[*w].label,
            clients[*c].label(),
            s.wall,
            s.cpu,
            s.rss_mb,
            s.ok,
            s.runs
        );
    }
    let mut targets: Vec<(String, bool)> = Vec::new();
    let mut all_ok = rows.iter().all(|(_, _, s)| s.ok == s.runs);
    if clients.len() > 1 {
        let _ = writeln!(
            md,
            "\n| workload | ratio alicert / | wall | CPU | peak RSS |\n| --- | --- | ---: | ---: | ---: |"
        );
        for (w, workload) in workloads.iter().enumerate() {
            let find = |c: usize| rows.iter().find(|r| r.0 == w && r.1 == c).map(|r| &r.2);
            let a = find(0).expect("alicert row");
            for (c, client) in clients.iter().enumerate().skip(1) {
                let o = find(c).expect("row");
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.3}× | {:.3}× | {:.3}× |",
                    workload.label,
                    client.label(),
                    a.wall / o.wall,
                    a.cpu / o.cpu,
                    a.rss_mb / o.rss_mb
                );
                if w == 1 {
                    let (limit, name) = if client.label().starts_with("lego") {
                        (0.1, "lego")
                    } else {
                        (0.3, "certbot")
                    };
                    targets.push((
                        format!(
                            "apex + wildcard wall ≤ {limit}× {name}'s: {:.3}×",
                            a.wall / o.wall
                        ),
                        a.wall / o.wall <= limit,
                    ));
                }
            }
        }
    }
    let max_rss = rows
        .iter()
        .filter(|r| r.1 == 0)
        .map(|r| r.2.rss_mb)
        .chain([one.rss_mb, many.rss_mb])
        .fold(0.0, f64::max);
    targets.push((
        format!("alicert peak RSS ≤ 12 MB: {max_rss:.1} MB (largest median, incl. the scale run)"),
        max_rss <= 12.0,
    ));

    let _ = writeln!(
        md,
        "\nScale (alicert, each certificate needs an order and a CDN deploy; median of {} runs, {} for the reference concurrencies):\n",
        args.runs, compare_runs
    );
    let _ = writeln!(
        md,
        "| run | wall | CPU (user+sys) | CPU of Pebble + challtestsrv + emulator | peak RSS | ok runs |"
    );
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut scale_rows = vec![
        ("1 certificate".to_string(), &one),
        (
            format!(
                "{} certificates, `max_concurrent_orders` = {} (default)",
                args.scale,
                alicert::config::AcmeConfig::default().max_concurrent_orders
            ),
            &many,
        ),
    ];
    for (n, s) in &compared {
        scale_rows.push((
            format!("{} certificates, `max_concurrent_orders` = {n}", args.scale),
            s,
        ));
    }
    for (label, s) in scale_rows {
        let _ = writeln!(
            md,
            "| {label} | {:.3} s | {:.3} s | {:.3} s | {:.1} MB | {}/{} |",
            s.wall, s.cpu, s.servers_cpu, s.rss_mb, s.ok, s.runs
        );
    }
    all_ok &=
        one.ok == one.runs && many.ok == many.runs && compared.iter().all(|(_, s)| s.ok == s.runs);
    targets.push((
        format!(
            "{} certificates ≤ 3× the wall time of one: {:.2}×",
            args.scale,
            many.wall / one.wall
        ),
        many.wall / one.wall <= 3.0,
    ));

    let _ = writeln!(
        md,
        "\nCold start (exec of `bootstrap` → `alicert serve`; median of {} runs):\n",
        cold.runs
    );
    let _ = writeln!(md, "| measure | value |\n| --- | ---: |");
    let _ = writeln!(
        md,
        "| exec → port accepts connections | {:.1} ms |",
        cold.to_port_ms
    );
    let _ = writeln!(
        md,
        "| first `POST /invoke` `{{\"action\":\"status\"}}` round trip (one CDN target read from the emulator) | {:.1} ms |",
        cold.status_rtt_ms
    );
    let _ = writeln!(
        md,
        "| exec → first status reply | {:.1} ms |",
        cold.exec_to_status_ms
    );
    let _ = writeln!(
        md,
        "| peak RSS of `serve` after it | {:.1} MB |",
        cold.serve_rss_mb
    );
    let _ = writeln!(md, "| ok runs | {}/{} |", cold.ok, cold.runs);
    all_ok &= cold.ok == cold.runs;
    targets.push((
        format!("cold start ≤ 20 ms to port: {:.1} ms", cold.to_port_ms),
        cold.to_port_ms <= 20.0,
    ));

    latency_report(&mut md, &args, &latency, &mut targets);
    all_ok &= latency
        .iter()
        .all(|r| r.zero.ok + r.slow.ok == r.zero.runs + r.slow.runs);

    // 5. Fan-out: its own rig, so that its thousand certificates do not slow the runs above.
    all_ok &= fanout_report(&mut md, &args, &alicert_bin, &logs, &mut targets).await;

    let size = |p: &Path| std::fs::metadata(p).ok().map(|m| m.len() as f64 / 1e6);
    let _ = writeln!(md, "\nSizes:\n\n| file | size |\n| --- | ---: |");
    if let Some(s) = size(&alicert_bin) {
        let _ = writeln!(md, "| `{}` | {s:.2} MB |", args.alicert.display());
    }
    if let Some(s) = size(&args.zip) {
        let _ = writeln!(md, "| `{}` | {s:.2} MB |", args.zip.display());
    }

    let _ = writeln!(md, "\nTargets:\n");
    for (t, ok) in &targets {
        let _ = writeln!(md, "- {}: {t}", pass(*ok));
    }
    drop(rig);
    finish(&args, &md, all_ok);
}

/// Prints the tables, writes them to `--out`, and exits 1 if a run failed.
fn finish(args: &Args, md: &str, all_ok: bool) {
    println!("{md}");
    if let Some(dir) = args.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&args.out, md).expect("write results");
    eprintln!("bench: results written to {}", args.out.display());
    if !all_ok {
        eprintln!("bench: some runs FAILED (see the logs above)");
        std::process::exit(1);
    }
}

/// The fan-out run and its tables (none at `--fanout 0`); whether it succeeded.
async fn fanout_report(
    md: &mut String,
    args: &Args,
    bin: &Path,
    logs: &Path,
    targets: &mut Vec<(String, bool)>,
) -> bool {
    if args.fanout == 0 {
        return true;
    }
    let opts = fanout::Options {
        certificates: args.fanout,
        group_size: args.fanout_group_size,
        instances: args.fanout_instances,
        latency_ms: args.fanout_latency_ms,
    };
    let report = fanout::run(bin, &opts, logs).await;
    fanout::table(md, &report, targets);
    fanout::groups_table(md, &report);
    report.ok()
}

/// The latency run's rows: both comparison workloads and the scale run (none at `--latency-ms 0`).
async fn latency_rows(
    args: &Args,
    rig: &Rig,
    client: Arc<dyn Client>,
    workloads: &[Arc<Workload>],
    scale: &Arc<Workload>,
    logs: &Path,
) -> Vec<latency::Row> {
    if args.latency_ms == 0 {
        return Vec::new();
    }
    let mut all = workloads.to_vec();
    all.push(scale.clone());
    latency::run(rig, client, &all, args.runs, args.latency_ms, logs).await
}

/// The latency table and its target: apex + wildcard at most 8 calls on the critical path.
fn latency_report(
    md: &mut String,
    args: &Args,
    rows: &[latency::Row],
    targets: &mut Vec<(String, bool)>,
) {
    if rows.is_empty() {
        return;
    }
    latency::table(md, rows, args.latency_ms, args.runs);
    if let Some(wild) = rows.iter().find(|r| r.label == "apex + wildcard") {
        let critical = wild.critical(args.latency_ms);
        targets.push((
            format!(
                "apex + wildcard ≤ 8 calls on the critical path at {} ms per call: {critical:.1}",
                args.latency_ms
            ),
            critical <= 8.0,
        ));
    }
}
