//! ESA sites' certificate pools: every site ListSites gives at the account's ESA API region
//! (listing/esa_saas.rs), then each site's ListCertificates and each certificate's
//! GetCertificate (deploy/esa.rs). A site serves, per request, the best certificate of its pool,
//! so a site is one row per certificate it holds, each under the site's target
//! `{site_id, region}` (the `esa` target adds alicert's certificate to that pool).
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};

use super::esa_saas::{esa_client, sites};
use super::{table, Row};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::ident::RegionId;

/// The actions this file calls (ListSites is listing/esa_saas.rs's; the pool's reads are
/// deploy/esa.rs's).
pub(crate) const RAM: &[&str] = &[];

/// Sites whose pools are read at once.
const SITES_AT_ONCE: usize = 4;

pub fn list<'a>(_t: &'a toml::Table, client: &'a AliyunClient) -> BoxFuture<'a, Result<Vec<Row>>> {
    Box::pin(async move {
        let (esa, region) = esa_client(client)?;
        let region_id = RegionId::parse(region).map_err(Error::Config)?;
        let region_id = &region_id;
        let pools: Vec<Result<Vec<Row>>> = stream::iter(sites(&esa).await?)
            .map(|site| async move {
                let id: u64 = site.parse().map_err(|_| {
                    Error::Deploy(format!(
                        "esa: ListSites gave site id `{site}`, not a number"
                    ))
                })?;
                let held = crate::deploy::esa::pool(client, id, Some(region_id)).await?;
                Ok(held
                    .into_iter()
                    .map(|served| Row {
                        table: table(&[("site_id", &site), ("region", region)]),
                        resource: site.clone(),
                        served,
                    })
                    .collect())
            })
            .buffer_unordered(SITES_AT_ONCE)
            .collect()
            .await;
        let mut out = Vec::new();
        for p in pools {
            out.extend(p?);
        }
        Ok(out)
    })
}
