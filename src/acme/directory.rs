//! The ACME directory (RFC 8555 §7.1.1) as alicert reads it: instant-acme keeps the URLs to
//! itself and exposes only `meta.profiles`, but alicert must know whether the CA requires
//! External Account Binding and whether it offers renewalInfo (RFC 9773) before acting.
use std::collections::BTreeMap;

use serde::Deserialize;

use super::http::AcmeHttp;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Deserialize)]
/// Every field is optional (a missing one takes its `Default`).
#[serde(rename_all = "camelCase", default)]
pub struct Directory {
    pub new_account: String,
    pub key_change: Option<String>,
    pub revoke_cert: Option<String>,
    /// RFC 9773: present when the CA offers ACME Renewal Information.
    pub renewal_info: Option<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Deserialize)]
/// Every field is optional (a missing one takes its `Default`).
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    pub external_account_required: bool,
    pub terms_of_service: Option<String>,
    /// Profile name → description (draft-aaron-acme-profiles, offered by Let's Encrypt).
    pub profiles: BTreeMap<String, String>,
    /// The issuer domain names CAA records use for this CA (RFC 8555 §7.1.1).
    pub caa_identities: Vec<String>,
}

impl Directory {
    pub async fn fetch(http: &AcmeHttp, url: &str) -> Result<Directory> {
        let rsp = http.get(url).await?;
        if rsp.status != 200 {
            return Err(Error::Acme(format!(
                "directory {url} answered HTTP {} (check [acme] directory)",
                rsp.status
            )));
        }
        serde_json::from_slice(&rsp.body).map_err(|e| {
            Error::Acme(format!(
                "directory {url} is not an ACME directory: {e} (check [acme] directory)"
            ))
        })
    }

    /// The named profile, or an error that lists what the CA offers.
    pub fn check_profile(&self, profile: &str, url: &str) -> Result<()> {
        if self.meta.profiles.contains_key(profile) {
            return Ok(());
        }
        let offered = if self.meta.profiles.is_empty() {
            "none: it does not support profiles".to_string()
        } else {
            self.meta
                .profiles
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(Error::Config(format!(
            "profile `{profile}` is not offered by the ACME directory {url} (offered: {offered}); \
             fix `profile` in [acme] or the [[certificate]]"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_optional() {
        let d: Directory = serde_json::from_str(r#"{"newAccount":"a","meta":{}}"#).unwrap();
        assert_eq!(d.new_account, "a");
        assert!(d.renewal_info.is_none() && !d.meta.external_account_required);
        let d: Directory = serde_json::from_str("{}").unwrap();
        assert!(d.new_account.is_empty() && d.meta.profiles.is_empty());
    }

    #[test]
    fn reads_meta() {
        let d: Directory = serde_json::from_str(
            r#"{"newNonce":"n","newAccount":"a","newOrder":"o","renewalInfo":"https://ca/ari",
                "meta":{"externalAccountRequired":true,"profiles":{"classic":"c","shortlived":"s"}}}"#,
        )
        .unwrap();
        assert!(d.meta.external_account_required);
        assert_eq!(d.renewal_info.as_deref(), Some("https://ca/ari"));
        d.check_profile("shortlived", "u").unwrap();
        let e = d.check_profile("tlsserver", "u").unwrap_err().to_string();
        assert!(
            e.contains("classic, shortlived") && e.contains("tlsserver"),
            "{e}"
        );
        let bare: Directory = serde_json::from_str(r#"{"newAccount":"a"}"#).unwrap();
        assert!(!bare.meta.external_account_required && bare.renewal_info.is_none());
        let e = bare.check_profile("x", "u").unwrap_err().to_string();
        assert!(e.contains("does not support profiles"), "{e}");
    }
}
