//! `alicert init` on a terminal without flags: asks what the flags would say, one question at a
//! time, each answer checked as the flag's value is (a wrong answer is asked again, with the
//! reason), so the config written is the one `--from-scan`/`--domain`/`--ca`/`--account-key`
//! would write. Reads lines from any input, so tests drive it without a terminal.
use std::io::{BufRead, Write};

use crate::error::{Error, Result};
use crate::ident::RegionId;

/// What the questions decided: the flags' values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answers {
    pub from_scan: bool,
    pub domains: Vec<String>,
    pub region: String,
    pub ca: Option<String>,
    pub account_key: Option<String>,
    pub email: Option<String>,
}

/// Wrong answers in a row before giving up on a question (input that never fits, e.g. a pipe).
const TRIES: usize = 5;

/// Asks the questions on `output`, reading answers from `input`; `region` is the default
/// `[aliyun] region`.
pub fn interview(
    input: &mut impl BufRead,
    output: &mut impl Write,
    region: &str,
) -> Result<Answers> {
    let mut q = Questions { input, output };
    q.say("alicert init: a few questions; Enter takes the [default].")?;
    let region = q.ask("[aliyun] region", region, |s| {
        RegionId::parse(s).map(|r| r.as_str().to_string())
    })?;
    let from_scan = q.ask(
        "Scan this account for endpoints serving certificates? [Y/n]",
        "y",
        yes_no,
    )?;
    let names = if from_scan {
        "Other names, each its own certificate kept in CAS (comma-separated; Enter for none)"
    } else {
        "Names, each its own certificate kept in CAS (comma-separated, e.g. example.com, *.example.com)"
    };
    let domains = q.ask(names, "", |s| domain_list(s, !from_scan))?;
    let ca = q.ask(
        "CA: letsencrypt, letsencrypt-staging, zerossl, google, or a directory URL",
        "letsencrypt",
        |s| crate::acme::directory_url(s).map(|_| s.to_string()),
    )?;
    let account_key = q.ask(
        "Where the ACME account key is kept (kms:<secret>, oss://<bucket>/<key>)",
        "kms:alicert/account",
        |s| crate::secret_ref::SecretLocation::parse(s).map(|_| s.to_string()),
    )?;
    let email = q.ask(
        "Contact email for the CA (Enter for none)",
        "",
        |s| match s {
            "" => Ok(None),
            s if s.contains('@') && !s.contains(char::is_whitespace) => Ok(Some(s.to_string())),
            s => Err(format!("`{s}` is not an email address")),
        },
    )?;
    Ok(Answers {
        from_scan,
        domains,
        region,
        ca: Some(ca),
        account_key: Some(account_key),
        email,
    })
}

fn yes_no(s: &str) -> std::result::Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        _ => Err("answer y or n".into()),
    }
}

/// Names separated by commas or spaces, lower-cased, each a valid certificate name.
fn domain_list(s: &str, required: bool) -> std::result::Result<Vec<String>, String> {
    let names: Vec<String> = s
        .split([',', ' '])
        .filter(|n| !n.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if names.is_empty() && required {
        return Err("without a scan, give at least one name".into());
    }
    for n in &names {
        crate::domain::validate(n).map_err(|e| format!("`{n}`: {e}"))?;
    }
    Ok(names)
}

struct Questions<'a, I, O> {
    input: &'a mut I,
    output: &'a mut O,
}

impl<I: BufRead, O: Write> Questions<'_, I, O> {
    fn say(&mut self, line: &str) -> Result<()> {
        writeln!(self.output, "{line}")
            .map_err(|e| Error::Input(format!("writing the question: {e}")))
    }

    /// One question until `check` accepts the answer (Enter: `default`).
    fn ask<T>(
        &mut self,
        question: &str,
        default: &str,
        check: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> Result<T> {
        for _ in 0..TRIES {
            let shown = match default {
                "" => String::new(),
                d => format!(" [{d}]"),
            };
            write!(self.output, "{question}{shown}: ")
                .and_then(|()| self.output.flush())
                .map_err(|e| Error::Input(format!("writing the question: {e}")))?;
            let mut line = String::new();
            let read = self
                .input
                .read_line(&mut line)
                .map_err(|e| Error::Input(format!("reading the answer: {e}")))?;
            if read == 0 {
                return Err(Error::Input(format!(
                    "alicert init: the input ended at \"{question}\" (give the flags instead: --from-scan, --domain, --ca, --account-key)"
                )));
            }
            let answer = match line.trim() {
                "" => default,
                a => a,
            };
            match check(answer) {
                Ok(v) => return Ok(v),
                Err(why) => self.say(&format!("  {why}; try again"))?,
            }
        }
        Err(Error::Input(format!(
            "alicert init: no acceptable answer to \"{question}\" after {TRIES} tries"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(answers: &str) -> (Result<Answers>, String) {
        let mut out = Vec::new();
        let got = interview(&mut answers.as_bytes(), &mut out, "cn-hangzhou");
        (got, String::from_utf8(out).unwrap())
    }

    #[test]
    fn enter_takes_every_default() {
        let (got, out) = run("\n\n\n\n\n\n");
        assert_eq!(
            got.unwrap(),
            Answers {
                from_scan: true,
                domains: vec![],
                region: "cn-hangzhou".into(),
                ca: Some("letsencrypt".into()),
                account_key: Some("kms:alicert/account".into()),
                email: None,
            }
        );
        assert!(out.contains("[aliyun] region [cn-hangzhou]: "), "{out}");
    }

    #[test]
    fn wrong_answers_are_asked_again_with_the_reason() {
        let input = "cn_shanghai\ncn-shanghai\nmaybe\nn\n\nexample.com, *.Example.com\nacme\n\
                     https://ca.example/dir\nplain\noss://state/acme/account.pem\nops\nops@example.com\n";
        let (got, out) = run(input);
        let got = got.unwrap();
        assert_eq!(got.region, "cn-shanghai");
        assert!(!got.from_scan);
        assert_eq!(got.domains, ["example.com", "*.example.com"]);
        assert_eq!(got.ca.as_deref(), Some("https://ca.example/dir"));
        assert_eq!(
            got.account_key.as_deref(),
            Some("oss://state/acme/account.pem")
        );
        assert_eq!(got.email.as_deref(), Some("ops@example.com"));
        // Six refusals, each saying why.
        assert_eq!(out.matches("; try again").count(), 6, "{out}");
        assert!(
            out.contains("without a scan, give at least one name"),
            "{out}"
        );
        assert!(out.contains("`acme` is neither an alias"), "{out}");
    }

    #[test]
    fn input_that_ends_or_never_fits_is_an_error_naming_the_flags() {
        let (got, _) = run("\n");
        let e = got.unwrap_err().to_string();
        assert!(
            e.contains("input ended") && e.contains("--from-scan"),
            "{e}"
        );
        let (got, _) = run(&"x\n".repeat(10));
        assert!(got.unwrap_err().to_string().contains("after 5 tries"));
    }
}
