//! Pebble (ACME test CA) + pebble-challtestsrv (its DNS) for alicert's tests.
//!
//! `start()` picks free loopback ports, generates a throw-away CA and a `localhost`/`127.0.0.1`
//! TLS certificate for Pebble's WFE with rcgen, starts `pebble-challtestsrv` (DNS-01 only) and
//! `pebble -dnsserver <challtestsrv>`, and waits until both answer. Both are killed on drop; their
//! output goes to `pebble.log` / `challtestsrv.log` in the temporary directory.
#![allow(dead_code)]

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

const NOT_INSTALLED: &str = "pebble not installed: run `make deps` (apt-get install -y pebble)";

pub struct Pebble {
    pebble: Child,
    challtestsrv: Child,
    /// Second challtestsrv Pebble validates against (split view), see
    /// [`start_with_separate_validation_dns`].
    validation_challtestsrv: Option<Child>,
    validation_dns_addr: SocketAddr,
    directory_url: String,
    management_url: String,
    challtestsrv_url: String,
    dns_addr: SocketAddr,
    ca_bundle: PathBuf,
    // Dropped last (after the processes are killed in Drop::drop).
    dir: tempfile::TempDir,
}

impl Pebble {
    /// `https://127.0.0.1:<port>/dir`.
    pub fn directory_url(&self) -> &str {
        &self.directory_url
    }
    /// PEM file holding only the CA that signed Pebble's WFE certificate.
    pub fn ca_bundle(&self) -> &Path {
        &self.ca_bundle
    }
    /// PEM text of [`Pebble::ca_bundle`].
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(&self.ca_bundle).expect("read CA bundle")
    }
    /// pebble-challtestsrv management API, `http://127.0.0.1:<port>` (set-txt, clear-txt, …).
    pub fn challtestsrv_url(&self) -> String {
        self.challtestsrv_url.clone()
    }
    /// challtestsrv's DNS server (UDP and TCP), the one Pebble validates DNS-01 against.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
    }
    /// The DNS server Pebble's VA queries: `dns_addr()`, or the separate, never-updated one from
    /// [`start_with_separate_validation_dns`].
    pub fn validation_dns_addr(&self) -> SocketAddr {
        self.validation_dns_addr
    }
    /// Pebble's management API (HTTPS, same CA): `/roots/0`, `/intermediates/0`, …
    pub fn management_url(&self) -> &str {
        &self.management_url
    }
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// Both processes' output so far, for failure messages.
    pub fn logs(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        let mut s = format!(
            "--- pebble.log ---\n{}\n--- challtestsrv.log ---\n{}",
            read("pebble.log"),
            read("challtestsrv.log")
        );
        if self.validation_challtestsrv.is_some() {
            s.push_str(&format!(
                "\n--- validation-challtestsrv.log ---\n{}",
                read("validation-challtestsrv.log")
            ));
        }
        s
    }
    /// A reqwest client trusting the generated CA (for Pebble's directory and management API).
    pub fn https_client(&self) -> reqwest::Client {
        https_client(&self.ca_pem())
    }
    /// The PEM of Pebble's current issuing root (what certificates it issues chain to).
    pub async fn issuer_root_pem(&self) -> String {
        self.https_client()
            .get(format!("{}/roots/0", self.management_url))
            .send()
            .await
            .expect("pebble management /roots/0")
            .text()
            .await
            .expect("roots body")
    }
    /// The PEM of Pebble's root number `n` (0 = the default chain's, 1.. = alternates).
    pub async fn root_pem(&self, n: u32) -> String {
        self.https_client()
            .get(format!("{}/roots/{n}", self.management_url))
            .send()
            .await
            .expect("pebble management /roots/N")
            .text()
            .await
            .expect("roots body")
    }
    /// Pebble's record of a certificate (`Status`: Valid | Revoked, `Reason`, …), by serial hex.
    pub async fn cert_status(&self, serial: &str) -> serde_json::Value {
        self.https_client()
            .get(format!(
                "{}/cert-status-by-serial/{serial}",
                self.management_url
            ))
            .send()
            .await
            .expect("pebble management /cert-status-by-serial")
            .json()
            .await
            .expect("cert status JSON")
    }
    /// TXT values at `name` as challtestsrv's DNS serves them now.
    pub async fn txt(&self, name: &str) -> Vec<String> {
        resolve_txt(self.dns_addr, name).await
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let children = [
            Some(&mut self.pebble),
            Some(&mut self.challtestsrv),
            self.validation_challtestsrv.as_mut(),
        ];
        for child in children.into_iter().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// Ports handed out to any Pebble of this test process: never handed out twice, so concurrent
/// tests do not race each other for a port between picking it and the child binding it.
fn handed_out() -> std::sync::MutexGuard<'static, std::collections::HashSet<u16>> {
    static PORTS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<u16>>> =
        std::sync::OnceLock::new();
    PORTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn free_tcp_port(taken: &mut Vec<u16>) -> u16 {
    loop {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free TCP port");
        let port = l.local_addr().expect("local addr").port();
        if !taken.contains(&port) && handed_out().insert(port) {
            taken.push(port);
            return port;
        }
    }
}

/// A port free for both UDP and TCP (challtestsrv's DNS server binds both).
fn free_dns_port(taken: &mut Vec<u16>) -> u16 {
    loop {
        let u = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free UDP port");
        let port = u.local_addr().expect("local addr").port();
        if taken.contains(&port) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() && handed_out().insert(port) {
            taken.push(port);
            return port;
        }
    }
}

fn https_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM"))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// Generates the CA and Pebble's WFE certificate; returns the CA PEM path.
fn write_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "alicert test CA for Pebble WFE");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now - time::Duration::days(1);
    ca_params.not_after = now + time::Duration::days(3650);
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign CA");
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .expect("leaf params");
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.not_before = now - time::Duration::days(1);
    leaf_params.not_after = now + time::Duration::days(365);
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("sign leaf");

    let ca_path = dir.join("ca.pem");
    let cert_path = dir.join("localhost-cert.pem");
    let key_path = dir.join("localhost-key.pem");
    std::fs::write(&ca_path, ca_cert.pem()).expect("write CA");
    std::fs::write(&cert_path, leaf.pem()).expect("write leaf cert");
    std::fs::write(&key_path, leaf_key.serialize_pem()).expect("write leaf key");
    (ca_path, cert_path, key_path)
}

fn log_file(dir: &Path, name: &str) -> (Stdio, Stdio) {
    let f = File::create(dir.join(name)).expect("create log file");
    let g = f.try_clone().expect("clone log file");
    (Stdio::from(f), Stdio::from(g))
}

fn spawn_challtestsrv(bin: &Path, dir: &Path, log: &str, dns_port: u16, mgmt_port: u16) -> Child {
    let (out, errf) = log_file(dir, log);
    Command::new(bin)
        .arg("-http01=")
        .arg("-https01=")
        .arg("-tlsalpn01=")
        .arg(format!("-dns01=127.0.0.1:{dns_port}"))
        .arg(format!("-management=127.0.0.1:{mgmt_port}"))
        .arg("-defaultIPv4=127.0.0.1")
        .arg("-defaultIPv6=")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(errf)
        .spawn()
        .expect("spawn pebble-challtestsrv")
}

/// Starts challtestsrv and Pebble; panics (with their logs) if they do not come up.
pub async fn start() -> Pebble {
    start_with(Options::default()).await
}

/// Like [`start`], but Pebble validates against a second challtestsrv that never receives any
/// record (a split view): `challtestsrv_url()`/`dns_addr()` see TXT records, the CA does not, so
/// DNS-01 challenges fail at the CA after propagation checks pass.
pub async fn start_with_separate_validation_dns() -> Pebble {
    start_with(Options {
        separate_validation_dns: true,
        ..Options::default()
    })
    .await
}

/// How to run Pebble.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// See [`start_with_separate_validation_dns`].
    pub separate_validation_dns: bool,
    /// Non-empty: Pebble requires External Account Binding with these (key id, base64url HMAC
    /// key) pairs (`externalAccountBindingRequired` + `externalAccountMACKeys`).
    pub eab_keys: Vec<(String, String)>,
    /// `PEBBLE_ALTERNATE_ROOTS`: how many alternate chains (other roots) Pebble offers.
    pub alternate_roots: u32,
    /// Percentage of valid nonces Pebble rejects with `badNonce` (PEBBLE_WFE_NONCEREJECT).
    pub nonce_reject_percent: u8,
    /// `PEBBLE_VA_ALWAYS_VALID=1`: Pebble's VA accepts every challenge without looking (the
    /// dns-persist-01 front validates in its place, see persist_front.rs).
    pub always_valid: bool,
    /// Lifetime of issued certificates in seconds (Pebble's `certificateValidityPeriod`;
    /// default: Pebble's own, about five years).
    pub validity_secs: Option<u64>,
}

pub async fn start_with(options: Options) -> Pebble {
    // A port picked free can still be taken by another socket before the child binds it; such
    // a start fails fast (the child exits), and a new set of ports is tried.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match start_once(&options).await {
            Ok(p) => return p,
            Err(e) if attempt < 3 && e.contains("exited early") => {
                eprintln!(
                    "pebble harness: retrying with other ports: {}",
                    e.lines().next().unwrap_or("")
                );
            }
            Err(e) => panic!("{e}"),
        }
    }
}

async fn start_once(options: &Options) -> Result<Pebble, String> {
    let separate_validation_dns = options.separate_validation_dns;
    let pebble_bin = which("pebble").unwrap_or_else(|| panic!("{NOT_INSTALLED}"));
    let challtestsrv_bin =
        which("pebble-challtestsrv").unwrap_or_else(|| panic!("{NOT_INSTALLED}"));

    let dir = tempfile::Builder::new()
        .prefix("alicert-pebble-")
        .tempdir()
        .expect("tempdir");
    let (ca_bundle, cert_path, key_path) = write_certs(dir.path());

    let mut taken = Vec::new();
    let acme_port = free_tcp_port(&mut taken);
    let mgmt_port = free_tcp_port(&mut taken);
    let http_port = free_tcp_port(&mut taken);
    let tls_port = free_tcp_port(&mut taken);
    let cts_mgmt_port = free_tcp_port(&mut taken);
    let dns_port = free_dns_port(&mut taken);
    let (validation_dns_port, validation_mgmt_port) = if separate_validation_dns {
        (free_dns_port(&mut taken), free_tcp_port(&mut taken))
    } else {
        (dns_port, cts_mgmt_port)
    };

    let config = serde_json::json!({
        "pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": cert_path,
            "privateKey": key_path,
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": !options.eab_keys.is_empty(),
            "externalAccountMACKeys": options
                .eab_keys
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>(),
        }
    });
    let mut config = config;
    if let Some(secs) = options.validity_secs {
        config["pebble"]["certificateValidityPeriod"] = secs.into();
    }
    let config_path = dir.path().join("pebble-config.json");
    std::fs::write(
        &config_path,
        serde_json::to_string_pretty(&config).expect("config JSON"),
    )
    .expect("write pebble config");

    let challtestsrv = spawn_challtestsrv(
        &challtestsrv_bin,
        dir.path(),
        "challtestsrv.log",
        dns_port,
        cts_mgmt_port,
    );
    let validation_challtestsrv = separate_validation_dns.then(|| {
        spawn_challtestsrv(
            &challtestsrv_bin,
            dir.path(),
            "validation-challtestsrv.log",
            validation_dns_port,
            validation_mgmt_port,
        )
    });

    let (out, errf) = log_file(dir.path(), "pebble.log");
    let pebble = match Command::new(&pebble_bin)
        .arg("-config")
        .arg(&config_path)
        .arg("-dnsserver")
        .arg(format!("127.0.0.1:{validation_dns_port}"))
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env(
            "PEBBLE_WFE_NONCEREJECT",
            options.nonce_reject_percent.min(100).to_string(),
        )
        .env("PEBBLE_AUTHZREUSE", "0")
        .env(
            "PEBBLE_VA_ALWAYS_VALID",
            if options.always_valid { "1" } else { "0" },
        )
        .env(
            "PEBBLE_ALTERNATE_ROOTS",
            options.alternate_roots.to_string(),
        )
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(errf)
        .current_dir(dir.path())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            for mut c in std::iter::once(challtestsrv).chain(validation_challtestsrv) {
                let _ = c.kill();
                let _ = c.wait();
            }
            panic!("spawn pebble: {e}");
        }
    };

    let mut p = Pebble {
        pebble,
        challtestsrv,
        validation_challtestsrv,
        validation_dns_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), validation_dns_port),
        directory_url: format!("https://127.0.0.1:{acme_port}/dir"),
        management_url: format!("https://127.0.0.1:{mgmt_port}"),
        challtestsrv_url: format!("http://127.0.0.1:{cts_mgmt_port}"),
        dns_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), dns_port),
        ca_bundle,
        dir,
    };
    p.wait_ready().await?;
    Ok(p)
}

impl Pebble {
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = self.https_client();
        let mut last_err: String;
        loop {
            let exited = [
                ("pebble", self.pebble.try_wait()),
                ("challtestsrv", self.challtestsrv.try_wait()),
                (
                    "validation challtestsrv",
                    match self.validation_challtestsrv.as_mut() {
                        Some(c) => c.try_wait(),
                        None => Ok(None),
                    },
                ),
            ];
            for (name, status) in exited {
                if let Ok(Some(status)) = status {
                    return Err(format!("{name} exited early ({status})\n{}", self.logs()));
                }
            }
            let cts_ok = TcpStream::connect(
                self.challtestsrv_url
                    .trim_start_matches("http://")
                    .parse::<SocketAddr>()
                    .expect("challtestsrv addr"),
            )
            .is_ok()
                && TcpStream::connect(self.dns_addr).is_ok()
                && TcpStream::connect(self.validation_dns_addr).is_ok();
            if cts_ok {
                match client.get(&self.directory_url).send().await {
                    Ok(r) if r.status().is_success() => return Ok(()),
                    Ok(r) => last_err = format!("directory answered HTTP {}", r.status()),
                    Err(e) => last_err = format!("directory: {e:?}"),
                }
            } else {
                last_err = "challtestsrv not listening yet".into();
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "pebble did not come up within 30s: {last_err}\n{}",
                    self.logs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Resolves TXT `name` at `server` (no cache), returning the values; empty on NXDOMAIN/no data.
pub async fn resolve_txt(server: SocketAddr, name: &str) -> Vec<String> {
    use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
    use hickory_resolver::name_server::TokioConnectionProvider;
    use hickory_resolver::Resolver;

    let group = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
    let config = ResolverConfig::from_parts(None, vec![], group);
    let mut builder = Resolver::builder_with_config(config, TokioConnectionProvider::default());
    builder.options_mut().cache_size = 0;
    builder.options_mut().attempts = 1;
    builder.options_mut().timeout = Duration::from_secs(2);
    let resolver = builder.build();
    let fqdn = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    match resolver.txt_lookup(fqdn).await {
        Ok(lookup) => {
            let mut v: Vec<String> = lookup
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .collect::<String>()
                })
                .collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}
