//! STS 2015-04-01: AssumeRole (signed) and AssumeRoleWithOIDC (anonymous), from PyPI
//! `alibabacloud-sts20150401` 1.2.0 (client.py: `auth_type = 'AK'` / `'Anonymous'`;
//! models/_assume_role_request.py, _assume_role_with_oidcrequest.py and the response bodies:
//! `Credentials{AccessKeyId, AccessKeySecret, Expiration, SecurityToken}`,
//! `AssumedRoleUser{Arn, AssumedRoleId}`). The keys it hands out are STS keys of this emulator:
//! they sign later calls until their `Expiration`, after which every product refuses them.
use super::*;

/// Roles that exist and OIDC identity providers with the tokens they accept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StsSeed {
    /// Role ARNs (`acs:ram::<account>:role/<name>`) that AssumeRole / AssumeRoleWithOIDC accept.
    pub roles: Vec<String>,
    pub oidc_providers: Vec<OidcProvider>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcProvider {
    /// `acs:ram::<account>:oidc-provider/<name>`.
    pub arn: String,
    /// The exact OIDC tokens it accepts (the emulator does not parse JWTs: a token is valid or not).
    pub tokens: Vec<String>,
}

/// What STS was seeded with and every session it issued.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StsState {
    pub roles: Vec<String>,
    pub oidc_providers: Vec<OidcProvider>,
    pub sessions: Vec<StsSession>,
}

/// One set of temporary credentials issued (by STS or the metadata service).
#[derive(Debug, Clone, Serialize)]
pub struct StsSession {
    /// `AssumeRole`, `AssumeRoleWithOIDC`, `EcsMetadata` or `CredentialsUri`.
    pub via: String,
    pub role: String,
    pub session_name: String,
    pub access_key_id: String,
    /// The key that signed the AssumeRole call (empty for anonymous and metadata sources).
    pub caller: String,
    pub duration_seconds: i64,
    /// Unix seconds.
    pub expires: i64,
}

impl Seed {
    pub fn role(mut self, arn: &str) -> Self {
        self.sts.roles.push(arn.into());
        self
    }
    pub fn oidc_provider(mut self, arn: &str, token: &str) -> Self {
        self.sts.oidc_providers.push(OidcProvider {
            arn: arn.into(),
            tokens: vec![token.into()],
        });
        self
    }
}

pub(crate) fn seed_sts(inner: &mut Inner, seed: &Seed) {
    inner.state.sts.roles = seed.sts.roles.clone();
    inner.state.sts.oidc_providers = seed.sts.oidc_providers.clone();
}

const STS_VERSION: &str = "2015-04-01";

/// AssumeRoleWithOIDC is the one anonymous STS action (client.py `auth_type = 'Anonymous'`):
/// no AccessKeyId, no signature.
pub(crate) fn is_anonymous(p: &BTreeMap<String, String>) -> bool {
    p.get("Version").map(String::as_str) == Some(STS_VERSION)
        && p.get("Action").map(String::as_str) == Some("AssumeRoleWithOIDC")
}

/// An anonymous request still carries Format=JSON and a fresh Timestamp (the credentials
/// SDK's oidc.py sends both); a signature or key in it would be a client bug, refused.
pub(crate) fn check_anonymous(p: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let p = Params(p);
    if p.get("AccessKeyId").is_some() || p.get("Signature").is_some() {
        return Err(invalid(
            "AccessKeyId",
            "AssumeRoleWithOIDC is an anonymous call",
        ));
    }
    if !p.req("Format")?.eq_ignore_ascii_case("JSON") {
        return Err(invalid("Format", "only JSON"));
    }
    let ts = auth::acs_timestamp(p.req("Timestamp")?).ok_or_else(|| {
        err(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    if auth::skewed(ts, OffsetDateTime::now_utc().unix_timestamp()) {
        return Err(err(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}

pub(crate) fn sts(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    match action {
        "AssumeRole" => assume_role(inner, p, ctx),
        "AssumeRoleWithOIDC" => assume_role_with_oidc(inner, p),
        _ => fc2::sts(action, ctx),
    }
}

/// `acs:ram::<digits>:role/<name>` (AssumeRoleRequest: "Format: acs:ram::<account_id>:role/<role_name>").
fn check_role_arn(inner: &Inner, arn: &str) -> Result<(), ApiError> {
    let well_formed = arn
        .strip_prefix("acs:ram::")
        .and_then(|r| r.split_once(":role/"))
        .is_some_and(|(acct, name)| {
            !acct.is_empty() && acct.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        });
    if !well_formed {
        return Err(invalid(
            "RoleArn",
            "expected acs:ram::<account_id>:role/<role_name>",
        ));
    }
    // Role names are case-insensitive in RAM; ARNs compared as written is the stricter choice.
    if !inner.state.sts.roles.iter().any(|r| r == arn) {
        return Err(err(
            404,
            "EntityNotExist.Role",
            format!("The role not exists: {arn}."),
        ));
    }
    Ok(())
}

/// RoleSessionName: "2 to 64 characters ... letters, digits, `. @ - _`" (both request models).
fn check_session_name(name: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if !ok {
        return Err(invalid(
            "RoleSessionName",
            "2 to 64 characters of letters, digits, . @ - _",
        ));
    }
    Ok(())
}

/// DurationSeconds: "Minimum value: 900. Maximum value: the value of MaxSessionDuration.
/// Default value: 3600." Every emulated role keeps RAM's default MaxSessionDuration, 3600.
fn duration(p: &Params) -> Result<i64, ApiError> {
    let d = p.u64_or("DurationSeconds", 3600)?;
    if !(900..=3600).contains(&d) {
        return Err(invalid(
            "DurationSeconds",
            "must be between 900 and the role's MaxSessionDuration (3600)",
        ));
    }
    Ok(d as i64)
}

/// ExternalId: "2 to 1,224 characters ... `[\w+=,.@:\/-]*`" (AssumeRoleRequest).
fn check_external_id(p: &Params) -> Result<(), ApiError> {
    if let Some(id) = p.get("ExternalId") {
        let ok = (2..=1224).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b));
        if !ok {
            return Err(invalid(
                "ExternalId",
                "2 to 1224 characters of [\\w+=,.@:/-]",
            ));
        }
    }
    Ok(())
}

fn assume_role(inner: &mut Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let role = p.req("RoleArn")?;
    let name = p.req("RoleSessionName")?;
    check_role_arn(inner, role)?;
    // The role's trust policy must name the caller's account (accounts.rs).
    if !inner.trusts(role, &inner.account_of(ctx.ak)) {
        return Err(accounts::untrusted(role));
    }
    check_session_name(name)?;
    check_external_id(p)?;
    let secs = duration(p)?;
    Ok(issue(inner, "AssumeRole", role, name, ctx.ak, secs))
}

fn assume_role_with_oidc(inner: &mut Inner, p: &Params) -> Result<Value, ApiError> {
    let role = p.req("RoleArn")?;
    let provider = p.req("OIDCProviderArn")?;
    let token = p.req("OIDCToken")?;
    let name = p.req("RoleSessionName")?;
    check_role_arn(inner, role)?;
    check_session_name(name)?;
    let secs = duration(p)?;
    // "The OIDC token must be 4 to 20,000 characters in length."
    if !(4..=20_000).contains(&token.len()) {
        return Err(invalid("OIDCToken", "must be 4 to 20,000 characters"));
    }
    let Some(idp) = inner
        .state
        .sts
        .oidc_providers
        .iter()
        .find(|o| o.arn == provider)
    else {
        return Err(err(
            404,
            "EntityNotExist.OIDCProvider",
            format!("The OIDC provider not exists: {provider}."),
        ));
    };
    // The docs name no code for a bad token; the emulator refuses any token it was not given
    // (the strictest reading: signature, issuer, audience and expiry all checked by STS).
    if !idp.tokens.iter().any(|t| t == token) {
        return Err(err(
            400,
            "AuthenticationFail.OIDCToken.Invalid",
            "The OIDC token is invalid.",
        ));
    }
    Ok(issue(inner, "AssumeRoleWithOIDC", role, name, "", secs))
}

/// Mint an STS key for `role` valid `secs` seconds, register it, and answer the SDK's
/// response shape.
pub(crate) fn issue(
    inner: &mut Inner,
    via: &str,
    role: &str,
    session_name: &str,
    caller: &str,
    secs: i64,
) -> Value {
    let (key, expires) = mint(inner, secs);
    // A role session acts in the role's account (accounts.rs).
    if let Some(k) = inner.keys.get_mut(&key.id) {
        k.account = accounts::role_account(role).map(str::to_string);
        k.role = Some(role.to_string());
    }
    inner.state.sts.sessions.push(StsSession {
        via: via.into(),
        role: role.into(),
        session_name: session_name.into(),
        access_key_id: key.id.clone(),
        caller: caller.into(),
        duration_seconds: secs,
        expires,
    });
    json!({
        "Credentials": credentials_json(&key, expires),
        "AssumedRoleUser": {
            "Arn": format!("{}/{session_name}", role.replacen(":role/", ":assumed-role/", 1)),
            "AssumedRoleId": format!("3{}:{session_name}", util::random_hex(8)),
        },
        "SourceIdentity": "",
    })
}

/// A fresh STS key (id `STS.` + random, like Alibaba's) valid for `secs` seconds.
pub(crate) fn mint(inner: &mut Inner, secs: i64) -> (AccessKey, i64) {
    let expires = OffsetDateTime::now_utc().unix_timestamp() + secs;
    let key = AccessKey {
        id: format!("STS.NT{}", util::random_hex(12)),
        secret: util::random_hex(20),
        security_token: Some(format!("CAIS{}", util::random_hex(40))),
        expires: Some(expires),
        ..AccessKey::default()
    };
    inner.keys.insert(key.id.clone(), key.clone());
    (key, expires)
}

/// `{AccessKeyId, AccessKeySecret, SecurityToken, Expiration}` with `Expiration` as
/// `2006-01-02T15:04:05Z` (the SDKs parse `%Y-%m-%dT%H:%M:%SZ`).
pub(crate) fn credentials_json(key: &AccessKey, expires: i64) -> Value {
    json!({
        "AccessKeyId": key.id,
        "AccessKeySecret": key.secret,
        "SecurityToken": key.security_token,
        "Expiration": expiration_text(expires),
    })
}

pub(crate) fn expiration_text(unix: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&fmt)
        .unwrap_or_default()
}
