//! The fan-out run of `make bench` (issue 17): N certificates with `[fanout] enabled`, one
//! timer event, and every group really renewed by alicert against Pebble.
//!
//! The harness plays FC's part of an asynchronous invocation. The emulator accepts each
//! InvokeFunction (V3-signed, checked), answers 202 and forwards the body to this harness's
//! `/invoke` (`Emulator::set_fc_forward`); the harness queues it, as FC queues async
//! invocations, and `--fanout-instances` workers take them one at a time. Each group runs on its
//! own instance: a fresh `alicert serve` process (FC's custom runtime contract: `FC_SERVER_PORT`,
//! `POST /invoke` with `x-fc-request-id` and `x-fc-function-timeout`), which handles exactly that
//! one invocation and is then stopped. So at most `instances` groups run at once, each in its own
//! process with its own `max_concurrent_orders` — what FC does with `InstanceConcurrency: 1` and a
//! concurrency limit of `instances` — rather than all groups inside one process.
//!
//! Every certificate's outcome is then read from the emulator's state (the CDN domain serves a
//! Pebble certificate for exactly that name), not from the logs.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::{mpsc, Mutex};

use super::base_command;
use super::support::emulator::Seed;
use super::support::rig::{free_port, Rig};

/// The function timeout of template.yml (`Timeout: 600`) and s.yaml (`timeout: 600`), sent to
/// each instance as `x-fc-function-timeout`, and the limit every group must finish within.
pub const FC_TIMEOUT_SECS: u64 = 600;
/// The function the timer run invokes (`[fanout] function`).
const FUNCTION: &str = "alicert";
const ACCOUNT_KEY: &str = "oss://alicert-state/acme/account.pem";
/// A daily FC timer trigger's event (as in tests/fanout.rs).
const TIMER_EVENT: &str = r#"{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"daily","payload":"{\"action\":\"renew\"}"}"#;

pub struct Options {
    pub certificates: usize,
    pub group_size: usize,
    /// Groups running at once (FC instances).
    pub instances: usize,
    /// Latency of every Alibaba Cloud call in the emulator.
    pub latency_ms: u64,
}

/// An async invocation the emulator handed over, waiting for an instance.
struct Queued {
    request_id: String,
    body: String,
    queued: Instant,
}

/// One group's invocation, as its instance ran it.
pub struct GroupRun {
    request_id: String,
    certificates: Vec<String>,
    /// Queued → an instance took it.
    pub wait: f64,
    /// Exec of `alicert serve` → its port accepts.
    pub start_ms: f64,
    /// `POST /invoke` → reply: the invocation's run time, which FC's timeout limits.
    pub wall: f64,
    /// The instance's peak RSS (VmHWM), MB.
    pub rss_mb: f64,
    /// The instance's CPU time (user + sys), s.
    pub cpu: f64,
    /// HTTP 200 without `x-fc-status` and `"ok":true`.
    pub ok: bool,
    pub issued: usize,
    pub failed: usize,
    pub rate_limited: usize,
    ended: Instant,
}

pub struct Report {
    pub certificates: usize,
    pub group_size: usize,
    pub instances: usize,
    pub latency_ms: u64,
    pub groups_planned: usize,
    pub groups_dispatched: usize,
    /// The timer invocation (exec → exit of `alicert invoke`).
    pub dispatch: f64,
    /// Timer exec → the last group's reply.
    pub total: f64,
    /// CPU of Pebble, challtestsrv and this process (the emulator and the FC queue) meanwhile.
    pub servers_cpu: f64,
    /// In group order (1-based group = index + 1); None: no reply before the deadline.
    pub groups: Vec<Option<GroupRun>>,
    /// Certificates the emulator shows deployed: a Pebble certificate for that name, valid now.
    pub deployed: usize,
    pub txt_left: usize,
    /// InvokeFunction calls the emulator took (one per group: no group fans out again).
    pub invocations: usize,
    pub calls: usize,
    pub calls_by_product: BTreeMap<String, usize>,
    pub calls_by_action: BTreeMap<String, usize>,
    /// Calls answered with an error code, by action and code.
    pub call_errors: BTreeMap<String, usize>,
}

impl Report {
    fn ran(&self) -> impl Iterator<Item = &GroupRun> {
        self.groups.iter().flatten()
    }
    pub fn ok(&self) -> bool {
        self.groups_dispatched == self.groups_planned
            && self.groups.iter().all(|g| g.as_ref().is_some_and(|g| g.ok))
            && self.deployed == self.certificates
            && self.txt_left == 0
            && self.invocations == self.groups_planned
            && self.slowest() <= FC_TIMEOUT_SECS as f64
    }
    pub fn slowest(&self) -> f64 {
        self.ran().map(|g| g.wall).fold(0.0, f64::max)
    }
    fn rate_limited(&self) -> usize {
        self.ran().map(|g| g.rate_limited).sum()
    }
}

/// The median of the measured values (a NaN: an instance whose peak RSS could not be read).
fn median(v: Vec<f64>) -> f64 {
    super::median(v.into_iter().filter(|x| !x.is_nan()).collect())
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i:04}")).collect()
}

fn domain(name: &str) -> String {
    format!("{name}.fanout.example.com")
}

/// The emulator's seed and the config body: `n` certificates, each on its own CDN domain.
fn seed_and_config(opts: &Options) -> (Seed, String) {
    let mut seed = Seed::default()
        .zone("example.com")
        .fc_function(FUNCTION)
        .cdn_domain("warm.example.com");
    let mut config = format!(
        "[fanout]\nenabled = true\ngroup_size = {}\nfunction = \"{FUNCTION}\"\n",
        opts.group_size
    );
    for name in names(opts.certificates) {
        let d = domain(&name);
        seed = seed.cdn_domain(&d);
        let _ = write!(
            config,
            "\n[[certificate]]\nname = \"{name}\"\ndomains = [\"{d}\"]\ntargets = [{{ kind = \"cdn\", domain = \"{d}\" }}]\n"
        );
    }
    (seed, config)
}

/// Registers the ACME account (stored in the emulator's OSS) with one certificate outside the
/// fan-out config, so the groups find it as a daily run would; not measured.
async fn warm_up(rig: &Rig, bin: &Path, logs: &Path) {
    let text = std::fs::read_to_string(&rig.config_path).expect("read rig config");
    let head = text.split("[fanout]\n").next().expect("config head");
    let path = rig.dir.path().join("alicert-warm.toml");
    let warm = "[[certificate]]\nname = \"warm\"\ndomains = [\"warm.example.com\"]\ntargets = [{ kind = \"cdn\", domain = \"warm.example.com\" }]\n";
    std::fs::write(&path, format!("{head}{warm}")).expect("write warm-up config");
    let mut cmd = base_command(bin, &rig.env());
    cmd.env("ALICERT_CONFIG", &path)
        .args(["invoke", r#"{"certificates":["warm"]}"#])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(logs.join("fanout-warm-up.err")).expect("log"));
    let status = tokio::task::spawn_blocking(move || cmd.status())
        .await
        .expect("join")
        .expect("run alicert");
    assert!(status.success(), "bench: fan-out warm-up failed");
}

/// FC's side of the async invocations: `POST /invoke` from the emulator is queued and answered
/// 202 at once. Returns the URL for `set_fc_forward`.
async fn start_queue(tx: mpsc::UnboundedSender<Queued>) -> String {
    async fn accept(
        axum::extract::State(tx): axum::extract::State<mpsc::UnboundedSender<Queued>>,
        headers: HeaderMap,
        body: String,
    ) -> StatusCode {
        let request_id = headers
            .get("x-fc-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let queued = Instant::now();
        let _ = tx.send(Queued {
            request_id,
            body,
            queued,
        });
        StatusCode::ACCEPTED
    }
    let app = axum::Router::new()
        .route("/invoke", axum::routing::post(accept))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the FC queue");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// What every instance runs with.
struct Instance {
    bin: PathBuf,
    env: Vec<(String, String)>,
    logs: PathBuf,
    http: reqwest::Client,
}

/// One FC instance slot: takes queued invocations one at a time until the queue closes.
async fn instance_loop(
    ctx: Arc<Instance>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Queued>>>,
    done: mpsc::UnboundedSender<GroupRun>,
) {
    loop {
        let Some(job) = queue.lock().await.recv().await else {
            return;
        };
        if done.send(run_group(&ctx, job).await).is_err() {
            return;
        }
    }
}

/// Starts a fresh `alicert serve` for the invocation, sends it, and stops the process.
async fn run_group(ctx: &Instance, job: Queued) -> GroupRun {
    let wait = job.queued.elapsed().as_secs_f64();
    let certificates: Vec<String> = serde_json::from_str::<Value>(&job.body)
        .ok()
        .and_then(|v| serde_json::from_value(v["certificates"].clone()).ok())
        .unwrap_or_default();
    let port = instance_port();
    let tag = format!("fanout-{}", certificates.first().map_or("none", |s| s));
    let log = |ext: &str| File::create(ctx.logs.join(format!("{tag}.{ext}"))).expect("log file");
    let mut cmd = base_command(&ctx.bin, &ctx.env);
    cmd.arg("serve")
        .env("FC_SERVER_PORT", port.to_string())
        .env("FC_FUNCTION_NAME", FUNCTION)
        .stdin(Stdio::null())
        .stdout(log("out"))
        .stderr(log("err"));
    let exec = Instant::now();
    let mut child = cmd.spawn().expect("spawn alicert serve");
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            exec.elapsed() < Duration::from_secs(10),
            "bench: {tag}: serve did not listen"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The port is this instance's: its process is the one listening.
    assert!(
        matches!(child.try_wait(), Ok(None)),
        "bench: {tag}: serve exited (see its .err log)"
    );
    let start_ms = exec.elapsed().as_secs_f64() * 1e3;
    let sent = Instant::now();
    let reply = ctx
        .http
        .post(format!("http://127.0.0.1:{port}/invoke"))
        .header("x-fc-request-id", &job.request_id)
        .header("x-fc-function-timeout", FC_TIMEOUT_SECS.to_string())
        .header("x-fc-function-name", FUNCTION)
        .header("content-type", "application/json")
        .body(job.body)
        .timeout(Duration::from_secs(FC_TIMEOUT_SECS))
        .send()
        .await;
    let (ok_http, text) = match reply {
        Ok(r) => {
            let ok = r.status() == 200 && !r.headers().contains_key("x-fc-status");
            (ok, r.text().await.unwrap_or_default())
        }
        Err(e) => (false, format!("{e}")),
    };
    let wall = sent.elapsed().as_secs_f64();
    let rss_mb = peak_rss_mb(child.id());
    let cpu = cpu_secs(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::write(ctx.logs.join(format!("{tag}.result.json")), &text);
    let (ok, issued, failed, rate_limited) = tally(ok_http, &text);
    GroupRun {
        request_id: job.request_id,
        certificates,
        wait,
        start_ms,
        wall,
        rss_mb,
        cpu,
        ok,
        issued,
        failed,
        rate_limited,
        ended: Instant::now(),
    }
}

/// A free loopback port never handed to another instance of this run: two instances picking
/// the same free port at once would otherwise both talk to one `alicert serve`.
fn instance_port() -> u16 {
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = free_port();
        let mut taken = TAKEN.lock().expect("ports");
        if !taken.contains(&port) {
            taken.push(port);
            return port;
        }
    }
}

/// (ok, issued or renewed, failed, certificates a CA rate limit stopped) of one reply.
fn tally(ok_http: bool, text: &str) -> (bool, usize, usize, usize) {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let certs = v["certificates"].as_array().cloned().unwrap_or_default();
    let status = |c: &Value| c["status"].as_str().unwrap_or_default().to_string();
    let issued = certs
        .iter()
        .filter(|c| matches!(status(c).as_str(), "issued" | "renewed"))
        .count();
    let failed = certs.iter().filter(|c| status(c) == "failed").count();
    // A rate-limited order is `backing_off` (or failed) with the CA's `rateLimited` problem.
    let rate_limited = certs
        .iter()
        .filter(|c| status(c) == "backing_off" || c.to_string().contains("rateLimited"))
        .count();
    (ok_http && v["ok"] == true, issued, failed, rate_limited)
}

/// User + sys CPU seconds of a running process (/proc/<pid>/stat fields 14 and 15).
fn cpu_secs(pid: u32) -> f64 {
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (num(11) + num(12)) / tick
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The timer invocation: `alicert invoke <timer event>` with the fan-out config. Returns its
/// wall time and the groups it dispatched (request id → group number, certificates).
async fn timer(rig: &Rig, bin: &Path, logs: &Path) -> (f64, Vec<(String, Vec<String>)>, usize) {
    let mut cmd = base_command(bin, &rig.env());
    cmd.env("ALICERT_ENDPOINT_FC", rig.emulator.base_url())
        .env("FC_FUNCTION_NAME", FUNCTION)
        .args(["invoke", TIMER_EVENT])
        .stdin(Stdio::null())
        .stderr(File::create(logs.join("fanout-timer.err")).expect("log"));
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run alicert");
    let wall = started.elapsed().as_secs_f64();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let groups: Vec<(String, Vec<String>)> = v["fanout"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|g| {
            let id = g["invocation_request_id"].as_str().unwrap_or_default();
            let certs = serde_json::from_value(g["certificates"].clone()).unwrap_or_default();
            (id.to_string(), certs)
        })
        .collect();
    let dispatched = v["fanout"].as_array().map_or(0, |a| {
        a.iter().filter(|g| g["status"] == "dispatched").count()
    });
    (wall, groups, dispatched)
}

/// The whole fan-out run on its own rig (Pebble, challtestsrv, emulator).
pub async fn run(bin: &Path, opts: &Options, logs: &Path) -> Report {
    let (seed, config) = seed_and_config(opts);
    eprintln!(
        "bench: fan-out: {} certificates, groups of {}, {} instances, {} ms per call",
        opts.certificates, opts.group_size, opts.instances, opts.latency_ms
    );
    let rig = Rig::start(seed, ACCOUNT_KEY, &config).await;
    // alicert reaches Pebble 2.4 through a front that serialises the requests it can hang on
    // (tests/support/serial_front.rs).
    let front = crate::support::serial_front::start(&rig.pebble).await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    warm_up(&rig, bin, logs).await;
    let (tx, rx) = mpsc::unbounded_channel();
    rig.emulator.set_fc_forward(Some(start_queue(tx).await));
    let ctx = Arc::new(Instance {
        bin: bin.to_path_buf(),
        env: rig.env(),
        logs: logs.to_path_buf(),
        http: reqwest::Client::new(),
    });
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let queue = Arc::new(Mutex::new(rx));
    for _ in 0..opts.instances.max(1) {
        tokio::spawn(instance_loop(ctx.clone(), queue.clone(), done_tx.clone()));
    }
    let calls_before = rig.emulator.state().calls.len();
    rig.emulator.set_latency_ms(opts.latency_ms);
    let servers_before = super::servers_cpu();
    let started = Instant::now();
    let (dispatch, planned, dispatched) = timer(&rig, bin, logs).await;
    eprintln!("bench: fan-out: {dispatched} groups dispatched in {dispatch:.3} s");
    let mut runs: Vec<GroupRun> = Vec::new();
    let deadline = Duration::from_secs(FC_TIMEOUT_SECS + 60);
    while runs.len() < dispatched {
        match tokio::time::timeout_at((started + deadline).into(), done.recv()).await {
            Ok(Some(g)) => {
                eprintln!(
                    "bench: fan-out group {:<12} {:>7.3}s issued {:>3} failed {} {}",
                    g.certificates.first().map_or("?", |s| s),
                    g.wall,
                    g.issued,
                    g.failed,
                    if g.ok { "ok" } else { "FAILED" }
                );
                runs.push(g);
            }
            _ => break,
        }
    }
    rig.emulator.set_latency_ms(0);
    let _ = std::fs::write(logs.join("fanout-pebble.log"), rig.pebble.logs());
    let total = runs
        .iter()
        .map(|g| g.ended.duration_since(started).as_secs_f64())
        .fold(dispatch, f64::max);
    let times = (dispatch, total, super::servers_cpu() - servers_before);
    report(&rig, opts, planned, dispatched, runs, times, calls_before)
}

/// Pairs each run with its planned group and reads every certificate's outcome from the
/// emulator.
fn report(
    rig: &Rig,
    opts: &Options,
    planned: Vec<(String, Vec<String>)>,
    dispatched: usize,
    mut runs: Vec<GroupRun>,
    (dispatch, total, servers_cpu): (f64, f64, f64),
    calls_before: usize,
) -> Report {
    let groups = planned
        .iter()
        .map(|(id, certs)| {
            // Each group's certificates are its own, so they identify the run; the request id
            // must be the one the timer run got back from InvokeFunction.
            let i = runs.iter().position(|r| &r.certificates == certs)?;
            let run = runs.swap_remove(i);
            (&run.request_id == id).then_some(run)
        })
        .collect();
    let state = rig.emulator.state();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let deployed = names(opts.certificates)
        .iter()
        .filter(|n| {
            let d = domain(n);
            state.cdn_cert(&d).is_some_and(|c| {
                c.info.sans == [d.clone()]
                    && c.info.issuer_common_name.starts_with("Pebble")
                    && c.info.not_after_ms > now_ms
            })
        })
        .count();
    let calls = &state.calls[calls_before.min(state.calls.len())..];
    let mut calls_by_product = BTreeMap::new();
    let mut call_errors = BTreeMap::new();
    let mut calls_by_action = BTreeMap::new();
    for c in calls {
        *calls_by_action.entry(c.action.clone()).or_insert(0) += 1;
        *calls_by_product.entry(c.product.clone()).or_insert(0) += 1;
        if let Some(code) = &c.code {
            *call_errors
                .entry(format!("{} {code}", c.action))
                .or_insert(0) += 1;
        }
    }
    Report {
        certificates: opts.certificates,
        group_size: opts.group_size,
        instances: opts.instances,
        latency_ms: opts.latency_ms,
        groups_planned: opts.certificates.div_ceil(opts.group_size.max(1)),
        groups_dispatched: dispatched,
        dispatch,
        total,
        servers_cpu,
        groups,
        deployed,
        txt_left: state.txt_records().len(),
        invocations: state.fc_invocations.len(),
        calls: calls.len(),
        calls_by_product,
        calls_by_action,
        call_errors,
    }
}

/// The summary table (and the targets it meets).
pub fn table(md: &mut String, r: &Report, targets: &mut Vec<(String, bool)>) {
    let ran: Vec<&GroupRun> = r.ran().collect();
    let walls: Vec<f64> = ran.iter().map(|g| g.wall).collect();
    let issued: usize = ran.iter().map(|g| g.issued).sum();
    let failed: usize = ran.iter().map(|g| g.failed).sum();
    let _ = writeln!(
        md,
        "\nFan-out (one timer event; the emulator takes each InvokeFunction and hands it to the \
         bench's FC queue; {} instances, each group on a fresh `alicert serve` process that runs \
         only that invocation; emulator latency {} ms per call; FC timeout {FC_TIMEOUT_SECS} s as \
         in template.yml and s.yaml):\n",
        r.instances, r.latency_ms
    );
    let _ = writeln!(md, "| measure | value |\n| --- | ---: |");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(md, "| {k} | {v} |");
    };
    row("certificates", r.certificates.to_string());
    row(
        "groups × group size",
        format!("{} × {}", r.groups_planned, r.group_size),
    );
    row(
        "groups running at once (instances)",
        r.instances.to_string(),
    );
    row(
        "dispatch: the timer invocation (InvokeFunction per group)",
        format!("{:.3} s ({} dispatched)", r.dispatch, r.groups_dispatched),
    );
    row(
        "group wall time: median / slowest",
        format!("{:.3} s / {:.3} s", median(walls.clone()), r.slowest()),
    );
    row(
        "slowest group / FC timeout",
        format!("{:.2} %", r.slowest() / FC_TIMEOUT_SECS as f64 * 100.0),
    );
    row(
        "queue wait for an instance: median / longest",
        format!(
            "{:.3} s / {:.3} s",
            median(ran.iter().map(|g| g.wait).collect()),
            ran.iter().map(|g| g.wait).fold(0.0, f64::max)
        ),
    );
    row(
        "instance start (exec → port), median",
        format!("{:.1} ms", median(ran.iter().map(|g| g.start_ms).collect())),
    );
    row(
        "instance peak RSS: median / largest (MemorySize 128 MB)",
        format!(
            "{:.1} MB / {:.1} MB",
            median(ran.iter().map(|g| g.rss_mb).collect()),
            ran.iter().map(|g| g.rss_mb).fold(0.0, f64::max)
        ),
    );
    row(
        "total wall time (timer start → last group's reply)",
        format!("{:.3} s", r.total),
    );
    row(
        "CPU: all instances (alicert) / Pebble + challtestsrv + emulator",
        format!(
            "{:.2} s / {:.2} s",
            ran.iter()
                .map(|g| g.cpu)
                .filter(|c| !c.is_nan())
                .sum::<f64>(),
            r.servers_cpu
        ),
    );
    row(
        "orders per second over the total",
        format!("{:.1}", issued as f64 / r.total),
    );
    row(
        "groups ok (reply 200, `\"ok\":true`)",
        format!(
            "{}/{}",
            ran.iter().filter(|g| g.ok).count(),
            r.groups_planned
        ),
    );
    row(
        "certificates issued / failed (groups' results)",
        format!("{issued} / {failed}"),
    );
    row(
        "certificates deployed (emulator state: a valid Pebble certificate on its CDN domain)",
        format!("{}/{}", r.deployed, r.certificates),
    );
    row("TXT records left", r.txt_left.to_string());
    row(
        "InvokeFunction calls (no group fans out again)",
        r.invocations.to_string(),
    );
    row(
        "Alibaba Cloud calls (by product)",
        format!(
            "{} ({})",
            r.calls,
            r.calls_by_product
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let mut busiest: Vec<(&String, &usize)> = r.calls_by_action.iter().collect();
    busiest.sort_by_key(|(a, n)| (std::cmp::Reverse(**n), *a));
    row(
        "busiest actions",
        busiest
            .iter()
            .take(4)
            .map(|(a, n)| format!("{a} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        "calls answered with an error",
        if r.call_errors.is_empty() {
            "0".into()
        } else {
            format!("{:?}", r.call_errors)
        },
    );
    row(
        "certificates stopped by a CA rate limit",
        r.rate_limited().to_string(),
    );
    targets.push((
        format!(
            "{} certificates through fan-out, every group within the FC timeout ({} s): slowest group {:.3} s, {}/{} deployed",
            r.certificates, FC_TIMEOUT_SECS, r.slowest(), r.deployed, r.certificates
        ),
        r.ok(),
    ));
}

/// One row per group (in results.md after the summary).
pub fn groups_table(md: &mut String, r: &Report) {
    let _ = writeln!(
        md,
        "\n<details><summary>Fan-out groups</summary>\n\n| group | certificates | queue wait | wall | peak RSS | issued | failed | ok |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for (i, g) in r.groups.iter().enumerate() {
        match g {
            Some(g) => {
                let _ = writeln!(
                    md,
                    "| {} | {}…{} ({}) | {:.3} s | {:.3} s | {:.1} MB | {} | {} | {} |",
                    i + 1,
                    g.certificates.first().map_or("", |s| s),
                    g.certificates.last().map_or("", |s| s),
                    g.certificates.len(),
                    g.wait,
                    g.wall,
                    g.rss_mb,
                    g.issued,
                    g.failed,
                    if g.ok { "ok" } else { "FAILED" }
                );
            }
            None => {
                let _ = writeln!(md, "| {} | – | – | no reply | – | – | – | FAILED |", i + 1);
            }
        }
    }
    let _ = writeln!(md, "\n</details>");
}
