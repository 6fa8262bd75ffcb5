//! One run at a time per certificate: a lock object in OSS, created with
//! `x-oss-forbid-overwrite: true` (only one creator can win), holding its owner and expiry,
//! deleted at the end, taken over once expired.
//!
//! OSS V1 has no conditional delete, so taking over an expired lock is made race-safe with a
//! second create-only object, the take-over token, named after the exact bytes of the stale
//! lock: of all the runs that find the same stale lock, only the one that creates the token may
//! delete it. Everyone then competes again with a create-only PUT. A lock expires after the
//! invocation's deadline (FC has killed its owner by then), so a stale lock's owner is gone.
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::aliyun::client::PutOutcome;
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};

/// `[lock]`: where the lock objects live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockConfig {
    /// Bucket for lock objects; default: the bucket of an `oss://` account key.
    pub bucket: Option<String>,
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
            prefix: None,
            ttl_secs: 3600,
            enabled: true,
        }
    }
}

impl LockConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(b) = &self.bucket {
            let ok = (3..=63).contains(&b.len())
                && b.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
            if !ok {
                return Err(format!(
                    "bucket = \"{b}\" is not an OSS bucket name (3-63 of a-z 0-9 -)"
                ));
            }
        }
        if let Some(p) = &self.prefix {
            if p.starts_with('/') || p.contains("..") {
                return Err(format!(
                    "prefix = \"{p}\" must be a relative key prefix like \"alicert/locks/\""
                ));
            }
        }
        if self.ttl_secs < 1 {
            return Err("ttl_secs must be at least 1".into());
        }
        Ok(())
    }

    /// (bucket, prefix) of the lock objects, or None when locking is off or no bucket is known.
    pub fn location(&self, account_key: &str) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        let from_key = account_key.strip_prefix("oss://").and_then(|rest| {
            let (bucket, key) = rest.split_once('/')?;
            let folder = key
                .rsplit_once('/')
                .map(|(dir, _)| dir)
                .unwrap_or("alicert");
            Some((bucket.to_string(), format!("{folder}/locks/")))
        });
        let bucket = self
            .bucket
            .clone()
            .or_else(|| from_key.as_ref().map(|(b, _)| b.clone()))?;
        let prefix = match &self.prefix {
            Some(p) if p.is_empty() || p.ends_with('/') => p.clone(),
            Some(p) => format!("{p}/"),
            None => match from_key {
                Some((b, p)) if b == bucket => p,
                _ => "alicert/locks/".to_string(),
            },
        };
        Some((bucket, prefix))
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
    key: String,
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
    bucket: String,
    prefix: String,
    owner: String,
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(bytes)[..12])
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Locks {
    /// `owner` identifies this run in lock objects (request id + random suffix).
    pub fn new(client: AliyunClient, bucket: String, prefix: String, owner: String) -> Locks {
        Locks {
            client,
            bucket,
            prefix,
            owner,
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn key(&self, certificate: &str) -> String {
        format!("{}{certificate}.lock", self.prefix)
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
        let key = self.key(certificate);
        let body = self.body(certificate, expires);
        for _ in 0..4 {
            let put = self
                .client
                .oss_put(&self.bucket, &key, body.clone(), true)
                .await?;
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

    /// Delete the stale lock `stale` at `key` if this run wins its take-over token. A token
    /// left by a run that died mid-take-over expires like a lock and is taken over in turn.
    async fn take_over(
        &self,
        key: &str,
        stale: Vec<u8>,
        certificate: &str,
        expires: i64,
    ) -> Result<bool> {
        let mut seen = stale.clone();
        for _ in 0..3 {
            let token = format!("{key}.takeover-{}", short_hash(&seen));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_defaults() {
        let c = LockConfig::default();
        assert_eq!(
            c.location("oss://state/acme/account.pem"),
            Some(("state".into(), "acme/locks/".into()))
        );
        assert_eq!(
            c.location("oss://state/account.pem"),
            Some(("state".into(), "alicert/locks/".into()))
        );
        assert_eq!(c.location("kms:alicert/account"), None);
        let explicit = LockConfig {
            bucket: Some("locks".into()),
            prefix: Some("x".into()),
            ..LockConfig::default()
        };
        assert_eq!(
            explicit.location("kms:a"),
            Some(("locks".into(), "x/".into()))
        );
        let other_bucket = LockConfig {
            bucket: Some("locks".into()),
            ..LockConfig::default()
        };
        assert_eq!(
            other_bucket.location("oss://state/acme/account.pem"),
            Some(("locks".into(), "alicert/locks/".into()))
        );
        let off = LockConfig {
            enabled: false,
            ..LockConfig::default()
        };
        assert_eq!(off.location("oss://state/acme/account.pem"), None);
        assert!(LockConfig {
            bucket: Some("Bad_Bucket".into()),
            ..LockConfig::default()
        }
        .validate()
        .is_err());
    }
}
