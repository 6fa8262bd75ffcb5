//! KMS 2016-01-20 (RPC): secrets, regional, with KMS 3.0 instances.
use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct KmsSecret {
    pub name: String,
    /// Where it lives; only that region's KMS endpoint finds it.
    pub region: String,
    /// KMS 3.0: the instance and key it was created with.
    pub dkms_instance_id: Option<String>,
    pub encryption_key_id: Option<String>,
    pub versions: Vec<KmsSecretVersion>,
}

impl KmsSecret {
    pub fn current(&self) -> Option<&KmsSecretVersion> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == "ACSCurrent"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KmsSecretVersion {
    pub version_id: String,
    pub data: String,
    pub data_type: String,
    pub stages: Vec<String>,
    pub created_ms: i64,
}

impl Seed {
    pub fn kms_secret(mut self, name: &str, value: &str) -> Self {
        self.kms_secrets.insert(name.into(), value.into());
        self
    }
    pub fn kms_secret_in(mut self, name: &str, value: &str, region: &str) -> Self {
        self.kms_secrets.insert(name.into(), value.into());
        self.kms_secret_regions.insert(name.into(), region.into());
        self
    }
    pub fn kms_instance(mut self, instance_id: &str, key_ids: &[&str]) -> Self {
        self.kms_instances.insert(
            instance_id.into(),
            key_ids.iter().map(|k| k.to_string()).collect(),
        );
        self
    }
}

impl EmulatorState {
    /// Current (ACSCurrent) value of a KMS secret.
    pub fn secret_value(&self, name: &str) -> Option<&str> {
        self.kms_secrets
            .get(name)
            .and_then(|s| s.current())
            .map(|v| v.data.as_str())
    }
}

pub(crate) fn seed_kms(inner: &mut Inner, seed: &Seed) {
    let now = now_ms();
    for (name, value) in &seed.kms_secrets {
        inner.state.kms_secrets.insert(
            name.clone(),
            KmsSecret {
                name: name.clone(),
                region: seed
                    .kms_secret_regions
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| REGION.to_string()),
                dkms_instance_id: None,
                encryption_key_id: None,
                versions: vec![KmsSecretVersion {
                    version_id: "v1".into(),
                    data: value.clone(),
                    data_type: "text".into(),
                    stages: vec!["ACSCurrent".into()],
                    created_ms: now,
                }],
            },
        );
    }
}

// ---------------------------------------------------------------------------------------------
// KMS 2016-01-20 (secrets)
// ---------------------------------------------------------------------------------------------

/// KMS secrets (kms 2016-01-20). Secrets are regional: the KMS endpoint of another region
/// answers as if they did not exist (KMS "Endpoints": one endpoint per region, no global
/// view). KMS 3.0: on an instance-based account (seeded instances), CreateSecret needs
/// `DKMSInstanceId` and an `EncryptionKeyId` of that instance — alibabacloud-kms20160120 3.3.1
/// models/_create_secret_request.py: "The key and the secret must belong to the same KMS
/// instance, and the key must be a symmetric key." The error codes are not documented there;
/// the ones below are the strictest plausible (400, parameter named).
pub(crate) fn kms(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    let not_found = || {
        err(
            404,
            "Forbidden.ResourceNotFound",
            "The resource does not exist.",
        )
    };
    let exists = || {
        err(
            400,
            "Rejected.ResourceExist",
            "The resource already exists.",
        )
    };
    let stages_json = |stages: &[String]| json!({ "VersionStage": stages });
    Ok(match action {
        "GetSecretValue" => {
            let name = p.req("SecretName")?;
            let s = inner
                .state
                .kms_secrets
                .get(name)
                .filter(|s| s.region == ctx.region)
                .ok_or_else(not_found)?;
            let v = match (p.get("VersionId"), p.get("VersionStage")) {
                (Some(id), _) => s.versions.iter().find(|v| v.version_id == id),
                (None, Some(stage)) => s
                    .versions
                    .iter()
                    .find(|v| v.stages.iter().any(|x| x == stage)),
                (None, None) => s.current(),
            }
            .ok_or_else(not_found)?;
            json!({
                "SecretName": s.name,
                "SecretData": v.data,
                "SecretDataType": v.data_type,
                "SecretType": "Generic",
                "VersionId": v.version_id,
                "VersionStages": stages_json(&v.stages),
                "CreateTime": rfc3339(v.created_ms),
                "AutomaticRotation": "Disabled",
            })
        }
        "CreateSecret" => {
            let name = p.req("SecretName")?.to_string();
            let version = p.req("VersionId")?.to_string();
            let data = p.req("SecretData")?.to_string();
            if inner
                .state
                .kms_secrets
                .get(&name)
                .is_some_and(|s| s.region == ctx.region)
            {
                return Err(exists());
            }
            let instance = p.get("DKMSInstanceId").map(str::to_string);
            let key = p.get("EncryptionKeyId").map(str::to_string);
            if !inner.kms_instances.is_empty() {
                let Some(instance_id) = &instance else {
                    return Err(err(
                        400,
                        "MissingParameter.DKMSInstanceId",
                        "The KMS instance is required: DKMSInstanceId.",
                    ));
                };
                let keys = inner.kms_instances.get(instance_id).ok_or_else(|| {
                    err(
                        404,
                        "Forbidden.DKMSInstanceNotFound",
                        format!("The KMS instance {instance_id} does not exist."),
                    )
                })?;
                match &key {
                    Some(k) if keys.contains(k) => {}
                    _ => {
                        return Err(err(
                            400,
                            "InvalidParameter.EncryptionKeyId",
                            "The key and the secret must belong to the same KMS instance.",
                        ))
                    }
                }
            }
            let data_type = p.get("SecretDataType").unwrap_or("text").to_string();
            inner.state.kms_secrets.insert(
                name.clone(),
                KmsSecret {
                    name: name.clone(),
                    region: ctx.region.to_string(),
                    dkms_instance_id: instance,
                    encryption_key_id: key,
                    versions: vec![KmsSecretVersion {
                        version_id: version.clone(),
                        data,
                        data_type,
                        stages: vec!["ACSCurrent".into()],
                        created_ms: now_ms(),
                    }],
                },
            );
            json!({
                "Arn": format!("acs:kms:{}:{ACCOUNT_ID}:secret/{name}", ctx.region),
                "SecretName": name,
                "VersionId": version,
                "SecretType": "Generic",
                "AutomaticRotation": "Disabled",
            })
        }
        "PutSecretValue" => {
            let name = p.req("SecretName")?.to_string();
            let version = p.req("VersionId")?.to_string();
            let data = p.req("SecretData")?.to_string();
            let data_type = p.get("SecretDataType").unwrap_or("text").to_string();
            let stages: Vec<String> = match p.get("VersionStages") {
                None => vec!["ACSCurrent".into()],
                Some(s) => serde_json::from_str(s)
                    .map_err(|_| invalid("VersionStages", "must be a JSON array of strings"))?,
            };
            let s = inner
                .state
                .kms_secrets
                .get_mut(&name)
                .filter(|s| s.region == ctx.region)
                .ok_or_else(not_found)?;
            if s.versions.iter().any(|v| v.version_id == version) {
                return Err(exists());
            }
            if stages.iter().any(|x| x == "ACSCurrent") {
                for v in &mut s.versions {
                    v.stages.retain(|x| x != "ACSPrevious");
                }
                for v in &mut s.versions {
                    if let Some(i) = v.stages.iter().position(|x| x == "ACSCurrent") {
                        v.stages[i] = "ACSPrevious".into();
                    }
                }
            }
            for v in &mut s.versions {
                v.stages
                    .retain(|x| !(stages.contains(x) && x != "ACSCurrent"));
            }
            s.versions.push(KmsSecretVersion {
                version_id: version.clone(),
                data,
                data_type,
                stages: stages.clone(),
                created_ms: now_ms(),
            });
            json!({
                "SecretName": name,
                "VersionId": version,
                "VersionStages": stages_json(&stages),
            })
        }
        _ => return Err(unknown_action()),
    })
}
