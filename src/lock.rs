//! One run at a time per certificate: a lock object in OSS, created with
//! `x-oss-forbid-overwrite: true` (only one creator can win), holding its owner and expiry,
//! deleted at the end, taken over once expired.
//!
//! OSS has no conditional delete, so taking over an expired lock is made race-safe with a
//! second create-only object, the take-over token, named after the exact bytes of the stale
//! lock: of all the runs that find the same stale lock, only the one that creates the token may
//! delete it. Everyone then competes again with a create-only PUT. A lock expires after the
//! invocation's deadline (FC has killed its owner by then), so a stale lock's owner is gone.
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::aliyun::client::{BucketVersioning, PutOutcome};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::ident::{BucketName, ObjectKey, OssLocation, RegionId};

/// `[lock]`: where the lock objects live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockConfig {
    /// Bucket for lock objects; default: the bucket of an `oss://` account key.
    pub bucket: Option<String>,
    /// The lock bucket's region; default: the account key's `?region=` when the bucket is the
    /// account key's, else `[aliyun] region`.
    pub region: Option<String>,
    /// Key prefix; default: the account key object's folder + `locks/`, else `alicert/locks/`.
    pub prefix: Option<String>,
    /// Lifetime of a lock when the invocation has no deadline (a local run without
    /// `--timeout`); with a deadline the lock lasts until the deadline plus a minute.
    pub ttl_secs: u64,
    /// `false` turns locking off even when a bucket is known.
    pub enabled: bool,
}

impl Default for LockConfig {
    fn default() -> Self {
        LockConfig {
            bucket: None,
            region: None,
            prefix: None,
            ttl_secs: 3600,
            enabled: true,
        }
    }
}

/// Where the lock objects live: a bucket (in its region) and a key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockLocation {
    pub bucket: BucketName,
    /// `None`: `[aliyun] region`.
    pub region: Option<RegionId>,
    /// Empty or ending in `/`.
    pub prefix: String,
}

impl LockConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(b) = &self.bucket {
            BucketName::parse(b).map_err(|e| format!("bucket: {e}"))?;
        }
        if let Some(r) = &self.region {
            RegionId::parse(r).map_err(|e| format!("region: {e}"))?;
        }
        if let Some(p) = &self.prefix {
            if !p.is_empty() {
                ObjectKey::parse(p).map_err(|e| {
                    format!("prefix: {e} (a relative key prefix like \"alicert/locks/\")")
                })?;
            }
        }
        if self.ttl_secs < 1 {
            return Err("ttl_secs must be at least 1".into());
        }
        crate::settings::at_most("ttl_secs", self.ttl_secs, crate::settings::DAY_SECS)?;
        Ok(())
    }

    /// Where the lock objects go, or None when locking is off or no bucket is known. Values
    /// that do not parse give None here; [`LockConfig::validate`] refuses them at load.
    pub fn location(&self, account_key: &str) -> Option<LockLocation> {
        if !self.enabled {
            return None;
        }
        let from_key = account_key
            .starts_with("oss://")
            .then(|| OssLocation::parse(account_key).ok())
            .flatten()
            .map(|l| {
                let folder = l
                    .key
                    .as_str()
                    .rsplit_once('/')
                    .map(|(dir, _)| dir.to_string())
                    .unwrap_or_else(|| "alicert".into());
                (l.bucket, format!("{folder}/locks/"), l.region)
            });
        let bucket = match &self.bucket {
            Some(b) => BucketName::parse(b).ok()?,
            None => from_key.as_ref().map(|(b, _, _)| b.clone())?,
        };
        let same_bucket = from_key.as_ref().filter(|(b, _, _)| *b == bucket);
        let prefix = match &self.prefix {
            Some(p) if p.is_empty() || p.ends_with('/') => p.clone(),
            Some(p) => format!("{p}/"),
            None => match same_bucket {
                Some((_, p, _)) => p.clone(),
                None => "alicert/locks/".to_string(),
            },
        };
        let region = match &self.region {
            Some(r) => Some(RegionId::parse(r).ok()?),
            None => same_bucket.and_then(|(_, _, r)| r.clone()),
        };
        Some(LockLocation {
            bucket,
            region,
            prefix,
        })
    }
}

/// What a lock object holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    pub owner: String,
    pub certificate: String,
    /// Unix seconds.
    pub acquired: i64,
    /// Unix seconds; after this the lock may be taken over.
    pub expires: i64,
}

/// A lock this run holds.
#[derive(Debug)]
pub struct Held {
    key: ObjectKey,
    body: Vec<u8>,
}

#[derive(Debug)]
pub enum Acquire {
    Held(Held),
    /// Another run holds the lock (owner, expiry in unix seconds).
    Busy {
        owner: String,
        expires: i64,
    },
}

pub struct Locks {
    client: AliyunClient,
    bucket: BucketName,
    prefix: String,
    owner: String,
    /// GetBucketVersioning, once per run (the bucket's state does not change under a run).
    versioning: tokio::sync::OnceCell<BucketVersioning>,
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(bytes)[..12])
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Locks {
    /// `owner` identifies this run in lock objects (request id + random suffix). The client
    /// addresses the bucket's region.
    pub fn new(client: AliyunClient, location: LockLocation, owner: String) -> Locks {
        let client = match &location.region {
            Some(r) => client.for_region(r),
            None => client,
        };
        Locks {
            client,
            bucket: location.bucket,
            prefix: location.prefix,
            owner,
            versioning: tokio::sync::OnceCell::new(),
        }
    }

    /// Refuse a versioned bucket: with versioning enabled or suspended, OSS does not honour
    /// `x-oss-forbid-overwrite` the way the locks rely on (OSS PutObject reference: the header
    /// "does not take effect" when versioning is enabled or suspended), so two runs could both
    /// "create" the same lock. Once per run; the pipeline calls it ahead of the first lock too.
    pub async fn check_versioning(&self) -> Result<()> {
        let state = self
            .versioning
            .get_or_try_init(|| self.client.oss_bucket_versioning(&self.bucket))
            .await?;
        self.refuse_versioned(*state)
    }

    fn refuse_versioned(&self, state: BucketVersioning) -> Result<()> {
        match state {
            BucketVersioning::Unversioned => Ok(()),
            state => Err(Error::Config(format!(
                "[lock] bucket `{}` has versioning {}: OSS ignores x-oss-forbid-overwrite \
                 there, so locks would not exclude concurrent runs; set [lock] bucket to \
                 a bucket that never had versioning (or set [lock] enabled = false)",
                self.bucket,
                if state == BucketVersioning::Enabled {
                    "enabled"
                } else {
                    "suspended"
                }
            ))),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn key(&self, certificate: &str) -> Result<ObjectKey> {
        ObjectKey::parse(&format!("{}{certificate}.lock", self.prefix))
            .map_err(|e| Error::Config(format!("[lock] prefix: {e}")))
    }

    fn body(&self, certificate: &str, expires: i64) -> Vec<u8> {
        let info = LockInfo {
            owner: self.owner.clone(),
            certificate: certificate.to_string(),
            acquired: now_unix(),
            expires,
        };
        serde_json::to_vec(&info).expect("lock info serializes")
    }

    /// Take the lock of `certificate` until `expires` (unix seconds), or report who has it.
    pub async fn acquire(&self, certificate: &str, expires: i64) -> Result<Acquire> {
        let key = self.key(certificate)?;
        let body = self.body(certificate, expires);
        let mut first = match self.versioning.get() {
            Some(state) => {
                self.refuse_versioned(*state)?;
                None
            }
            None => Some(self.put_checking(&key, &body).await?),
        };
        for _ in 0..4 {
            let put = match first.take() {
                Some(put) => put,
                None => {
                    self.client
                        .oss_put(&self.bucket, &key, body.clone(), true)
                        .await?
                }
            };
            if put == PutOutcome::Created {
                tracing::info!(lock = %format!("oss://{}/{key}", self.bucket), "lock taken");
                return Ok(Acquire::Held(Held { key, body }));
            }
            let Some(current) = self.client.oss_get(&self.bucket, &key).await? else {
                continue; // released in between: compete again
            };
            if current == body {
                // Our own PUT landed but its answer was lost, and the retry found it.
                return Ok(Acquire::Held(Held { key, body }));
            }
            let info: Option<LockInfo> = serde_json::from_slice(&current).ok();
            let expired_at = info.as_ref().map(|i| i.expires).unwrap_or(0);
            if expired_at > now_unix() {
                let owner = info.map(|i| i.owner).unwrap_or_default();
                return Ok(Acquire::Busy {
                    owner,
                    expires: expired_at,
                });
            }
            tracing::warn!(lock = %key, stale_owner = info.as_ref().map(|i| i.owner.as_str()).unwrap_or("?"), "lock expired; taking it over");
            if !self.take_over(&key, current, certificate, expires).await? {
                return Ok(Acquire::Busy {
                    owner: "another run taking over an expired lock".into(),
                    expires: expired_at,
                });
            }
        }
        Err(Error::Other(format!(
            "lock oss://{}/{key}: could not be taken after 4 tries (heavy contention)",
            self.bucket
        )))
    }

    /// The first PUT of a lock beside the run's versioning check, when no read went ahead of
    /// the lock to make the check (a forced run). In a versioned bucket every run fails the
    /// check, so no run holds a lock there that this PUT could overwrite; the object it made
    /// is deleted again.
    async fn put_checking(&self, key: &ObjectKey, body: &[u8]) -> Result<PutOutcome> {
        let (checked, put) = tokio::join!(
            self.check_versioning(),
            self.client.oss_put(&self.bucket, key, body.to_vec(), true)
        );
        if let Err(e) = checked {
            if matches!(put, Ok(PutOutcome::Created)) {
                if let Err(d) = self.client.oss_delete(&self.bucket, key).await {
                    tracing::warn!(lock = %key, error = %d, "could not delete the lock object made beside a failed versioning check");
                }
            }
            return Err(e);
        }
        put
    }

    /// Delete the stale lock `stale` at `key` if this run wins its take-over token. A token
    /// left by a run that died mid-take-over expires like a lock and is taken over in turn.
    async fn take_over(
        &self,
        key: &ObjectKey,
        stale: Vec<u8>,
        certificate: &str,
        expires: i64,
    ) -> Result<bool> {
        let mut seen = stale.clone();
        for _ in 0..3 {
            let token = ObjectKey::parse(&format!("{key}.takeover-{}", short_hash(&seen)))
                .map_err(|e| Error::Config(format!("[lock] prefix: {e}")))?;
            let put = self
                .client
                .oss_put(&self.bucket, &token, self.body(certificate, expires), true)
                .await?;
            if put == PutOutcome::AlreadyExists {
                let Some(t) = self.client.oss_get(&self.bucket, &token).await? else {
                    return Ok(false);
                };
                let info: Option<LockInfo> = serde_json::from_slice(&t).ok();
                if info.as_ref().is_some_and(|i| i.owner == self.owner) {
                    // Our own token (a retried PUT): proceed as the winner.
                } else if info.map(|i| i.expires).unwrap_or(0) > now_unix() {
                    return Ok(false);
                } else {
                    seen = t;
                    continue;
                }
            }
            // Won: delete the lock only if it is still the stale one we saw.
            if self.client.oss_get(&self.bucket, key).await?.as_deref() == Some(&stale[..]) {
                self.client.oss_delete(&self.bucket, key).await?;
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Delete the lock if it is still ours.
    pub async fn release(&self, held: Held) -> Result<()> {
        match self.client.oss_get(&self.bucket, &held.key).await? {
            Some(current) if current == held.body => {
                self.client.oss_delete(&self.bucket, &held.key).await?;
                tracing::info!(lock = %held.key, "lock released");
            }
            _ => tracing::warn!(lock = %held.key, "lock was no longer ours at release"),
        }
        Ok(())
    }
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "oss:GetBucketVersioning",
    "oss:GetObject",
    "oss:PutObject",
    "oss:PutObjectAcl",
    "oss:DeleteObject",
];

/// The lock objects under the lock prefix (create-only puts, reads, deletes of its own
/// locks) and the once-per-run versioning check of the bucket.
pub fn ram_statements(
    location: &LockLocation,
    scope: &crate::aliyun::ram::Scope,
) -> Vec<crate::aliyun::ram::Statement> {
    use crate::aliyun::ram::{pick, Statement};
    use crate::secret_ref::{oss_bucket_arn, oss_object_arn};
    let bucket = location.bucket.as_str();
    vec![
        Statement::new(
            "LockObjects",
            "[lock]: one run at a time per certificate: create, read and delete the lock \
             objects under the lock prefix only (every put is private: PutObjectAcl).",
            &pick(
                RAM,
                &[
                    "oss:GetObject",
                    "oss:PutObject",
                    "oss:PutObjectAcl",
                    "oss:DeleteObject",
                ],
            ),
            vec![oss_object_arn(
                scope,
                bucket,
                &format!("{}*", location.prefix),
            )],
        ),
        Statement::new(
            "LockBucketVersioning",
            "[lock]: check once per run that the lock bucket never had versioning (create-only \
             puts need it off).",
            &pick(RAM, &["oss:GetBucketVersioning"]),
            vec![oss_bucket_arn(scope, bucket)],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_defaults() {
        let loc = |bucket: &str, prefix: &str, region: Option<&str>| LockLocation {
            bucket: BucketName::parse(bucket).unwrap(),
            region: region.map(|r| RegionId::parse(r).unwrap()),
            prefix: prefix.into(),
        };
        let c = LockConfig::default();
        assert_eq!(
            c.location("oss://state/acme/account.pem"),
            Some(loc("state", "acme/locks/", None))
        );
        assert_eq!(
            c.location("oss://state/account.pem?region=cn-shanghai"),
            Some(loc("state", "alicert/locks/", Some("cn-shanghai")))
        );
        assert_eq!(c.location("kms:alicert/account"), None);
        let explicit = LockConfig {
            bucket: Some("locks".into()),
            prefix: Some("x".into()),
            region: Some("ap-southeast-1".into()),
            ..LockConfig::default()
        };
        assert_eq!(
            explicit.location("kms:a"),
            Some(loc("locks", "x/", Some("ap-southeast-1")))
        );
        let other_bucket = LockConfig {
            bucket: Some("locks".into()),
            ..LockConfig::default()
        };
        // Another bucket does not inherit the account key's region.
        assert_eq!(
            other_bucket.location("oss://state/acme/account.pem?region=cn-beijing"),
            Some(loc("locks", "alicert/locks/", None))
        );
        let off = LockConfig {
            enabled: false,
            ..LockConfig::default()
        };
        assert_eq!(off.location("oss://state/acme/account.pem"), None);
        for bad in [
            LockConfig {
                bucket: Some("Bad_Bucket".into()),
                ..LockConfig::default()
            },
            LockConfig {
                bucket: Some("attacker.example/#".into()),
                ..LockConfig::default()
            },
            LockConfig {
                region: Some("cn-hangzhou.evil.com".into()),
                ..LockConfig::default()
            },
            LockConfig {
                prefix: Some("../x/".into()),
                ..LockConfig::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
