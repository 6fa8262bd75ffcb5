//! `alicert policy`: the least-privilege RAM policy for a configuration. Nothing here knows a
//! product: every module that calls Alibaba Cloud states its own statements next to its calls
//! (`RAM` table + a statements function, see [`crate::aliyun::ram`]), targets through the kinds
//! table (deploy/kinds.rs). This module asks each configured part for its statements, merges
//! those of one purpose and renders the document.
use serde_json::{json, Value};

use crate::aliyun::ram::Statement;
use crate::aliyun::RoleArn;
use crate::config::Config;
use crate::error::{Error, Result};

/// The policy of one configuration: statements in a stable order (first appearance).
#[derive(Debug, Clone)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Every statement the configured certificates, targets, account key, lock, report,
    /// notifications, metrics and fan-out need.
    /// Statements for what is reached through a `role_arn` are not among them: they belong to
    /// the role's own policy ([`Policy::for_role`]); the function gets `sts:AssumeRole` on
    /// exactly those roles instead.
    pub fn for_config(config: &Config) -> Result<Policy> {
        Policy::for_scope(config, &config.aliyun.ram_scope())
    }

    /// As [`Policy::for_config`], with ARNs naming `scope`'s account (doctor knows it online).
    pub fn for_scope(config: &Config, scope: &crate::aliyun::ram::Scope) -> Result<Policy> {
        let scope = scope.clone();
        let mut all = Vec::new();
        all.extend(crate::acme::ram_statements(&config.acme, &scope));
        let mut reached = roles::reached(config, &scope)?;
        all.extend(reached.remove(&None).unwrap_or_default());
        let arns: Vec<RoleArn> = reached.into_keys().flatten().collect();
        all.extend(crate::aliyun::role::ram_statement(&arns));
        if let Some(lock) = config.lock.location(&config.acme.account_key) {
            all.extend(crate::lock::ram_statements(&lock, &scope));
            all.extend(crate::backoff::ram_statements(&lock, &scope));
        }
        all.extend(config.report.ram_statements(&scope));
        all.extend(config.notify.ram_statements(&scope));
        if config.metrics.is_some() {
            all.extend(crate::metrics::ram_statements());
        }
        all.extend(config.fanout.ram_statements(&scope));
        all.extend(crate::aliyun::identity::ram_statements(&scope));
        Ok(Policy::merged(all))
    }

    /// The policy of role `role` (in its own account): the statements for the zones and
    /// targets the config reaches through it, with ARNs in the role's account.
    pub fn for_role(config: &Config, role: &str) -> Result<Policy> {
        let arn = RoleArn::parse(role).map_err(|e| Error::Config(format!("--role: {e}")))?;
        let mut reached = roles::reached(config, &config.aliyun.ram_scope())?;
        match reached.remove(&Some(arn)) {
            Some(statements) => Ok(Policy::merged(statements)),
            None => Err(Error::Config(format!(
                "--role {role}: no [[zone]] or target in the config names this role_arn"
            ))),
        }
    }

    /// Statements of one id folded into the first of them.
    pub fn merged(all: Vec<Statement>) -> Policy {
        let mut out: Vec<Statement> = Vec::new();
        for s in all {
            match out.iter_mut().find(|o| o.id == s.id) {
                Some(o) => o.absorb(s),
                None => out.push(s),
            }
        }
        Policy { statements: out }
    }

    /// The RAM policy document (version 1).
    pub fn document(&self) -> Value {
        let st: Vec<Value> = self.statements.iter().map(Statement::to_json).collect();
        json!({"Version": "1", "Statement": st})
    }

    /// The document as `alicert policy` prints it: JSON, two-space indents, the elements in
    /// the grammar's order (Version, Statement; Effect, Action, Resource).
    pub fn to_json_text(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let list = |items: Vec<String>| {
            let inner: Vec<String> = items.iter().map(|i| format!("        {}", q(i))).collect();
            format!("[\n{}\n      ]", inner.join(",\n"))
        };
        let statements: Vec<String> = self
            .statements
            .iter()
            .map(|s| {
                let actions = s.actions.iter().map(|a| a.to_string()).collect();
                format!(
                    "    {{\n      \"Effect\": \"Allow\",\n      \"Action\": {},\n      \"Resource\": {}\n    }}",
                    list(actions),
                    list(s.resources.clone())
                )
            })
            .collect();
        format!(
            "{{\n  \"Version\": \"1\",\n  \"Statement\": [\n{}\n  ]\n}}",
            statements.join(",\n")
        )
    }

    /// One line per statement, `n. Id: purpose` (RAM has no `Sid` element to carry it).
    pub fn purposes(&self) -> String {
        self.statements
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}: {}\n", i + 1, s.id, s.purpose))
            .collect()
    }

    /// The statements as YAML (ROS template.yml: a `PolicyDocument`'s `Statement` list),
    /// each preceded by a comment with its purpose; `indent` spaces before each `- `.
    pub fn to_yaml_statements(&self, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut out = String::new();
        for s in &self.statements {
            out.push_str(&format!("{pad}# {}: {}\n", s.id, s.purpose));
            out.push_str(&format!("{pad}- Effect: Allow\n{pad}  Action:\n"));
            for a in &s.actions {
                out.push_str(&format!("{pad}    - {a}\n"));
            }
            out.push_str(&format!("{pad}  Resource:\n"));
            for r in &s.resources {
                out.push_str(&format!("{pad}    - '{r}'\n"));
            }
        }
        out
    }
}

mod roles;
#[cfg(test)]
mod tests;
