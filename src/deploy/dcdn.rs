//! DCDN (Dynamic Route for CDN, dcdn 2018-01-15): the HTTPS certificate of an accelerated
//! domain. Read: DescribeDcdnDomainCertificateInfo (SSLPub, SSLProtocol). Write:
//! SetDcdnDomainSSLCertificate, CertType=cas with the hub's CAS copy (upload + PEM otherwise).
//! List: DescribeDcdnUserDomains. The calls have CDN's shape, so the implementation is
//! `cdn.rs`'s with these names.
use super::cdn::{Api, Cdn};
use super::kinds::{Kind, TargetKind};
use super::Target;
use crate::aliyun::{AliyunClient, Product};

/// The same keys as `cdn` (a `domain`), built with DCDN's names.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct Params(super::cdn::Params);

pub const API: Api = Api {
    kind: TargetKind::Dcdn,
    product: Product::Dcdn,
    describe: "DescribeDcdnDomainCertificateInfo",
    set: "SetDcdnDomainSSLCertificate",
    https_status_field: "SSLProtocol",
    certificate_field: "SSLPub",
    list: "DescribeDcdnUserDomains",
};

/// Every DCDN domain of the account, for `domains = "covered"`.
pub(crate) fn list_domains<'a>(
    _table: &'a toml::Table,
    client: &'a AliyunClient,
) -> futures_util::future::BoxFuture<'a, crate::error::Result<Vec<String>>> {
    Box::pin(super::cdn::list_with(&API, client))
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "dcdn:DescribeDcdnDomainCertificateInfo",
    "dcdn:SetDcdnDomainSSLCertificate",
    "dcdn:DescribeDcdnUserDomains",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Dcdn;

    fn ram(
        &self,
        ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        // DCDN RAM authorization, resource type Domain: `acs:dcdn:*:{#accountId}:domain/{#domainName}`
        // (SetDcdnDomainSSLCertificate, https://www.alibabacloud.com/help/doc-detail/131404.htm).
        let arns = ctx
            .names(&self.0.domain)
            .iter()
            .map(|d| ctx.scope.arn("dcdn", "*", &format!("domain/{d}")))
            .collect();
        let mut out = vec![Statement::new(
            "DeployDcdn",
            "target kind dcdn: read the accelerated domain's certificate and set the new one, on these domains only.",
            &pick(RAM, &["dcdn:DescribeDcdnDomainCertificateInfo", "dcdn:SetDcdnDomainSSLCertificate"]),
            arns,
        )];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployDcdnList",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["dcdn:DescribeDcdnUserDomains"]),
            ));
        }
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Cdn::with_api(&API, self.0, client.clone()))
    }
}
