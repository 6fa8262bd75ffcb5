//! `alicert scan` (and `{"action":"scan"}`): a read-only inventory of the account's
//! certificate-bearing endpoints. For every kind that can list its domains (the listings
//! `domains = "covered"` uses, deploy/discovery.rs) it lists every page, reads what each
//! endpoint serves with the kind's own `Target::current`, looks the certificate up among CAS's
//! uploads to tell where it came from, and marks the endpoints the current config has a target
//! for. A listing or read that fails is a problem row (a missing permission names its RAM
//! action, as doctor does); the scan itself never fails. Kinds without a listing are reported
//! in `not_scanned` with the reason.
//!
//! Bounded: every call follows the client's retry rules, and each listing stops at the
//! invocation's deadline (FC's timeout, `--timeout` locally).
mod claims;
pub mod init;
pub mod interview;
mod list;
mod listing;
mod table;

use std::collections::HashMap;

use crate::config::Config;
use crate::deploy::discovery::ListDomains;
use crate::deploy::kinds::TargetKind;
use crate::ident::RegionId;
use crate::invocation::Invocation;
use crate::result::doctor::{Area, Check};

pub use crate::result::scan::{Endpoint, Health, NotScanned, ScanReport, Source};
pub use init::{from_scan, InitOptions};
pub use table::human_table;

/// What to scan: the regions the regional kinds are listed in (default `[aliyun] region`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub regions: Vec<RegionId>,
}

/// Where a kind's endpoints live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// One listing for the account (CDN, DCDN, Live, VOD).
    Global,
    /// One listing per scanned region (FC, cloud-native API gateway, OSS, ALB, NLB).
    Regional,
    /// The product has its own fixed regions; listed once at the one `[aliyun] region` maps to
    /// (WAF: cn-hangzhou or ap-southeast-1; Anti-DDoS Pro: cn-hangzhou; GA: cn-hangzhou).
    Own,
}

/// A kind scan lists: where its endpoints live, and how they are listed.
#[derive(Clone, Copy)]
struct Scanned {
    kind: TargetKind,
    reach: Reach,
    list: How,
}

/// How scan lists a kind's endpoints.
#[derive(Clone, Copy)]
enum How {
    /// The kind's `domains = "covered"` listing (deploy/discovery.rs).
    Discovery,
    /// Another domain listing, each domain put under the discovery key.
    Domains(ListDomains),
    /// Target tables (src/scan/listing/).
    Targets(listing::ListTargets),
    /// Certificates held, one row each (src/scan/listing/): an endpoint holding a pool.
    Rows(listing::ListRows),
}

const fn domains(kind: TargetKind, reach: Reach) -> Scanned {
    Scanned {
        kind,
        reach,
        list: How::Discovery,
    }
}

const fn targets(kind: TargetKind, reach: Reach, list: listing::ListTargets) -> Scanned {
    Scanned {
        kind,
        reach,
        list: How::Targets(list),
    }
}

const fn rows(kind: TargetKind, reach: Reach, list: listing::ListRows) -> Scanned {
    Scanned {
        kind,
        reach,
        list: How::Rows(list),
    }
}

/// The kinds scan lists.
const SCANNED: &[Scanned] = &[
    domains(TargetKind::Cdn, Reach::Global),
    domains(TargetKind::Dcdn, Reach::Global),
    domains(TargetKind::Live, Reach::Global),
    domains(TargetKind::Vod, Reach::Global),
    domains(TargetKind::Fc, Reach::Regional),
    domains(TargetKind::Apig, Reach::Regional),
    // An account without a WAF 3.0 instance in the region has no WAF endpoints (not a problem).
    Scanned {
        kind: TargetKind::Waf,
        reach: Reach::Own,
        list: How::Domains(crate::deploy::waf::list_domains_if_any),
    },
    domains(TargetKind::Ddos, Reach::Own),
    targets(TargetKind::Oss, Reach::Regional, listing::oss::list),
    // At the one ESA API region the account uses (listing/esa_saas.rs).
    targets(TargetKind::EsaSaas, Reach::Own, listing::esa_saas::list),
    // A site holds a pool of certificates: a row for each.
    rows(TargetKind::Esa, Reach::Own, listing::esa::list),
    targets(TargetKind::Alb, Reach::Regional, listing::alb::list),
    targets(TargetKind::Nlb, Reach::Regional, listing::nlb::list),
    // GA is called in cn-hangzhou whatever the region (deploy/ga.rs).
    targets(TargetKind::Ga, Reach::Own, listing::ga::list),
    targets(
        TargetKind::ApiGateway,
        Reach::Regional,
        listing::apigateway::list,
    ),
    targets(TargetKind::Slb, Reach::Regional, listing::slb::list),
];

/// The kinds scan does not list, and why (checked against the kinds table in the tests).
const NOT_SCANNED: &[(TargetKind, &str)] = &[
    (TargetKind::Cas, "CAS holds certificates, it serves none: its uploads are the `source` of the endpoints listed"),
    (TargetKind::OssBundle, "writes certificate files to a bucket; nothing serves them"),
    (TargetKind::Fc2, "FC 2.0 and 3.0 share custom domains: each is listed once, as `fc` (use `fc2` in a target to deploy through the FC 2.0 API)"),
    (TargetKind::CasDeploy, "CAS deployment resources are products' own endpoints, listed above where scan lists their kind"),
];

/// Runs the scan; never fails as a whole (what cannot be read is a problem row).
pub async fn run(config: &Config, invocation: &Invocation, options: &Options) -> ScanReport {
    let regions = regions(config, options);
    let mut report = ScanReport {
        complete: true,
        regions: regions.iter().map(|r| r.as_str().to_string()).collect(),
        expiring_within_days: config.acme.renew_before_days,
        endpoints: Vec::new(),
        problems: Vec::new(),
        not_scanned: NOT_SCANNED
            .iter()
            .map(|(kind, reason)| NotScanned {
                kind: kind.as_str().to_string(),
                reason: reason.to_string(),
            })
            .collect(),
    };
    let client = match invocation.aliyun_client(&config.aliyun).await {
        Ok(c) => c,
        Err(e) => {
            let c = Check::from_error(Area::Credentials, "credential chain", "[aliyun]", &e);
            report.problems.push(c);
            report.complete = false;
            return report;
        }
    };
    let jobs = list::jobs(SCANNED, &regions);
    let budget = invocation.budget();
    let (listed, uploads) = tokio::join!(
        list::run_all(&jobs, &client, budget, config.acme.renew_before_days),
        list::cas_uploads(&client),
    );
    let (mut endpoints, mut problems) = listed;
    match uploads {
        Ok(uploads) => attribute(&mut endpoints, &uploads),
        Err(e) => problems.push(Check::from_error(
            Area::Target,
            "cas uploads (the endpoints' source)",
            "",
            &e,
        )),
    }
    claims::Claims::of(config, &client).mark(&mut endpoints);
    report.complete = problems.is_empty();
    report.endpoints = endpoints;
    report.problems = problems;
    report.sort();
    report
}

/// The config scan and init read: the file when there is one (loaded and validated as
/// always: a broken config is an error), else the defaults and the environment only — a scan
/// needs no `[acme]` section, so it runs before there is any config.
pub fn config_for_scan(explicit: Option<&std::path::Path>) -> crate::error::Result<Config> {
    if crate::config::locate(explicit).is_some() {
        return Config::load(explicit);
    }
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let mut config = Config {
        source: "environment (no alicert.toml found)".into(),
        ..Config::default()
    };
    config.apply_env(&env)?;
    config.normalize()?;
    config
        .aliyun
        .validate()
        .map_err(|e| crate::error::Error::Config(format!("{}: {e}", config.source)))?;
    Ok(config)
}

/// `--region` (each once, in the order given), else `[aliyun] region`.
fn regions(config: &Config, options: &Options) -> Vec<RegionId> {
    let mut out: Vec<RegionId> = Vec::new();
    for r in &options.regions {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    if out.is_empty() {
        if let Ok(r) = RegionId::parse(&config.aliyun.region) {
            out.push(r);
        }
    }
    out
}

/// A CAS upload, by SHA-256 fingerprint: its id and whether alicert uploaded it.
pub(crate) struct Upload {
    pub id: String,
    pub by_alicert: bool,
}

/// Fills in each endpoint's source from CAS's uploads (fingerprints compared ignoring case).
fn attribute(endpoints: &mut [Endpoint], uploads: &HashMap<String, Upload>) {
    for e in endpoints.iter_mut() {
        let Some(fingerprint) = e.fingerprint.take() else {
            continue;
        };
        match uploads.get(&fingerprint) {
            Some(u) => {
                e.source = Some(Source::Cas);
                e.cas_id = Some(u.id.clone());
                e.uploaded_by_alicert = u.by_alicert;
            }
            None => e.source = Some(Source::NotInCas),
        }
    }
}

/// The RAM actions scan calls: every listing and read it makes, from the kinds' own RAM
/// tables (README "alicert scan" lists them; `alicert policy` does not add them, as the
/// function never scans on its timer).
pub fn read_actions() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = list::reads().to_vec();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_scanned_or_says_why_not() {
        for entry in crate::deploy::kinds::KINDS {
            let scanned: Vec<&Scanned> = SCANNED.iter().filter(|s| s.kind == entry.kind).collect();
            let skipped = NOT_SCANNED.iter().filter(|(k, _)| *k == entry.kind).count();
            assert_eq!(scanned.len() + skipped, 1, "{}", entry.kind);
            if let Some(s) = scanned.first() {
                // A domain listing puts each domain under the kind's discovery key.
                if matches!(s.list, How::Discovery | How::Domains(_)) {
                    assert!(entry.discovery.is_some(), "{} has no listing", entry.kind);
                }
            }
        }
    }

    #[test]
    fn the_readme_lists_exactly_the_reads_scan_makes() {
        assert_eq!(
            crate::deploy::cas::RAM[0],
            "yundun-cert:GetUserCertificateDetail"
        );
        assert_eq!(
            crate::deploy::waf::target::RAM[0],
            "yundun-waf:DescribeDomainDetail"
        );
        // The listeners' default-certificate reads (scan/list.rs takes the first of each table).
        assert_eq!(crate::deploy::alb::RAM[0], "alb:GetListenerAttribute");
        assert_eq!(crate::deploy::nlb::RAM[0], "nlb:GetListenerAttribute");
        assert_eq!(crate::deploy::ga::RAM[0], "ga:DescribeListener");
        let readme = include_str!("../../README.md");
        let from = readme
            .find("The actions, from the kinds' RAM tables:")
            .unwrap();
        let to = from + readme[from..].find("An account without").unwrap();
        let mut listed: Vec<&str> = readme[from..to]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|a| a.contains(':'))
            .collect();
        listed.sort();
        assert_eq!(listed, read_actions());
    }

    #[test]
    fn regions_default_to_the_configured_one_and_are_deduplicated() {
        let config = Config::default();
        let r = |s: &str| RegionId::parse(s).unwrap();
        let got = regions(&config, &Options::default());
        assert_eq!(got, vec![r(&config.aliyun.region)]);
        let options = Options {
            regions: vec![r("cn-shanghai"), r("cn-beijing"), r("cn-shanghai")],
        };
        assert_eq!(
            regions(&config, &options),
            vec![r("cn-shanghai"), r("cn-beijing")]
        );
    }
}
