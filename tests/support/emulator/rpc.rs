//! RPC plumbing shared by every RPC product: parameters, errors, the JSON error body, and
//! the handler that verifies a request (auth.rs) and hands it to its product (the registry in mod.rs).
use super::*;

/// An injected throttling / unavailability answer, shaped like the product's errors.
pub(crate) fn injected_error(rpc: bool, status: u16, code: &str, message: &str) -> Response {
    let request_id = uuid_like();
    if rpc {
        rpc_error_response(&err(status, code, message), &request_id, "aliyuncs.com", "")
    } else {
        oss_error_response(
            &oss_err(status, code, message),
            &request_id,
            "",
            REGION,
            false,
        )
    }
}

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

pub(crate) fn product_of(version: &str) -> Option<(&'static str, &'static str)> {
    Some(match version {
        "2015-01-09" => ("alidns", "alidns.aliyuncs.com"),
        "2020-04-07" => ("cas", "cas.aliyuncs.com"),
        "2018-05-10" => ("cdn", "cdn.aliyuncs.com"),
        "2018-01-15" => ("dcdn", "dcdn.aliyuncs.com"),
        "2016-07-14" => ("apigateway", "apigateway.cn-hangzhou.aliyuncs.com"),
        "2016-01-20" => ("kms", "kms.cn-hangzhou.aliyuncs.com"),
        "2014-05-15" => ("slb", "slb.aliyuncs.com"),
        "2020-06-16" => ("alb", "alb.cn-hangzhou.aliyuncs.com"),
        _ => return None,
    })
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
    let product = product_of(p.get("Version").unwrap_or(""));
    let (product_name, host) = product.unwrap_or(("", "aliyuncs.com"));

    let log = |shared: &Arc<Shared>, status: u16, code: Option<&str>| {
        shared.lock().state.calls.push(Call {
            product: product_name.to_string(),
            action: action.clone(),
            access_key_id: ak.clone(),
            security_token: params.contains_key("SecurityToken"),
            method: method.to_string(),
            http_status: status,
            code: code.map(|c| c.to_string()),
            request_id: request_id.clone(),
            params: redacted(&params),
        });
    };

    let verified = if *method != Method::POST && *method != Method::GET {
        Err(err(
            405,
            "UnsupportedHTTPMethod",
            "RPC requests must use POST or GET.",
        ))
    } else {
        verify_rpc(shared, method.as_str(), &params)
    };
    if let Err(e) = verified {
        log(shared, e.status, Some(&e.code));
        return rpc_error_response(&e, &request_id, host, product_name);
    }
    if product.is_none() {
        let e = err(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
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

    let _dns_guard = if product_name == "alidns" {
        Some(shared.dns_lock.lock().await)
    } else {
        None
    };
    let result = {
        let mut inner = shared.lock();
        let ctx = Ctx {
            ak: &ak,
            region: &at.region,
        };
        match product_name {
            "alidns" => alidns(&mut inner, &action, &p, &ctx),
            "cas" => cas(&mut inner, &action, &p, &ctx).map(|v| (v, vec![])),
            "cdn" => cdn(&mut inner, &action, &p, &ctx, false).map(|v| (v, vec![])),
            "dcdn" => cdn(&mut inner, &action, &p, &ctx, true).map(|v| (v, vec![])),
            "apigateway" => apigateway(&mut inner, &action, &p, &ctx).map(|v| (v, vec![])),
            "kms" => kms(&mut inner, &action, &p, &ctx).map(|v| (v, vec![])),
            "slb" => slb(&mut inner, &action, &p).map(|v| (v, vec![])),
            "alb" => alb(&mut inner, &action, &p, ctx.region).map(|v| (v, vec![])),
            _ => Err(unknown_action()),
        }
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
}
