//! ESA SaaS custom hostnames: ListCustomHostnames, GetCustomHostname, UpdateCustomHostname.
use super::*;

fn hostname_json(site: &EsaSite, h: &EsaHostname, detail: bool) -> Value {
    let shown = &h.served;
    let mut v = json!({
        "HostnameId": h.hostname_id,
        "Hostname": h.hostname,
        "RecordId": h.record_id,
        "SiteId": site.site_id,
        "SiteName": site.name,
        "SslFlag": shown.ssl_flag,
        "CertType": shown.cert_type,
        "CertStatus": shown.info.as_ref().map(|_| "OK"),
        "CertNotAfter": shown.info.as_ref().map(|i| rfc3339(i.not_after_ms)),
        "Status": if h.job.is_some() { "configuring" } else { "active" },
    });
    if detail {
        if let Value::Object(m) = &mut v {
            m.insert("CasId".into(), json!(shown.cas_id));
            m.insert("Certificate".into(), json!(shown.cert));
        }
    }
    v
}

/// ListCustomHostnames (PageSize "1 to 500", NameMatchType exact|prefix|suffix|fuzzy, default
/// exact), GetCustomHostname (HostnameId int required), UpdateCustomHostname
/// (models/_update_custom_hostname_request.py).
pub(super) fn hostnames(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    let now = now_ms();
    let job_ms = inner.state.services.esa_hostname_ms as i64;
    if action == "ListCustomHostnames" {
        return list(inner, p, ctx, now);
    }
    let id = p.req_u64("HostnameId")?;
    let (si, hi) = inner
        .state
        .services
        .esa_sites
        .iter()
        .enumerate()
        .filter(|(_, s)| s.region == ctx.region)
        .find_map(|(si, s)| {
            s.hostnames
                .iter()
                .position(|h| h.hostname_id == id)
                .map(|hi| (si, hi))
        })
        .ok_or_else(|| not_found("Hostname"))?;
    inner.state.services.esa_sites[si].hostnames[hi].settle(now);
    if action == "GetCustomHostname" {
        let site = &inner.state.services.esa_sites[si];
        return Ok(json!({"CustomHostnameModel": hostname_json(site, &site.hostnames[hi], true)}));
    }
    if action != "UpdateCustomHostname" {
        return Err(unknown_action());
    }
    update(inner, (si, hi), p, now + job_ms)
}

/// UpdateCustomHostname on hostname `hi` of site `si`; the change applies at `due` ms.
fn update(
    inner: &mut Inner,
    (si, hi): (usize, usize),
    p: &Params,
    due: i64,
) -> Result<Value, ApiError> {
    let now = now_ms();
    let ssl_flag = match p.get("SslFlag") {
        None => inner.state.services.esa_sites[si].hostnames[hi]
            .served
            .ssl_flag
            .clone(),
        Some(f @ ("on" | "off")) => f.to_string(),
        Some(_) => return Err(invalid("SslFlag", "must be on or off")),
    };
    let new = if ssl_flag == "off" {
        EsaHostCert {
            ssl_flag,
            cert_type: None,
            cas_id: None,
            cas_region: None,
            cert: None,
            info: None,
        }
    } else {
        // "CertType ... required when SslFlag is set to on. Valid values: free, upload, cas".
        match p.req("CertType")? {
            "cas" => {
                let cas_id = p.req_u64("CasId")?;
                let region = p.req("CasRegion")?;
                if !["cn-hangzhou", "ap-southeast-1"].contains(&region) {
                    return Err(invalid(
                        "CasRegion",
                        "must be cn-hangzhou or ap-southeast-1",
                    ));
                }
                let c = find_cas(inner, &cas_id.to_string())?;
                let hostname = &inner.state.services.esa_sites[si].hostnames[hi].hostname;
                require_cover(&c.info, hostname)?;
                EsaHostCert {
                    ssl_flag,
                    cert_type: Some("cas".into()),
                    cas_id: Some(cas_id),
                    cas_region: Some(region.into()),
                    cert: Some(c.cert.clone()),
                    info: Some(c.info.clone()),
                }
            }
            "upload" => {
                let (cert, key) = (p.req("Certificate")?, p.req("PrivateKey")?);
                let info = check_pair(cert, key)?;
                EsaHostCert {
                    ssl_flag,
                    cert_type: Some("upload".into()),
                    cas_id: None,
                    cas_region: None,
                    cert: Some(cert.into()),
                    info: Some(info),
                }
            }
            "free" => return Err(invalid("CertType", "free certificates are not emulated")),
            _ => return Err(invalid("CertType", "must be free, upload or cas")),
        }
    };
    let h = &mut inner.state.services.esa_sites[si].hostnames[hi];
    // RecordId "The ID of the record to bind": the update sets what it is given, so an update
    // without it leaves the hostname unbound (the docs do not say it is kept: strictest reading).
    let record = match p.get("RecordId") {
        Some(_) => Some(p.req_u64("RecordId")?),
        None => None,
    };
    if h.record_id.is_some() && record.is_none() {
        h.record_dropped += 1;
    }
    h.record_id = record;
    h.job = Some((due, new));
    h.settle(now);
    Ok(json!({}))
}

/// ListCustomHostnames: PageSize "1 to 500", NameMatchType exact|prefix|suffix|fuzzy (default exact).
fn list(inner: &mut Inner, p: &Params, ctx: &Ctx, now: i64) -> Result<Value, ApiError> {
    let si = site_index(inner, p, ctx.region)?;
    let (number, size) = page_args(p, 500)?;
    let site = &mut inner.state.services.esa_sites[si];
    site.hostnames.iter_mut().for_each(|h| h.settle(now));
    let mode = p.get("NameMatchType").unwrap_or("exact");
    let matches = |h: &str| -> Result<bool, ApiError> {
        let Some(want) = p.get("Hostname") else {
            return Ok(true);
        };
        Ok(match mode {
            "exact" => h == want,
            "prefix" => h.starts_with(want),
            "suffix" => h.ends_with(want),
            "fuzzy" => h.contains(want),
            _ => {
                return Err(invalid(
                    "NameMatchType",
                    "must be exact, prefix, suffix or fuzzy",
                ))
            }
        })
    };
    let mut all = Vec::new();
    for h in &site.hostnames {
        if matches(&h.hostname)? {
            all.push(hostname_json(site, h, false));
        }
    }
    Ok(json!({
        "Hostnames": page(&all, number, size),
        "TotalCount": all.len(),
        "PageNumber": number,
        "PageSize": size,
    }))
}
