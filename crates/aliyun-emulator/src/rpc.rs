//! RPC plumbing shared by every RPC product: parameters, errors, the JSON error body, and
//! the handler that verifies a request (auth.rs) and hands it to its product (the registry in mod.rs).
use super::*;

#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

pub(crate) fn err(status: u16, code: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code: code.into(),
        message: message.into(),
    }
}

pub(crate) fn missing(name: &str) -> ApiError {
    err(
        400,
        format!("MissingParameter.{name}"),
        format!("The input parameter {name} that is mandatory for processing this request is not supplied."),
    )
}

pub(crate) fn invalid(name: &str, why: &str) -> ApiError {
    err(
        400,
        format!("InvalidParameter.{name}"),
        format!("The specified parameter {name} is not valid: {why}"),
    )
}

pub(crate) struct Params<'a>(pub(crate) &'a BTreeMap<String, String>);

impl<'a> Params<'a> {
    pub(crate) fn get(&self, k: &str) -> Option<&'a str> {
        self.0.get(k).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }
    pub(crate) fn req(&self, k: &str) -> Result<&'a str, ApiError> {
        self.get(k).ok_or_else(|| missing(k))
    }
    pub(crate) fn u64_or(&self, k: &str, default: u64) -> Result<u64, ApiError> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid(k, "not a non-negative integer")),
        }
    }
    pub(crate) fn req_u64(&self, k: &str) -> Result<u64, ApiError> {
        self.req(k)?
            .trim()
            .parse()
            .map_err(|_| invalid(k, "not a non-negative integer"))
    }
}

/// What an RPC product handler returns: the answer (RequestId is added by the plumbing) and the
/// TXT changes to push to challtestsrv (only Alidns has any).
pub(crate) type RpcResult = Result<(Value, Vec<TxtSync>), ApiError>;

/// One emulated RPC product: requests carrying `version` go to `handler`.
pub(crate) struct RpcProduct {
    /// The API version (`Version` parameter) that selects the product.
    pub version: &'static str,
    /// The product code in [`Call::product`] and in error `Recommend` links.
    pub name: &'static str,
    /// `HostId` in its error bodies.
    pub host: &'static str,
    /// Its mutations change DNS and are pushed to challtestsrv, so they run under `dns_lock`.
    pub serialise_dns: bool,
    pub handler: fn(&mut Inner, &str, &Params, &Ctx) -> RpcResult,
}

/// The registry of RPC products: the only place a `Version` is matched to a product.
pub(crate) const RPC_PRODUCTS: &[RpcProduct] = &[
    RpcProduct {
        version: "2015-01-09",
        name: "alidns",
        host: "alidns.aliyuncs.com",
        serialise_dns: true,
        handler: alidns,
    },
    RpcProduct {
        version: "2020-04-07",
        name: "cas",
        host: "cas.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(cas(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2018-05-10",
        name: "cdn",
        host: "cdn.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(cdn(inner, action, p, ctx, false)),
    },
    RpcProduct {
        version: "2018-01-15",
        name: "dcdn",
        host: "dcdn.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(cdn(inner, action, p, ctx, true)),
    },
    RpcProduct {
        version: "2016-07-14",
        name: "apigateway",
        host: "apigateway.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(apigateway(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2015-04-01",
        name: "sts",
        host: "sts.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(sts::sts(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2016-01-20",
        name: "kms",
        host: "kms.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(kms(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2014-05-15",
        name: "slb",
        host: "slb.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, _| no_txt(slb(inner, action, p)),
    },
    RpcProduct {
        version: "2020-06-16",
        name: "alb",
        host: "alb.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(alb(inner, action, p, ctx.region)),
    },
    RpcProduct {
        version: "2024-09-10",
        name: "esa",
        host: "esa.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(esa(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2021-10-01",
        name: "waf-openapi",
        host: "wafopenapi.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(waf::waf(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2016-11-01",
        name: "live",
        host: "live.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(video::live(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2017-03-21",
        name: "vod",
        host: "vod.cn-shanghai.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(video::vod(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2020-01-01",
        name: "ddoscoo",
        host: "ddoscoo.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(ddos::ddos(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2022-04-30",
        name: "nlb",
        host: "nlb.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(nlb(inner, action, p, ctx.region)),
    },
    RpcProduct {
        version: "2019-11-20",
        name: "ga",
        host: "ga.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(ga(inner, action, p, ctx.region)),
    },
    RpcProduct {
        version: "2015-11-23",
        name: "dm",
        host: "dm.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(dm(inner, action, p, ctx.region)),
    },
    RpcProduct {
        version: "2019-01-01",
        name: "cms",
        host: "metrics.cn-hangzhou.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, ctx| no_txt(cms(inner, action, p, ctx)),
    },
    RpcProduct {
        version: "2015-05-01",
        name: "ram",
        host: "ram.aliyuncs.com",
        serialise_dns: false,
        handler: |inner, action, p, _| no_txt(super::ram_api::ram(inner, action, p)),
    },
];

fn no_txt(r: Result<Value, ApiError>) -> RpcResult {
    r.map(|v| (v, vec![]))
}

pub(crate) fn rpc_product(version: &str) -> Option<&'static RpcProduct> {
    RPC_PRODUCTS.iter().find(|p| p.version == version)
}

pub(crate) fn rpc_error_response(
    e: &ApiError,
    request_id: &str,
    host: &str,
    product: &str,
) -> Response {
    let body = json!({
        "RequestId": request_id,
        "Code": e.code,
        "Message": e.message,
        "HostId": host,
        "Recommend": format!(
            "https://api.aliyun.com/troubleshoot?q={}&product={}",
            e.code, product
        ),
    });
    json_response(e.status, request_id, body)
}

pub(crate) fn json_response(status: u16, request_id: &str, body: Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-acs-request-id", v);
    }
    resp
}

pub(crate) fn redacted(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    params
        .iter()
        .map(|(k, v)| {
            if REDACTED_PARAMS.contains(&k.as_str()) {
                (k.clone(), "<redacted>".to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// RPC
// ---------------------------------------------------------------------------------------------

pub(crate) async fn handle_rpc(
    shared: &Arc<Shared>,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &Addressed,
) -> Response {
    let request_id = uuid_like();
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    if let Some(q) = query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    if is_form && !body.is_empty() {
        for (k, v) in form_urlencoded::parse(body) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let p = Params(&params);
    let action = p.get("Action").unwrap_or("").to_string();
    let ak = p.get("AccessKeyId").unwrap_or("").to_string();
    let product = rpc_product(p.get("Version").unwrap_or(""));
    let (product_name, host) = product.map_or(("", "aliyuncs.com"), |p| (p.name, p.host));

    let log = |shared: &Arc<Shared>, status: u16, code: Option<&str>| {
        shared.lock().record_call(Call {
            product: product_name.to_string(),
            action: action.clone(),
            access_key_id: ak.clone(),
            security_token: params.contains_key("SecurityToken"),
            method: method.to_string(),
            http_status: status,
            code: code.map(|c| c.to_string()),
            request_id: request_id.clone(),
            params: redacted(&params),
            started_us: 0,
            ended_us: 0,
        });
    };

    let verified = if *method != Method::POST && *method != Method::GET {
        Err(err(
            405,
            "UnsupportedHTTPMethod",
            "RPC requests must use POST or GET.",
        ))
    } else if sts::is_anonymous(&params) {
        sts::check_anonymous(&params)
    } else {
        verify_rpc(shared, method.as_str(), &params)
    };
    if let Err(e) = verified {
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }
    let Some(product) = product else {
        let e = err(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        );
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    };

    // RAM, after authentication and before the handler (ram.rs).
    let denied = {
        let inner = shared.lock();
        let account = inner.account_of(&ak);
        let resource = inner.rpc_resource(product.name, &action, &p, &at.region, &account);
        // Anonymous calls (AssumeRoleWithOIDC) carry no identity to authorise.
        if sts::is_anonymous(&params) {
            None
        } else {
            inner.ram_check_as(&ak, product.name, &[(action.as_str(), resource)])
        }
    };
    if let Some(d) = denied {
        log(shared, 403, Some("Forbidden.RAM"));
        return ram::rpc_denied(&d, &request_id, host, &ak);
    }
    // Another account's resource does not exist for this caller (accounts.rs).
    let foreign = {
        let inner = shared.lock();
        inner.foreign(product.name, &p, &inner.account_of(&ak))
    };
    if let Some(e) = foreign {
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }
    // The documented rate quotas (quota.rs), per account and region.
    let admitted = {
        let mut inner = shared.lock();
        let account = inner.account_of(&ak);
        inner
            .quota_windows
            .admit(&account, &at.region, product.name, &action)
    };
    if !admitted {
        let e = err(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        );
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }
    let injected = shared.lock().take_failure(&action);
    if let Some((code, status)) = injected {
        let e = err(status, code, "Injected failure (emulator fail_next).");
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }

    let _dns_guard = if product.serialise_dns {
        Some(shared.dns_lock.lock().await)
    } else {
        None
    };
    let result = {
        let mut inner = shared.lock();
        let account = inner.account_of(&ak);
        let ctx = Ctx {
            ak: &ak,
            region: &at.region,
            account: &account,
        };
        (product.handler)(&mut inner, &action, &p, &ctx)
    };
    match result {
        Ok((mut value, syncs)) => {
            push_txt(shared, syncs).await;
            if let Value::Object(m) = &mut value {
                m.insert("RequestId".into(), Value::String(request_id.clone()));
            }
            log(shared, 200, None);
            json_response(200, &request_id, value)
        }
        Err(e) => {
            log(shared, e.status, Some(&e.code));
            rpc_error_response(&e, &request_id, host, product_name)
        }
    }
}

pub(crate) fn unknown_action() -> ApiError {
    err(
        400,
        "InvalidAction.NotFound",
        "Specified api is not found, please check your url and method.",
    )
}

pub(crate) struct Ctx<'a> {
    pub(crate) ak: &'a str,
    /// The region of the endpoint the request was sent to.
    pub(crate) region: &'a str,
    /// The account of the signing key (accounts.rs): listings show only its resources.
    pub(crate) account: &'a str,
}
