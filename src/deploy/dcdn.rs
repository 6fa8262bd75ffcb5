//! DCDN (Dynamic Route for CDN, dcdn 2018-01-15): the HTTPS certificate of an accelerated
//! domain. Read: DescribeDcdnDomainCertificateInfo (SSLPub, SSLProtocol). Write:
//! SetDcdnDomainSSLCertificate, CertType=cas with the hub's CAS copy (upload + PEM otherwise).
//! The calls have CDN's shape, so the implementation is `cdn.rs`'s with these names.
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
};

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Dcdn;

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Cdn::with_api(&API, self.0, client.clone()))
    }
}
