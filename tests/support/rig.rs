//! The integration rig: real Pebble + pebble-challtestsrv, the Alibaba Cloud emulator wired to
//! it, a config file, and the `alicert` binary run against them as a user would.
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use super::emulator::{self, Emulator, Seed};
pub use super::outcome::RunOutcome;
use super::pebble::{self, Pebble};

pub const AK_ID: &str = "LTAI5tRigTestKey";
pub const AK_SECRET: &str = "rig-test-secret-0123456789";
pub const BUCKET: &str = "alicert-state";

pub struct Rig {
    pub pebble: Pebble,
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    /// The `alicert` binary every run of this rig uses.
    pub bin: PathBuf,
}

impl Rig {
    /// Start Pebble and the emulator; `seed` gets the access key, the bucket and challtestsrv added.
    /// `config` is the TOML body after the generated `[acme]`/`[dns]` sections (certificates etc.).
    pub async fn start(seed: Seed, account_key: &str, config: &str) -> Rig {
        let pebble = pebble::start().await;
        Rig::with_pebble(pebble, seed, account_key, config).await
    }

    pub async fn with_pebble(pebble: Pebble, seed: Seed, account_key: &str, config: &str) -> Rig {
        let seed = seed
            .access_key(AK_ID, AK_SECRET)
            .bucket(BUCKET)
            .challtestsrv(&pebble.challtestsrv_url());
        let emulator = emulator::start(seed).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("alicert.toml");
        let text = format!(
            r#"[acme]
directory = "{directory}"
email = "ops@example.com"
account_key = "{account_key}"
ca_bundle = "{ca}"
renew_before_days = 30

[aliyun]
region = "cn-hangzhou"

[dns]
resolvers = ["{dns}"]
propagation_timeout_secs = 20

{config}
"#,
            directory = pebble.directory_url(),
            ca = pebble.ca_bundle().display(),
            dns = pebble.dns_addr(),
        );
        std::fs::write(&config_path, text).expect("write config");
        Rig {
            pebble,
            emulator,
            dir,
            config_path,
            bin: alicert_bin(),
        }
    }

    /// Environment for `alicert`: credentials and every product endpoint pointing at the
    /// emulator, region-templated (`<base>/__region/{region}`): alicert fills in the region of
    /// the resource it addresses, and the emulator enforces that buckets, KMS secrets and FC
    /// custom domains are reached through their own region's endpoint.
    pub fn env(&self) -> Vec<(String, String)> {
        let base = self.emulator.regional_url();
        let mut env = vec![
            ("ALIBABA_CLOUD_ACCESS_KEY_ID".to_string(), AK_ID.to_string()),
            (
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET".to_string(),
                AK_SECRET.to_string(),
            ),
            (
                "ALICERT_CONFIG".to_string(),
                self.config_path.display().to_string(),
            ),
            ("ALICERT_LOG_FORMAT".to_string(), "text".to_string()),
            ("RUST_LOG".to_string(), "info".to_string()),
        ];
        // Every product alicert knows, so a new product cannot reach the real cloud's host.
        for product in alicert::aliyun::Product::codes() {
            let product = product.to_ascii_uppercase();
            env.push((format!("ALICERT_ENDPOINT_{product}"), base.clone()));
        }
        env
    }

    /// The `alicert` command with [`Rig::env`] only (nothing inherited but `PATH`).
    pub fn command(&self) -> Command {
        self.command_of(&self.bin)
    }

    /// `program` (e.g. `/usr/bin/time`) with [`Rig::env`] only, like [`Rig::command`].
    pub fn command_of(&self, program: &std::path::Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        cmd.envs(self.env());
        cmd
    }

    /// `alicert policy` for this rig's config, as a user runs it: (the policy document, the
    /// purposes it printed on stderr).
    pub fn policy(&self) -> (serde_json::Value, String) {
        self.policy_with(&[])
    }

    /// `alicert policy --role <arn>`: the policy of a role the config reaches things through.
    pub fn role_policy(&self, arn: &str) -> serde_json::Value {
        self.policy_with(&["--role", arn]).0
    }

    fn policy_with(&self, args: &[&str]) -> (serde_json::Value, String) {
        let out = self
            .command()
            .arg("policy")
            .args(args)
            .output()
            .expect("run alicert policy");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "alicert policy: {stderr}");
        let doc = serde_json::from_slice(&out.stdout).expect("policy JSON on stdout");
        (doc, stderr)
    }

    /// Restricts the rig's credentials to exactly `alicert policy`'s output (the emulator
    /// enforces it on every later call); returns the document.
    pub fn restrict_to_policy(&self) -> serde_json::Value {
        let (doc, _) = self.policy();
        self.emulator
            .set_ram_policy(Some(&doc))
            .expect("a valid policy");
        doc
    }

    /// The private key (PEM) the emulator's CDN domain `domain` now serves.
    #[track_caller]
    pub fn cdn_key(&self, domain: &str) -> String {
        let state = self.emulator.state();
        let cert = state.cdn_cert(domain);
        cert.unwrap_or_else(|| panic!("no certificate on CDN domain {domain}"))
            .key
            .clone()
    }

    /// The values of every TXT record in the emulator's zones, sorted.
    pub fn txt_values(&self) -> Vec<String> {
        let mut values: Vec<String> = self
            .emulator
            .state()
            .txt_records()
            .iter()
            .map(|r| r.value.clone())
            .collect();
        values.sort();
        values
    }

    /// Adds (or replaces) `key = value` (TOML) in the `[acme]` section of the config file.
    pub fn set_acme(&self, key: &str, value: &str) {
        let text = std::fs::read_to_string(&self.config_path).expect("read config");
        let mut lines: Vec<String> = Vec::new();
        let mut in_acme = false;
        for line in text.lines() {
            if line.starts_with('[') {
                in_acme = line.trim() == "[acme]";
                lines.push(line.to_string());
                if in_acme {
                    lines.push(format!("{key} = {value}"));
                }
                continue;
            }
            let replaced = in_acme && line.split_once('=').is_some_and(|(k, _)| k.trim() == key);
            if !replaced {
                lines.push(line.to_string());
            }
        }
        std::fs::write(&self.config_path, lines.join("\n") + "\n").expect("write config");
    }

    /// `alicert init --from-scan` (this rig's CA, the account key at
    /// [`super::scenario::OSS_KEY`]) into `proposed.toml` in the rig's directory: the text it
    /// wrote, checked to load as any config does, and that text parsed.
    pub async fn init_from_scan(&self) -> (String, toml::Table) {
        let path = self.dir.path().join("proposed.toml");
        let args = [
            "init",
            "--from-scan",
            "--output",
            path.to_str().unwrap(),
            "--ca",
            self.pebble.directory_url(),
            "--account-key",
            super::scenario::OSS_KEY,
        ];
        let init = self.run(&args).await;
        assert_eq!(init.exit, 0, "{}", init.stderr);
        let text = std::fs::read_to_string(&path).unwrap();
        alicert::config::Config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let table = toml::from_str(&text).unwrap();
        (text, table)
    }

    /// `alicert ARGS…` (any subcommand), like [`Rig::invoke`].
    pub async fn run(&self, args: &[&str]) -> RunOutcome {
        let mut cmd = self.command();
        cmd.args(args);
        run(cmd).await
    }

    /// `alicert ARGS…` with `env` added to [`Rig::env`].
    pub async fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> RunOutcome {
        let mut cmd = self.command();
        cmd.envs(env.iter().copied()).args(args);
        run(cmd).await
    }

    /// `alicert invoke EVENT`, on a blocking thread so the emulator keeps serving.
    pub async fn invoke(&self, event: &str) -> RunOutcome {
        self.run(&["invoke", event]).await
    }

    /// Insert `line` into the generated config right after the `section` header line
    /// (e.g. `("[dns]", "sweep_grace_secs = 1")`).
    pub fn config_insert(&self, section: &str, line: &str) {
        let text = std::fs::read_to_string(&self.config_path).expect("read config");
        let header = format!("{section}\n");
        assert!(text.contains(&header), "no {section} in the config");
        let text = text.replacen(&header, &format!("{header}{line}\n"), 1);
        std::fs::write(&self.config_path, text).expect("write config");
    }

    /// Start `alicert invoke EVENT` (with `env` added) with stderr piped, not waiting for it.
    pub fn spawn_invoke(&self, event: &str, env: &[(&str, &str)]) -> Spawned {
        let mut cmd = self.command();
        cmd.arg("invoke")
            .arg(event)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn alicert");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Spawned {
            child,
            stderr,
            reader: Some(reader),
        }
    }
}

/// A running `alicert` process (see [`Rig::spawn_invoke`]).
pub struct Spawned {
    pub child: std::process::Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Spawned {
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until stderr has a line equal to `line` (panics after `secs`).
    pub async fn wait_for_line(&mut self, line: &str, secs: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if self.stderr().lines().any(|l| l == line) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "alicert exited ({status}) before `{line}`:\n{}",
                    self.stderr()
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no `{line}` within {secs}s:\n{}",
                self.stderr()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (no cleanup can run) and reap.
    pub fn kill(mut self) -> String {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.stderr()
    }

    /// Wait for a normal exit.
    pub async fn finish(mut self) -> RunOutcome {
        let mut child = self.child;
        let out = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut stdout = String::new();
            if let Some(mut o) = child.stdout.take() {
                let _ = o.read_to_string(&mut stdout);
            }
            let status = child.wait().expect("wait");
            (status, stdout)
        })
        .await
        .expect("join");
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let stderr = self.stderr.lock().unwrap().clone();
        RunOutcome::new(out.0.code().unwrap_or(-1), out.1, stderr)
    }
}

pub async fn run(mut cmd: Command) -> RunOutcome {
    cmd.stdin(Stdio::null());
    let output: Output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("spawn alicert");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    RunOutcome::new(output.status.code().unwrap_or(-1), stdout, stderr)
}

/// A free loopback TCP port (for `alicert serve`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `alicert` binary next to the running test or example binary (target/<profile>/alicert).
pub fn alicert_bin() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_alicert") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("examples") || dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("alicert")
}

/// A config for in-process HTTP-trigger and event tests against the emulator at `base`: bearer
/// `token`, `[http]` lines `http` (after `allowed_domains = ["example.com"]`), `[http.target_sets]`
/// lines `target_sets`, and one certificate `www` on the CDN domain www.example.com. The CA is a
/// closed port, so any order fails at once: a test passes only if nothing orders.
pub fn trigger_config(base: &str, token: &str, http: &str, target_sets: &str) -> String {
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let endpoints: String = alicert::aliyun::Product::codes()
        .iter()
        .map(|p| format!("{p} = \"{base}\"\n"))
        .collect();
    format!(
        r#"
[acme]
directory = "https://127.0.0.1:9/dir"
account_key = "oss://{BUCKET}/acme/account.pem"

[aliyun]
access_key_id = "{AK_ID}"
access_key_secret = "{AK_SECRET}"
[aliyun.endpoints]
{endpoints}
[aliyun.retry]
max_attempts = 1

[http]
token_sha256 = "{sha}"
allowed_domains = ["example.com"]
{http}
[http.target_sets]
{target_sets}

[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{{ kind = "cdn", domain = "www.example.com" }}]
"#
    )
}

/// The emulator as most in-process tests want it: the test access key, the state bucket, zone
/// example.com and the CDN domain www.example.com.
pub fn www_seed() -> Seed {
    Seed::default()
        .access_key(AK_ID, AK_SECRET)
        .bucket(BUCKET)
        .zone("example.com")
        .cdn_domain("www.example.com")
}

/// A certificate + key for `names`, self-signed (someone else's), valid until `days` from now
/// (negative: expired that many days ago).
pub fn self_signed_for(names: &[&str], days: i64) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(90);
    params.not_after = now + time::Duration::days(days);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}
