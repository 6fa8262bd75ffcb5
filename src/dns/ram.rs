//! The RAM statements DNS-01 needs, from the Alidns actions `alidns.rs` calls (its `RAM`
//! table): listing zones, the certificates' TXT records — in the zones that can hold their
//! names, a `challenge_alias`'s zone, and `_validation-persist` records rewritten in place for
//! dns-persist-01 — and alicert's CAA record with `caa = "manage"`.
use super::alidns::RAM;
use crate::aliyun::ram::{pick, Scope, Statement};

/// What one certificate asks of DNS.
pub struct DnsNeeds<'a> {
    pub names: &'a [String],
    /// `caa = "manage"`.
    pub manage_caa: bool,
    /// `challenge = "dns-persist-01"`.
    pub persist: bool,
    /// `challenge_alias`: where the TXT records go instead. CNAMEs alicert follows without it
    /// are only known online: name the alias to have the policy cover its zone.
    pub alias: Option<&'a str>,
}

/// The zones that can hold `name` (`*.` dropped): the name itself and each parent with at
/// least two labels. Which one Alidns hosts is only known online, so each may be the zone.
pub(crate) fn candidate_zones(name: &str) -> Vec<String> {
    let name = name.trim_start_matches("*.").trim_end_matches('.');
    let labels: Vec<&str> = name.split('.').collect();
    (0..labels.len().saturating_sub(1))
        .map(|i| labels[i..].join("."))
        .collect()
}

pub fn ram_statements(certs: &[DnsNeeds<'_>], scope: &Scope) -> Vec<Statement> {
    // Alidns RAM authorization, resource type Domain: `acs:alidns:*:$accountid:domain/$domainName`
    // (https://alibabacloud.com/help/en/dns/ram-authorization).
    let zone_arn = |zone: &str| scope.arn("alidns", "*", &format!("domain/{zone}"));
    let arns = |names: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        names
            .flat_map(candidate_zones)
            .map(|z| zone_arn(&z))
            .collect()
    };
    let mut out = vec![Statement::any(
        "Dns01ListZones",
        "DNS-01: find the Alidns zone of each name (DescribeDomains lists the account's zones).",
        &pick(RAM, &["alidns:DescribeDomains"]),
    )];
    out.extend(certs.iter().map(|c| doctor_zones(c, &arns)));
    for cert in certs {
        let zones = arns(&mut cert.names.iter().map(String::as_str));
        let record_zones = match cert.alias {
            Some(alias) => arns(&mut std::iter::once(alias)),
            None => zones.clone(),
        };
        out.push(Statement::new(
            "Dns01Records",
            "DNS-01: add the _acme-challenge TXT records, mark them with alicert's remark, find \
             them again (a lost answer, a crashed run's leftovers) and delete them, in the zones \
             that can hold the certificates' names (or their challenge_alias) only.",
            &pick(
                RAM,
                &[
                    "alidns:AddDomainRecord",
                    "alidns:UpdateDomainRecordRemark",
                    "alidns:DescribeSubDomainRecords",
                    "alidns:DescribeDomainRecords",
                    "alidns:DeleteDomainRecord",
                ],
            ),
            record_zones,
        ));
        if cert.persist {
            out.push(Statement::new(
                "PersistRecords",
                "dns-persist-01: keep alicert's _validation-persist TXT record (create, rewrite \
                 in place when the account changed, list, delete when its certificate left the \
                 config), in the zones that can hold the certificates' names only.",
                &pick(
                    RAM,
                    &[
                        "alidns:AddDomainRecord",
                        "alidns:UpdateDomainRecordRemark",
                        "alidns:UpdateDomainRecord",
                        "alidns:DescribeSubDomainRecords",
                        "alidns:DescribeDomainRecords",
                        "alidns:DeleteDomainRecord",
                    ],
                ),
                zones.clone(),
            ));
        }
        if cert.manage_caa {
            out.push(Statement::new(
                "CaaRecords",
                "caa = \"manage\": read the names' CAA records and keep alicert's own one \
                 (add, rewrite, remove its record only).",
                &pick(
                    RAM,
                    &[
                        "alidns:DescribeSubDomainRecords",
                        "alidns:AddDomainRecord",
                        "alidns:UpdateDomainRecord",
                        "alidns:DeleteDomainRecord",
                    ],
                ),
                zones,
            ));
        }
    }
    out
}

/// What `alicert doctor` reads of one certificate's zones (as it checks them: a
/// `challenge_alias`'s zone instead of the names' own).
fn doctor_zones(
    cert: &DnsNeeds<'_>,
    arns: &dyn Fn(&mut dyn Iterator<Item = &str>) -> Vec<String>,
) -> Statement {
    let names: Vec<&str> = match cert.alias {
        Some(alias) => vec![alias],
        None => cert.names.iter().map(String::as_str).collect(),
    };
    Statement::new(
        "DoctorZones",
        "alicert doctor only: whether each zone is delegated to Alidns name servers \
         (DescribeDomainNs), in the zones that can hold the certificates' names; read only.",
        &pick(RAM, &["alidns:DescribeDomainNs"]),
        arns(&mut names.into_iter()),
    )
}
