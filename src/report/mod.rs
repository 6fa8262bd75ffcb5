//! The report: one self-contained `report.html` and the same data as `status.json` (schema in
//! README "Monitoring"), written to `[report] bucket` after every run that changed or failed
//! something or found a drifted target, and on demand (`{"action":"report"}`); the HTTP trigger renders it live at
//! `GET /report`. The previous `status.json` is read first: targets this run did not touch
//! keep their last result from it.
pub mod chart;
pub mod html;
pub mod settings;
pub mod status;
pub mod summary;

use time::OffsetDateTime;

use crate::aliyun::client::OssRequest;
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::result::RunResult;
pub use settings::{ReportConfig, ReportLocation};
pub use status::{notable, safe_message, RunFacts, StatusDoc, SCHEMA};

/// The client addressing the report bucket's region.
fn client_for(client: &AliyunClient, location: &ReportLocation) -> AliyunClient {
    match &location.region {
        Some(r) => client.for_region(r),
        None => client.clone(),
    }
}

/// The previous `status.json`, if there is a readable one (an unreadable one is logged and
/// replaced: the report must not stop because an old copy is damaged).
pub async fn previous(
    client: &AliyunClient,
    location: &ReportLocation,
) -> Result<Option<StatusDoc>> {
    let client = client_for(client, location);
    let Some(bytes) = client.oss_get(&location.bucket, &location.status).await? else {
        return Ok(None);
    };
    match serde_json::from_slice::<StatusDoc>(&bytes) {
        Ok(doc) => Ok(Some(doc)),
        Err(e) => {
            tracing::warn!(error = %e, key = %location.status, "previous status.json is not readable; starting afresh");
            Ok(None)
        }
    }
}

/// The document for `result` (with the previous one's last results when a bucket is set).
pub async fn document(
    config: &ReportConfig,
    client: &AliyunClient,
    result: &RunResult,
    facts: &RunFacts,
) -> Result<StatusDoc> {
    let previous = match config.location() {
        Some(l) => previous(client, &l).await?,
        None => None,
    };
    Ok(status::build(
        result,
        facts,
        previous.as_ref(),
        OffsetDateTime::now_utc(),
    ))
}

/// Build and write `report.html` and `status.json` (private, encrypted at rest). Error
/// without `[report] bucket`.
pub async fn publish(
    config: &ReportConfig,
    client: &AliyunClient,
    result: &RunResult,
    facts: &RunFacts,
) -> Result<StatusDoc> {
    let location = config.location().ok_or_else(|| {
        Error::Config("[report] bucket is not set: name the bucket the report is written to".into())
    })?;
    let doc = document(config, client, result, facts).await?;
    let json = serde_json::to_vec_pretty(&doc).expect("status.json serializes");
    let client = client_for(client, &location);
    put(
        &client,
        &location,
        &location.status,
        "application/json",
        json,
    )
    .await?;
    let page = html::render(&doc).into_bytes();
    put(
        &client,
        &location,
        &location.html,
        "text/html; charset=utf-8",
        page,
    )
    .await?;
    tracing::info!(
        report = %format!("oss://{}/{}", location.bucket, location.html),
        "report written"
    );
    Ok(doc)
}

async fn put(
    client: &AliyunClient,
    location: &ReportLocation,
    key: &crate::ident::ObjectKey,
    content_type: &str,
    body: Vec<u8>,
) -> Result<()> {
    // OSS PutObject: `x-oss-object-acl: private` whatever the bucket's ACL (the report names
    // every endpoint), SSE like alicert's other objects.
    let headers = [
        ("x-oss-server-side-encryption", "AES256"),
        ("x-oss-object-acl", "private"),
    ];
    let req = OssRequest {
        headers: &headers,
        body: Some(body),
        content_type,
        ..OssRequest::object("PutObject", "PUT", &location.bucket, key)
    };
    client.oss_request(&req).await.map(|_| ())
}

/// After a run: write the report when the run changed or failed something (or a target
/// drifted) and a bucket is set. Best effort: a failure is logged, never fails the run. True when it was written.
pub async fn after_run(
    config: &ReportConfig,
    client: &AliyunClient,
    result: &RunResult,
    facts: &RunFacts,
) -> bool {
    if config.location().is_none() || !notable(result) {
        return false;
    }
    match publish(config, client, result, facts).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "report: could not be written");
            false
        }
    }
}

/// A presigned link to `report.html` for messages (`[report] link_expiry_secs`, at most the
/// V4 limit of 7 days); None without a bucket.
pub fn link(config: &ReportConfig, client: &AliyunClient) -> Option<String> {
    let location = config.location()?;
    let client = client_for(client, &location);
    match client.oss_presigned_get(&location.bucket, &location.html, config.link_expiry_secs) {
        Ok(url) => Some(url),
        Err(e) => {
            tracing::warn!(error = %e, "report: no link");
            None
        }
    }
}

/// The actions this file calls (tests/policy.rs checks them against the calls; the presigned
/// link is a GetObject signed with the function's credentials).
pub(crate) const RAM: &[&str] = &["oss:GetObject", "oss:PutObject", "oss:PutObjectAcl"];

impl ReportConfig {
    /// `[report] bucket`: its two objects, read back and rewritten (private puts).
    pub fn ram_statements(
        &self,
        scope: &crate::aliyun::ram::Scope,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let Some(l) = self.location() else {
            return vec![];
        };
        let arns = [&l.html, &l.status]
            .iter()
            .map(|k| crate::secret_ref::oss_object_arn(scope, l.bucket.as_str(), k.as_str()))
            .collect();
        vec![Statement::new(
            "ReportObjects",
            "[report]: read the previous status.json, write report.html and status.json \
             (private), and sign the report link; these two objects only.",
            &pick(RAM, &["oss:GetObject", "oss:PutObject", "oss:PutObjectAcl"]),
            arns,
        )]
    }
}
