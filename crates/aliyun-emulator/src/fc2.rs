//! FC 2.0 (fc-open 2021-04-06, ROA, V3-signed like FC 3): Get/UpdateCustomDomain under
//! `/2021-04-06/custom-domains/{domain}` (alibabacloud-fc-open20210406 2.0.12 client.py),
//! answered by fc.rs's custom-domain handler on the account's one set of custom domains
//! (FC 2.0 and FC 3 manage the same domains; the emulator models them as one). Also STS
//! GetCallerIdentity (sts 2015-04-01, RPC; alibabacloud-sts20150401 1.2.0
//! GetCallerIdentityResponseBody: AccountId, Arn, IdentityType, PrincipalId, UserId), which
//! alicert calls for the account id in FC 2.0's host. The emulator is reached through an
//! endpoint override, so it does not see that host; it checks the V3 signature and version.
use super::*;

pub(crate) fn handle_fc2(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &super::Addressed,
) -> Response {
    fc::custom_domains(shared, method, path, query, headers, body, at, "2021-04-06")
}

pub(crate) fn sts(action: &str, ctx: &Ctx) -> Result<Value, ApiError> {
    match action {
        // The signing key's account (accounts.rs: a role session is in the role's).
        "GetCallerIdentity" => Ok(json!({
            "AccountId": ctx.account,
            "Arn": format!("acs:ram::{}:user/{}", ctx.account, ctx.ak),
            "IdentityType": "RAMUser",
            "PrincipalId": ctx.ak,
            "UserId": ctx.ak,
        })),
        _ => Err(unknown_action()),
    }
}

/// A request's query as a map (for the call log and the listing).
pub(crate) fn query_params(query: Option<&str>) -> BTreeMap<String, String> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `limit`: FC 2.0's ListCustomDomainsRequest says "Valid values: [0,100]. Default value: 20"
/// (alibabacloud-fc-open20210406 2.0.12 models.py); FC 3's model (alibabacloud-fc20230330 4.8.3
/// models/_list_custom_domains_request.py) states no range, so it is held to the same one.
const MAX_LIMIT: u64 = 100;
const DEFAULT_LIMIT: u64 = 20;

/// ListCustomDomains (`GET /<version>/custom-domains?limit=&nextToken=`, both versions): this
/// region's domains in name order; `nextToken` is the name the next page starts at
/// (ListCustomDomainsOutput / ListCustomDomainsResponseBody: customDomains[], nextToken).
pub(crate) fn list_custom_domains(
    inner: &Inner,
    method: &Method,
    action: &str,
    q: &BTreeMap<String, String>,
    region: &str,
) -> Result<Value, ApiError> {
    if *method != Method::GET || action != "ListCustomDomains" {
        return Err(unknown_action());
    }
    for k in q.keys() {
        if !matches!(k.as_str(), "limit" | "nextToken" | "prefix") {
            return Err(err(
                400,
                "InvalidArgument",
                format!("query parameter {k} is not supported by the emulator"),
            ));
        }
    }
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u64>()
            .ok()
            .filter(|l| *l <= MAX_LIMIT)
            .ok_or_else(|| err(400, "InvalidArgument", "limit must be 0 to 100"))?,
    };
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    let mut names: Vec<&FcDomain> = inner
        .state
        .services
        .fc_domains
        .iter()
        .filter(|d| d.region == region)
        .filter(|d| {
            q.get("prefix")
                .is_none_or(|p| d.domain.starts_with(p.as_str()))
        })
        .collect();
    names.sort_by(|a, b| a.domain.cmp(&b.domain));
    let start = match q.get("nextToken") {
        None => 0,
        Some(t) => names
            .iter()
            .position(|d| d.domain == *t)
            .ok_or_else(|| err(400, "InvalidArgument", "nextToken is not valid"))?,
    };
    let page: Vec<Value> = names
        .iter()
        .skip(start)
        .take(limit as usize)
        .map(|d| json!({"domainName": d.domain, "protocol": d.protocol, "accountId": ACCOUNT_ID}))
        .collect();
    let mut v = json!({"customDomains": page});
    if let Some(next) = names.get(start + limit as usize) {
        v["nextToken"] = json!(next.domain);
    }
    Ok(v)
}
