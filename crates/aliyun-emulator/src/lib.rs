//! Alibaba Cloud emulator for alicert's tests (its own crate: it must not depend on alicert, so
//! its signature checks, in signature.rs, are written from Alibaba's SDKs, not shared with the client).
//!
//! One HTTP server (axum) on one port stands in for every product alicert talks to: point
//! `ALICERT_ENDPOINT_ALIDNS`, `_CAS`, `_CDN`, `_DCDN`, `_APIGATEWAY`, `_KMS` and `_OSS` at
//! [`Emulator::base_url`].
//!
//! * RPC products (`POST /` or `GET /`, parameters in the query string and/or an
//!   `application/x-www-form-urlencoded` body), dispatched on `(Version, Action)`:
//!   alidns 2015-01-09, cas 2020-04-07, cdn 2018-05-10, dcdn 2018-01-15, cloudapi (API Gateway)
//!   2016-07-14 and kms 2016-01-20. Requests are verified like Alibaba does (common parameters,
//!   known AccessKeyId, STS SecurityToken, HMAC-SHA1 signature over query + form, nonce reuse,
//!   15 minute timestamp window); errors are JSON `{"RequestId","Code","Message","HostId","Recommend"}`.
//! * OSS, path style `<base>/<bucket>/<key>`: GET, HEAD, PUT, DELETE, GetBucketVersioning with
//!   V4 (OSS4-HMAC-SHA256) header signatures recomputed here (V1 is refused, like accounts and
//!   buckets created since 2025) and XML errors.
//! * Regions: the emulator is one port for every regional host. A path starting
//!   `/__region/<region>` is a request to that region's endpoint (the rig's endpoint overrides
//!   are `<base>/__region/{region}`); without the prefix it is the default region, cn-hangzhou.
//!   Buckets, KMS secrets and FC custom domains live in a region and are only reachable through
//!   their region's endpoint, as on Alibaba Cloud.
//! * FC 3 `InvokeFunction` (`POST /2023-03-30/functions/{name}/invocations`, V3-signed), see
//!   fc.rs.
//! * TXT records added to Alidns are pushed into pebble-challtestsrv (when configured) so that
//!   Pebble's DNS-01 validation sees them.
//! * slb 2014-05-15, alb 2020-06-16 (RPC), FC 3 custom domains (ROA, V3 signatures) and OSS
//!   PutCname/ListCname: see slb.rs, alb.rs, fc.rs and oss.rs.
//! * esa 2024-09-10 (RPC): site certificates under a per-site quota and SaaS custom hostnames,
//!   see esa/.
//! * waf-openapi 2021-10-01 (WAF 3.0), live 2016-11-01, vod 2017-03-21 and ddoscoo 2020-01-01
//!   (RPC): see waf.rs, video.rs and ddos.rs.
//! * nlb 2022-04-30 and ga 2019-11-20 (RPC, asynchronous listener jobs) and the cloud-native API
//!   Gateway apig 2024-03-27 (ROA under `/v1/domains`, V3 signatures): see nlb.rs, ga.rs, apig.rs.
//!
//! Layout: this file holds the handle ([`Emulator`]), the [`Seed`] and [`EmulatorState`] types
//! every product shares and [`start_on`]; routes.rs has the HTTP plumbing and the path-level
//! product registry. The registry has two levels because Alibaba's products are told apart in two ways: [`Route`] by path (FC 3 ROA and
//! InvokeFunction under `/2023-03-30/`, RPC at `/`, OSS for every other path: OSS has no
//! `Version` and FC's is a header, and both need the raw headers and body, asynchronously), then
//! `RPC_PRODUCTS` in rpc.rs by `Version` for every RPC product (one parsed-parameter handler
//! each). Each product lives in its own file with its seed and state element types, its `Seed`
//! builder methods and `EmulatorState` accessors: alidns/ (mod.rs zones and TXT push, rules.rs,
//! api.rs), cas.rs, cdn.rs (CDN and DCDN), apigateway.rs, kms.rs, oss/ (mod.rs objects, v4.rs
//! request verification, cname.rs), slb.rs, alb.rs, fc.rs. Shared: rpc.rs (RPC parameters,
//! errors, handler), auth.rs (the one access-key/STS/timestamp/nonce check and the RPC and V3
//! request checks), signature.rs (the RPC, V3 and OSS V4 signatures, from Alibaba's SDKs),
//! certs.rs (PEM parsing), faults.rs, util.rs.
//! * Inspection: [`Emulator::state`] and `GET /__emulator/state`; fault injection:
//!   [`Emulator::fail_next`] and `POST /__emulator/fail_next` (`{"action","code","status"}`),
//!   and random seeded faults ([`Faults`]: throttling, 503s, slow answers, dropped
//!   connections) from [`Seed::faults`], [`Emulator::set_faults`] or `POST /__emulator/faults`.
//! * RAM: a policy from `Seed::ram_policy`, [`Emulator::set_ram_policy`] or `POST
//!   /__emulator/ram_policy` (`null` clears it) is enforced on every authenticated request,
//!   action and resource, before its handler (ram.rs).
#![allow(dead_code)]

// One file per emulated product; the registry (`RPC_PRODUCTS`, `dispatch`) names them all.
mod accounts;
mod alb;
mod alidns;
mod apig;
mod apigateway;
mod auth;
mod cas;
mod cas_deploy;
mod cdn;
mod certs;
mod cms;
mod ddos;
mod dm;
mod esa;
mod faults;
mod fc;
mod fc2;
mod ga;
mod kms;
mod metadata;
mod nlb;
mod oss;
mod quota;
mod ram;
mod ram_api;
mod routes;
mod rpc;
pub mod signature;
mod slb;
mod slb_list;
mod sts;
mod util;
mod video;
mod waf;
pub use accounts::{role_arn, AccountsSeed};
pub use alb::*;
pub use alidns::*;
pub use apig::*;
pub use apigateway::*;
pub use auth::*;
pub use cas::*;
pub use cas_deploy::*;
use cdn::*;
pub use certs::*;
pub use cms::*;
pub use ddos::*;
pub use dm::*;
pub use esa::*;
pub use faults::*;
pub use fc::*;
pub use ga::*;
pub use kms::*;
pub use metadata::*;
pub use nlb::*;
pub use oss::*;
pub use ram::{evaluate, wildcard_match, Decision, OneOrMany, RamPolicy, RamStatement};
use routes::*;
use rpc::*;
pub use slb::*;
pub use sts::*;
pub use util::*;
pub use video::*;
pub use waf::*;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use signature::{
    oss_v4_canonical_request, oss_v4_signature, oss_v4_string_to_sign, rpc_signature,
    rpc_string_to_sign, sha256_hex, v3_canonical_request, v3_signature, OssV4Input, V3Input,
};
use time::OffsetDateTime;

/// Largest accepted clock difference for RPC `Timestamp` and OSS `Date`, like Alibaba.
pub const MAX_SKEW_SECS: i64 = 15 * 60;
/// The region of the endpoints without a `/__region/<r>` prefix.
pub const DEFAULT_REGION: &str = "cn-hangzhou";
pub(crate) const REGION: &str = DEFAULT_REGION;
pub(crate) const ACCOUNT_ID: &str = "1234567890123456";
pub(crate) const RESOURCE_GROUP: &str = "rg-acfmemulator0001";
pub(crate) const DEFAULT_DNS_SERVERS: [&str; 2] = ["dns1.hichina.com", "dns2.hichina.com"];
pub(crate) const REDACTED_PARAMS: [&str; 10] = [
    "PrivateKey",
    "Signature",
    "SecurityToken",
    "SSLPri",
    "Key",
    "CertificatePrivateKey",
    "SecretData",
    "EncryptPrivateKey",
    "SignPrivateKey",
    // AssumeRoleWithOIDC's bearer token (sts.rs).
    "OIDCToken",
];

// ---------------------------------------------------------------------------------------------
// Seed
// ---------------------------------------------------------------------------------------------

/// What the emulated account holds at start. Every field is optional in JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Seed {
    pub access_keys: Vec<AccessKey>,
    /// Alidns zones; in JSON either `"example.com"` or `{"name": .., "dns_servers": [..], "records": [..]}`.
    pub zones: Vec<Zone>,
    pub cdn_domains: Vec<String>,
    pub dcdn_domains: Vec<String>,
    pub apigateway_domains: Vec<ApiGatewayDomain>,
    pub buckets: Vec<String>,
    /// Bucket → region, for buckets outside cn-hangzhou.
    pub bucket_regions: BTreeMap<String, String>,
    /// Zone → the name servers its registry delegates it to, where not Alidns's.
    pub zone_delegations: BTreeMap<String, Vec<String>>,
    /// Bucket → versioning status (`Enabled` / `Suspended`); others never had versioning.
    pub bucket_versioning: BTreeMap<String, String>,
    /// KMS secrets: name → value (version `v1`, stage ACSCurrent).
    pub kms_secrets: BTreeMap<String, String>,
    /// KMS secret → region, for secrets outside cn-hangzhou.
    pub kms_secret_regions: BTreeMap<String, String>,
    /// KMS 3.0 instances: instance id → the symmetric key ids in it. When any is seeded, the
    /// account is instance-based and CreateSecret needs DKMSInstanceId + EncryptionKeyId.
    pub kms_instances: BTreeMap<String, Vec<String>>,
    /// pebble-challtestsrv management URL (`http://127.0.0.1:8055`); TXT records are pushed there.
    pub challtestsrv: Option<String>,
    /// SLB/ALB listeners, FC custom domains, OSS CNAMEs (slb.rs, alb.rs, fc.rs, oss.rs).
    pub services: ServicesSeed,
    /// FC 3 functions that InvokeFunction accepts.
    pub fc_functions: Vec<String>,
    /// Random faults on every RPC and OSS call (none by default).
    pub faults: Faults,
    /// Fixed latency added to every Alibaba Cloud call (faults.rs, [`Emulator::set_latency_ms`]).
    pub latency_ms: u64,
    /// WAF 3.0 instances, CNAME domains and cloud-native ports (waf.rs).
    pub waf: WafSeed,
    /// Live and VOD domains (video.rs).
    pub video: VideoSeed,
    /// Anti-DDoS website domains (ddos.rs).
    pub ddos: DdosSeed,
    /// CAS contacts and cloud resources for deployment jobs (cas_deploy.rs).
    pub cas_contacts: Vec<u64>,
    pub cloud_resources: Vec<SeedCloudResource>,
    /// DirectMail sender addresses configured in the console (dm.rs).
    pub dm_senders: Vec<String>,
    /// STS roles and OIDC providers (sts.rs).
    pub sts: StsSeed,
    /// A RAM policy every request must be allowed by (ram.rs); none: no RAM checks.
    pub ram_policy: Option<Value>,
    /// Resources and roles of accounts other than the default one (accounts.rs).
    pub accounts: AccountsSeed,
}

// ---------------------------------------------------------------------------------------------
// State (what tests inspect)
// ---------------------------------------------------------------------------------------------

/// A snapshot of everything the emulated account holds, plus a log of calls.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EmulatorState {
    pub zones: Vec<ZoneState>,
    /// DNS records present now (all types, seeded ones included).
    pub records: Vec<DnsRecord>,
    /// Every record ever added through AddDomainRecord, with its RecordId, in order.
    pub records_added: Vec<DnsRecord>,
    /// Every record deleted through the API, in order.
    pub records_deleted: Vec<DnsRecord>,
    pub cas_certs: Vec<CasCert>,
    /// CDN domain → certificate currently served (None: HTTPS off).
    pub cdn_domains: BTreeMap<String, Option<DeployedCert>>,
    pub dcdn_domains: BTreeMap<String, Option<DeployedCert>>,
    pub apigateway_domains: Vec<ApiGatewayDomainState>,
    pub kms_secrets: BTreeMap<String, KmsSecret>,
    /// `"<bucket>/<key>"` → object.
    pub oss_objects: BTreeMap<String, OssObject>,
    pub calls: Vec<Call>,
    /// Failures talking to pebble-challtestsrv (empty when all pushes worked).
    pub dns_push_errors: Vec<String>,
    /// SLB/ALB, FC custom domains, OSS CNAMEs (slb.rs, alb.rs, fc.rs, oss.rs).
    pub services: ServicesState,
    /// Faults injected so far (see [`Faults`]).
    pub faults: FaultCounts,
    /// FC InvokeFunction calls accepted, in order.
    pub fc_invocations: Vec<FcInvocation>,
    pub waf: WafState,
    pub video: VideoState,
    pub ddos: DdosState,
    /// CAS deployment jobs, contacts and cloud resources (cas_deploy.rs).
    pub cas_deploy: CasDeployState,
    /// Mails DirectMail SingleSendMail accepted (dm.rs).
    pub mails: Vec<SentMail>,
    /// Data points CloudMonitor PutCustomMetric accepted (cms.rs).
    pub custom_metrics: Vec<CustomMetric>,
    /// STS roles, OIDC providers and the temporary credentials issued (sts.rs, metadata.rs).
    pub sts: StsState,
}

impl EmulatorState {
    /// Calls of one action (any product), in order.
    pub fn calls_to(&self, action: &str) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.action == action).collect()
    }
}

/// One request the emulator answered.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// `alidns`, `cas`, `cdn`, `dcdn`, `apigateway`, `kms`, `oss` (empty if the Version was unknown).
    pub product: String,
    /// RPC Action; OSS: `PutObject`, `GetObject`, `HeadObject`, `DeleteObject`.
    pub action: String,
    pub access_key_id: String,
    /// Whether a SecurityToken / x-oss-security-token came with it.
    pub security_token: bool,
    pub method: String,
    pub http_status: u16,
    /// Error code (None on success).
    pub code: Option<String>,
    pub request_id: String,
    /// Request parameters (RPC) or `bucket`/`key` (OSS); secrets redacted.
    pub params: BTreeMap<String, String>,
    /// When the request arrived and when it was answered, in microseconds since the emulator
    /// started (set by [`Inner::record_call`]): overlapping calls were in flight together.
    pub started_us: u64,
    pub ended_us: u64,
}

// ---------------------------------------------------------------------------------------------
// Emulator handle
// ---------------------------------------------------------------------------------------------

pub(crate) struct Inner {
    state: EmulatorState,
    keys: HashMap<String, AccessKey>,
    buckets: HashMap<String, BucketState>,
    kms_instances: BTreeMap<String, Vec<String>>,
    /// (AccessKeyId, SignatureNonce) → unix seconds first seen.
    nonces: HashMap<(String, String), i64>,
    failures: HashMap<String, VecDeque<(String, u16)>>,
    next_record_id: u64,
    next_cert_id: u64,
    challtestsrv: Option<String>,
    faults: Faults,
    fault_rng: rand::rngs::StdRng,
    /// Added to every Alibaba Cloud call before it is handled (faults.rs).
    latency_ms: u64,
    /// Time zero of [`Call::started_us`] / [`Call::ended_us`].
    epoch: std::time::Instant,
    fc_functions: Vec<String>,
    /// Where accepted async invocations are POSTed (`<url>/invoke`).
    fc_forward: Option<String>,
    seed_dm_senders: Vec<String>,
    /// The RAM policy requests are checked against (ram.rs), if any.
    ram_policy: Option<RamPolicy>,
    /// Who owns what beyond the default account, role trust and role policies (accounts.rs).
    accounts: accounts::Accounts,
    /// The last second's calls of actions with a documented rate quota (quota.rs).
    quota_windows: quota::Windows,
}

/// A bucket: its region (its endpoint and V4 scope) and versioning status.
#[derive(Debug, Clone)]
pub(crate) struct BucketState {
    region: String,
    versioning: Option<String>,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Serialises DNS mutations together with their push to challtestsrv.
    dns_lock: tokio::sync::Mutex<()>,
    http: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running emulator; stops when dropped.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts an emulator on a free loopback port.
pub async fn start(seed: Seed) -> Emulator {
    start_on(seed, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("emulator: bind 127.0.0.1:0")
}

/// Starts an emulator on `addr` (port 0 picks a free one).
pub async fn start_on(seed: Seed, addr: SocketAddr) -> std::io::Result<Emulator> {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner::from_seed(&seed)),
        dns_lock: tokio::sync::Mutex::new(()),
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("reqwest client"),
    });
    let initial_txt = shared.lock().all_txt_resyncs();
    push_txt(&shared, initial_txt).await;

    let app = Router::new()
        .route("/__emulator/state", get(state_handler))
        .route("/__emulator/fail_next", post(fail_next_handler))
        .route("/__emulator/faults", post(faults_handler))
        .route("/__emulator/latency", post(latency_handler))
        .route("/__emulator/ram_policy", post(ram::ram_policy_handler))
        .route("/__emulator/health", get(|| async { "ok" }))
        .fallback(dispatch)
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("emulator: server error: {e}");
        }
    });
    Ok(Emulator { addr, shared, task })
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Emulator {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The endpoint override of every product, region-templated: alicert fills in the region
    /// of the resource it addresses, and the emulator answers as that region's endpoint.
    pub fn regional_url(&self) -> String {
        format!("{}/__region/{{region}}", self.base_url())
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// A cloned snapshot of the whole state.
    pub fn state(&self) -> EmulatorState {
        self.shared.lock().state.clone()
    }
    /// The next call of `action` (RPC Action, or PutObject/GetObject/HeadObject/DeleteObject) fails
    /// with this Code and HTTP status, after authentication. Calling it n times fails the next n calls.
    pub fn fail_next(&self, action: &str, code: &str, http_status: u16) {
        self.shared
            .lock()
            .failures
            .entry(action.to_string())
            .or_default()
            .push_back((code.to_string(), http_status));
    }
    /// Replaces the fault injection settings (and reseeds its RNG).
    pub fn set_faults(&self, faults: Faults) {
        let mut inner = self.shared.lock();
        inner.fault_rng = rand::SeedableRng::seed_from_u64(faults.seed);
        inner.faults = faults;
    }
    /// Every Alibaba Cloud call from now on is answered `ms` milliseconds later (0: none).
    pub fn set_latency_ms(&self, ms: u64) {
        self.shared.lock().latency_ms = ms;
    }

    /// Checks every later request against `policy` (a RAM policy document), or stops checking
    /// (`None`); an invalid document is refused with the reason.
    pub fn set_ram_policy(&self, policy: Option<&Value>) -> Result<(), String> {
        let parsed = policy.map(RamPolicy::parse).transpose()?;
        self.shared.lock().set_ram_policy(parsed);
        Ok(())
    }

    /// Points TXT propagation at a (different) challtestsrv, or turns it off.
    pub fn set_challtestsrv(&self, url: Option<String>) {
        self.shared.lock().challtestsrv = url;
    }
}

impl Inner {
    fn from_seed(seed: &Seed) -> Inner {
        let mut inner = Inner {
            state: EmulatorState::default(),
            keys: seed
                .access_keys
                .iter()
                .map(|k| (k.id.clone(), k.clone()))
                .collect(),
            buckets: seed
                .buckets
                .iter()
                .map(|b| {
                    let state = BucketState {
                        region: seed
                            .bucket_regions
                            .get(b)
                            .cloned()
                            .unwrap_or_else(|| REGION.to_string()),
                        versioning: seed.bucket_versioning.get(b).cloned(),
                    };
                    (b.clone(), state)
                })
                .collect(),
            kms_instances: seed.kms_instances.clone(),
            nonces: HashMap::new(),
            failures: HashMap::new(),
            next_record_id: 1_893_214_930_838_529_000,
            next_cert_id: 14_000_001,
            faults: seed.faults.clone(),
            fault_rng: rand::SeedableRng::seed_from_u64(seed.faults.seed),
            latency_ms: seed.latency_ms,
            epoch: std::time::Instant::now(),
            challtestsrv: seed
                .challtestsrv
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            fc_functions: seed.fc_functions.clone(),
            fc_forward: None,
            seed_dm_senders: seed.dm_senders.clone(),
            ram_policy: seed
                .ram_policy
                .as_ref()
                .map(|v| RamPolicy::parse(v).expect("emulator seed: ram_policy")),
            accounts: accounts::Accounts::from_seed(&seed.accounts),
            quota_windows: quota::Windows::default(),
        };
        alidns::seed_zones(&mut inner, seed);
        inner.state.services = ServicesState::from_seed(&seed.services);
        cdn::seed_cdn(&mut inner, seed);
        apigateway::seed_apigateway(&mut inner, seed);
        kms::seed_kms(&mut inner, seed);
        waf::seed_waf(&mut inner, seed);
        video::seed_video(&mut inner, seed);
        ddos::seed_ddos(&mut inner, seed);
        cas_deploy::seed_cas_deploy(&mut inner, seed);
        sts::seed_sts(&mut inner, seed);
        inner
    }

    fn next_record_id(&mut self) -> String {
        self.next_record_id += rand::thread_rng().gen_range(1..=97);
        self.next_record_id.to_string()
    }

    fn next_cert_id(&mut self) -> u64 {
        self.next_cert_id += 1;
        self.next_cert_id
    }

    fn take_failure(&mut self, action: &str) -> Option<(String, u16)> {
        let q = self.failures.get_mut(action)?;
        let f = q.pop_front();
        if q.is_empty() {
            self.failures.remove(action);
        }
        f
    }
}
// ---------------------------------------------------------------------------------------------
// Seed and state
// ---------------------------------------------------------------------------------------------

/// The seed of the products added after the first ones. Only a container: it keeps the seed
/// JSON's `"services"` object; its fields are read by the products' own seed functions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServicesSeed {
    /// SLB HTTPS listeners: (LoadBalancerId, ListenerPort).
    pub slb_listeners: Vec<(String, u16)>,
    /// SLB listeners of another protocol: (LoadBalancerId, ListenerPort, `http`|`tcp`|`udp`).
    pub slb_other_listeners: Vec<(String, u16, String)>,
    /// SLB domain extensions: (DomainExtensionId, LoadBalancerId, ListenerPort, Domain).
    pub slb_domain_extensions: Vec<(String, String, u16, String)>,
    /// ALB HTTPS listener ids.
    pub alb_listeners: Vec<String>,
    /// ALB listener → region, for listeners outside cn-hangzhou.
    pub alb_listener_regions: BTreeMap<String, String>,
    /// How long an ALB listener stays `Configuring` after each write (ms); `None`: 300.
    pub alb_job_ms: Option<u64>,
    /// FC 3 custom domains (protocol HTTP at start).
    pub fc_domains: Vec<String>,
    /// FC custom domain → region, for domains outside cn-hangzhou.
    pub fc_domain_regions: BTreeMap<String, String>,
    /// OSS bucket CNAMEs: (bucket, domain).
    pub oss_cnames: Vec<(String, String)>,
    /// ESA sites with their quota and SaaS hostnames (esa.rs).
    pub esa_sites: Vec<EsaSiteSeed>,
    /// How long an ESA SaaS hostname stays `configuring` after an update (ms); `None`: 300.
    pub esa_hostname_ms: Option<u64>,
    /// Cloud-native API Gateway domains (apig.rs).
    pub apig_domains: Vec<ApigDomain>,
    /// NLB TCPSSL listener ids (nlb.rs).
    pub nlb_listeners: Vec<String>,
    /// NLB listener → region, for listeners outside cn-hangzhou.
    pub nlb_listener_regions: BTreeMap<String, String>,
    /// NLB TCP (not TCPSSL) listener ids, in cn-hangzhou.
    pub nlb_tcp_listeners: Vec<String>,
    /// How long an NLB listener stays `Configuring` after each write (ms); `None`: 300.
    pub nlb_job_ms: Option<u64>,
    /// Global Accelerator HTTPS listeners: (ListenerId, AcceleratorId) (ga.rs).
    pub ga_listeners: Vec<(String, String)>,
    /// How long a GA listener stays `configuring`/`updating` after each write (ms); `None`: 300.
    pub ga_job_ms: Option<u64>,
}

/// Only a container (the element types live in the product files): it keeps the state JSON's
/// `"services"` object and the `state.services.…` paths tests use.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServicesState {
    pub slb_server_certs: Vec<SlbServerCert>,
    pub slb_listeners: Vec<SlbListener>,
    pub slb_domain_extensions: Vec<SlbDomainExtension>,
    pub alb_listeners: Vec<AlbListener>,
    /// Duration of every ALB write job (ms).
    pub alb_job_ms: u64,
    pub fc_domains: Vec<FcDomain>,
    pub oss_cnames: Vec<OssCname>,
    pub esa_sites: Vec<EsaSite>,
    /// Duration of every ESA SaaS hostname update (ms).
    pub esa_hostname_ms: u64,
    pub apig_domains: Vec<ApigDomain>,
    pub nlb_listeners: Vec<NlbListener>,
    pub nlb_tcp_listeners: Vec<String>,
    /// Duration of every NLB write job (ms).
    pub nlb_job_ms: u64,
    /// Every NLB JobId issued (GetJobStatus).
    pub nlb_jobs: Vec<String>,
    pub ga_listeners: Vec<GaListener>,
    /// Duration of every GA write job (ms).
    pub ga_job_ms: u64,
}

impl ServicesState {
    pub fn from_seed(seed: &ServicesSeed) -> ServicesState {
        ServicesState {
            slb_server_certs: vec![],
            slb_listeners: slb::seed_slb_listeners(seed),
            slb_domain_extensions: slb::seed_slb_domain_extensions(seed),
            alb_listeners: alb::seed_alb_listeners(seed),
            alb_job_ms: seed.alb_job_ms.unwrap_or(300),
            fc_domains: fc::seed_fc_domains(seed),
            oss_cnames: oss::seed_oss_cnames(seed),
            esa_sites: esa::seed_esa_sites(seed),
            esa_hostname_ms: seed.esa_hostname_ms.unwrap_or(300),
            apig_domains: seed.apig_domains.clone(),
            nlb_listeners: nlb::seed_nlb_listeners(seed),
            nlb_tcp_listeners: seed.nlb_tcp_listeners.clone(),
            nlb_job_ms: seed.nlb_job_ms.unwrap_or(300),
            nlb_jobs: vec![],
            ga_listeners: ga::seed_ga_listeners(seed),
            ga_job_ms: seed.ga_job_ms.unwrap_or(300),
        }
    }
}
