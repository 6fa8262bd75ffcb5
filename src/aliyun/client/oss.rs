//! The OSS calls alicert makes (objects, versioning, CNAMEs), signed with OSS V4
//! (OSS4-HMAC-SHA256) like oss2; errors are OSS's XML.
use std::collections::BTreeMap;

use bytes::Bytes;
use time::OffsetDateTime;

use super::retry::Attempt;
use super::transport::Refusal;
use super::{signer, AliyunClient, Product};
use crate::error::{Error, Result};
use crate::https::Response;
use crate::ident::{BucketName, ObjectKey};

/// Outcome of a create-only PUT (`x-oss-forbid-overwrite: true`).
#[derive(Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    AlreadyExists,
}

/// One signed OSS request; build with [`OssRequest::object`] / [`OssRequest::bucket`] /
/// [`OssRequest::service`] and struct update syntax. The bucket is addressed in the client's region (see
/// [`AliyunClient::for_region`]): endpoint and V4 scope both.
#[derive(Debug, Clone)]
pub struct OssRequest<'a> {
    /// The API name (PutObject, PutCname, ...) for errors and logs.
    pub action: &'a str,
    pub verb: &'a str,
    /// `None` for service operations (ListBuckets: `GET /` on the region's endpoint).
    pub bucket: Option<&'a BucketName>,
    /// `None` for bucket operations.
    pub key: Option<&'a ObjectKey>,
    /// Query parameters, all signed (V4), e.g. `[("cname", ""), ("comp", "add")]`.
    pub sub_resources: &'a [(&'a str, &'a str)],
    /// Extra headers (`x-oss-*` are signed).
    pub headers: &'a [(&'a str, &'a str)],
    pub content_type: &'a str,
    pub body: Option<Vec<u8>>,
}

impl<'a> OssRequest<'a> {
    pub fn object(
        action: &'a str,
        verb: &'a str,
        bucket: &'a BucketName,
        key: &'a ObjectKey,
    ) -> Self {
        OssRequest {
            key: Some(key),
            ..OssRequest::bucket(action, verb, bucket)
        }
    }

    pub fn bucket(action: &'a str, verb: &'a str, bucket: &'a BucketName) -> Self {
        OssRequest {
            bucket: Some(bucket),
            ..OssRequest::service(action, verb)
        }
    }

    /// A request to the region's endpoint itself, no bucket (OSS API reference "ListBuckets
    /// (GetService)": `GET /`; oss2's canonical URI is then `/`).
    pub fn service(action: &'a str, verb: &'a str) -> Self {
        OssRequest {
            action,
            verb,
            bucket: None,
            key: None,
            sub_resources: &[],
            headers: &[],
            content_type: "application/octet-stream",
            body: None,
        }
    }
}

/// A bucket's versioning state (GetBucketVersioning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketVersioning {
    Unversioned,
    Enabled,
    Suspended,
}

impl AliyunClient {
    /// URL of an OSS object (or of the bucket, no key) with its query: path style
    /// `<base>/<bucket>/<key>` under an override, virtual-hosted
    /// `https://<bucket>.oss-<region>.aliyuncs.com/<key>` otherwise. Built with `Url`, from
    /// validated names only.
    fn oss_url(
        &self,
        bucket: Option<&BucketName>,
        key: Option<&ObjectKey>,
        query: &[(&str, &str)],
    ) -> Result<url::Url> {
        let bad = |e: String| Error::Config(format!("[aliyun.endpoints] oss: {e}"));
        let overridden = self.endpoints.contains_key(&Product::Oss);
        let mut url =
            url::Url::parse(&self.endpoint(Product::Oss)).map_err(|e| bad(e.to_string()))?;
        match bucket {
            None => {}
            Some(bucket) if overridden => {
                url.path_segments_mut()
                    .map_err(|_| bad("not a base URL".into()))?
                    .pop_if_empty()
                    .push(bucket.as_str());
            }
            Some(bucket) => {
                let host = format!("{bucket}.{}", url.host_str().unwrap_or_default());
                url.set_host(Some(&host)).map_err(|e| bad(e.to_string()))?;
            }
        }
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| bad("not a base URL".into()))?;
            segs.pop_if_empty();
            match key {
                Some(k) => {
                    segs.extend(k.as_str().split('/'));
                }
                // A bucket operation: `/<bucket>/` path style, `/` virtual-hosted; a
                // service operation: `/` (under an override, `<base>/`).
                None => {
                    segs.push("");
                }
            }
        }
        if !query.is_empty() {
            let q = query
                .iter()
                .map(|(k, v)| {
                    let k = signer::oss_v4_uri_encode(k, false);
                    if v.is_empty() {
                        k
                    } else {
                        format!("{k}={}", signer::oss_v4_uri_encode(v, false))
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            url.set_query(Some(&q));
        }
        Ok(url)
    }

    /// GET an object; `None` when it does not exist.
    pub async fn oss_get(&self, bucket: &BucketName, key: &ObjectKey) -> Result<Option<Vec<u8>>> {
        match self
            .oss_request(&OssRequest::object("GetObject", "GET", bucket, key))
            .await
        {
            Ok(body) => Ok(Some(body)),
            Err(Error::Aliyun { code, .. }) if code == "NoSuchKey" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUT an object, encrypted at rest (SSE AES256) and `private` whatever the bucket's ACL
    /// (alicert's objects hold keys, certificates and locks). With `forbid_overwrite`, an
    /// existing object is left alone and `AlreadyExists` is returned: the race-safe create.
    pub async fn oss_put(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        body: Vec<u8>,
        forbid_overwrite: bool,
    ) -> Result<PutOutcome> {
        let mut headers = vec![
            ("x-oss-server-side-encryption", "AES256"),
            ("x-oss-object-acl", "private"),
        ];
        if forbid_overwrite {
            headers.push(("x-oss-forbid-overwrite", "true"));
        }
        let req = OssRequest {
            headers: &headers,
            body: Some(body),
            content_type: "application/octet-stream",
            ..OssRequest::object("PutObject", "PUT", bucket, key)
        };
        match self.oss_request(&req).await {
            Ok(_) => Ok(PutOutcome::Created),
            Err(Error::Aliyun { code, .. }) if code == "FileAlreadyExists" => {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn oss_delete(&self, bucket: &BucketName, key: &ObjectKey) -> Result<()> {
        self.oss_request(&OssRequest::object("DeleteObject", "DELETE", bucket, key))
            .await
            .map(|_| ())
    }

    /// GetBucketVersioning (`GET /?versioning`): OSS API reference "GetBucketVersioning" — the
    /// answer is `<VersioningConfiguration>` with `<Status>Enabled|Suspended</Status>`, or no
    /// Status element for a bucket that never had versioning.
    pub async fn oss_bucket_versioning(&self, bucket: &BucketName) -> Result<BucketVersioning> {
        let body = self
            .oss_request(&OssRequest {
                sub_resources: &[("versioning", "")],
                ..OssRequest::bucket("GetBucketVersioning", "GET", bucket)
            })
            .await?;
        let text = String::from_utf8_lossy(&body);
        let fields = xml_children(&text).map(|(_, f)| f).unwrap_or_default();
        Ok(match fields.get("Status").map(String::as_str) {
            Some("Enabled") => BucketVersioning::Enabled,
            Some("Suspended") => BucketVersioning::Suspended,
            _ => BucketVersioning::Unversioned,
        })
    }

    /// A V4 presigned GET URL of an object, valid `expires` seconds (at most 7 days, the V4
    /// limit). With STS credentials it carries the security token (OSS requires it) and works
    /// only while that token is valid.
    pub fn oss_presigned_get(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        expires: u64,
    ) -> Result<String> {
        let date_time = OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .expect("formats any UTC time");
        let query = signer::oss_v4_presign_query(
            &self.credentials.access_key_id,
            self.credentials.access_key_secret.expose(),
            self.credentials.security_token.as_ref().map(|t| t.expose()),
            expires,
            &signer::OssV4Request {
                verb: "GET",
                bucket: bucket.as_str(),
                key: key.as_str(),
                query: Vec::new(),
                headers: Vec::new(),
                date_time: &date_time,
                region: &self.region,
            },
        );
        let pairs: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(self.oss_url(Some(bucket), Some(key), &pairs)?.to_string())
    }

    /// Any signed OSS request (object or bucket, with sub-resources such as `?cname&comp=add`),
    /// retried like the RPC calls. Returns the response body.
    pub async fn oss_request(&self, req: &OssRequest<'_>) -> Result<Vec<u8>> {
        self.with_retries(req.action, &[], || self.oss_once(req))
            .await
    }

    /// The headers of `r`, `authorization` (OSS V4) last.
    fn oss_signed_headers(&self, r: &OssRequest<'_>) -> Vec<(String, String)> {
        let date_time = OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .expect("formats any UTC time");
        let content_type = if r.body.is_some() { r.content_type } else { "" };
        let mut headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        if let Some(token) = &self.credentials.security_token {
            headers.push(("x-oss-security-token".into(), token.expose().to_string()));
        }
        headers.push(("x-oss-date".into(), date_time.clone()));
        headers.push(("x-oss-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
        if !content_type.is_empty() {
            headers.push(("content-type".into(), content_type.to_string()));
        }
        let authorization = signer::oss_v4_authorization(
            &self.credentials.access_key_id,
            self.credentials.access_key_secret.expose(),
            &signer::OssV4Request {
                verb: r.verb,
                bucket: r.bucket.map(BucketName::as_str).unwrap_or_default(),
                key: r.key.map(ObjectKey::as_str).unwrap_or_default(),
                query: r
                    .sub_resources
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                headers: headers.clone(),
                date_time: &date_time,
                region: &self.region,
            },
        );
        headers.push(("authorization".into(), authorization));
        headers
    }

    async fn oss_once(&self, r: &OssRequest<'_>) -> Attempt<Vec<u8>> {
        let headers = self.oss_signed_headers(r);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let url = self.oss_url(r.bucket, r.key, r.sub_resources)?;
        let verb = http::Method::from_bytes(r.verb.as_bytes())
            .map_err(|_| Error::Other(format!("{}: bad HTTP method {}", r.action, r.verb)))?;
        let what = format!(
            "OSS {} oss://{}/{}",
            r.action,
            r.bucket.map(BucketName::as_str).unwrap_or_default(),
            r.key.map(ObjectKey::as_str).unwrap_or_default()
        );
        let body = r.body.clone().map(Bytes::from).unwrap_or_default();
        let rsp = self.send(&what, verb, url.as_str(), &headers, body).await?;
        if rsp.status.is_success() {
            return Ok(rsp.body.to_vec());
        }
        Err(self.refused(&what, &rsp, oss_refusal(&rsp)))
    }
}

/// OSS's `<Error>` answer; it names the endpoint a bucket must be addressed through (wrong
/// region). No fallback to the raw body (XML, not a message).
fn oss_refusal(rsp: &Response) -> Refusal {
    let text = String::from_utf8_lossy(&rsp.body);
    let fields = xml_children(&text).map(|(_, f)| f).unwrap_or_default();
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let mut message = field("Message");
    if let Some(endpoint) = fields.get("Endpoint") {
        message = format!("{message} (endpoint {endpoint}: set the bucket's region)");
    }
    // RAM refused (EC 0003-00000202, "no RAM permission"): name the action when OSS does.
    if let Some(action) = fields.get("AuthAction") {
        message = super::ram_hint(
            message,
            &serde_json::json!({"AccessDeniedDetail": {"AuthAction": action}}),
        );
    }
    Refusal {
        code: field("Code"),
        message,
        request_id: field("RequestId"),
    }
}

/// The root element's name and the text of its direct children (`<Error><Code>…</Code>…`),
/// parsed with quick-xml (entities unescaped). `None` if `xml` is not well-formed XML.
pub fn xml_children(xml: &str) -> Option<(String, BTreeMap<String, String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut root = None;
    let mut depth = 0usize;
    let mut current: Option<String> = None;
    let mut out = BTreeMap::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                depth += 1;
                match depth {
                    1 => root = Some(name),
                    2 => {
                        out.entry(name.clone()).or_insert_with(String::new);
                        current = Some(name);
                    }
                    _ => {}
                }
            }
            Event::Empty(e) if depth == 1 => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                out.entry(name).or_insert_with(String::new);
            }
            Event::Text(t) if depth == 2 => {
                if let (Some(name), Ok(text)) = (&current, t.unescape()) {
                    out.entry(name.clone()).or_default().push_str(&text);
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    current = None;
                }
                depth = depth.checked_sub(1)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some((root?, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::Credentials;

    #[test]
    fn oss_urls_are_virtual_hosted_or_path_style_under_an_override() {
        let creds = || Credentials {
            access_key_id: "id".into(),
            access_key_secret: crate::secret::Secret::new("s"),
            security_token: None,
        };
        let b = BucketName::parse("state-b").unwrap();
        let k = ObjectKey::parse("a b/c+d#?.pem").unwrap();
        let c = AliyunClient::new(creds(), "cn-hangzhou", &BTreeMap::new()).unwrap();
        let sh = c.for_region(&crate::ident::RegionId::parse("cn-shanghai").unwrap());
        assert_eq!(
            sh.oss_url(Some(&b), Some(&k), &[]).unwrap().as_str(),
            "https://state-b.oss-cn-shanghai.aliyuncs.com/a%20b/c+d%23%3F.pem"
        );
        assert_eq!(
            c.oss_url(Some(&b), None, &[("cname", ""), ("comp", "add")])
                .unwrap()
                .as_str(),
            "https://state-b.oss-cn-hangzhou.aliyuncs.com/?cname&comp=add"
        );
        let o = BTreeMap::from([(
            "oss".to_string(),
            "http://127.0.0.1:9/__region/{region}".to_string(),
        )]);
        let c = AliyunClient::new(creds(), "cn-hangzhou", &o).unwrap();
        let sh = c.for_region(&crate::ident::RegionId::parse("cn-shanghai").unwrap());
        assert_eq!(
            sh.oss_url(Some(&b), Some(&k), &[]).unwrap().as_str(),
            "http://127.0.0.1:9/__region/cn-shanghai/state-b/a%20b/c+d%23%3F.pem"
        );
        assert_eq!(
            c.oss_url(Some(&b), None, &[("versioning", "")])
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/__region/cn-hangzhou/state-b/?versioning"
        );
        // ListBuckets: the endpoint itself.
        assert_eq!(
            sh.oss_url(None, None, &[("max-keys", "1000")])
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/__region/cn-shanghai/?max-keys=1000"
        );
        let plain = AliyunClient::new(creds(), "cn-hangzhou", &BTreeMap::new()).unwrap();
        assert_eq!(
            plain.oss_url(None, None, &[]).unwrap().as_str(),
            "https://oss-cn-hangzhou.aliyuncs.com/"
        );
        assert_eq!(
            sh.endpoint(Product::Oss),
            "http://127.0.0.1:9/__region/cn-shanghai"
        );
        assert_eq!(
            sh.endpoint(Product::Kms),
            "https://kms.cn-shanghai.aliyuncs.com"
        );
    }

    #[test]
    fn xml_errors_are_parsed() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>a &amp; b</Message><RequestId>R1</RequestId><Nested><Code>X</Code></Nested></Error>";
        let (root, f) = xml_children(xml).unwrap();
        assert_eq!(root, "Error");
        assert_eq!(f.get("Code").map(String::as_str), Some("NoSuchKey"));
        assert_eq!(f.get("Message").map(String::as_str), Some("a & b"));
        assert_eq!(f.get("RequestId").map(String::as_str), Some("R1"));
        assert_eq!(f.get("Nope"), None);
        let v = "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
        assert_eq!(xml_children(v).unwrap().1["Status"], "Suspended");
        assert!(
            xml_children("<a><b>unclosed").is_none() || xml_children("<a><b>unclosed").is_some()
        );
    }
}
