//! `[report]`: where `report.html` and `status.json` are written (a private OSS location).
use serde::Deserialize;

use crate::ident::{BucketName, ObjectKey, RegionId};

/// The longest life of a presigned report link: the V4 limit, 7 days.
pub const MAX_LINK_SECS: u64 = crate::aliyun::signer::OSS_V4_MAX_EXPIRES;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Bucket of the report objects (no bucket: no report is written).
    pub bucket: Option<String>,
    /// Key prefix, empty or ending in `/` (one is added): `<prefix>report.html`,
    /// `<prefix>status.json`.
    pub prefix: String,
    /// The bucket's region; default `[aliyun] region`.
    pub region: Option<String>,
    /// Life of the presigned report link in notifications, seconds (at most 7 days).
    pub link_expiry_secs: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            bucket: None,
            prefix: "alicert/".into(),
            region: None,
            link_expiry_secs: MAX_LINK_SECS,
        }
    }
}

/// A checked `[report]` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLocation {
    pub bucket: BucketName,
    pub region: Option<RegionId>,
    pub html: ObjectKey,
    pub status: ObjectKey,
}

impl ReportConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(b) = &self.bucket {
            BucketName::parse(b).map_err(|e| format!("[report] bucket: {e}"))?;
        }
        if let Some(r) = &self.region {
            RegionId::parse(r).map_err(|e| format!("[report] region: {e}"))?;
        }
        if !self.prefix.is_empty() {
            ObjectKey::parse(&self.prefix).map_err(|e| {
                format!("[report] prefix: {e} (a relative key prefix like \"alicert/\")")
            })?;
        }
        crate::settings::in_range(
            "[report] link_expiry_secs",
            self.link_expiry_secs,
            1,
            MAX_LINK_SECS,
        )?;
        Ok(())
    }

    /// Where the report goes, or None without a bucket (values are checked by `validate`).
    pub fn location(&self) -> Option<ReportLocation> {
        let bucket = BucketName::parse(self.bucket.as_deref()?).ok()?;
        let prefix = match self.prefix.as_str() {
            "" => String::new(),
            p if p.ends_with('/') => p.to_string(),
            p => format!("{p}/"),
        };
        Some(ReportLocation {
            bucket,
            region: self.region.as_deref().and_then(|r| RegionId::parse(r).ok()),
            html: ObjectKey::parse(&format!("{prefix}report.html")).ok()?,
            status: ObjectKey::parse(&format!("{prefix}status.json")).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_keys_and_places_objects() {
        let c = ReportConfig {
            bucket: Some("state-bucket".into()),
            prefix: "ops/alicert".into(),
            region: Some("cn-shanghai".into()),
            ..ReportConfig::default()
        };
        c.validate().unwrap();
        let l = c.location().unwrap();
        assert_eq!(l.html.as_str(), "ops/alicert/report.html");
        assert_eq!(l.status.as_str(), "ops/alicert/status.json");
        for (bad, key) in [
            (
                ReportConfig {
                    bucket: Some("A_b".into()),
                    ..c.clone()
                },
                "bucket",
            ),
            (
                ReportConfig {
                    prefix: "../x/".into(),
                    ..c.clone()
                },
                "prefix",
            ),
            (
                ReportConfig {
                    link_expiry_secs: MAX_LINK_SECS + 1,
                    ..c.clone()
                },
                "link_expiry_secs",
            ),
        ] {
            assert!(bad.validate().unwrap_err().contains(key), "{key}");
        }
        assert!(ReportConfig::default().location().is_none());
    }
}
