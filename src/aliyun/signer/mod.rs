//! Request signing for Alibaba Cloud OpenAPI: RPC style (rpc.rs: HMAC-SHA1, SignatureVersion
//! 1.0), V3 (v3.rs: ACS3-HMAC-SHA256, what the SDKs use for ROA products such as FC 3) and OSS
//! header signing (oss_v4.rs: OSS4-HMAC-SHA256). Pure functions, re-exported here. The emulator
//! (crates/aliyun-emulator) recomputes all three with its own code, written from the SDKs.
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

mod oss_v4;
mod rpc;
mod v3;

pub use oss_v4::*;
pub use rpc::*;
pub use v3::*;

/// Percent-encoding as Alibaba's RPC signature wants it: RFC 3986 unreserved characters
/// (`A-Za-z0-9-_.~`) stay, every other byte of the UTF-8 form becomes `%XX` (upper case).
/// So a space is `%20` (never `+`), `*` is `%2A` and `~` is kept.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(super) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_follows_alibaba_rules() {
        assert_eq!(percent_encode("a b*c~d"), "a%20b%2Ac~d");
        assert_eq!(percent_encode("A-Z_a.z09"), "A-Z_a.z09");
        assert_eq!(percent_encode("/=&+:"), "%2F%3D%26%2B%3A");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
    }
}
