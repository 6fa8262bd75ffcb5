//! ApsaraVideo VOD (vod 2017-03-21): the HTTPS certificate of a VOD accelerated domain.
//! Read: DescribeVodDomainCertificateInfo (`ServerCertificateStatus`, `ServerCertificate`,
//! `CertType`, `CertId`). Write: SetVodDomainSSLCertificate, CertType=cas with the hub's CAS copy
//! (`CertId` int, `CertRegion` cn-hangzhou | ap-southeast-1, `CertName`).
//! Facts: alibabacloud-vod20170321 3.12.1, models/ _set_vod_domain_sslcertificate_request.py,
//! _describe_vod_domain_certificate_info_response_body.py, _describe_vod_user_domains_*.
//! The calls have CDN's shape, so the implementation is `cdn.rs`'s with these names.
use futures_util::future::BoxFuture;

use super::cdn::{Api, Cdn};
use super::kinds::{Kind, TargetKind};
use super::Target;
use crate::aliyun::{AliyunClient, Product};
use crate::error::Result;

/// The same keys as `cdn` (a `domain`), built with VOD's names.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct Params(super::cdn::Params);

pub const API: Api = Api {
    kind: TargetKind::Vod,
    product: Product::Vod,
    describe: "DescribeVodDomainCertificateInfo",
    set: "SetVodDomainSSLCertificate",
    https_status_field: "ServerCertificateStatus",
    certificate_field: "ServerCertificate",
    // Pages of at most 50 (not CDN's 500), so `list_domains` below pages it itself.
    list: "DescribeVodUserDomains",
};

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "vod:DescribeVodDomainCertificateInfo",
    "vod:SetVodDomainSSLCertificate",
    "vod:DescribeVodUserDomains",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Vod;

    fn ram(&self, ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out =
            vec![Statement::any(
            "DeployVod",
            "target kind vod: read the ApsaraVideo VOD domain's certificate and set the new one.",
            &pick(RAM, &["vod:DescribeVodDomainCertificateInfo", "vod:SetVodDomainSSLCertificate"]),
        )];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployVodList",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["vod:DescribeVodUserDomains"]),
            ));
        }
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Cdn::with_api(&API, self.0, client.clone()))
    }
}

/// Every VOD domain of the account (all pages), for `domains = "covered"`.
pub fn list_domains<'a>(
    _table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    // DescribeVodUserDomainsRequest PageSize: "Maximum value: 50".
    Box::pin(super::live::user_domains(
        "DescribeVodUserDomains",
        move |page| async move {
            client
                .rpc(Product::Vod, "DescribeVodUserDomains", &page.params())
                .await
        },
    ))
}
