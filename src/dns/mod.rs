//! DNS-01: one small provider interface (Alidns implements it) and the propagation check.
pub mod alidns;
pub mod caa;
pub mod delegation;
pub mod persist;
pub mod propagation;
mod query;
pub mod ram;
pub mod settings;
pub mod sweep;

pub use ram::{ram_statements, DnsNeeds};
pub use settings::{DnsConfig, ZoneConfig};

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

/// A CAA record in a zone, and whether alicert created it for the provider handle's
/// certificate (exact remark, as for TXT records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaRecord {
    pub id: String,
    pub caa: caa::Caa,
    pub ours: bool,
}

#[async_trait]
pub trait DnsProvider: Send + Sync {
    /// The zone that holds `fqdn`: the longest suffix of it that the account hosts.
    async fn zone_for(&self, fqdn: &str) -> Result<Zone>;
    /// As [`DnsProvider::zone_for`], `None` when the account hosts no zone holding `fqdn`.
    async fn hosted_zone(&self, fqdn: &str) -> Result<Option<Zone>>;
    /// Create the TXT record, not yet marked: [`DnsProvider::mark_txt`] must follow.
    async fn create_txt(&self, zone: &Zone, fqdn: &str, value: &str) -> Result<TxtRecord>;
    /// Mark a record as alicert's (see `sweep.rs`), so a crashed run's leftover can be swept.
    async fn mark_txt(&self, record: &TxtRecord) -> Result<()>;
    /// Create the TXT record, marked as alicert's; one that cannot be marked is deleted again.
    async fn add_txt(&self, zone: &Zone, fqdn: &str, value: &str) -> Result<TxtRecord> {
        let record = self.create_txt(zone, fqdn, value).await?;
        if let Err(e) = self.mark_txt(&record).await {
            // Unmarked, a leftover could never be swept: do not go on with it.
            if let Err(d) = self.delete_txt(&record).await {
                tracing::error!(fqdn, record_id = %record.id, error = %d, "could not delete an unmarked TXT record");
            }
            return Err(e);
        }
        Ok(record)
    }
    async fn delete_txt(&self, record: &TxtRecord) -> Result<()>;
    /// The CAA records exactly at `fqdn` (`caa = "manage"`).
    async fn caa_records(&self, zone: &Zone, fqdn: &str) -> Result<Vec<CaaRecord>>;
    /// Create `caa` at `fqdn`, marked as the certificate's, or rewrite alicert's record `id`.
    async fn put_caa(
        &self,
        zone: &Zone,
        fqdn: &str,
        id: Option<&str>,
        caa: &caa::Caa,
    ) -> Result<()>;
    /// The TXT records exactly at `fqdn` (a `_validation-persist` name), and whether alicert
    /// created each (for this certificate, or any).
    async fn txt_records_at(&self, zone: &Zone, fqdn: &str) -> Result<Vec<persist::Existing>>;
    /// Rewrite TXT record `id` at `fqdn` to `value` (its remark stays).
    async fn update_txt(&self, zone: &Zone, fqdn: &str, id: &str, value: &str) -> Result<()>;
    /// The TXT records at `_validation-persist` names in `zone`, each with its remark.
    async fn persist_records(&self, zone: &Zone) -> Result<Vec<(TxtRecord, Option<String>)>>;
    /// Delete the `_acme-challenge` TXT records in `zone` that alicert marked and that are
    /// older than `grace` (left by a crashed run). Returns how many were deleted.
    async fn sweep_stale(&self, _zone: &Zone, _grace: std::time::Duration) -> Result<usize> {
        Ok(0)
    }
    /// As [`DnsProvider::sweep_stale`], for the TXT records at exactly `fqdn`: where a delegated
    /// challenge is written, a name that need not start with `_acme-challenge`.
    async fn sweep_stale_at(
        &self,
        _zone: &Zone,
        _fqdn: &str,
        _grace: std::time::Duration,
    ) -> Result<usize> {
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
