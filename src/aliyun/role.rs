//! Cross-account roles: a zone mapping or a target with `role_arn` is reached with that role's
//! credentials, got by STS AssumeRole signed with the invocation's own credentials (the chain),
//! and used for exactly those calls.
//!
//! * `role_arn` is `acs:ram::<account id>:role/<role name>` (AssumeRoleRequest RoleArn,
//!   alibabacloud-sts20150401 1.2.0 models/_assume_role_request.py: "Format:
//!   `acs:ram::<account_id>:role/<role_name>`"); a role name is "1 to 64 characters in length,
//!   and can contain letters, digits, periods (.), and hyphens (-)" (RAM CreateRole,
//!   https://alibabacloud.com/help/en/resource-management/api-createrole).
//! * RoleSessionName names alicert and the certificate, `alicert-<certificate>`: the SDK model
//!   allows 2 to 64 characters of letters, digits, `. @ - _`, STS's error page ("The parameter
//!   RoleSessionName is wrongly formed", https://www.alibabacloud.com/help/doc-detail/42775.htm)
//!   says 2 to 32; alicert keeps to the stricter 32, other characters become `-`, and a name cut
//!   short ends with 8 hex digits of its SHA-256 so two long names stay apart.
//! * DurationSeconds: the SDKs' default, 3600 ("Minimum value: 900. Maximum value: the value of
//!   MaxSessionDuration", whose default is 3600).
//! * One AssumeRole per role and certificate per invocation, even with concurrent targets
//!   (one async cell per key, like the ARI cache in acme/ari.rs); the key is used again until
//!   15 minutes before its Expiration (credentials/cache.rs's refresh rule), then fetched anew.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::credentials::sts::{self, RoleRequest};
use super::credentials::Temporary;
use super::AliyunClient;
use crate::error::{Error, Result};

/// A role to reach another account through.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleArn(String);

impl RoleArn {
    /// `acs:ram::<digits>:role/<name>`; the error says what is wrong (the caller adds the key).
    pub fn parse(s: &str) -> std::result::Result<RoleArn, String> {
        let shape = "must be acs:ram::<account id>:role/<role name> (the role's ARN as the RAM \
                     console shows it)";
        let (account, name) = s
            .strip_prefix("acs:ram::")
            .and_then(|r| r.split_once(":role/"))
            .ok_or_else(|| format!("`{s}` {shape}"))?;
        if account.is_empty() || account.len() > 20 || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(format!("`{s}`: the account id is digits only; {shape}"));
        }
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !name_ok {
            return Err(format!(
                "`{s}`: a role name is 1 to 64 letters, digits, `.` or `-`; {shape}"
            ));
        }
        Ok(RoleArn(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The account the role is in (the ARNs of what it reaches name it).
    pub fn account(&self) -> &str {
        self.0
            .strip_prefix("acs:ram::")
            .and_then(|r| r.split_once(":role/"))
            .map(|(a, _)| a)
            .unwrap_or_default()
    }
}

impl std::fmt::Display for RoleArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for RoleArn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RoleArn::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The longest RoleSessionName alicert sends (see the module comment).
const MAX_SESSION_NAME: usize = 32;

/// `alicert-<certificate>`, fitted to STS's rules.
pub fn session_name(certificate: &str) -> String {
    let clean: String = format!("alicert-{certificate}")
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "._@-".contains(c) {
            true => c,
            false => '-',
        })
        .collect();
    let clean = clean.trim_end_matches('-').to_string();
    if clean.len() <= MAX_SESSION_NAME {
        return clean;
    }
    let digest = hex::encode(Sha256::digest(certificate.as_bytes()));
    format!("{}-{}", &clean[..MAX_SESSION_NAME - 9], &digest[..8])
}

/// The role sessions of one invocation (shared by every clone of its client).
#[derive(Default)]
pub struct Sessions {
    cells: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Temporary>>>>>,
}

impl Sessions {
    fn cell(&self, key: &str) -> Arc<tokio::sync::Mutex<Option<Temporary>>> {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(key.to_string()).or_default().clone()
    }

    /// A fresh session of `role` any certificate opened, for work of the whole invocation.
    async fn any_fresh(&self, role: &RoleArn, now: i64) -> Option<Temporary> {
        let prefix = format!("{role}|");
        let cells: Vec<_> = {
            let cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, c)| c.clone())
                .collect()
        };
        for cell in cells {
            if let Some(t) = cell.lock().await.as_ref().filter(|t| t.fresh(now)) {
                return Some(t.clone());
            }
        }
        None
    }
}

impl AliyunClient {
    /// This client with `role`'s credentials, for the calls on what the role reaches on behalf
    /// of `certificate`; for work of the whole invocation (`certificate` empty: the sweep of
    /// records of certificates no longer configured) any certificate's session of the role,
    /// else one named `alicert`. The error names the role and STS's answer.
    pub async fn assuming(&self, role: &RoleArn, certificate: &str) -> Result<AliyunClient> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if certificate.is_empty() {
            if let Some(t) = self.roles.any_fresh(role, now).await {
                return Ok(self.with_credentials(t.credentials));
            }
        }
        let request = RoleRequest {
            role_arn: role.0.clone(),
            session_name: session_name(certificate),
            duration_secs: sts::DEFAULT_DURATION_SECS,
            external_id: None,
        };
        let cell = self
            .roles
            .cell(&format!("{}|{}", request.role_arn, request.session_name));
        let mut held = cell.lock().await;
        let credentials = match held.as_ref().filter(|t| t.fresh(now)) {
            Some(t) => t.credentials.clone(),
            None => {
                let t = sts::assume_role_with(self, &request).await.map_err(|e| {
                    Error::Config(format!(
                        "role_arn = \"{role}\": AssumeRole failed: {e} (the role must exist and \
                         its trust policy must name the function's account; the function's \
                         policy needs sts:AssumeRole on it, see `alicert policy`)"
                    ))
                })?;
                let c = t.credentials.clone();
                *held = Some(t);
                c
            }
        };
        Ok(self.with_credentials(credentials))
    }
}

/// The function's statement for the roles it assumes: `sts:AssumeRole` on exactly those ARNs
/// (STS RAM authorization, https://help.aliyun.com/document_detail/371860.html: sts:AssumeRole,
/// resource type Role `acs:ram::{#accountId}:role/{#RoleName}`, the role's own ARN).
pub fn ram_statement(roles: &[RoleArn]) -> Option<crate::aliyun::ram::Statement> {
    use crate::aliyun::ram::{pick, Statement};
    (!roles.is_empty()).then(|| {
        Statement::new(
            "AssumeRoles",
            "role_arn: assume exactly these roles (zones and targets in other accounts); what \
             they reach is granted by the roles' own policies (`alicert policy --role <ARN>`).",
            &pick(sts::RAM, &["sts:AssumeRole"]),
            roles.iter().map(|r| r.as_str().to_string()).collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_checked() {
        let r = RoleArn::parse("acs:ram::1234567890123456:role/alicert-cdn.v2").unwrap();
        assert_eq!(r.account(), "1234567890123456");
        for bad in [
            "acs:ram::12ab:role/x",
            "acs:ram:::role/x",
            "acs:ram::1:role/",
            "acs:ram::1:role/has_underscore",
            "arn:aws:iam::1:role/x",
            "acs:ram::1:user/x",
        ] {
            assert!(RoleArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_names_fit_sts() {
        assert_eq!(session_name("www"), "alicert-www");
        assert_eq!(session_name("shop cert/中"), "alicert-shop-cert");
        let long = session_name(&"x".repeat(100));
        let other = session_name(&format!("{}y", "x".repeat(99)));
        assert_eq!(long.len(), 32);
        assert_ne!(long, other);
        for n in [long, other] {
            assert!(n.starts_with("alicert-"));
            assert!(n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b)));
        }
    }
}
