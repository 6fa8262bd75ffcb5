//! What `alicert scan` lists of a kind whose targets are not named by a domain alone (a
//! listener, a bucket and its domain, a site): one file per kind, each a [`ListTargets`] that
//! returns one target table per endpoint of the account, as a config would write it, so scan
//! builds and reads it with the kind's own `build` and `Target::current`. Kinds that list
//! domains (deploy/discovery.rs) need none: scan puts each listed domain under their key.
//!
//! Each file has its own `const RAM` (tests/policy.rs): these reads are scan's, so
//! `alicert policy` (the function's role) does not grant them.
use futures_util::future::BoxFuture;

// One file per kind: `pub mod <kind>;`, its `list` in scan/mod.rs's SCANNED and its `RAM` in READS.
pub mod alb;
pub mod apigateway;
pub mod esa;
pub mod esa_saas;
pub mod ga;
pub mod nlb;
pub mod oss;
pub mod slb;

use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::Result;

/// Every endpoint of a kind the account has, as target tables (all pages). `table` holds
/// `region` for the kinds scan lists per region, nothing for the others; each returned table
/// carries what the kind's `build` needs (its own `region` included).
pub type ListTargets =
    for<'a> fn(&'a toml::Table, &'a AliyunClient) -> BoxFuture<'a, Result<Vec<toml::Table>>>;

/// One certificate an endpoint holds, for kinds whose endpoint holds several (an ESA site's
/// pool): the endpoint's target table and resource id, and the certificate.
pub struct Row {
    pub table: toml::Table,
    pub resource: String,
    pub served: CertInfo,
}

/// Every certificate the endpoints of a kind hold, as rows (all pages); `table` as for
/// [`ListTargets`].
pub type ListRows =
    for<'a> fn(&'a toml::Table, &'a AliyunClient) -> BoxFuture<'a, Result<Vec<Row>>>;

/// A target table from `(key, value)` pairs (values as strings, as a config writes ids).
pub fn table(pairs: &[(&str, &str)]) -> toml::Table {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
        .collect()
}

/// The client for the listing table's `region` (the client's own region when it names none).
pub fn regional_client(table: &toml::Table, client: &AliyunClient) -> Result<AliyunClient> {
    let region = crate::deploy::fc::region_of(table)?;
    Ok(crate::deploy::regional(client, region.as_ref()))
}

/// The `const RAM` of every listing file (scan's read actions, README "alicert scan").
pub const READS: &[&[&str]] = &[
    oss::RAM,
    esa_saas::RAM,
    esa::RAM,
    alb::RAM,
    nlb::RAM,
    ga::RAM,
    apigateway::RAM,
    slb::RAM,
];
