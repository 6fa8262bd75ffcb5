//! OSS bucket custom domains: ListBuckets (GetService, `GET /` on the region's endpoint; OSS API
//! reference "ListBuckets (GetService)": `prefix`, `marker`, `max-keys` at most 1000, and
//! `IsTruncated`/`NextMarker` while more remain; oss2 2.19.1 `Service.list_buckets`) lists every
//! bucket of the account whatever its region, so each scanned region keeps the buckets whose
//! `Region` it is, and each bucket's domains come from ListCname (deploy/oss.rs). One target
//! table per bound domain: `{bucket, domain, region}`.
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};

use super::table;
use crate::aliyun::client::OssRequest;
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::ident::BucketName;

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["oss:ListBuckets"];

/// The largest page ListBuckets gives.
const MAX_KEYS: &str = "1000";
/// ListCname calls in flight while listing the buckets' domains.
const CNAME_READS_AT_ONCE: usize = 4;
/// A guard against a listing that never ends (a million buckets; an account holds far fewer).
const MAX_PAGES: usize = 1000;

pub fn list<'a>(
    t: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<toml::Table>>> {
    Box::pin(async move {
        let client = super::regional_client(t, client)?;
        let region = client.region().to_string();
        let mut names = Vec::new();
        for bucket in buckets(&client).await? {
            if bucket.region == region {
                names.push(BucketName::parse(&bucket.name).map_err(|e| {
                    Error::Deploy(format!(
                        "oss: ListBuckets named bucket `{}`: {e}",
                        bucket.name
                    ))
                })?);
            }
        }
        // A few buckets' ListCname at once (an account may hold hundreds of buckets).
        let client = &client;
        let domains: Vec<Result<(BucketName, Vec<String>)>> = stream::iter(names)
            .map(|name| async move {
                let domains = crate::deploy::oss::bucket_domains(client, &name).await?;
                Ok((name, domains))
            })
            .buffer_unordered(CNAME_READS_AT_ONCE)
            .collect()
            .await;
        let mut out = Vec::new();
        for listed in domains {
            let (name, domains) = listed?;
            for domain in domains {
                out.push(table(&[
                    ("bucket", name.as_str()),
                    ("domain", &domain),
                    ("region", &region),
                ]));
            }
        }
        Ok(out)
    })
}

/// One `<Bucket>` of a ListBuckets answer.
#[derive(Debug, Default, PartialEq)]
struct Bucket {
    name: String,
    region: String,
}

/// A ListBuckets page: its buckets and the marker of the next page, if any.
#[derive(Debug, Default, PartialEq)]
struct Page {
    buckets: Vec<Bucket>,
    next_marker: Option<String>,
}

/// Every bucket of the account (all pages).
async fn buckets(client: &AliyunClient) -> Result<Vec<Bucket>> {
    let mut out = Vec::new();
    let mut marker = String::new();
    for _ in 0..MAX_PAGES {
        let query = [("marker", marker.as_str()), ("max-keys", MAX_KEYS)];
        let body = client
            .oss_request(&OssRequest {
                sub_resources: &query,
                ..OssRequest::service("ListBuckets", "GET")
            })
            .await?;
        let page = parse(&String::from_utf8_lossy(&body)).ok_or_else(|| {
            Error::Deploy("oss: ListBuckets answered XML alicert cannot read".into())
        })?;
        out.extend(page.buckets);
        match page.next_marker {
            Some(next) if !next.is_empty() && next != marker => marker = next,
            _ => return Ok(out),
        }
    }
    Err(Error::Deploy(format!(
        "oss: ListBuckets gave more than {MAX_PAGES} pages"
    )))
}

/// A ListBuckets answer, parsed with quick-xml; `None` if it is not well formed. A bucket
/// without `Region` (older answers) takes it from `Location` (`oss-<region>`).
fn parse(xml: &str) -> Option<Page> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut page = Page::default();
    let mut truncated = false;
    let mut location = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if path.len() == 2 && name == "Bucket" {
                    page.buckets.push(Bucket::default());
                    location.clear();
                }
                path.push(name);
            }
            Event::Text(t) => {
                let text = t.unescape().ok()?;
                let text = text.trim();
                let at: Vec<&str> = path.iter().map(String::as_str).collect();
                match (at.as_slice(), page.buckets.last_mut()) {
                    ([_, "IsTruncated"], _) => truncated = text == "true",
                    ([_, "NextMarker"], _) => page.next_marker = Some(text.to_string()),
                    ([_, "Buckets", "Bucket", "Name"], Some(b)) => b.name.push_str(text),
                    ([_, "Buckets", "Bucket", "Region"], Some(b)) => b.region.push_str(text),
                    ([_, "Buckets", "Bucket", "Location"], Some(_)) => location.push_str(text),
                    _ => {}
                }
            }
            Event::End(e) => {
                if path.len() == 3 && e.name().as_ref() == b"Bucket" {
                    if let Some(b) = page.buckets.last_mut().filter(|b| b.region.is_empty()) {
                        b.region = location.strip_prefix("oss-").unwrap_or(&location).into();
                    }
                }
                path.pop()?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !truncated {
        page.next_marker = None;
    }
    Some(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_list_buckets_page() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult>\
                   <Prefix></Prefix><Marker></Marker><MaxKeys>2</MaxKeys>\
                   <IsTruncated>true</IsTruncated><NextMarker>b-2</NextMarker>\
                   <Owner><ID>1</ID></Owner><Buckets>\
                   <Bucket><Location>oss-cn-hangzhou</Location><Name>b-1</Name>\
                   <Region>cn-hangzhou</Region></Bucket>\
                   <Bucket><Location>oss-cn-shanghai</Location><Name>b-2</Name></Bucket>\
                   </Buckets></ListAllMyBucketsResult>";
        let page = parse(xml).unwrap();
        assert_eq!(page.next_marker.as_deref(), Some("b-2"));
        let got: Vec<(&str, &str)> = page
            .buckets
            .iter()
            .map(|b| (b.name.as_str(), b.region.as_str()))
            .collect();
        assert_eq!(got, [("b-1", "cn-hangzhou"), ("b-2", "cn-shanghai")]);
        // The last page carries no IsTruncated (or false): no next marker.
        let last = "<ListAllMyBucketsResult><Buckets><Bucket><Name>c</Name>\
                    <Region>cn-beijing</Region></Bucket></Buckets></ListAllMyBucketsResult>";
        assert_eq!(parse(last).unwrap().next_marker, None);
        assert!(parse("<a><b></a>").is_none());
    }
}
