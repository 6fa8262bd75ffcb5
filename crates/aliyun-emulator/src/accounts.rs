//! Accounts: the emulator serves several Alibaba Cloud accounts, modelled at the minimum that
//! cross-account access needs.
//!
//! * An access key belongs to an account ([`AccessKey::account`]; unset: the default account
//!   [`ACCOUNT_ID`]). An STS key from AssumeRole belongs to the *role's* account (the account
//!   in `acs:ram::<account>:role/<name>`), as a role session acts in the account that owns the
//!   role (RAM "Use a RAM role to grant permissions across Alibaba Cloud accounts",
//!   https://www.alibabacloud.com/help/en/ram/user-guide/access-resources-across-alibaba-cloud-accounts).
//! * A role trusts a list of accounts (its trust policy's `Principal.RAM`
//!   `acs:ram::<account>:root`); unset, only its own account (the console's default for a role
//!   "trusted entity: Alibaba Cloud account, current account"). AssumeRole by a key of an
//!   account the role does not trust fails with `NoPermission` "No permission perform
//!   sts:AssumeRole on this Role." (STS common errors, "How to handle the common errors when
//!   you access OSS by using STS", https://www.alibabacloud.com/help/doc-detail/42775.htm; the
//!   page's message goes on with a hint cut off in the copy read, so the emulator's ends with
//!   its own hint). HTTP 403: the docs give no status; a refusal is the strictest reading.
//! * Alidns zones and CDN/DCDN domains have an owner account (a CAS certificate: its uploader's
//!   account, for CDN/DCDN `CertType=cas`). A caller of another account sees
//!   them as absent: listings leave them out and a request naming one gets the product's
//!   "does not exist" answer (`InvalidDomainName.NoExist`, `DomainRecordNotBelongToUser` for a
//!   record id, `InvalidDomain.NotFound`), the strictest plausible behaviour — the docs do not
//!   say what another account's resource answers, and "not yours" leaks nothing about it.
//! * RAM: a role may carry its own policy ([`Seed::role_policy`]); RPC calls signed by its
//!   sessions are checked against it instead of the emulator-wide policy (which stands for the
//!   function's own role). OSS, FC and API Gateway calls keep the emulator-wide policy.
use super::*;

/// Who owns what, when not the default account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountsSeed {
    /// Alidns zone → owning account.
    pub zones: BTreeMap<String, String>,
    /// CDN domain → owning account.
    pub cdn_domains: BTreeMap<String, String>,
    /// DCDN domain → owning account.
    pub dcdn_domains: BTreeMap<String, String>,
    /// Role ARN → the accounts its trust policy names.
    pub role_trust: BTreeMap<String, Vec<String>>,
    /// Role ARN → the RAM policy document of its sessions.
    pub role_policies: BTreeMap<String, Value>,
}

/// The seed's ownership, with the role policies parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accounts {
    seed: AccountsSeed,
    role_policies: BTreeMap<String, RamPolicy>,
}

impl Accounts {
    pub(crate) fn from_seed(seed: &AccountsSeed) -> Accounts {
        let role_policies = seed
            .role_policies
            .iter()
            .map(|(arn, v)| {
                let p = RamPolicy::parse(v).expect("emulator seed: role_policies");
                (arn.clone(), p)
            })
            .collect();
        Accounts {
            seed: seed.clone(),
            role_policies,
        }
    }
}

impl Seed {
    /// An access key of `account` (not the default one).
    pub fn account_key(mut self, account: &str, id: &str, secret: &str) -> Self {
        self.access_keys.push(AccessKey {
            id: id.into(),
            secret: secret.into(),
            account: Some(account.into()),
            ..AccessKey::default()
        });
        self
    }
    /// An Alidns zone owned by `account`.
    pub fn zone_in(self, account: &str, name: &str) -> Self {
        let mut s = self.zone(name);
        s.accounts
            .zones
            .insert(normalize_name(name), account.into());
        s
    }
    /// A CDN domain owned by `account`.
    pub fn cdn_domain_in(self, account: &str, name: &str) -> Self {
        let mut s = self.cdn_domain(name);
        s.accounts.cdn_domains.insert(name.into(), account.into());
        s
    }
    /// Role `name` in `account`, trusting exactly `trusted` accounts (AssumeRole by any other
    /// account's key is refused).
    pub fn role_in(self, account: &str, name: &str, trusted: &[&str]) -> Self {
        let arn = role_arn(account, name);
        let mut s = self.role(&arn);
        s.accounts
            .role_trust
            .insert(arn, trusted.iter().map(|a| a.to_string()).collect());
        s
    }
    /// The RAM policy the sessions of role `arn` are checked against.
    pub fn role_policy(mut self, arn: &str, policy: Value) -> Self {
        self.accounts.role_policies.insert(arn.into(), policy);
        self
    }
}

/// `acs:ram::<account>:role/<name>`.
pub fn role_arn(account: &str, name: &str) -> String {
    format!("acs:ram::{account}:role/{name}")
}

/// The account in a well-formed role ARN.
pub(crate) fn role_account(arn: &str) -> Option<&str> {
    arn.strip_prefix("acs:ram::")?
        .split_once(":role/")
        .map(|(a, _)| a)
}

impl Inner {
    /// The account the key `ak` belongs to (unknown keys: the default account; they are
    /// refused before this matters).
    pub(crate) fn account_of(&self, ak: &str) -> String {
        self.keys
            .get(ak)
            .and_then(|k| k.account.clone())
            .unwrap_or_else(|| ACCOUNT_ID.to_string())
    }

    pub(crate) fn zone_owner(&self, zone: &str) -> &str {
        self.accounts
            .seed
            .zones
            .get(zone)
            .map(String::as_str)
            .unwrap_or(ACCOUNT_ID)
    }

    pub(crate) fn cdn_owner(&self, domain: &str, dcdn: bool) -> &str {
        let map = match dcdn {
            true => &self.accounts.seed.dcdn_domains,
            false => &self.accounts.seed.cdn_domains,
        };
        map.get(domain).map(String::as_str).unwrap_or(ACCOUNT_ID)
    }

    /// Whether `caller` may assume `arn` (its trust list, else its own account only).
    pub(crate) fn trusts(&self, arn: &str, caller: &str) -> bool {
        match self.accounts.seed.role_trust.get(arn) {
            Some(list) => list.iter().any(|a| a == caller),
            None => role_account(arn) == Some(caller),
        }
    }

    /// The policy RPC calls of key `ak` are checked against: its role's, else the emulator's.
    pub(crate) fn policy_for(&self, ak: &str) -> Option<&RamPolicy> {
        let role = self.keys.get(ak).and_then(|k| k.role.as_deref());
        match role.and_then(|r| self.accounts.role_policies.get(r)) {
            Some(p) => Some(p),
            None => self.ram_policy.as_ref(),
        }
    }

    /// A request of `caller` naming a resource another account owns: the product's "does not
    /// exist" answer (see the module comment).
    pub(crate) fn foreign(&self, product: &str, p: &Params, caller: &str) -> Option<ApiError> {
        match product {
            "alidns" => {
                if let Some(d) = p.get("DomainName") {
                    let n = normalize_name(d);
                    let known = self.state.zones.iter().any(|z| z.name == n);
                    return (known && self.zone_owner(&n) != caller).then(alidns::no_such_zone);
                }
                if let Some(id) = p.get("RecordId") {
                    let r = self.state.records.iter().find(|r| r.record_id == id)?;
                    return (self.zone_owner(&r.domain_name) != caller)
                        .then(alidns::record_not_found);
                }
                let sub = p.get("SubDomain")?;
                let (zone, _) = self.zone_of(sub)?;
                (self.zone_owner(&zone) != caller).then(alidns::no_such_zone)
            }
            "cdn" | "dcdn" => {
                let d = p.get("DomainName")?;
                let dcdn = product == "dcdn";
                let map = match dcdn {
                    true => &self.state.dcdn_domains,
                    false => &self.state.cdn_domains,
                };
                let foreign = map.contains_key(d) && self.cdn_owner(d, dcdn) != caller;
                foreign.then(|| err(400, "InvalidDomain.NotFound", "The domain does not exist."))
            }
            _ => None,
        }
    }
}

/// AssumeRole of `arn` by a key of `caller`'s account that the role does not trust.
pub(crate) fn untrusted(arn: &str) -> ApiError {
    err(
        403,
        "NoPermission",
        format!(
            "No permission perform sts:AssumeRole on this Role. The trust policy of {arn} does \
             not name the caller's account."
        ),
    )
}

impl Emulator {
    /// Sets the RAM policy the sessions of role `arn` are checked against (as
    /// [`Seed::role_policy`], once the emulator runs).
    pub fn set_role_policy(&self, arn: &str, policy: &Value) -> Result<(), String> {
        let parsed = RamPolicy::parse(policy)?;
        let mut inner = self.shared.lock();
        inner
            .accounts
            .seed
            .role_policies
            .insert(arn.into(), policy.clone());
        inner.accounts.role_policies.insert(arn.into(), parsed);
        Ok(())
    }
}
