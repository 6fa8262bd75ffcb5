//! An ECS instance metadata service (100.100.100.200) for one instance RAM role, and a
//! credentials URI (`ALIBABA_CLOUD_CREDENTIALS_URI`), on their own port. Both hand out STS keys
//! of the emulator they belong to, so what a client fetches signs its later calls.
//!
//! From PyPI `alibabacloud-credentials` 1.0.12: provider/ecs_ram_role.py (`PUT /latest/api/token`
//! with `X-aliyun-ecs-metadata-token-ttl-seconds` (default 21600), then
//! `GET /latest/meta-data/ram/security-credentials/[<role>]` with `X-aliyun-ecs-metadata-token`;
//! the answer `{Code: "Success", AccessKeyId, AccessKeySecret, SecurityToken, Expiration}`)
//! and provider/uri.py (`GET <uri>`, the same JSON with `Code: "Success"`).
//! The instance enforces IMDSv2 (the strictest setting: metadata without a token is refused).
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::Path;
use axum::routing::put;

use super::*;

/// The token TTL range: "Valid values: 1 to 21600" (ECS "Instance metadata",
/// https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata; the SDK asks for
/// 21600). The instance runs in security hardening mode only (`HttpTokens=required`, "Access
/// instance metadata in security hardening mode only").
const MAX_TOKEN_TTL: u64 = 21_600;

/// What the metadata server serves.
#[derive(Debug, Clone)]
pub struct MetadataOptions {
    /// The instance's RAM role name.
    pub role: String,
    /// How long each set of credentials is valid (seconds).
    pub duration_secs: i64,
}

/// A running metadata server; stops when dropped.
pub struct MetadataServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    tokens: AtomicUsize,
    credentials: AtomicUsize,
    uri: AtomicUsize,
}

struct Meta {
    shared: Arc<Shared>,
    opts: MetadataOptions,
    tokens: Mutex<Vec<(String, i64)>>,
    counts: Arc<Counts>,
}

impl Drop for MetadataServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MetadataServer {
    /// `http://127.0.0.1:<port>` (the stand-in for `http://100.100.100.200`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The credentials URI (`ALIBABA_CLOUD_CREDENTIALS_URI`).
    pub fn credentials_uri(&self) -> String {
        format!("{}/credentials", self.base_url())
    }
    /// IMDSv2 tokens issued.
    pub fn tokens_issued(&self) -> usize {
        self.counts.tokens.load(Ordering::SeqCst)
    }
    /// Role credentials served by the metadata path.
    pub fn credentials_served(&self) -> usize {
        self.counts.credentials.load(Ordering::SeqCst)
    }
    /// Credentials served by the credentials URI.
    pub fn uri_served(&self) -> usize {
        self.counts.uri.load(Ordering::SeqCst)
    }
}

impl Emulator {
    /// Starts a metadata service (and credentials URI) whose keys this emulator accepts.
    pub async fn start_metadata(&self, opts: MetadataOptions) -> MetadataServer {
        let counts = Arc::new(Counts::default());
        let meta = Arc::new(Meta {
            shared: self.shared.clone(),
            opts,
            tokens: Mutex::new(vec![]),
            counts: counts.clone(),
        });
        let app = Router::new()
            .route("/latest/api/token", put(token))
            .route(
                "/latest/meta-data/ram/security-credentials/",
                get(role_name),
            )
            .route(
                "/latest/meta-data/ram/security-credentials/{role}",
                get(role_credentials),
            )
            .route("/credentials", get(uri_credentials))
            .with_state(meta);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("metadata: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("metadata: local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MetadataServer { addr, task, counts }
    }
}

fn text(status: u16, body: impl Into<String>) -> Response {
    let mut r = Response::new(Body::from(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    r
}

/// `PUT /latest/api/token`: the TTL header is required, 1..=21600 seconds.
async fn token(State(meta): State<Arc<Meta>>, headers: HeaderMap) -> Response {
    let ttl = header_str(&headers, "x-aliyun-ecs-metadata-token-ttl-seconds")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(ttl) = ttl.filter(|t| (1..=MAX_TOKEN_TTL).contains(t)) else {
        return text(
            400,
            "X-aliyun-ecs-metadata-token-ttl-seconds must be 1..21600",
        );
    };
    let value = random_hex(48);
    let until = OffsetDateTime::now_utc().unix_timestamp() + ttl as i64;
    meta.tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((value.clone(), until));
    meta.counts.tokens.fetch_add(1, Ordering::SeqCst);
    text(200, value)
}

/// IMDSv2 enforced: every metadata read needs a live token; the refusal otherwise.
fn check_token(meta: &Meta, headers: &HeaderMap) -> Option<Response> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let given = header_str(headers, "x-aliyun-ecs-metadata-token");
    let tokens = meta.tokens.lock().unwrap_or_else(|e| e.into_inner());
    match given {
        Some(t) if tokens.iter().any(|(v, until)| v == t && *until >= now) => None,
        _ => Some(text(401, "a valid X-aliyun-ecs-metadata-token is required")),
    }
}

async fn role_name(State(meta): State<Arc<Meta>>, headers: HeaderMap) -> Response {
    if let Some(r) = check_token(&meta, &headers) {
        return r;
    }
    text(200, meta.opts.role.clone())
}

async fn role_credentials(
    State(meta): State<Arc<Meta>>,
    Path(role): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = check_token(&meta, &headers) {
        return r;
    }
    if role != meta.opts.role {
        return text(404, "Not Found");
    }
    meta.counts.credentials.fetch_add(1, Ordering::SeqCst);
    served(&meta, "EcsMetadata")
}

async fn uri_credentials(State(meta): State<Arc<Meta>>) -> Response {
    meta.counts.uri.fetch_add(1, Ordering::SeqCst);
    served(&meta, "CredentialsUri")
}

fn served(meta: &Meta, via: &str) -> Response {
    let mut inner = meta.shared.lock();
    let (key, expires) = sts::mint(&mut inner, meta.opts.duration_secs);
    inner.state.sts.sessions.push(StsSession {
        via: via.into(),
        role: meta.opts.role.clone(),
        session_name: String::new(),
        access_key_id: key.id.clone(),
        caller: String::new(),
        duration_seconds: meta.opts.duration_secs,
        expires,
    });
    let mut body = sts::credentials_json(&key, expires);
    if let Value::Object(m) = &mut body {
        m.insert("Code".into(), Value::String("Success".into()));
        m.insert(
            "LastUpdated".into(),
            Value::String(sts::expiration_text(
                OffsetDateTime::now_utc().unix_timestamp(),
            )),
        );
    }
    json_response(200, &uuid_like(), body)
}
