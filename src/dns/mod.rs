//! DNS-01: one small provider interface (Alidns implements it) and the propagation check.
pub mod alidns;
pub mod propagation;
pub mod settings;
pub mod sweep;

pub use settings::DnsConfig;

use async_trait::async_trait;

use crate::error::Result;

/// A zone hosted by the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// e.g. `example.com.cn` or a delegated `dev.example.com`.
    pub name: String,
    /// The zone's authoritative name servers, as the provider reports them.
    pub name_servers: Vec<String>,
}

/// A TXT record alicert created; deleting it by `id` never touches anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtRecord {
    pub id: String,
    pub fqdn: String,
    pub value: String,
    pub zone: String,
}

#[async_trait]
pub trait DnsProvider: Send + Sync {
    /// The zone that holds `fqdn`: the longest suffix of it that the account hosts.
    async fn zone_for(&self, fqdn: &str) -> Result<Zone>;
    /// Create the TXT record, marked as alicert's (see `sweep.rs`).
    async fn add_txt(&self, zone: &Zone, fqdn: &str, value: &str) -> Result<TxtRecord>;
    async fn delete_txt(&self, record: &TxtRecord) -> Result<()>;
    /// Delete the `_acme-challenge` TXT records in `zone` that alicert marked and that are
    /// older than `grace` (left by a crashed run). Returns how many were deleted.
    async fn sweep_stale(&self, _zone: &Zone, _grace: std::time::Duration) -> Result<usize> {
        Ok(0)
    }
}

/// The relative record name of `fqdn` inside `zone` (`_acme-challenge.www` in `example.com`).
pub fn relative_name(fqdn: &str, zone: &str) -> Option<String> {
    if fqdn == zone {
        return Some("@".into());
    }
    fqdn.strip_suffix(zone)?
        .strip_suffix('.')
        .filter(|rr| !rr.is_empty())
        .map(str::to_string)
}

/// The longest entry of `zones` that `fqdn` is in (equal to it or a subdomain of it).
pub fn longest_suffix<'a>(fqdn: &str, zones: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    zones
        .into_iter()
        .filter(|z| fqdn == *z || fqdn.ends_with(&format!(".{z}")))
        .max_by_key(|z| z.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_choice_is_longest_existing_suffix() {
        let zones = [
            "example.com",
            "dev.example.com",
            "example.com.cn",
            "ample.com",
        ];
        assert_eq!(
            longest_suffix("_acme-challenge.a.dev.example.com", zones),
            Some("dev.example.com")
        );
        assert_eq!(
            longest_suffix("_acme-challenge.example.com.cn", zones),
            Some("example.com.cn")
        );
        assert_eq!(
            longest_suffix("_acme-challenge.example.com", zones),
            Some("example.com")
        );
        assert_eq!(longest_suffix("_acme-challenge.other.cn", zones), None);
    }

    #[test]
    fn relative_names() {
        assert_eq!(
            relative_name("_acme-challenge.www.example.com", "example.com").as_deref(),
            Some("_acme-challenge.www")
        );
        assert_eq!(
            relative_name("example.com", "example.com").as_deref(),
            Some("@")
        );
        assert_eq!(relative_name("x.notexample.com", "example.com"), None);
    }
}
