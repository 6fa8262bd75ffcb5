//! DCDN (Dynamic Route for CDN, dcdn 2018-01-15): the HTTPS certificate of an accelerated
//! domain. Read: DescribeDcdnDomainCertificateInfo (SSLPub, SSLProtocol). Write:
//! SetDcdnDomainSSLCertificate, CertType=cas with the hub's CAS copy (upload + PEM otherwise).
//! The calls have CDN's shape, so the implementation is `cdn.rs`'s with these names.
use super::cdn::{Api, Cdn};
use crate::aliyun::{AliyunClient, Product};

pub use super::cdn::Params;

pub const API: Api = Api {
    kind: "dcdn",
    product: Product::Dcdn,
    describe: "DescribeDcdnDomainCertificateInfo",
    set: "SetDcdnDomainSSLCertificate",
    https_status_field: "SSLProtocol",
    certificate_field: "SSLPub",
};

pub fn new(params: Params, client: AliyunClient) -> Cdn {
    Cdn::with_api(&API, params, client)
}
