//! Alibaba Cloud emulator for alicert's tests.
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
//!   emulator_fc.rs.
//! * TXT records added to Alidns are pushed into pebble-challtestsrv (when configured) so that
//!   Pebble's DNS-01 validation sees them.
//! * slb 2014-05-15, alb 2020-06-16 (RPC), FC 3 custom domains (ROA, V3 signatures) and OSS
//!   PutCname/ListCname: see emulator/services.rs.
//! * Inspection: [`Emulator::state`] and `GET /__emulator/state`; fault injection:
//!   [`Emulator::fail_next`] and `POST /__emulator/fail_next` (`{"action","code","status"}`),
//!   and random seeded faults ([`Faults`]: throttling, 503s, slow answers, dropped
//!   connections) from [`Seed::faults`], [`Emulator::set_faults`] or `POST /__emulator/faults`.
#![allow(dead_code)]

#[path = "emulator/services.rs"]
mod services;
pub use services::*;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use alicert::aliyun::signer::{rpc_signature, rpc_string_to_sign};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

#[path = "emulator_fc.rs"]
mod fc;
pub use fc::FcInvocation;

/// Largest accepted clock difference for RPC `Timestamp` and OSS `Date`, like Alibaba.
pub const MAX_SKEW_SECS: i64 = 15 * 60;
const REGION: &str = "cn-hangzhou";
const ACCOUNT_ID: &str = "1234567890123456";
const RESOURCE_GROUP: &str = "rg-acfmemulator0001";
const DEFAULT_DNS_SERVERS: [&str; 2] = ["dns1.hichina.com", "dns2.hichina.com"];
const REDACTED_PARAMS: [&str; 9] = [
    "PrivateKey",
    "Signature",
    "SecurityToken",
    "SSLPri",
    "Key",
    "CertificatePrivateKey",
    "SecretData",
    "EncryptPrivateKey",
    "SignPrivateKey",
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
    /// SLB/ALB listeners, FC custom domains, OSS CNAMEs (emulator/services.rs).
    pub services: ServicesSeed,
    /// FC 3 functions that InvokeFunction accepts.
    pub fc_functions: Vec<String>,
    /// Random faults on every RPC and OSS call (none by default).
    pub faults: Faults,
}

/// Fault injection: each RPC/OSS request draws from one RNG seeded with `seed`, and is answered
/// with `Throttling.User` (HTTP 400) with probability `throttling`, `ServiceUnavailable` (503)
/// with `unavailable`, or handled after a `slow_ms` pause with `slow`, or handled and then has
/// its connection dropped mid-response (the client cannot tell whether it took effect) with
/// `drop`; otherwise it is handled normally. Rates are 0.0–1.0 and add up to at most 1.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    pub seed: u64,
    pub throttling: f64,
    pub unavailable: f64,
    pub slow: f64,
    pub slow_ms: u64,
    pub drop: f64,
}

impl Faults {
    pub fn any(&self) -> bool {
        self.throttling + self.unavailable + self.slow + self.drop > 0.0
    }
}

/// How many faults were injected, by kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FaultCounts {
    pub throttled: u64,
    pub unavailable: u64,
    pub slowed: u64,
    pub dropped: u64,
}

impl FaultCounts {
    /// Faults that make the client retry (all but slow responses).
    pub fn failures(&self) -> u64 {
        self.throttled + self.unavailable + self.dropped
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Throttle,
    Unavailable,
    Slow(u64),
    Drop,
}

impl Seed {
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }
    pub fn access_key(mut self, id: &str, secret: &str) -> Self {
        self.access_keys.push(AccessKey {
            id: id.into(),
            secret: secret.into(),
            security_token: None,
        });
        self
    }
    pub fn sts_key(mut self, id: &str, secret: &str, token: &str) -> Self {
        self.access_keys.push(AccessKey {
            id: id.into(),
            secret: secret.into(),
            security_token: Some(token.into()),
        });
        self
    }
    pub fn zone(mut self, name: &str) -> Self {
        self.zones.push(Zone {
            name: name.into(),
            ..Zone::default()
        });
        self
    }
    pub fn cdn_domain(mut self, name: &str) -> Self {
        self.cdn_domains.push(name.into());
        self
    }
    pub fn dcdn_domain(mut self, name: &str) -> Self {
        self.dcdn_domains.push(name.into());
        self
    }
    pub fn apigateway_domain(mut self, group_id: &str, domain: &str) -> Self {
        self.apigateway_domains.push(ApiGatewayDomain {
            group_id: group_id.into(),
            domain: domain.into(),
        });
        self
    }
    pub fn bucket(mut self, name: &str) -> Self {
        self.buckets.push(name.into());
        self
    }
    /// A bucket in `region` (reachable only through that region's endpoint and V4 scope).
    pub fn bucket_in(mut self, name: &str, region: &str) -> Self {
        self.buckets.push(name.into());
        self.bucket_regions.insert(name.into(), region.into());
        self
    }
    /// `status`: `Enabled` or `Suspended`.
    pub fn bucket_versioning(mut self, name: &str, status: &str) -> Self {
        self.bucket_versioning.insert(name.into(), status.into());
        self
    }
    pub fn kms_secret(mut self, name: &str, value: &str) -> Self {
        self.kms_secrets.insert(name.into(), value.into());
        self
    }
    pub fn kms_secret_in(mut self, name: &str, value: &str, region: &str) -> Self {
        self.kms_secrets.insert(name.into(), value.into());
        self.kms_secret_regions.insert(name.into(), region.into());
        self
    }
    pub fn kms_instance(mut self, instance_id: &str, key_ids: &[&str]) -> Self {
        self.kms_instances.insert(
            instance_id.into(),
            key_ids.iter().map(|k| k.to_string()).collect(),
        );
        self
    }
    pub fn challtestsrv(mut self, url: &str) -> Self {
        self.challtestsrv = Some(url.into());
        self
    }
    pub fn fc_function(mut self, name: &str) -> Self {
        self.fc_functions.push(name.into());
        self
    }
}

/// An access key pair; with `security_token` it behaves like STS credentials (the token is required).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub security_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "ZoneRepr")]
pub struct Zone {
    pub name: String,
    /// Defaults to dns1/dns2.hichina.com.
    pub dns_servers: Vec<String>,
    /// Records present from the start (not counted in `records_added`).
    pub records: Vec<SeedRecord>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ZoneRepr {
    Name(String),
    Full(ZoneFull),
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ZoneFull {
    name: String,
    dns_servers: Vec<String>,
    records: Vec<SeedRecord>,
}

impl From<ZoneRepr> for Zone {
    fn from(r: ZoneRepr) -> Self {
        match r {
            ZoneRepr::Name(name) => Zone {
                name,
                ..Zone::default()
            },
            ZoneRepr::Full(f) => Zone {
                name: f.name,
                dns_servers: f.dns_servers,
                records: f.records,
            },
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedRecord {
    pub rr: String,
    /// Defaults to TXT.
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
    pub ttl: Option<u64>,
    pub remark: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiGatewayDomain {
    pub group_id: String,
    pub domain: String,
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
    /// SLB/ALB, FC custom domains, OSS CNAMEs (emulator/services.rs).
    pub services: ServicesState,
    /// Faults injected so far (see [`Faults`]).
    pub faults: FaultCounts,
    /// FC InvokeFunction calls accepted, in order.
    pub fc_invocations: Vec<FcInvocation>,
}

impl EmulatorState {
    /// TXT records present now.
    pub fn txt_records(&self) -> Vec<&DnsRecord> {
        self.records
            .iter()
            .filter(|r| r.record_type == "TXT")
            .collect()
    }
    /// Values of the TXT records present now at `fqdn` (trailing dot optional).
    pub fn txt_values(&self, fqdn: &str) -> Vec<String> {
        let want = normalize_name(fqdn);
        self.txt_records()
            .into_iter()
            .filter(|r| r.fqdn() == want)
            .map(|r| r.value.clone())
            .collect()
    }
    pub fn record(&self, record_id: &str) -> Option<&DnsRecord> {
        self.records.iter().find(|r| r.record_id == record_id)
    }
    /// Calls of one action (any product), in order.
    pub fn calls_to(&self, action: &str) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.action == action).collect()
    }
    pub fn cas_cert_named(&self, name: &str) -> Option<&CasCert> {
        self.cas_certs.iter().find(|c| c.name == name)
    }
    pub fn cdn_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.cdn_domains.get(domain).and_then(|c| c.as_ref())
    }
    pub fn dcdn_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.dcdn_domains.get(domain).and_then(|c| c.as_ref())
    }
    pub fn apigateway_cert(&self, group_id: &str, domain: &str) -> Option<&DeployedCert> {
        self.apigateway_domains
            .iter()
            .find(|d| d.group_id == group_id && d.domain == domain)
            .and_then(|d| d.certificate.as_ref())
    }
    /// Current (ACSCurrent) value of a KMS secret.
    pub fn secret_value(&self, name: &str) -> Option<&str> {
        self.kms_secrets
            .get(name)
            .and_then(|s| s.current())
            .map(|v| v.data.as_str())
    }
    pub fn object(&self, bucket: &str, key: &str) -> Option<&OssObject> {
        self.oss_objects.get(&format!("{bucket}/{key}"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneState {
    pub name: String,
    pub domain_id: String,
    pub dns_servers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsRecord {
    /// Decimal string, like Alidns.
    pub record_id: String,
    /// The zone (`DomainName`).
    pub domain_name: String,
    /// Host record, lower case; `@` for the apex.
    pub rr: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
    pub ttl: u64,
    pub line: String,
    pub priority: Option<u64>,
    pub status: String,
    pub remark: Option<String>,
    /// AccessKeyId that added it (None: seeded).
    pub created_by: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl DnsRecord {
    /// Full name without trailing dot, lower case.
    pub fn fqdn(&self) -> String {
        if self.rr == "@" {
            self.domain_name.clone()
        } else {
            format!("{}.{}", self.rr, self.domain_name)
        }
    }
}

/// Facts parsed from a certificate PEM (first certificate of the chain).
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// Lower-case hex, no separators, no leading zeros.
    pub serial_no: String,
    pub common_name: String,
    /// DNS and IP subject alternative names.
    pub sans: Vec<String>,
    pub issuer_common_name: String,
    pub issuer_org: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    /// Lower-case hex SHA-1 of the DER.
    pub fingerprint: String,
    /// Lower-case hex SHA-256 of the DER.
    pub sha2: String,
    /// `RSA` or `ECC`.
    pub algorithm: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CasCert {
    pub cert_id: u64,
    pub name: String,
    pub cert: String,
    pub key: String,
    pub info: CertInfo,
    pub created_by: String,
    pub created_ms: i64,
}

/// A certificate installed on a CDN/DCDN domain or an API Gateway domain.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedCert {
    pub cert_name: String,
    /// CDN: the CAS CertId (string); API Gateway: the CertificateId.
    pub cert_id: String,
    /// `upload` or `cas` (API Gateway: `upload`).
    pub cert_type: String,
    pub cert_region: String,
    pub cert: String,
    /// Kept for inspection; the describe APIs never return it.
    pub key: String,
    pub info: CertInfo,
    pub updated_ms: i64,
    pub updated_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiGatewayDomainState {
    pub group_id: String,
    pub domain: String,
    pub certificate: Option<DeployedCert>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KmsSecret {
    pub name: String,
    /// Where it lives; only that region's KMS endpoint finds it.
    pub region: String,
    /// KMS 3.0: the instance and key it was created with.
    pub dkms_instance_id: Option<String>,
    pub encryption_key_id: Option<String>,
    pub versions: Vec<KmsSecretVersion>,
}

impl KmsSecret {
    pub fn current(&self) -> Option<&KmsSecretVersion> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == "ACSCurrent"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KmsSecretVersion {
    pub version_id: String,
    pub data: String,
    pub data_type: String,
    pub stages: Vec<String>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OssObject {
    pub bucket: String,
    pub key: String,
    #[serde(serialize_with = "ser_base64")]
    pub body: Vec<u8>,
    pub content_type: String,
    /// Stored headers (lower-case names): x-oss-meta-*, x-oss-server-side-encryption, cache-control…
    pub headers: BTreeMap<String, String>,
    /// `"<MD5 hex upper case>"`, quotes included, like OSS.
    pub etag: String,
    pub last_modified: String,
    pub put_by: String,
}

impl OssObject {
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}

fn ser_base64<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&B64.encode(b))
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
}

// ---------------------------------------------------------------------------------------------
// Emulator handle
// ---------------------------------------------------------------------------------------------

struct Inner {
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
    fc_functions: Vec<String>,
    /// Where accepted async invocations are POSTed (`<url>/invoke`).
    fc_forward: Option<String>,
}

/// A bucket: its region (its endpoint and V4 scope) and versioning status.
#[derive(Debug, Clone)]
struct BucketState {
    region: String,
    versioning: Option<String>,
}

struct Shared {
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
    /// alicert's own client against this emulator (every product, region-templated, home
    /// region cn-hangzhou), for tests that call Alibaba actions directly.
    pub fn client(
        &self,
        access_key_id: &str,
        secret: &str,
        security_token: Option<&str>,
    ) -> alicert::aliyun::AliyunClient {
        let endpoints: BTreeMap<String, String> = alicert::aliyun::Product::codes()
            .into_iter()
            .map(|p| (p.to_string(), self.regional_url()))
            .collect();
        alicert::aliyun::AliyunClient::new(
            alicert::aliyun::Credentials {
                access_key_id: access_key_id.into(),
                access_key_secret: alicert::secret::Secret::new(secret),
                security_token: security_token.map(alicert::secret::Secret::new),
            },
            REGION,
            &endpoints,
        )
        .expect("a client for the emulator")
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
    /// Runs accepted async FC invocations by POSTing their body to `<url>/invoke`.
    pub fn set_fc_forward(&self, url: Option<String>) {
        self.shared.lock().fc_forward = url;
    }
    /// Points TXT propagation at a (different) challtestsrv, or turns it off.
    pub fn set_challtestsrv(&self, url: Option<String>) {
        self.shared.lock().challtestsrv = url;
    }
    /// Installs a certificate on a seeded CDN domain directly (as if deployed earlier).
    pub fn set_cdn_certificate(&self, domain: &str, cert_pem: &str, key_pem: &str) {
        let dc = direct_cert(domain, cert_pem, key_pem);
        let mut inner = self.shared.lock();
        let slot = inner
            .state
            .cdn_domains
            .get_mut(domain)
            .unwrap_or_else(|| panic!("CDN domain {domain} is not seeded"));
        *slot = Some(dc);
    }
    /// Installs a certificate on a seeded DCDN domain directly.
    pub fn set_dcdn_certificate(&self, domain: &str, cert_pem: &str, key_pem: &str) {
        let dc = direct_cert(domain, cert_pem, key_pem);
        let mut inner = self.shared.lock();
        let slot = inner
            .state
            .dcdn_domains
            .get_mut(domain)
            .unwrap_or_else(|| panic!("DCDN domain {domain} is not seeded"));
        *slot = Some(dc);
    }
    /// Installs a certificate on a seeded API Gateway domain directly.
    pub fn set_apigateway_certificate(
        &self,
        group_id: &str,
        domain: &str,
        cert_pem: &str,
        key_pem: &str,
    ) {
        let mut dc = direct_cert(domain, cert_pem, key_pem);
        dc.cert_id = random_hex(32);
        let mut inner = self.shared.lock();
        let d = inner
            .state
            .apigateway_domains
            .iter_mut()
            .find(|d| d.group_id == group_id && d.domain == domain)
            .unwrap_or_else(|| panic!("API Gateway domain {group_id}/{domain} is not seeded"));
        d.certificate = Some(dc);
    }
    /// Stores an object directly (bucket must be seeded).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let mut inner = self.shared.lock();
        assert!(
            inner.buckets.contains_key(bucket),
            "bucket {bucket} is not seeded"
        );
        let obj = OssObject {
            bucket: bucket.into(),
            key: key.into(),
            body: body.to_vec(),
            content_type: "application/octet-stream".into(),
            headers: BTreeMap::new(),
            etag: format!("\"{}\"", hex::encode_upper(md5(body))),
            last_modified: httpdate::fmt_http_date(std::time::SystemTime::now()),
            put_by: String::new(),
        };
        inner
            .state
            .oss_objects
            .insert(format!("{bucket}/{key}"), obj);
    }
}

fn direct_cert(domain: &str, cert_pem: &str, key_pem: &str) -> DeployedCert {
    let info = parse_cert(cert_pem).unwrap_or_else(|e| panic!("certificate for {domain}: {e}"));
    DeployedCert {
        cert_name: format!("preexisting-{domain}"),
        cert_id: String::new(),
        cert_type: "upload".into(),
        cert_region: REGION.into(),
        cert: cert_pem.into(),
        key: key_pem.into(),
        info,
        updated_ms: now_ms(),
        updated_by: String::new(),
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
            challtestsrv: seed
                .challtestsrv
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            fc_functions: seed.fc_functions.clone(),
            fc_forward: None,
        };
        let now = now_ms();
        for z in &seed.zones {
            let name = normalize_name(&z.name);
            let dns_servers = if z.dns_servers.is_empty() {
                DEFAULT_DNS_SERVERS.iter().map(|s| s.to_string()).collect()
            } else {
                z.dns_servers.clone()
            };
            inner.state.zones.push(ZoneState {
                domain_id: uuid_like(),
                name: name.clone(),
                dns_servers,
            });
            for r in &z.records {
                let id = inner.next_record_id();
                let rt = if r.record_type.is_empty() {
                    "TXT".to_string()
                } else {
                    r.record_type.to_ascii_uppercase()
                };
                inner.state.records.push(DnsRecord {
                    record_id: id,
                    domain_name: name.clone(),
                    rr: if r.rr.is_empty() {
                        "@".into()
                    } else {
                        r.rr.to_ascii_lowercase()
                    },
                    record_type: rt,
                    value: r.value.clone(),
                    ttl: r.ttl.unwrap_or(600),
                    line: "default".into(),
                    priority: None,
                    status: "ENABLE".into(),
                    remark: r.remark.clone(),
                    created_by: None,
                    created_ms: now,
                    updated_ms: now,
                });
            }
        }
        inner.state.services = ServicesState::from_seed(&seed.services);
        for d in &seed.cdn_domains {
            inner.state.cdn_domains.insert(d.clone(), None);
        }
        for d in &seed.dcdn_domains {
            inner.state.dcdn_domains.insert(d.clone(), None);
        }
        for d in &seed.apigateway_domains {
            inner.state.apigateway_domains.push(ApiGatewayDomainState {
                group_id: d.group_id.clone(),
                domain: d.domain.clone(),
                certificate: None,
            });
        }
        for (name, value) in &seed.kms_secrets {
            inner.state.kms_secrets.insert(
                name.clone(),
                KmsSecret {
                    name: name.clone(),
                    region: seed
                        .kms_secret_regions
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| REGION.to_string()),
                    dkms_instance_id: None,
                    encryption_key_id: None,
                    versions: vec![KmsSecretVersion {
                        version_id: "v1".into(),
                        data: value.clone(),
                        data_type: "text".into(),
                        stages: vec!["ACSCurrent".into()],
                        created_ms: now,
                    }],
                },
            );
        }
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

    /// The fault for the next request, if any (one draw per request, in arrival order).
    fn draw_fault(&mut self) -> Option<Fault> {
        if !self.faults.any() {
            return None;
        }
        let x: f64 = self.fault_rng.gen();
        let f = &self.faults;
        let fault = if x < f.throttling {
            Fault::Throttle
        } else if x < f.throttling + f.unavailable {
            Fault::Unavailable
        } else if x < f.throttling + f.unavailable + f.slow {
            Fault::Slow(f.slow_ms)
        } else if x < f.throttling + f.unavailable + f.slow + f.drop {
            Fault::Drop
        } else {
            return None;
        };
        let c = &mut self.state.faults;
        match fault {
            Fault::Throttle => c.throttled += 1,
            Fault::Unavailable => c.unavailable += 1,
            Fault::Slow(_) => c.slowed += 1,
            Fault::Drop => c.dropped += 1,
        }
        Some(fault)
    }

    fn take_failure(&mut self, action: &str) -> Option<(String, u16)> {
        let q = self.failures.get_mut(action)?;
        let f = q.pop_front();
        if q.is_empty() {
            self.failures.remove(action);
        }
        f
    }

    fn txt_values_at(&self, host: &str) -> Vec<String> {
        self.state
            .records
            .iter()
            .filter(|r| r.record_type == "TXT" && r.status == "ENABLE" && r.fqdn() == host)
            .map(|r| r.value.clone())
            .collect()
    }

    fn all_txt_resyncs(&self) -> Vec<TxtSync> {
        let hosts: HashSet<String> = self
            .state
            .records
            .iter()
            .filter(|r| r.record_type == "TXT")
            .map(|r| r.fqdn())
            .collect();
        hosts
            .into_iter()
            .map(|h| TxtSync::Resync {
                values: self.txt_values_at(&h),
                host: h,
            })
            .collect()
    }

    fn zone(&self, name: &str) -> Option<&ZoneState> {
        let n = normalize_name(name);
        self.state.zones.iter().find(|z| z.name == n)
    }

    /// The seeded zone `fqdn` belongs to (longest suffix) and the RR within it.
    fn zone_of(&self, fqdn: &str) -> Option<(String, String)> {
        let n = normalize_name(fqdn);
        self.state
            .zones
            .iter()
            .filter(|z| n == z.name || n.ends_with(&format!(".{}", z.name)))
            .max_by_key(|z| z.name.len())
            .map(|z| {
                let rr = if n == z.name {
                    "@".to_string()
                } else {
                    n[..n.len() - z.name.len() - 1].to_string()
                };
                (z.name.clone(), rr)
            })
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------------------------

async fn state_handler(State(shared): State<Arc<Shared>>) -> Json<EmulatorState> {
    Json(shared.lock().state.clone())
}

#[derive(Deserialize)]
struct FailNextBody {
    action: String,
    code: String,
    #[serde(default = "default_fail_status")]
    status: u16,
}

fn default_fail_status() -> u16 {
    500
}

async fn fail_next_handler(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<FailNextBody>(&body) {
        Ok(b) => {
            shared
                .lock()
                .failures
                .entry(b.action)
                .or_default()
                .push_back((b.code, b.status));
            (StatusCode::OK, Json(json!({"ok": true}))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn faults_handler(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            let mut inner = shared.lock();
            inner.fault_rng = rand::SeedableRng::seed_from_u64(f.seed);
            inner.faults = f;
            (StatusCode::OK, Json(json!({"ok": true}))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

/// Which regional endpoint a request was sent to: `/__region/<region>` in front of the path
/// (the rig's `{region}`-templated endpoint overrides), else the default region's host.
#[derive(Debug, Clone)]
pub(crate) struct Addressed {
    pub region: String,
    /// The path prefix as sent (empty without one), for signatures over the path (V3).
    pub prefix: String,
}

impl Addressed {
    fn split(path: &str) -> (Addressed, String) {
        if let Some(rest) = path.strip_prefix("/__region/") {
            let (region, tail) = rest.split_once('/').unwrap_or((rest, ""));
            let at = Addressed {
                region: region.to_string(),
                prefix: format!("/__region/{region}"),
            };
            return (at, format!("/{tail}"));
        }
        let at = Addressed {
            region: REGION.to_string(),
            prefix: String::new(),
        };
        (at, path.to_string())
    }

    /// The path the client signed.
    pub fn signed_path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
}

async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("cannot read body: {e}")).into_response();
        }
    };
    let (at, path) = Addressed::split(parts.uri.path());
    let path = path.as_str();
    let rpc = path == "/";
    let fault = shared.lock().draw_fault();
    match fault {
        Some(Fault::Throttle) => {
            return injected_error(
                rpc,
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            );
        }
        Some(Fault::Unavailable) => {
            return injected_error(
                rpc,
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            );
        }
        Some(Fault::Slow(ms)) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        _ => {}
    }
    let rsp = if path.starts_with("/2023-03-30/functions/") {
        fc::handle(
            &shared,
            &parts.method,
            path,
            parts.uri.query(),
            &parts.headers,
            &body,
            &at,
        )
        .await
    } else if path.starts_with("/2023-03-30/") {
        services::handle_fc(
            &shared,
            &parts.method,
            path,
            parts.uri.query(),
            &parts.headers,
            &body,
            &at,
        )
    } else if rpc {
        handle_rpc(
            &shared,
            &parts.method,
            parts.uri.query(),
            &parts.headers,
            &body,
            &at,
        )
        .await
    } else {
        handle_oss(
            &shared,
            &parts.method,
            path,
            parts.uri.query(),
            &parts.headers,
            &body,
            &at,
        )
        .await
    };
    if fault == Some(Fault::Drop) {
        // The request took effect, but the answer is lost: the headers go out, then the
        // connection breaks in the middle of the body.
        let (mut head, _) = rsp.into_parts();
        head.headers.remove(header::CONTENT_LENGTH);
        if head.status == StatusCode::NO_CONTENT {
            // A 204 has no body to break off.
            head.status = StatusCode::OK;
        }
        let broken = futures_util::stream::iter([
            Ok(axum::body::Bytes::from_static(b"{")),
            Err(std::io::Error::other("emulator: connection dropped")),
        ]);
        return Response::from_parts(head, Body::from_stream(broken));
    }
    rsp
}

/// An injected throttling / unavailability answer, shaped like the product's errors.
fn injected_error(rpc: bool, status: u16, code: &str, message: &str) -> Response {
    let request_id = uuid_like();
    if rpc {
        rpc_error_response(&err(status, code, message), &request_id, "aliyuncs.com", "")
    } else {
        oss_error_response(
            &oss_err(status, code, message),
            &request_id,
            "",
            REGION,
            false,
        )
    }
}

#[derive(Debug)]
struct ApiError {
    status: u16,
    code: String,
    message: String,
}

fn err(status: u16, code: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code: code.into(),
        message: message.into(),
    }
}

fn missing(name: &str) -> ApiError {
    err(
        400,
        format!("MissingParameter.{name}"),
        format!("The input parameter {name} that is mandatory for processing this request is not supplied."),
    )
}

fn invalid(name: &str, why: &str) -> ApiError {
    err(
        400,
        format!("InvalidParameter.{name}"),
        format!("The specified parameter {name} is not valid: {why}"),
    )
}

struct Params<'a>(&'a BTreeMap<String, String>);

impl<'a> Params<'a> {
    fn get(&self, k: &str) -> Option<&'a str> {
        self.0.get(k).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }
    fn req(&self, k: &str) -> Result<&'a str, ApiError> {
        self.get(k).ok_or_else(|| missing(k))
    }
    fn u64_or(&self, k: &str, default: u64) -> Result<u64, ApiError> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid(k, "not a non-negative integer")),
        }
    }
    fn req_u64(&self, k: &str) -> Result<u64, ApiError> {
        self.req(k)?
            .trim()
            .parse()
            .map_err(|_| invalid(k, "not a non-negative integer"))
    }
}

fn product_of(version: &str) -> Option<(&'static str, &'static str)> {
    Some(match version {
        "2015-01-09" => ("alidns", "alidns.aliyuncs.com"),
        "2020-04-07" => ("cas", "cas.aliyuncs.com"),
        "2018-05-10" => ("cdn", "cdn.aliyuncs.com"),
        "2018-01-15" => ("dcdn", "dcdn.aliyuncs.com"),
        "2016-07-14" => ("apigateway", "apigateway.cn-hangzhou.aliyuncs.com"),
        "2016-01-20" => ("kms", "kms.cn-hangzhou.aliyuncs.com"),
        "2014-05-15" => ("slb", "slb.aliyuncs.com"),
        "2020-06-16" => ("alb", "alb.cn-hangzhou.aliyuncs.com"),
        _ => return None,
    })
}

fn rpc_error_response(e: &ApiError, request_id: &str, host: &str, product: &str) -> Response {
    let body = json!({
        "RequestId": request_id,
        "Code": e.code,
        "Message": e.message,
        "HostId": host,
        "Recommend": format!(
            "https://api.aliyun.com/troubleshoot?q={}&product={}",
            e.code, product
        ),
    });
    json_response(e.status, request_id, body)
}

fn json_response(status: u16, request_id: &str, body: Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-acs-request-id", v);
    }
    resp
}

fn redacted(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    params
        .iter()
        .map(|(k, v)| {
            if REDACTED_PARAMS.contains(&k.as_str()) {
                (k.clone(), "<redacted>".to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// RPC
// ---------------------------------------------------------------------------------------------

async fn handle_rpc(
    shared: &Arc<Shared>,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &Addressed,
) -> Response {
    let request_id = uuid_like();
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    if let Some(q) = query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    if is_form && !body.is_empty() {
        for (k, v) in form_urlencoded::parse(body) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let p = Params(&params);
    let action = p.get("Action").unwrap_or("").to_string();
    let ak = p.get("AccessKeyId").unwrap_or("").to_string();
    let product = product_of(p.get("Version").unwrap_or(""));
    let (product_name, host) = product.unwrap_or(("", "aliyuncs.com"));

    let log = |shared: &Arc<Shared>, status: u16, code: Option<&str>| {
        shared.lock().state.calls.push(Call {
            product: product_name.to_string(),
            action: action.clone(),
            access_key_id: ak.clone(),
            security_token: params.contains_key("SecurityToken"),
            method: method.to_string(),
            http_status: status,
            code: code.map(|c| c.to_string()),
            request_id: request_id.clone(),
            params: redacted(&params),
        });
    };

    let verified = if *method != Method::POST && *method != Method::GET {
        Err(err(
            405,
            "UnsupportedHTTPMethod",
            "RPC requests must use POST or GET.",
        ))
    } else {
        verify_rpc(shared, method.as_str(), &params)
    };
    if let Err(e) = verified {
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }
    if product.is_none() {
        let e = err(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        );
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }

    let injected = shared.lock().take_failure(&action);
    if let Some((code, status)) = injected {
        let e = err(status, code, "Injected failure (emulator fail_next).");
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }

    let _dns_guard = if product_name == "alidns" {
        Some(shared.dns_lock.lock().await)
    } else {
        None
    };
    let result = {
        let mut inner = shared.lock();
        let ctx = Ctx {
            ak: &ak,
            region: &at.region,
        };
        match product_name {
            "alidns" => alidns(&mut inner, &action, &p, &ctx),
            "cas" => cas(&mut inner, &action, &p, &ctx).map(|v| (v, vec![])),
            "cdn" => cdn(&mut inner, &action, &p, &ctx, false).map(|v| (v, vec![])),
            "dcdn" => cdn(&mut inner, &action, &p, &ctx, true).map(|v| (v, vec![])),
            "apigateway" => apigateway(&mut inner, &action, &p, &ctx).map(|v| (v, vec![])),
            "kms" => kms(&mut inner, &action, &p, &ctx).map(|v| (v, vec![])),
            "slb" => services::slb(&mut inner, &action, &p).map(|v| (v, vec![])),
            "alb" => services::alb(&mut inner, &action, &p, ctx.region).map(|v| (v, vec![])),
            _ => Err(unknown_action()),
        }
    };
    match result {
        Ok((mut value, syncs)) => {
            push_txt(shared, syncs).await;
            if let Value::Object(m) = &mut value {
                m.insert("RequestId".into(), Value::String(request_id.clone()));
            }
            log(shared, 200, None);
            json_response(200, &request_id, value)
        }
        Err(e) => {
            log(shared, e.status, Some(&e.code));
            rpc_error_response(&e, &request_id, host, product_name)
        }
    }
}

fn unknown_action() -> ApiError {
    err(
        400,
        "InvalidAction.NotFound",
        "Specified api is not found, please check your url and method.",
    )
}

fn verify_rpc(
    shared: &Shared,
    method: &str,
    params: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let p = Params(params);
    for name in [
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
    ] {
        if p.get(name).is_none() {
            return Err(err(
                400,
                "MissingParameter",
                format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
            ));
        }
    }
    if !p.req("Format")?.eq_ignore_ascii_case("JSON") {
        return Err(err(
            400,
            "InvalidParameter.Format",
            "The emulator only answers Format=JSON.",
        ));
    }
    if p.req("SignatureMethod")? != "HMAC-SHA1" {
        return Err(err(
            400,
            "InvalidSignatureMethod",
            "Specified signature method is not supported.",
        ));
    }
    if p.req("SignatureVersion")? != "1.0" {
        return Err(err(
            400,
            "InvalidSignatureVersion",
            "Specified signature version is not supported.",
        ));
    }
    let ts = parse_rpc_timestamp(p.req("Timestamp")?).ok_or_else(|| {
        err(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(err(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let ak = p.req("AccessKeyId")?;
    let nonce = p.req("SignatureNonce")?;
    let mut inner = shared.lock();
    let key = inner.keys.get(ak).cloned().ok_or_else(|| {
        err(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    })?;
    if let Some(token) = &key.security_token {
        match p.get("SecurityToken") {
            None => {
                return Err(err(
                    400,
                    "MissingSecurityToken",
                    "SecurityToken is mandatory for this access key.",
                ))
            }
            Some(t) if t != token => {
                return Err(err(
                    400,
                    "InvalidSecurityToken.Mismatch",
                    "Specified SecurityToken mismatch with the AccessKey.",
                ))
            }
            _ => {}
        }
    }
    let expected = rpc_signature(&key.secret, method, params);
    if p.req("Signature")? != expected {
        return Err(err(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{}",
                rpc_string_to_sign(method, params)
            ),
        ));
    }
    inner.nonces.retain(|_, t| now - *t <= 2 * MAX_SKEW_SECS);
    if inner
        .nonces
        .insert((ak.to_string(), nonce.to_string()), now)
        .is_some()
    {
        return Err(err(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(())
}

fn parse_rpc_timestamp(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(s, &fmt)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

struct Ctx<'a> {
    ak: &'a str,
    /// The region of the endpoint the request was sent to.
    region: &'a str,
}

enum TxtSync {
    /// `set-txt` one more value.
    Add { host: String, value: String },
    /// `clear-txt`, then `set-txt` each of `values`.
    Resync { host: String, values: Vec<String> },
}

async fn push_txt(shared: &Arc<Shared>, syncs: Vec<TxtSync>) {
    if syncs.is_empty() {
        return;
    }
    let Some(base) = shared.lock().challtestsrv.clone() else {
        return;
    };
    let post = |path: &'static str, body: Value| {
        let url = format!("{base}{path}");
        let http = shared.http.clone();
        async move {
            let r = http.post(&url).json(&body).send().await;
            match r {
                Ok(resp) if resp.status().is_success() => Ok(()),
                Ok(resp) => Err(format!("{url} {body}: HTTP {}", resp.status())),
                Err(e) => Err(format!("{url} {body}: {e}")),
            }
        }
    };
    let mut errors = Vec::new();
    for s in syncs {
        match s {
            TxtSync::Add { host, value } => {
                if let Err(e) = post(
                    "/set-txt",
                    json!({"host": format!("{host}."), "value": value}),
                )
                .await
                {
                    errors.push(e);
                }
            }
            TxtSync::Resync { host, values } => {
                let h = format!("{host}.");
                if let Err(e) = post("/clear-txt", json!({ "host": h })).await {
                    errors.push(e);
                }
                for v in values {
                    if let Err(e) = post("/set-txt", json!({"host": h, "value": v})).await {
                        errors.push(e);
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("emulator: challtestsrv push failed: {e}");
        }
        shared.lock().state.dns_push_errors.extend(errors);
    }
}

// ---------------------------------------------------------------------------------------------
// Alidns 2015-01-09
// ---------------------------------------------------------------------------------------------

const RECORD_TYPES: [&str; 10] = [
    "A",
    "AAAA",
    "CNAME",
    "TXT",
    "MX",
    "NS",
    "SRV",
    "CAA",
    "REDIRECT_URL",
    "FORWARD_URL",
];

fn no_such_zone() -> ApiError {
    err(
        400,
        "InvalidDomainName.NoExist",
        "The specified domain name does not exist. Refresh the page and try again.",
    )
}

fn record_not_found() -> ApiError {
    err(
        400,
        "DomainRecordNotBelongToUser",
        "The DNS record does not belong to the current user or does not exist.",
    )
}

// PageSize maxima from the SDK request models (PyPI alibabacloud-alidns20150109 4.6.1,
// alibabacloud_alidns20150109/models/): _describe_domains_request.py "The maximum value is
// **100**", _describe_sub_domain_records_request.py "Maximum value: **100**",
// _describe_domain_records_request.py "Maximum value: **500**"; default 20 for all three;
// PageNumber "starts from **1**".
const DESCRIBE_DOMAINS_MAX_PAGE_SIZE: u64 = 100;
const DESCRIBE_SUB_DOMAIN_RECORDS_MAX_PAGE_SIZE: u64 = 100;
const DESCRIBE_DOMAIN_RECORDS_MAX_PAGE_SIZE: u64 = 500;
const DEFAULT_PAGE_SIZE: u64 = 20;

/// An out-of-range paging parameter. The Alidns pages name no error code for it; Alibaba's
/// API gateway answers a value outside a parameter's documented range with 400
/// `InvalidParameter` "The specified parameter \"PageSize\" is not valid." (seen from RDS when
/// it capped PageSize, zhuchao941/canal2sql issue #5). Strictest plausible: refuse rather than
/// clamp, so a client asking for more than a page holds is caught.
fn paging_invalid(name: &str) -> ApiError {
    err(
        400,
        "InvalidParameter",
        format!("The specified parameter \"{name}\" is not valid."),
    )
}

/// `(PageNumber, PageSize)` of a listing whose PageSize is at most `max`: both from 1, the
/// page size defaults to 20.
fn paging(p: &Params, max: u64) -> Result<(u64, u64), ApiError> {
    let page_number = p.u64_or("PageNumber", 1)?;
    if page_number == 0 {
        return Err(paging_invalid("PageNumber"));
    }
    let page_size = p.u64_or("PageSize", DEFAULT_PAGE_SIZE)?;
    if !(1..=max).contains(&page_size) {
        return Err(paging_invalid("PageSize"));
    }
    Ok((page_number, page_size))
}

/// The remark rule of the Alidns remark family, in its strictest documented form: at most 50
/// characters of digits, letters, Chinese and `.` `_` `-`. Sources: UpdateDnsCacheDomainRemark
/// (alibabacloud-alidns20150109 4.6.1 models/_update_dns_cache_domain_remark_request.py: "up to
/// 50 characters in length and can contain Chinese characters, letters, digits, periods (.),
/// underscores (_), and hyphens (-)"); UpdateDomainRemark (models/_update_domain_remark_request.py)
/// and pvtz UpdateRecordRemark (https://help.aliyun.com/zh/dns/api-pvtz-2018-01-01-updaterecordremark)
/// also allow `,` `，` `。`. UpdateDomainRecordRemark's own page states no rule: it is held to
/// the strictest one.
fn valid_remark(remark: &str) -> bool {
    remark.chars().count() <= 50
        && remark.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '.' | '_' | '-')
                || ('\u{4e00}'..='\u{9fff}').contains(&c)
        })
}

/// The one error code the family documents for a bad remark (pvtz UpdateRecordRemark, page
/// above: HTTP 400 `Zone.Remark` with this message); Alidns documents none of its own.
fn invalid_remark() -> ApiError {
    err(
        400,
        "Zone.Remark",
        "50 characters long. It can only contain numbers,Chinese,English and special characters: _ - , . ，。",
    )
}

fn page_bounds(total: usize, page_number: u64, page_size: u64) -> (usize, usize) {
    let start = (page_number.max(1) - 1)
        .saturating_mul(page_size)
        .min(usize::MAX as u64) as usize;
    let start = start.min(total);
    let end = (start + page_size as usize).min(total);
    (start, end)
}

fn zone_json(inner: &Inner, z: &ZoneState) -> Value {
    let count = inner
        .state
        .records
        .iter()
        .filter(|r| r.domain_name == z.name)
        .count();
    json!({
        "DomainId": z.domain_id,
        "DomainName": z.name,
        "PunyCode": z.name,
        "AliDomain": false,
        "RecordCount": count,
        "RegistrantEmail": "",
        "Remark": "",
        "GroupId": "",
        "GroupName": "",
        "InstanceId": "",
        "InstanceEndTime": "",
        "InstanceExpired": false,
        "VersionCode": "mianfei",
        "VersionName": "Alibaba Cloud DNS",
        "Starmark": false,
        "CreateTime": "2024-01-01T00:00Z",
        "CreateTimestamp": 1_704_067_200_000i64,
        "ResourceGroupId": RESOURCE_GROUP,
        "DnsServers": {"DnsServer": z.dns_servers},
        "Tags": {"Tag": []},
    })
}

fn record_json(r: &DnsRecord) -> Value {
    let mut v = json!({
        "RecordId": r.record_id,
        "RR": r.rr,
        "Type": r.record_type,
        "Value": r.value,
        "TTL": r.ttl,
        "DomainName": r.domain_name,
        "Status": r.status,
        "Line": r.line,
        "Locked": false,
        "Weight": 1,
        "CreateTimestamp": r.created_ms,
        "UpdateTimestamp": r.updated_ms,
    });
    if let Some(p) = r.priority {
        v["Priority"] = json!(p);
    }
    if let Some(rem) = &r.remark {
        v["Remark"] = json!(rem);
    }
    v
}

fn records_page(records: Vec<&DnsRecord>, p: &Params, max: u64) -> Result<Value, ApiError> {
    let (page_number, page_size) = paging(p, max)?;
    let (s, e) = page_bounds(records.len(), page_number, page_size);
    Ok(json!({
        "TotalCount": records.len(),
        "PageNumber": page_number,
        "PageSize": page_size,
        "DomainRecords": {"Record": records[s..e].iter().map(|r| record_json(r)).collect::<Vec<_>>()},
    }))
}

fn validate_rr(rr: &str) -> Result<String, ApiError> {
    let rr = rr.trim().to_ascii_lowercase();
    let ok = !rr.is_empty()
        && (rr == "@"
            || rr.split('.').all(|l| {
                !l.is_empty()
                    && (l == "*"
                        || l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            }));
    if ok {
        Ok(rr)
    } else {
        Err(err(
            400,
            "InvalidRR.Format",
            "The parameter value RR is invalid.",
        ))
    }
}

fn validate_type(t: &str) -> Result<String, ApiError> {
    let t = t.trim().to_ascii_uppercase();
    if RECORD_TYPES.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(err(
            400,
            "InvalidParameter.Type",
            "The specified record type is not supported.",
        ))
    }
}

fn same_value(t: &str, a: &str, b: &str) -> bool {
    if t == "TXT" {
        a == b
    } else {
        a.trim_end_matches('.')
            .eq_ignore_ascii_case(b.trim_end_matches('.'))
    }
}

fn check_new_record(
    inner: &Inner,
    zone: &str,
    rr: &str,
    t: &str,
    value: &str,
    line: &str,
    except_id: Option<&str>,
) -> Result<(), ApiError> {
    for r in inner.state.records.iter().filter(|r| {
        r.domain_name == zone
            && r.rr == rr
            && r.line == line
            && Some(r.record_id.as_str()) != except_id
    }) {
        if r.record_type == t && same_value(t, &r.value, value) {
            return Err(err(
                400,
                "DomainRecordDuplicate",
                "The DNS record already exists.",
            ));
        }
        if (t == "CNAME") != (r.record_type == "CNAME") && !matches!(r.record_type.as_str(), "NS") {
            return Err(err(
                400,
                "DomainRecordConflict",
                "The DNS record conflicts with other records.",
            ));
        }
    }
    Ok(())
}

fn alidns(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<(Value, Vec<TxtSync>), ApiError> {
    let mut syncs = Vec::new();
    let v = match action {
        "DescribeDomains" => {
            let (page_number, page_size) = paging(p, DESCRIBE_DOMAINS_MAX_PAGE_SIZE)?;
            let kw = p.get("KeyWord").map(|k| k.to_ascii_lowercase());
            let exact = p
                .get("SearchMode")
                .is_some_and(|m| m.eq_ignore_ascii_case("EXACT"));
            let zones: Vec<&ZoneState> = inner
                .state
                .zones
                .iter()
                .filter(|z| match &kw {
                    None => true,
                    Some(k) if exact => &z.name == k,
                    Some(k) => z.name.contains(k.as_str()),
                })
                .collect();
            let (s, e) = page_bounds(zones.len(), page_number, page_size);
            json!({
                "TotalCount": zones.len(),
                "PageNumber": page_number,
                "PageSize": page_size,
                "Domains": {"Domain": zones[s..e].iter().map(|z| zone_json(inner, z)).collect::<Vec<_>>()},
            })
        }
        "DescribeDomainInfo" => {
            let z = inner.zone(p.req("DomainName")?).ok_or_else(no_such_zone)?;
            let mut v = zone_json(inner, z);
            let m = v.as_object_mut().expect("object");
            m.insert("MinTtl".into(), json!(600));
            m.insert(
                "AvailableTtls".into(),
                json!({"AvailableTtl": ["600", "1800", "3600", "43200", "86400"]}),
            );
            m.insert("LineType".into(), json!("domestic"));
            m.insert(
                "RecordLines".into(),
                json!({"RecordLine": [{"LineCode": "default", "LineName": "默认", "LineDisplayName": "默认", "FatherCode": ""}]}),
            );
            m.insert("InBlackHole".into(), json!(false));
            m.insert("InClean".into(), json!(false));
            m.insert("SubDomain".into(), json!(false));
            m.insert("SlaveDns".into(), json!(false));
            v
        }
        "DescribeDomainNs" => {
            let z = inner.zone(p.req("DomainName")?).ok_or_else(no_such_zone)?;
            json!({
                "AllAliDns": true,
                "IncludeAliDns": true,
                "DnsServers": {"DnsServer": z.dns_servers},
                "ExpectDnsServers": {"ExpectDnsServer": z.dns_servers},
            })
        }
        "GetMainDomainName" => {
            let input = normalize_name(p.req("InputString")?);
            let input = input.trim_start_matches("*.").to_string();
            let (zone, rr) = match inner.zone_of(&input) {
                Some(x) => x,
                None => {
                    let labels: Vec<&str> = input.split('.').collect();
                    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
                        return Err(err(
                            400,
                            "InvalidDomainName.Format",
                            "The format of the specified domain name is invalid.",
                        ));
                    }
                    let zone = labels[labels.len() - 2..].join(".");
                    let rr = if labels.len() == 2 {
                        "@".to_string()
                    } else {
                        labels[..labels.len() - 2].join(".")
                    };
                    (zone, rr)
                }
            };
            let level = if rr == "@" {
                1
            } else {
                rr.split('.').count() + 1
            };
            json!({"DomainName": zone, "RR": rr, "DomainLevel": level})
        }
        "AddDomainRecord" => {
            let zone = inner
                .zone(p.req("DomainName")?)
                .ok_or_else(no_such_zone)?
                .name
                .clone();
            let rr = validate_rr(p.req("RR")?)?;
            let t = validate_type(p.req("Type")?)?;
            let value = p.req("Value")?.to_string();
            let ttl = p.u64_or("TTL", 600)?;
            if !(1..=86400).contains(&ttl) {
                return Err(invalid("TTL", "must be between 1 and 86400"));
            }
            let line = p.get("Line").unwrap_or("default").to_string();
            let priority = if t == "MX" {
                Some(p.u64_or("Priority", 5)?)
            } else {
                None
            };
            check_new_record(inner, &zone, &rr, &t, &value, &line, None)?;
            // AddDomainRecord takes no Remark (alibabacloud-alidns20150109 4.6.1
            // models/_add_domain_record_request.py: DomainName, Lang, Line, Priority, RR, TTL,
            // Type, UserClientIp, Value); like any parameter the API does not define, one sent
            // anyway is ignored: the record starts without a remark.
            let id = inner.next_record_id();
            let now = now_ms();
            let rec = DnsRecord {
                record_id: id.clone(),
                domain_name: zone,
                rr,
                record_type: t.clone(),
                value: value.clone(),
                ttl,
                line,
                priority,
                status: "ENABLE".into(),
                remark: None,
                created_by: Some(ctx.ak.to_string()),
                created_ms: now,
                updated_ms: now,
            };
            if t == "TXT" {
                syncs.push(TxtSync::Add {
                    host: rec.fqdn(),
                    value,
                });
            }
            inner.state.records.push(rec.clone());
            inner.state.records_added.push(rec);
            json!({ "RecordId": id })
        }
        "DeleteDomainRecord" => {
            let id = p.req("RecordId")?;
            let idx = inner
                .state
                .records
                .iter()
                .position(|r| r.record_id == id)
                .ok_or_else(record_not_found)?;
            let rec = inner.state.records.remove(idx);
            if rec.record_type == "TXT" {
                let host = rec.fqdn();
                syncs.push(TxtSync::Resync {
                    values: inner.txt_values_at(&host),
                    host,
                });
            }
            inner.state.records_deleted.push(rec);
            json!({ "RecordId": id })
        }
        "DeleteSubDomainRecords" => {
            let zone = inner
                .zone(p.req("DomainName")?)
                .ok_or_else(no_such_zone)?
                .name
                .clone();
            let rr = validate_rr(p.req("RR")?)?;
            let t = p.get("Type").map(|t| t.to_ascii_uppercase());
            let (gone, kept): (Vec<DnsRecord>, Vec<DnsRecord>) =
                std::mem::take(&mut inner.state.records)
                    .into_iter()
                    .partition(|r| {
                        r.domain_name == zone
                            && r.rr == rr
                            && t.as_ref().none_or(|t| &r.record_type == t)
                    });
            inner.state.records = kept;
            let hosts: HashSet<String> = gone
                .iter()
                .filter(|r| r.record_type == "TXT")
                .map(|r| r.fqdn())
                .collect();
            for host in hosts {
                syncs.push(TxtSync::Resync {
                    values: inner.txt_values_at(&host),
                    host,
                });
            }
            let n = gone.len();
            inner.state.records_deleted.extend(gone);
            json!({"RR": rr, "TotalCount": n})
        }
        "UpdateDomainRecord" => {
            let id = p.req("RecordId")?.to_string();
            let rr = validate_rr(p.req("RR")?)?;
            let t = validate_type(p.req("Type")?)?;
            let value = p.req("Value")?.to_string();
            let idx = inner
                .state
                .records
                .iter()
                .position(|r| r.record_id == id)
                .ok_or_else(record_not_found)?;
            let old = inner.state.records[idx].clone();
            let line = p.get("Line").unwrap_or(&old.line).to_string();
            let ttl = p.u64_or("TTL", old.ttl)?;
            if old.rr == rr
                && old.record_type == t
                && old.value == value
                && old.line == line
                && old.ttl == ttl
            {
                return Err(err(
                    400,
                    "DomainRecordDuplicate",
                    "The DNS record already exists.",
                ));
            }
            check_new_record(inner, &old.domain_name, &rr, &t, &value, &line, Some(&id))?;
            let rec = &mut inner.state.records[idx];
            rec.rr = rr;
            rec.record_type = t;
            rec.value = value;
            rec.line = line;
            rec.ttl = ttl;
            rec.updated_ms = now_ms();
            let new = rec.clone();
            let mut hosts = HashSet::new();
            if old.record_type == "TXT" {
                hosts.insert(old.fqdn());
            }
            if new.record_type == "TXT" {
                hosts.insert(new.fqdn());
            }
            for host in hosts {
                syncs.push(TxtSync::Resync {
                    values: inner.txt_values_at(&host),
                    host,
                });
            }
            json!({ "RecordId": id })
        }
        "UpdateDomainRecordRemark" => {
            let id = p.req("RecordId")?;
            // An empty Remark deletes the remark (models/_update_domain_record_remark_request.py).
            let remark = p.get("Remark").map(|s| s.to_string());
            if remark.as_deref().is_some_and(|r| !valid_remark(r)) {
                return Err(invalid_remark());
            }
            let rec = inner
                .state
                .records
                .iter_mut()
                .find(|r| r.record_id == id)
                .ok_or_else(record_not_found)?;
            rec.remark = remark;
            rec.updated_ms = now_ms();
            json!({})
        }
        "DescribeDomainRecords" => {
            let zone = inner
                .zone(p.req("DomainName")?)
                .ok_or_else(no_such_zone)?
                .name
                .clone();
            let exact = p
                .get("SearchMode")
                .is_some_and(|m| m.eq_ignore_ascii_case("EXACT"));
            let m = |have: &str, want: &str| {
                let (h, w) = (have.to_ascii_lowercase(), want.to_ascii_lowercase());
                if exact {
                    h == w
                } else {
                    h.contains(&w)
                }
            };
            let records: Vec<&DnsRecord> = inner
                .state
                .records
                .iter()
                .filter(|r| r.domain_name == zone)
                .filter(|r| p.get("RRKeyWord").none_or(|k| m(&r.rr, k)))
                .filter(|r| {
                    p.get("TypeKeyWord")
                        .none_or(|k| r.record_type.eq_ignore_ascii_case(k))
                })
                .filter(|r| {
                    p.get("Type")
                        .none_or(|k| r.record_type.eq_ignore_ascii_case(k))
                })
                .filter(|r| p.get("ValueKeyWord").none_or(|k| m(&r.value, k)))
                .filter(|r| p.get("KeyWord").none_or(|k| m(&r.rr, k) || m(&r.value, k)))
                .filter(|r| p.get("Line").none_or(|l| r.line == l))
                .filter(|r| {
                    p.get("Status")
                        .none_or(|s| r.status.eq_ignore_ascii_case(s))
                })
                .collect();
            records_page(records, p, DESCRIBE_DOMAIN_RECORDS_MAX_PAGE_SIZE)?
        }
        "DescribeSubDomainRecords" => {
            let sub = normalize_name(p.req("SubDomain")?);
            let target = match p.get("DomainName") {
                Some(d) => {
                    let z = inner.zone(d).ok_or_else(no_such_zone)?.name.clone();
                    if sub == z {
                        Some((z, "@".to_string()))
                    } else {
                        sub.strip_suffix(&format!(".{z}"))
                            .map(|rr| (z.clone(), rr.to_string()))
                    }
                }
                None => inner.zone_of(&sub),
            };
            let t = p.get("Type").map(|t| t.to_ascii_uppercase());
            let records: Vec<&DnsRecord> = match &target {
                None => vec![],
                Some((zone, rr)) => inner
                    .state
                    .records
                    .iter()
                    .filter(|r| &r.domain_name == zone && &r.rr == rr)
                    .filter(|r| t.as_ref().none_or(|t| &r.record_type == t))
                    .filter(|r| p.get("Line").none_or(|l| r.line == l))
                    .collect(),
            };
            records_page(records, p, DESCRIBE_SUB_DOMAIN_RECORDS_MAX_PAGE_SIZE)?
        }
        _ => return Err(unknown_action()),
    };
    Ok((v, syncs))
}

// ---------------------------------------------------------------------------------------------
// Certificates (shared by CAS, CDN, DCDN, API Gateway)
// ---------------------------------------------------------------------------------------------

/// Parses the first CERTIFICATE block of a PEM text.
pub fn parse_cert(pem_text: &str) -> Result<CertInfo, String> {
    parse_cert_and_key(pem_text).map(|(info, _)| info)
}

fn parse_cert_and_key(pem_text: &str) -> Result<(CertInfo, Vec<u8>), String> {
    use x509_parser::pem::Pem;
    use x509_parser::prelude::*;
    let pem = Pem::iter_from_buffer(pem_text.as_bytes())
        .filter_map(|r| r.ok())
        .find(|p| p.label == "CERTIFICATE")
        .ok_or_else(|| "no CERTIFICATE block in PEM".to_string())?;
    let (_, cert) =
        X509Certificate::from_der(&pem.contents).map_err(|e| format!("bad certificate: {e}"))?;
    let mut serial = cert.raw_serial();
    while serial.len() > 1 && serial[0] == 0 {
        serial = &serial[1..];
    }
    let mut serial_no = hex::encode(serial);
    while serial_no.len() > 1 && serial_no.starts_with('0') {
        serial_no.remove(0);
    }
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_string();
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                GeneralName::DNSName(d) => sans.push(d.to_string()),
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    sans.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())
                }
                GeneralName::IPAddress(b) if b.len() == 16 => {
                    let a: [u8; 16] = (*b).try_into().expect("16 bytes");
                    sans.push(std::net::Ipv6Addr::from(a).to_string())
                }
                _ => {}
            }
        }
    }
    let issuer_common_name = cert
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_string();
    let issuer_org = cert
        .issuer()
        .iter_organization()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_string();
    let algorithm = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(_)) => "RSA",
        Ok(x509_parser::public_key::PublicKey::EC(_)) => "ECC",
        _ => "UNKNOWN",
    }
    .to_string();
    let spk = cert.public_key().subject_public_key.data.to_vec();
    let info = CertInfo {
        serial_no,
        common_name,
        sans,
        issuer_common_name,
        issuer_org,
        not_before_ms: cert.validity().not_before.timestamp() * 1000,
        not_after_ms: cert.validity().not_after.timestamp() * 1000,
        fingerprint: {
            use sha1::Digest as _;
            hex::encode(sha1::Sha1::digest(&pem.contents))
        },
        sha2: hex::encode(Sha256::digest(&pem.contents)),
        algorithm,
    };
    Ok((info, spk))
}

/// Parses a certificate + key pair the way the products check uploads: the certificate must parse,
/// the key must be a PEM private key and (when rcgen can read it, i.e. PKCS#8) match the certificate.
fn check_pair(cert: &str, key: &str) -> Result<CertInfo, ApiError> {
    let (info, spk) = parse_cert_and_key(cert).map_err(|e| {
        err(
            400,
            "Certificate.FormatError",
            format!("The certificate format is invalid: {e}"),
        )
    })?;
    if !key.contains("PRIVATE KEY-----") {
        return Err(err(
            400,
            "Certificate.KeyFormatError",
            "The private key is not a PEM private key.",
        ));
    }
    if let Ok(kp) = rcgen::KeyPair::from_pem(key) {
        use rcgen::PublicKeyData as _;
        if kp.der_bytes() != spk.as_slice() {
            return Err(err(
                400,
                "Certificate.NotMatch",
                "The certificate and the private key do not match.",
            ));
        }
    }
    Ok(info)
}

/// Whether a certificate with these SANs (or CN when none) is valid for `domain`.
pub fn cert_covers(info: &CertInfo, domain: &str) -> bool {
    let domain = normalize_name(domain);
    let names: Vec<&String> = if info.sans.is_empty() {
        vec![&info.common_name]
    } else {
        info.sans.iter().collect()
    };
    names.iter().any(|n| {
        let n = n.to_ascii_lowercase();
        if let Some(base) = n.strip_prefix("*.") {
            domain
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == base)
        } else {
            n == domain
        }
    })
}

fn require_cover(info: &CertInfo, domain: &str) -> Result<(), ApiError> {
    if cert_covers(info, domain) {
        Ok(())
    } else {
        Err(err(
            400,
            "Certificate.DomainNotMatch",
            format!(
                "The certificate (names {:?}) does not match the domain {domain}.",
                info.sans
            ),
        ))
    }
}

fn ymd(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.format(&fmt).unwrap_or_default())
        .unwrap_or_default()
}

fn rfc3339(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.format(&fmt).unwrap_or_default())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// CAS 2020-04-07
// ---------------------------------------------------------------------------------------------

fn cas_not_found() -> ApiError {
    err(
        400,
        "CertificateNotFound",
        "The certificate does not exist.",
    )
}

fn cas_common(c: &CasCert) -> Map<String, Value> {
    let now = now_ms();
    let mut m = Map::new();
    m.insert("Name".into(), json!(c.name));
    m.insert("CommonName".into(), json!(c.info.common_name));
    m.insert("Sans".into(), json!(c.info.sans.join(",")));
    m.insert("SerialNo".into(), json!(c.info.serial_no));
    m.insert("Fingerprint".into(), json!(c.info.fingerprint));
    // The case of `Sha2` is not documented (cas20200407 models: "The SHA-2 value of the
    // certificate"); the emulator answers in upper case so a client cannot assume lower.
    m.insert("Sha2".into(), json!(c.info.sha2.to_ascii_uppercase()));
    m.insert("Issuer".into(), json!(c.info.issuer_org));
    m.insert("Algorithm".into(), json!(c.info.algorithm));
    m.insert("StartDate".into(), json!(ymd(c.info.not_before_ms)));
    m.insert("EndDate".into(), json!(ymd(c.info.not_after_ms)));
    m.insert("Expired".into(), json!(c.info.not_after_ms < now));
    m.insert("OrgName".into(), json!(""));
    m.insert("Country".into(), json!(""));
    m.insert("Province".into(), json!(""));
    m.insert("City".into(), json!(""));
    m.insert("ResourceGroupId".into(), json!(RESOURCE_GROUP));
    m.insert(
        "InstanceId".into(),
        json!(format!("cas-upload-{}", c.cert_id)),
    );
    m
}

fn cas(inner: &mut Inner, action: &str, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    Ok(match action {
        "UploadUserCertificate" => {
            let name = p.req("Name")?.to_string();
            // cas20200407 3.9.4 UploadUserCertificateRequest `Name`: "Maximum length: 63
            // characters" and "Certificate names must be unique within the same account"
            // (uniqueness: NameRepeat below). The SDK gives no code for a long name;
            // `InvalidParameter.Name` is the emulator's choice.
            if name.chars().count() > 63 {
                return Err(err(
                    400,
                    "InvalidParameter.Name",
                    format!(
                        "The certificate name must be at most 63 characters; it has {}.",
                        name.chars().count()
                    ),
                ));
            }
            let cert = p.req("Cert")?.to_string();
            let key = p.req("Key")?.to_string();
            if inner.state.cas_certs.iter().any(|c| c.name == name) {
                return Err(err(
                    400,
                    "NameRepeat",
                    "The certificate name already exists.",
                ));
            }
            let info = check_pair(&cert, &key)?;
            let id = inner.next_cert_id();
            inner.state.cas_certs.push(CasCert {
                cert_id: id,
                name,
                cert,
                key,
                info,
                created_by: ctx.ak.to_string(),
                created_ms: now_ms(),
            });
            json!({"CertId": id, "ResourceId": format!("acs:cas:{REGION}:{ACCOUNT_ID}:cert/{id}")})
        }
        "GetUserCertificateDetail" => {
            let id = p.req_u64("CertId")?;
            let filter = p.get("CertFilter").is_some_and(|f| f == "true");
            let c = inner
                .state
                .cas_certs
                .iter()
                .find(|c| c.cert_id == id)
                .ok_or_else(cas_not_found)?;
            let mut m = cas_common(c);
            m.insert("Id".into(), json!(c.cert_id));
            m.insert("Common".into(), json!(c.info.common_name));
            m.insert("IssuerCommonName".into(), json!(c.info.issuer_common_name));
            m.insert("NotBefore".into(), json!(c.info.not_before_ms));
            m.insert("NotAfter".into(), json!(c.info.not_after_ms));
            m.insert("BuyInAliyun".into(), json!(false));
            m.insert(
                "CertIdentifier".into(),
                json!(format!("{}-{REGION}", c.cert_id)),
            );
            m.insert(
                "RemainDay".into(),
                json!(((c.info.not_after_ms - now_ms()) / 86_400_000).max(0)),
            );
            if !filter {
                m.insert("Cert".into(), json!(c.cert));
                m.insert("Key".into(), json!(c.key));
            }
            Value::Object(m)
        }
        // Cloud resources a certificate is deployed on (CDN domains, SLB, ALB, OSS, ...).
        // alibabacloud-cas20200407 3.9.4, client.py list_cloud_resources_with_options (RPC POST,
        // formData) and models/_list_cloud_resources_request.py: `CertIds` is a List[int] sent
        // JSON-encoded (`[123,456]`), `ShowSize` defaults to 20; the response body
        // (models/_list_cloud_resources_response_body.py) is `Data` (CertId, CloudName,
        // CloudProduct, Domain, InstanceId, ...), `Total`, `CurrentPage`, `ShowSize`. Docs are
        // silent on a malformed CertIds: refused here (strictest).
        "ListCloudResources" => {
            let ids: Vec<u64> = match p.get("CertIds") {
                None => Vec::new(),
                Some(v) => serde_json::from_str(v).map_err(|_| {
                    err(
                        400,
                        "InvalidParameter",
                        "CertIds must be a JSON array of certificate IDs.",
                    )
                })?,
            };
            let page = p.u64_or("CurrentPage", 1)?.max(1);
            let size = p.u64_or("ShowSize", 20)?.clamp(1, 1000);
            let mut data = Vec::new();
            for id in ids {
                let name = inner
                    .state
                    .cas_certs
                    .iter()
                    .find(|c| c.cert_id == id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                for user in inner.state.cas_users(id) {
                    let (kind, rid) = user.split_once(' ').unwrap_or((user.as_str(), ""));
                    let product = match kind {
                        "cdn" => "CDN",
                        "dcdn" => "DCDN",
                        "slb" => "SLB",
                        "alb" => "ALB",
                        "oss" => "OSS",
                        other => other,
                    };
                    let domain = matches!(kind, "cdn" | "dcdn" | "oss");
                    data.push(json!({
                        "CertId": id,
                        "CertName": name,
                        "CloudName": "aliyun",
                        "CloudProduct": product,
                        "Domain": if domain { rid } else { "" },
                        "InstanceId": if domain { "" } else { rid },
                        "EnableHttps": 1,
                    }));
                }
            }
            let total = data.len();
            let start = ((page - 1) * size) as usize;
            let data: Vec<Value> = data.into_iter().skip(start).take(size as usize).collect();
            json!({"Data": data, "Total": total, "CurrentPage": page, "ShowSize": size})
        }
        "DeleteUserCertificate" => {
            let id = p.req_u64("CertId")?;
            let users = inner.state.cas_users(id);
            if !users.is_empty() {
                // The emulator's stand-in for CAS refusing to delete a certificate in use.
                return Err(err(
                    400,
                    "CertificateInUse",
                    format!("The certificate is used by: {}.", users.join(", ")),
                ));
            }
            let idx = inner
                .state
                .cas_certs
                .iter()
                .position(|c| c.cert_id == id)
                .ok_or_else(cas_not_found)?;
            inner.state.cas_certs.remove(idx);
            json!({})
        }
        "ListUserCertificateOrder" => {
            // cas20200407 3.9.4 ListUserCertificateOrderRequest: OrderType default CPACK;
            // UPLOAD lists uploaded certificates, CERT issued and uploaded ones (the emulator
            // has only uploads). ShowSize "Default value: 50" and no documented maximum: the
            // emulator never answers more than 50 per page, so a client must page by TotalCount.
            let order_type = p.get("OrderType").unwrap_or("CPACK").to_ascii_uppercase();
            let page = p.u64_or("CurrentPage", 1)?.max(1);
            let size = p.u64_or("ShowSize", 50)?.clamp(1, 50);
            let kw = p.get("Keyword").map(|k| k.to_ascii_lowercase());
            let status = p.get("Status").map(|s| s.to_ascii_uppercase());
            let now = now_ms();
            let status_of = |c: &CasCert| {
                if c.info.not_after_ms < now {
                    "EXPIRED"
                } else if c.info.not_after_ms - now < 30 * 86_400_000 {
                    "WILLEXPIRED"
                } else {
                    "ISSUED"
                }
            };
            // Without Status, certificates are listed only while valid: "当 OrderType=CERT 或者
            // UPLOAD，Status 为空时，将默认返回有效证书，包含已签发和即将过期证书"
            // (help.aliyun.com/document_detail/455804.html).
            let status_ok = |c: &CasCert| match &status {
                Some(s) => s == status_of(c),
                None => status_of(c) != "EXPIRED",
            };
            let items: Vec<&CasCert> = if matches!(order_type.as_str(), "UPLOAD" | "CERT") {
                inner
                    .state
                    .cas_certs
                    .iter()
                    .filter(|c| {
                        kw.as_ref().none_or(|k| {
                            c.name.to_ascii_lowercase().contains(k)
                                || c.info.common_name.to_ascii_lowercase().contains(k)
                                || c.info
                                    .sans
                                    .iter()
                                    .any(|s| s.to_ascii_lowercase().contains(k))
                        })
                    })
                    .filter(|c| status_ok(c))
                    .collect()
            } else {
                vec![]
            };
            let (s, e) = page_bounds(items.len(), page, size);
            // Only the fields ListUserCertificateOrderResponseBody documents as "Returned when
            // OrderType is set to CERT or UPLOAD": EndDate/StartDate (YYYY-MM-DD), never
            // CertEndTime/CertStartTime, Algorithm or Status (CPACK or BUY only).
            let list: Vec<Value> = items[s..e]
                .iter()
                .map(|c| {
                    let mut m = cas_common(c);
                    m.remove("Algorithm");
                    m.insert("CertificateId".into(), json!(c.cert_id));
                    m.insert("Upload".into(), json!(true));
                    Value::Object(m)
                })
                .collect();
            json!({
                "TotalCount": items.len(),
                "CurrentPage": page,
                "ShowSize": size,
                "CertificateOrderList": list,
            })
        }
        _ => return Err(unknown_action()),
    })
}

// ---------------------------------------------------------------------------------------------
// CDN 2018-05-10 and DCDN 2018-01-15
// ---------------------------------------------------------------------------------------------

fn cdn(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
    dcdn: bool,
) -> Result<Value, ApiError> {
    let (set_action, describe_action) = if dcdn {
        (
            "SetDcdnDomainSSLCertificate",
            "DescribeDcdnDomainCertificateInfo",
        )
    } else {
        (
            "SetCdnDomainSSLCertificate",
            "DescribeDomainCertificateInfo",
        )
    };
    let no_domain = || err(400, "InvalidDomain.NotFound", "The domain does not exist.");
    if action == set_action {
        let domain = p.req("DomainName")?.to_string();
        let map = if dcdn {
            &inner.state.dcdn_domains
        } else {
            &inner.state.cdn_domains
        };
        if !map.contains_key(&domain) {
            return Err(no_domain());
        }
        let protocol = p.req("SSLProtocol")?.to_ascii_lowercase();
        let new = match protocol.as_str() {
            "off" => None,
            "on" => {
                let cert_type = p
                    .get("CertType")
                    .map(|t| t.to_ascii_lowercase())
                    .unwrap_or_else(|| "upload".into());
                let region = p.get("CertRegion").unwrap_or(REGION).to_string();
                let dc = match cert_type.as_str() {
                    "upload" => {
                        let pubk = p.req("SSLPub")?;
                        let prik = p.req("SSLPri")?;
                        let info = check_pair(pubk, prik)?;
                        require_cover(&info, &domain)?;
                        let id = inner.next_cert_id();
                        DeployedCert {
                            cert_name: p
                                .get("CertName")
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| format!("{domain}-{}", now_ms())),
                            cert_id: id.to_string(),
                            cert_type,
                            cert_region: region,
                            cert: pubk.to_string(),
                            key: prik.to_string(),
                            info,
                            updated_ms: now_ms(),
                            updated_by: ctx.ak.to_string(),
                        }
                    }
                    "cas" => {
                        let id = p.req_u64("CertId")?;
                        let c = inner
                            .state
                            .cas_certs
                            .iter()
                            .find(|c| c.cert_id == id)
                            .ok_or_else(|| {
                                err(
                                    400,
                                    "Certificate.NotFound",
                                    "The CAS certificate does not exist.",
                                )
                            })?;
                        require_cover(&c.info, &domain)?;
                        DeployedCert {
                            cert_name: p.get("CertName").unwrap_or(&c.name).to_string(),
                            cert_id: id.to_string(),
                            cert_type,
                            cert_region: region,
                            cert: c.cert.clone(),
                            key: c.key.clone(),
                            info: c.info.clone(),
                            updated_ms: now_ms(),
                            updated_by: ctx.ak.to_string(),
                        }
                    }
                    other => {
                        return Err(invalid(
                            "CertType",
                            &format!("{other} (the emulator supports upload and cas)"),
                        ))
                    }
                };
                Some(dc)
            }
            _ => return Err(invalid("SSLProtocol", "must be on or off")),
        };
        let map = if dcdn {
            &mut inner.state.dcdn_domains
        } else {
            &mut inner.state.cdn_domains
        };
        map.insert(domain, new);
        Ok(json!({}))
    } else if action == describe_action {
        let map = if dcdn {
            &inner.state.dcdn_domains
        } else {
            &inner.state.cdn_domains
        };
        let mut infos = Vec::new();
        for domain in p.req("DomainName")?.split(',').map(str::trim) {
            let slot = map.get(domain).ok_or_else(no_domain)?;
            infos.push(cdn_cert_info(domain, slot.as_ref(), dcdn));
        }
        Ok(json!({"CertInfos": {"CertInfo": infos}}))
    } else {
        Err(unknown_action())
    }
}

fn cdn_cert_info(domain: &str, c: Option<&DeployedCert>, dcdn: bool) -> Value {
    let s = |f: &dyn Fn(&DeployedCert) -> String| c.map(f).unwrap_or_default();
    let mut v = json!({
        "DomainName": domain,
        "CertName": s(&|c| c.cert_name.clone()),
        "CertId": s(&|c| c.cert_id.clone()),
        "CertType": s(&|c| c.cert_type.clone()),
        "CertRegion": s(&|c| c.cert_region.clone()),
        "CertDomainName": s(&|c| c.info.common_name.clone()),
        "CertExpireTime": s(&|c| rfc3339(c.info.not_after_ms)),
        "CertStartTime": s(&|c| rfc3339(c.info.not_before_ms)),
        "CertOrg": s(&|c| c.info.issuer_org.clone()),
        "Status": if c.is_some() { "success" } else { "" },
    });
    let m = v.as_object_mut().expect("object");
    if dcdn {
        m.insert(
            "SSLProtocol".into(),
            json!(if c.is_some() { "on" } else { "off" }),
        );
        m.insert("SSLPub".into(), json!(s(&|c| c.cert.clone())));
    } else {
        m.insert(
            "ServerCertificateStatus".into(),
            json!(if c.is_some() { "on" } else { "off" }),
        );
        m.insert("ServerCertificate".into(), json!(s(&|c| c.cert.clone())));
        m.insert(
            "CertUpdateTime".into(),
            json!(s(&|c| rfc3339(c.updated_ms))),
        );
        m.insert("DomainCnameStatus".into(), json!("online"));
    }
    v
}

// ---------------------------------------------------------------------------------------------
// API Gateway (cloudapi) 2016-07-14
// ---------------------------------------------------------------------------------------------

fn apigateway(inner: &mut Inner, action: &str, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    if !matches!(
        action,
        "SetDomainCertificate" | "DescribeDomain" | "DeleteDomainCertificate"
    ) {
        return Err(unknown_action());
    }
    let group_id = p.req("GroupId")?.to_string();
    let domain = p.req("DomainName")?.to_string();
    if !inner
        .state
        .apigateway_domains
        .iter()
        .any(|d| d.group_id == group_id)
    {
        return Err(err(404, "NotFoundGroup", "Cannot find the group."));
    }
    let idx = inner
        .state
        .apigateway_domains
        .iter()
        .position(|d| d.group_id == group_id && d.domain == domain)
        .ok_or_else(|| {
            err(
                404,
                "NotFoundDomain",
                "The domain is not bound to the group.",
            )
        })?;
    Ok(match action {
        "SetDomainCertificate" => {
            let name = p.req("CertificateName")?.to_string();
            let body = p.req("CertificateBody")?.to_string();
            let key = p.req("CertificatePrivateKey")?.to_string();
            let info = check_pair(&body, &key)?;
            require_cover(&info, &domain)?;
            inner.state.apigateway_domains[idx].certificate = Some(DeployedCert {
                cert_name: name,
                cert_id: random_hex(32),
                cert_type: "upload".into(),
                cert_region: REGION.into(),
                cert: body,
                key,
                info,
                updated_ms: now_ms(),
                updated_by: ctx.ak.to_string(),
            });
            json!({})
        }
        "DescribeDomain" => {
            let d = &inner.state.apigateway_domains[idx];
            let mut v = json!({
                "GroupId": d.group_id,
                "DomainName": d.domain,
                "SubDomain": format!("{}-{REGION}.alicloudapi.com", d.group_id),
                "DomainBindingStatus": "BINDING",
                "DomainCNAMEStatus": "RESOLVED",
                "DomainLegalStatus": "NORMAL",
                "DomainWebSocketStatus": "CLOSE",
                "DomainRemark": "",
                "CertificatePrivateKey": "",
            });
            if let Some(c) = &d.certificate {
                let m = v.as_object_mut().expect("object");
                m.insert("CertificateId".into(), json!(c.cert_id));
                m.insert("CertificateName".into(), json!(c.cert_name));
                m.insert("CertificateBody".into(), json!(c.cert));
                m.insert("CertificateValidStart".into(), json!(c.info.not_before_ms));
                m.insert("CertificateValidEnd".into(), json!(c.info.not_after_ms));
            }
            v
        }
        "DeleteDomainCertificate" => {
            let id = p.req("CertificateId")?;
            let d = &mut inner.state.apigateway_domains[idx];
            match &d.certificate {
                Some(c) if c.cert_id == id => d.certificate = None,
                _ => {
                    return Err(err(
                        404,
                        "NotFoundCertificate",
                        "The certificate does not exist.",
                    ))
                }
            }
            json!({})
        }
        _ => return Err(unknown_action()),
    })
}

// ---------------------------------------------------------------------------------------------
// KMS 2016-01-20 (secrets)
// ---------------------------------------------------------------------------------------------

/// KMS secrets (kms 2016-01-20). Secrets are regional: the KMS endpoint of another region
/// answers as if they did not exist (KMS "Endpoints": one endpoint per region, no global
/// view). KMS 3.0: on an instance-based account (seeded instances), CreateSecret needs
/// `DKMSInstanceId` and an `EncryptionKeyId` of that instance — alibabacloud-kms20160120 3.3.1
/// models/_create_secret_request.py: "The key and the secret must belong to the same KMS
/// instance, and the key must be a symmetric key." The error codes are not documented there;
/// the ones below are the strictest plausible (400, parameter named).
fn kms(inner: &mut Inner, action: &str, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let not_found = || {
        err(
            404,
            "Forbidden.ResourceNotFound",
            "The resource does not exist.",
        )
    };
    let exists = || {
        err(
            400,
            "Rejected.ResourceExist",
            "The resource already exists.",
        )
    };
    let stages_json = |stages: &[String]| json!({ "VersionStage": stages });
    Ok(match action {
        "GetSecretValue" => {
            let name = p.req("SecretName")?;
            let s = inner
                .state
                .kms_secrets
                .get(name)
                .filter(|s| s.region == ctx.region)
                .ok_or_else(not_found)?;
            let v = match (p.get("VersionId"), p.get("VersionStage")) {
                (Some(id), _) => s.versions.iter().find(|v| v.version_id == id),
                (None, Some(stage)) => s
                    .versions
                    .iter()
                    .find(|v| v.stages.iter().any(|x| x == stage)),
                (None, None) => s.current(),
            }
            .ok_or_else(not_found)?;
            json!({
                "SecretName": s.name,
                "SecretData": v.data,
                "SecretDataType": v.data_type,
                "SecretType": "Generic",
                "VersionId": v.version_id,
                "VersionStages": stages_json(&v.stages),
                "CreateTime": rfc3339(v.created_ms),
                "AutomaticRotation": "Disabled",
            })
        }
        "CreateSecret" => {
            let name = p.req("SecretName")?.to_string();
            let version = p.req("VersionId")?.to_string();
            let data = p.req("SecretData")?.to_string();
            if inner
                .state
                .kms_secrets
                .get(&name)
                .is_some_and(|s| s.region == ctx.region)
            {
                return Err(exists());
            }
            let instance = p.get("DKMSInstanceId").map(str::to_string);
            let key = p.get("EncryptionKeyId").map(str::to_string);
            if !inner.kms_instances.is_empty() {
                let Some(instance_id) = &instance else {
                    return Err(err(
                        400,
                        "MissingParameter.DKMSInstanceId",
                        "The KMS instance is required: DKMSInstanceId.",
                    ));
                };
                let keys = inner.kms_instances.get(instance_id).ok_or_else(|| {
                    err(
                        404,
                        "Forbidden.DKMSInstanceNotFound",
                        format!("The KMS instance {instance_id} does not exist."),
                    )
                })?;
                match &key {
                    Some(k) if keys.contains(k) => {}
                    _ => {
                        return Err(err(
                            400,
                            "InvalidParameter.EncryptionKeyId",
                            "The key and the secret must belong to the same KMS instance.",
                        ))
                    }
                }
            }
            let data_type = p.get("SecretDataType").unwrap_or("text").to_string();
            inner.state.kms_secrets.insert(
                name.clone(),
                KmsSecret {
                    name: name.clone(),
                    region: ctx.region.to_string(),
                    dkms_instance_id: instance,
                    encryption_key_id: key,
                    versions: vec![KmsSecretVersion {
                        version_id: version.clone(),
                        data,
                        data_type,
                        stages: vec!["ACSCurrent".into()],
                        created_ms: now_ms(),
                    }],
                },
            );
            json!({
                "Arn": format!("acs:kms:{}:{ACCOUNT_ID}:secret/{name}", ctx.region),
                "SecretName": name,
                "VersionId": version,
                "SecretType": "Generic",
                "AutomaticRotation": "Disabled",
            })
        }
        "PutSecretValue" => {
            let name = p.req("SecretName")?.to_string();
            let version = p.req("VersionId")?.to_string();
            let data = p.req("SecretData")?.to_string();
            let data_type = p.get("SecretDataType").unwrap_or("text").to_string();
            let stages: Vec<String> = match p.get("VersionStages") {
                None => vec!["ACSCurrent".into()],
                Some(s) => serde_json::from_str(s)
                    .map_err(|_| invalid("VersionStages", "must be a JSON array of strings"))?,
            };
            let s = inner
                .state
                .kms_secrets
                .get_mut(&name)
                .filter(|s| s.region == ctx.region)
                .ok_or_else(not_found)?;
            if s.versions.iter().any(|v| v.version_id == version) {
                return Err(exists());
            }
            if stages.iter().any(|x| x == "ACSCurrent") {
                for v in &mut s.versions {
                    v.stages.retain(|x| x != "ACSPrevious");
                }
                for v in &mut s.versions {
                    if let Some(i) = v.stages.iter().position(|x| x == "ACSCurrent") {
                        v.stages[i] = "ACSPrevious".into();
                    }
                }
            }
            for v in &mut s.versions {
                v.stages
                    .retain(|x| !(stages.contains(x) && x != "ACSCurrent"));
            }
            s.versions.push(KmsSecretVersion {
                version_id: version.clone(),
                data,
                data_type,
                stages: stages.clone(),
                created_ms: now_ms(),
            });
            json!({
                "SecretName": name,
                "VersionId": version,
                "VersionStages": stages_json(&stages),
            })
        }
        _ => return Err(unknown_action()),
    })
}

// ---------------------------------------------------------------------------------------------
// OSS (path style, V4 signatures; V1 refused)
// ---------------------------------------------------------------------------------------------

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

struct OssError {
    status: u16,
    code: String,
    message: String,
    extra: Vec<(&'static str, String)>,
}

fn oss_err(status: u16, code: &str, message: &str) -> OssError {
    OssError {
        status,
        code: code.into(),
        message: message.into(),
        extra: vec![],
    }
}

fn oss_error_response(
    e: &OssError,
    request_id: &str,
    bucket: &str,
    region: &str,
    head: bool,
) -> Response {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n");
    xml.push_str(&format!("  <Code>{}</Code>\n", xml_escape(&e.code)));
    xml.push_str(&format!(
        "  <Message>{}</Message>\n",
        xml_escape(&e.message)
    ));
    xml.push_str(&format!("  <RequestId>{request_id}</RequestId>\n"));
    xml.push_str(&format!(
        "  <HostId>{}.oss-{region}.aliyuncs.com</HostId>\n",
        xml_escape(bucket)
    ));
    for (k, v) in &e.extra {
        xml.push_str(&format!("  <{k}>{}</{k}>\n", xml_escape(v)));
    }
    xml.push_str("</Error>\n");
    let mut resp = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(xml))
    };
    *resp.status_mut() =
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    oss_common_headers(h, request_id);
    resp
}

fn oss_common_headers(h: &mut HeaderMap, request_id: &str) {
    h.insert(header::SERVER, HeaderValue::from_static("AliyunOSS"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-oss-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now())) {
        h.insert(header::DATE, v);
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hexs = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hexs, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn handle_oss(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &Addressed,
) -> Response {
    let request_id = random_hex(24).to_ascii_uppercase();
    let head = *method == Method::HEAD;
    let trimmed = path.trim_start_matches('/');
    let (bucket, raw_key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let bucket = bucket.to_string();
    let key = percent_decode(raw_key);
    let has = |name: &str| {
        query.is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == name))
    };
    let cname = has("cname");
    let action = match *method {
        Method::POST if cname => "PutCname",
        Method::GET if cname => "ListCname",
        Method::GET if has("versioning") => "GetBucketVersioning",
        Method::PUT => "PutObject",
        Method::GET => "GetObject",
        Method::HEAD => "HeadObject",
        Method::DELETE => "DeleteObject",
        _ => "",
    };
    let mut call = Call {
        product: "oss".into(),
        action: action.into(),
        access_key_id: String::new(),
        security_token: headers.contains_key("x-oss-security-token"),
        method: method.to_string(),
        http_status: 0,
        code: None,
        request_id: request_id.clone(),
        params: BTreeMap::from([
            ("bucket".to_string(), bucket.clone()),
            ("key".to_string(), key.clone().unwrap_or_default()),
        ]),
    };
    let result = oss_inner(
        shared,
        method,
        &bucket,
        key.as_deref(),
        query,
        headers,
        body,
        action,
        &mut call,
        at,
    );
    let resp = match result {
        Ok(resp) => {
            call.http_status = resp.status().as_u16();
            let mut resp = resp;
            oss_common_headers(resp.headers_mut(), &request_id);
            resp
        }
        Err(e) => {
            call.http_status = e.status;
            call.code = Some(e.code.clone());
            oss_error_response(&e, &request_id, &bucket, &at.region, head)
        }
    };
    shared.lock().state.calls.push(call);
    resp
}

#[allow(clippy::too_many_arguments)]
fn oss_inner(
    shared: &Arc<Shared>,
    method: &Method,
    bucket: &str,
    key: Option<&str>,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    action: &str,
    call: &mut Call,
    at: &Addressed,
) -> Result<Response, OssError> {
    if action.is_empty() {
        return Err(oss_err(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ));
    }
    let key =
        key.ok_or_else(|| oss_err(400, "InvalidObjectName", "The object name is not valid."))?;
    let bucket_op = matches!(action, "PutCname" | "ListCname" | "GetBucketVersioning");
    if key.is_empty() && !bucket_op {
        return Err(oss_err(
            501,
            "NotImplemented",
            "The emulator implements object operations only (path style /<bucket>/<key>).",
        ));
    }
    let mut inner = shared.lock();
    let state = inner
        .buckets
        .get(bucket)
        .cloned()
        .ok_or_else(|| oss_err(404, "NoSuchBucket", "The specified bucket does not exist."))?;
    // OSS "HTTP 403 errors": a bucket reached through another region's endpoint is refused,
    // naming the endpoint to use.
    if state.region != at.region {
        let mut e = oss_err(
            403,
            "AccessDenied",
            "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
        );
        e.extra.push(("Bucket", bucket.to_string()));
        e.extra
            .push(("Endpoint", format!("oss-{}.aliyuncs.com", state.region)));
        return Err(e);
    }
    let ak = verify_oss_v4(&inner, method, bucket, key, query, headers, body, at)?;
    call.access_key_id = ak.clone();

    if let Some((code, status)) = inner.take_failure(action) {
        return Err(oss_err(
            status,
            &code,
            "Injected failure (emulator fail_next).",
        ));
    }

    if action == "GetBucketVersioning" {
        // OSS API reference "GetBucketVersioning": <VersioningConfiguration> with
        // <Status>Enabled|Suspended</Status>; no Status for a bucket that never had versioning.
        let status = state
            .versioning
            .map(|v| format!("<Status>{}</Status>", xml_escape(&v)))
            .unwrap_or_default();
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration>{status}</VersioningConfiguration>"
        );
        let mut resp = Response::new(Body::from(xml));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        return Ok(resp);
    }
    if bucket_op {
        return match services::oss_cname(&mut inner, action, bucket, body, &ak) {
            Ok((_, xml)) => {
                let mut resp = Response::new(Body::from(xml));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                Ok(resp)
            }
            Err((status, code, message)) => Err(oss_err(status, code, &message)),
        };
    }
    let full = format!("{bucket}/{key}");
    match action {
        "PutObject" => {
            if let Some(md5_b64) = header_str(headers, "content-md5") {
                if B64.encode(md5(body)) != md5_b64 {
                    return Err(oss_err(
                        400,
                        "InvalidDigest",
                        "The Content-MD5 you specified is not valid.",
                    ));
                }
            }
            let forbid = header_str(headers, "x-oss-forbid-overwrite")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            // OSS PutObject reference: x-oss-object-acl is private | public-read |
            // public-read-write | default (the bucket's); anything else is InvalidArgument.
            if let Some(acl) = header_str(headers, "x-oss-object-acl") {
                if !matches!(
                    acl,
                    "private" | "public-read" | "public-read-write" | "default"
                ) {
                    return Err(oss_err(
                        400,
                        "InvalidArgument",
                        "no such object access control exists",
                    ));
                }
            }
            // OSS PutObject reference: "x-oss-forbid-overwrite ... does not take effect" when
            // versioning is enabled or suspended for the bucket: the PUT overwrites.
            let forbid = forbid && state.versioning.is_none();
            if forbid && inner.state.oss_objects.contains_key(&full) {
                return Err(oss_err(
                    409,
                    "FileAlreadyExists",
                    "The object you specified already exists and can not be overwritten.",
                ));
            }
            if let Some(sse) = header_str(headers, "x-oss-server-side-encryption") {
                if !matches!(sse, "AES256" | "KMS" | "SM4") {
                    return Err(oss_err(
                        400,
                        "InvalidEncryptionAlgorithmError",
                        "The encryption method specified is not supported.",
                    ));
                }
            }
            let mut stored = BTreeMap::new();
            for (k, v) in headers.iter() {
                let k = k.as_str();
                let keep = (k.starts_with("x-oss-")
                    && !matches!(
                        k,
                        "x-oss-security-token"
                            | "x-oss-forbid-overwrite"
                            | "x-oss-date"
                            | "x-oss-content-sha256"
                    ))
                    || matches!(
                        k,
                        "cache-control" | "content-disposition" | "content-encoding" | "expires"
                    );
                if keep {
                    stored.insert(k.to_string(), v.to_str().unwrap_or("").to_string());
                }
            }
            let etag = format!("\"{}\"", hex::encode_upper(md5(body)));
            let obj = OssObject {
                bucket: bucket.to_string(),
                key: key.to_string(),
                body: body.to_vec(),
                content_type: header_str(headers, "content-type")
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                headers: stored,
                etag: etag.clone(),
                last_modified: httpdate::fmt_http_date(std::time::SystemTime::now()),
                put_by: ak.clone(),
            };
            let sse = obj.headers.get("x-oss-server-side-encryption").cloned();
            inner.state.oss_objects.insert(full, obj);
            let mut resp = Response::new(Body::empty());
            let h = resp.headers_mut();
            h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("etag"));
            h.insert(
                "content-md5",
                HeaderValue::from_str(&B64.encode(md5(body))).expect("md5"),
            );
            if let Some(sse) = sse.and_then(|s| HeaderValue::from_str(&s).ok()) {
                h.insert("x-oss-server-side-encryption", sse);
            }
            Ok(resp)
        }
        "GetObject" | "HeadObject" => {
            let obj = inner.state.oss_objects.get(&full).ok_or_else(|| {
                let mut e = oss_err(404, "NoSuchKey", "The specified key does not exist.");
                e.extra.push(("Key", key.to_string()));
                e
            })?;
            let mut resp = if action == "GetObject" {
                Response::new(Body::from(obj.body.clone()))
            } else {
                Response::new(Body::empty())
            };
            let h = resp.headers_mut();
            let mut set = |k: &str, v: &str| {
                if let (Ok(name), Ok(val)) = (
                    axum::http::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    h.insert(name, val);
                }
            };
            set("content-type", &obj.content_type);
            set("content-length", &obj.body.len().to_string());
            set("etag", &obj.etag);
            set("last-modified", &obj.last_modified);
            set("accept-ranges", "bytes");
            set("x-oss-object-type", "Normal");
            set("x-oss-storage-class", "Standard");
            for (k, v) in &obj.headers {
                set(k, v);
            }
            Ok(resp)
        }
        "DeleteObject" => {
            inner.state.oss_objects.remove(&full);
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        _ => unreachable!("action checked above"),
    }
}

/// The OSS V4 (`OSS4-HMAC-SHA256`) header signature, recomputed here from the request as OSS
/// documents it ("Signature Version 4", OSS developer reference; the rules oss2's
/// ProviderAuthV4 implements) — deliberately not with alicert's signer. Returns the AccessKeyId.
/// Rules and their sources:
/// - V1 (`Authorization: OSS ak:sig`) → 403: OSS error 0002-00000080 ("OSS returns a 403
///   error when you call an API operation signed with a V1 signature"). Its Code is not
///   documented; `AccessDenied` is the strictest plausible.
/// - Authorization fields: exactly Credential, Signature and optional AdditionalHeaders
///   (0002-00000202 / 0002-00000204); Credential `<ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request`
///   (0002-00000213), its date the date of x-oss-date (0002-00000212).
/// - The scope's region must be the region of the endpoint (0002-00000226) — and so the
///   bucket's (0002-00000228).
/// - `x-oss-date` required, within 15 minutes (RequestTimeTooSkewed); `x-oss-content-sha256`
///   required (the V4 doc lists it as required; the Code for its absence is not documented,
///   403 AccessDenied is the strictest plausible), `UNSIGNED-PAYLOAD` or the body's SHA-256.
#[allow(clippy::too_many_arguments)]
fn verify_oss_v4(
    inner: &Inner,
    method: &Method,
    bucket: &str,
    key: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &Addressed,
) -> Result<String, OssError> {
    let denied = |ec: &'static str, message: &str| {
        let mut e = oss_err(403, "AccessDenied", message);
        e.extra.push(("EC", ec.to_string()));
        e
    };
    let auth = header_str(headers, "authorization").ok_or_else(|| {
        oss_err(
            403,
            "AccessDenied",
            "AccessDenied: anonymous access is not allowed.",
        )
    })?;
    if auth.starts_with("OSS ") {
        return Err(denied(
            "0002-00000080",
            "The V1 signature is no longer supported for this account and bucket; use the V4 signature (OSS4-HMAC-SHA256).",
        ));
    }
    let rest = auth.strip_prefix("OSS4-HMAC-SHA256 ").ok_or_else(|| {
        let mut e = oss_err(400, "InvalidArgument", "Authorization header is invalid.");
        e.extra.push(("EC", "0002-00000202".into()));
        e
    })?;
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| oss_err(400, "InvalidArgument", "Authorization header is invalid."))?;
        if !matches!(k, "Credential" | "Signature" | "AdditionalHeaders") {
            let mut e = oss_err(400, "InvalidArgument", "Authorization header is invalid.");
            e.extra.push(("EC", "0002-00000204".into()));
            return Err(e);
        }
        fields.insert(k, v);
    }
    let (Some(credential), Some(signature)) = (fields.get("Credential"), fields.get("Signature"))
    else {
        return Err(oss_err(
            400,
            "InvalidArgument",
            "Authorization header is invalid: Credential and Signature are required.",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [ak, scope_date, scope_region, "oss", "aliyun_v4_request"] = scope[..] else {
        return Err(denied(
            "0002-00000213",
            "Invalid credential in Authorization header.",
        ));
    };
    let date_time = header_str(headers, "x-oss-date").ok_or_else(|| {
        denied(
            "0002-00000209",
            "x-oss-date is required for the V4 signature.",
        )
    })?;
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let when = time::PrimitiveDateTime::parse(date_time, &fmt)
        .map_err(|_| denied("0002-00000209", "x-oss-date is invalid."))?
        .assume_utc()
        .unix_timestamp();
    if (OffsetDateTime::now_utc().unix_timestamp() - when).abs() > MAX_SKEW_SECS {
        return Err(oss_err(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ));
    }
    if scope_date != &date_time[..8] {
        return Err(denied(
            "0002-00000212",
            "Invalid signing date in Authorization header.",
        ));
    }
    if scope_region != at.region {
        return Err(denied(
            "0002-00000226",
            "Invalid signing region in Authorization header: it must be the region of the endpoint (and the bucket).",
        ));
    }
    let payload = header_str(headers, "x-oss-content-sha256").ok_or_else(|| {
        denied(
            "0002-00000210",
            "x-oss-content-sha256 is required for the V4 signature.",
        )
    })?;
    if payload != "UNSIGNED-PAYLOAD" && payload != hex::encode(Sha256::digest(body)) {
        return Err(oss_err(
            400,
            "InvalidArgument",
            "x-oss-content-sha256 does not match the body.",
        ));
    }
    let key_pair = inner.keys.get(ak).cloned().ok_or_else(|| {
        oss_err(
            403,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        )
    })?;
    if let Some(token) = &key_pair.security_token {
        match header_str(headers, "x-oss-security-token") {
            None => {
                return Err(oss_err(
                    403,
                    "InvalidAccessKeyId",
                    "The security token you provided is missing (x-oss-security-token).",
                ))
            }
            Some(t) if t != token => {
                return Err(oss_err(
                    403,
                    "InvalidSecurityToken",
                    "The security token you provided is invalid.",
                ))
            }
            _ => {}
        }
    }

    // Canonical request.
    fn enc(s: &str, keep_slash: bool) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b'/' if keep_slash => "/".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let uri = enc(&format!("/{bucket}/{key}"), true);
    let mut q: Vec<(String, String)> = query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (enc(&k, false), enc(&v, false)))
                .collect()
        })
        .unwrap_or_default();
    q.sort();
    let canonical_query = q
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let additional: Vec<String> = fields
        .get("AdditionalHeaders")
        .map(|a| {
            a.split(';')
                .map(|h| h.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k.starts_with("x-oss-")
                || k == "content-type"
                || k == "content-md5"
                || additional.iter().any(|a| a == k)
        })
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!(
        "{}\n{uri}\n{canonical_query}\n{canonical_headers}\n{}\n{payload}",
        method.as_str(),
        additional.join(";")
    );
    let string_to_sign = format!(
        "OSS4-HMAC-SHA256\n{date_time}\n{scope_date}/{scope_region}/oss/aliyun_v4_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let hmac = |k: &[u8], d: &str| {
        let mut m = Hmac::<Sha256>::new_from_slice(k).expect("any key length");
        m.update(d.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    let mut signing_key = format!("aliyun_v4{}", key_pair.secret).into_bytes();
    for part in [scope_date, scope_region, "oss", "aliyun_v4_request"] {
        signing_key = hmac(&signing_key, part);
    }
    let expected = hex::encode(hmac(&signing_key, &string_to_sign));
    if *signature != expected {
        let mut e = oss_err(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        );
        e.extra.push(("StringToSign", string_to_sign));
        e.extra.push(("CanonicalRequest", canonical));
        e.extra.push(("OSSAccessKeyId", ak.to_string()));
        return Err(e);
    }
    Ok(ak.to_string())
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// `Option::is_none_or` without needing Rust 1.82.
trait NoneOr<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool;
}

impl<T> NoneOr<T> for Option<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool {
        match self {
            None => true,
            Some(v) => f(v),
        }
    }
}

/// Lower case, no trailing dot.
pub fn normalize_name(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn random_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).expect("hex digit"))
        .collect()
}

/// An upper-case UUID-shaped id, like Alibaba's RequestId.
fn uuid_like() -> String {
    let h = random_hex(32).to_ascii_uppercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// MD5 (RFC 1321), for OSS ETag and Content-MD5.
pub fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: [u32; 64] =
        std::array::from_fn(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32);
    let mut st: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: [u32; 16] = std::array::from_fn(|i| {
            u32::from_le_bytes(chunk[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
        });
        let [mut a, mut b, mut c, mut d] = st;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        st[0] = st[0].wrapping_add(a);
        st[1] = st[1].wrapping_add(b);
        st[2] = st[2].wrapping_add(c);
        st[3] = st[3].wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in st.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}
