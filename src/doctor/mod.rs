//! `alicert doctor` (and `{"action":"doctor"}`): a read-only preflight with the real
//! credentials. Each check reports `ok`, `missing_permission` (naming the RAM actions),
//! `misconfigured` (naming the key and the fix) or `failed` (what went wrong). It never calls
//! a write action: the write permissions are checked by evaluating the policies attached to
//! the caller (grants.rs) against `alicert policy`'s statements, the read ones also by making
//! the reads a run makes (targets, zones, account key, lock bucket, secrets, the CA).
mod checks;
mod grants;
mod table;

use crate::config::Config;
use crate::invocation::Invocation;

pub use crate::result::doctor::{Area, Check, DoctorReport, Status};
pub use grants::Granted;
pub use table::human_table;

/// Runs every check; never fails as a whole (a check that cannot run says why).
pub async fn run(config: &Config, invocation: &Invocation) -> DoctorReport {
    let client = match invocation.aliyun_client(&config.aliyun).await {
        Ok(c) => c,
        Err(e) => {
            let c = Check::from_error(Area::Credentials, "credential chain", "[aliyun]", &e);
            return DoctorReport::new(None, vec![c]);
        }
    };
    let (identity, mut out) = checks::identity(&client).await;
    if let Some(identity) = &identity {
        let mut scope = config.aliyun.ram_scope();
        scope.account = identity.account_id.clone();
        out.extend(checks::permissions(config, &client, identity, &scope).await);
    }
    out.extend(checks::zones(config, &client).await);
    out.extend(checks::targets(config, &client).await);
    out.extend(checks::storage(config, &client).await);
    out.extend(checks::secrets(config, &client).await);
    out.extend(checks::acme_and_caa(config, &client).await);
    DoctorReport::new(identity, out)
}
