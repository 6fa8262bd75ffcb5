//! OSS ListBuckets (GetService): `GET /` on a region's endpoint, every bucket of the account
//! whatever its region (OSS API reference "ListBuckets (GetService)",
//! https://www.alibabacloud.com/help/en/oss/developer-reference/listbuckets; oss2 2.19.1
//! `Service.list_buckets` and `xml_utils.parse_list_buckets`).
//!
//! Modelled: `prefix`, `marker` (buckets after it in name order), `max-keys` (default 100, "cannot
//! be greater than 1000"; a value outside 1..=1000 or not a number is refused with 400
//! InvalidArgument — the reference names no code, InvalidArgument is OSS's code for a bad
//! parameter); when not every bucket is returned the answer carries Prefix, Marker, MaxKeys,
//! IsTruncated and NextMarker, otherwise none of them (as the reference says). Each bucket:
//! Name, CreationDate, ExtranetEndpoint, IntranetEndpoint, Location (`oss-<region>`), Region,
//! StorageClass. RAM: `oss:ListBuckets` on `acs:oss:*:<account>:*`.
use super::*;

/// The answer to ListBuckets, or its refusal.
pub(crate) fn list_buckets(
    inner: &Inner,
    query: Option<&str>,
    ak: &str,
) -> Result<String, OssError> {
    let resource = format!("acs:oss:*:{ACCOUNT_ID}:*");
    if let Some(d) = inner.ram_check_as(ak, "oss", &[("ListBuckets", resource)]) {
        return Err(super::super::ram::oss_denied(&d));
    }
    let params: BTreeMap<String, String> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let prefix = params.get("prefix").cloned().unwrap_or_default();
    let marker = params.get("marker").cloned().unwrap_or_default();
    let max_keys = match params.get("max-keys").filter(|v| !v.is_empty()) {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(oss_err(
                    400,
                    "InvalidArgument",
                    "max-keys must be an integer between 1 and 1000.",
                ))
            }
        },
    };
    let mut names: Vec<&String> = inner
        .buckets
        .keys()
        .filter(|n| n.starts_with(&prefix) && n.as_str() > marker.as_str())
        .collect();
    names.sort();
    let truncated = names.len() > max_keys;
    names.truncate(max_keys);
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult>");
    if truncated {
        xml.push_str(&format!(
            "<Prefix>{}</Prefix><Marker>{}</Marker><MaxKeys>{max_keys}</MaxKeys>\
             <IsTruncated>true</IsTruncated><NextMarker>{}</NextMarker>",
            xml_escape(&prefix),
            xml_escape(&marker),
            xml_escape(names.last().map(|n| n.as_str()).unwrap_or_default()),
        ));
    }
    xml.push_str(&format!(
        "<Owner><ID>{ACCOUNT_ID}</ID><DisplayName>{ACCOUNT_ID}</DisplayName></Owner><Buckets>"
    ));
    for name in names {
        let region = &inner.buckets[name].region;
        xml.push_str(&format!(
            "<Bucket><CreationDate>2025-01-01T00:00:00.000Z</CreationDate>\
             <ExtranetEndpoint>oss-{region}.aliyuncs.com</ExtranetEndpoint>\
             <IntranetEndpoint>oss-{region}-internal.aliyuncs.com</IntranetEndpoint>\
             <Location>oss-{region}</Location><Name>{}</Name><Region>{region}</Region>\
             <StorageClass>Standard</StorageClass></Bucket>",
            xml_escape(name)
        ));
    }
    xml.push_str("</Buckets></ListAllMyBucketsResult>");
    Ok(xml)
}
