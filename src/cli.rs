//! The command line of the `alicert` binary: `alicert [--config PATH] [--dry-run] COMMAND ...`.
//! lexopt splits the arguments; the grammar and the help text come from one table, [`SPECS`].
//! (clap with its derive code was about 70 KB of the 2.5 MB deployment zip; issue 17.)
//! Usage errors exit 2, like bad input and config; `--help` and `--version` print and exit 0.
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use lexopt::{Arg, Parser, ValueExt};

pub struct Cli {
    pub config: Option<PathBuf>,
    pub dry_run: bool,
    pub command: Command,
}

pub enum Command {
    Serve {
        insecure_local: bool,
    },
    Invoke {
        event: Option<String>,
        timeout: Option<u64>,
    },
    Status,
    Policy {
        role: Option<String>,
    },
    Doctor {
        json: bool,
    },
    Scan {
        json: bool,
        region: Vec<String>,
        timeout: Option<u64>,
    },
    Init(InitArgs),
    Account {
        op: AccountOp,
    },
    Revoke {
        certificate: String,
        no_replace: bool,
        reason: Option<u8>,
    },
}

pub struct InitArgs {
    pub from_scan: bool,
    pub domain: Vec<String>,
    pub account_key: Option<String>,
    pub ca: Option<String>,
    pub email: Option<String>,
    pub region: Vec<String>,
    pub output: PathBuf,
    pub force: bool,
}

pub enum AccountOp {
    Show,
    Create,
    Update { email: Vec<String> },
    Rollover,
    Deactivate { yes: bool },
}

/// One option of a command: `--long` (a flag), or `--long VALUE` when `value` names it.
struct Opt {
    long: &'static str,
    value: Option<&'static str>,
    /// May be given several times (the values are collected in order).
    repeat: bool,
    required: bool,
    help: &'static str,
}

const fn flag(long: &'static str, help: &'static str) -> Opt {
    Opt {
        long,
        value: None,
        repeat: false,
        required: false,
        help,
    }
}
const fn value(long: &'static str, name: &'static str, help: &'static str) -> Opt {
    Opt {
        long,
        value: Some(name),
        repeat: false,
        required: false,
        help,
    }
}
const fn repeated(long: &'static str, name: &'static str, help: &'static str) -> Opt {
    Opt {
        long,
        value: Some(name),
        repeat: true,
        required: false,
        help,
    }
}

/// A command: its path from the top (`"account update"`), what it does (first line: the
/// summary in lists), its options and its one optional positional argument.
struct Spec {
    path: &'static str,
    about: &'static str,
    opts: &'static [Opt],
    positional: Option<(&'static str, &'static str)>,
}

const GLOBAL: &[Opt] = &[
    value(
        "config",
        "PATH",
        "Config file (default: $ALICERT_CONFIG, else alicert.toml beside the binary).",
    ),
    flag("dry-run", "Read and decide, change nothing."),
];

const SPECS: &[Spec] = &[
    Spec { path: "", about: "ACME certificates for Alibaba Cloud services", opts: &[], positional: None },
    Spec {
        path: "serve",
        about: "Run as a Function Compute custom runtime (HTTP server on $FC_SERVER_PORT, default 9000).\nRequests without FC's headers are refused unless --insecure-local.",
        opts: &[flag("insecure-local", "Off FC, for local testing only: serve requests that carry no FC headers (nobody\nauthenticates them) and listen on 127.0.0.1 only. Never expose this port.")],
        positional: None,
    },
    Spec {
        path: "invoke",
        about: "Run the handler once, in-process. EVENT is JSON text, @file, or - for stdin (default {}).",
        opts: &[value("timeout", "SECS", "Act as if the platform kills the run after SECS seconds (like FC's function\ntimeout): no order starts that could not finish, the rest is reported NotAttempted.")],
        positional: Some(("EVENT", "JSON text, @file, or - for stdin (default {}).")),
    },
    Spec { path: "status", about: "Report what is deployed and what is due, changing nothing.", opts: &[], positional: None },
    Spec {
        path: "policy",
        about: "Print the least-privilege RAM policy this config needs (JSON on stdout; the purpose of\neach statement on stderr). Reads the config only: no network call, no credentials.",
        opts: &[value("role", "ARN", "Print instead the policy of this role (a `role_arn` of a `[[zone]]` or target): what\nthe config reaches through it, to attach to the role in its own account.")],
        positional: None,
    },
    Spec {
        path: "doctor",
        about: "Read-only preflight with the real credentials: credentials, permissions (the policies\nattached to them against `alicert policy`), zones and their delegation, targets, the\naccount key, the lock bucket, secrets, the CA and CAA. Exit 0 only when all are ok.",
        opts: &[flag("json", "The report as JSON (the run result's `doctor` object) instead of a table.")],
        positional: None,
    },
    Spec {
        path: "scan",
        about: "Read-only inventory of the account's certificate-bearing endpoints: what each serves,\nuntil when, where it came from, and whether this config manages it (soonest to expire\nfirst). Exit 0 only when every kind could be listed and every endpoint read.",
        opts: &[
            flag("json", "The report as JSON (the run result's `scan` object) instead of a table."),
            repeated("region", "R", "A region to list the regional kinds in (repeat for several; default [aliyun] region)."),
            value("timeout", "SECS", "Stop listing after SECS seconds (what is not listed by then is reported)."),
        ],
        positional: None,
    },
    Spec {
        path: "init",
        about: "Write a commented alicert.toml: one certificate per --domain, and/or the certificates a\nscan proposes (--from-scan). Never overwrites a file unless --force.",
        opts: &[
            flag("from-scan", "Scan the account and propose certificates for the endpoints found."),
            repeated("domain", "D", "A certificate for this name, stored in CAS (repeat for several)."),
            value("account-key", "L", "[acme] account_key (default kms:alicert/account)."),
            value("ca", "C", "[acme] directory: letsencrypt (default), letsencrypt-staging, zerossl, google, a URL."),
            value("email", "EMAIL", "[acme] email."),
            repeated("region", "R", "A region to scan (repeat; default [aliyun] region); the first is [aliyun] region."),
            value("output", "PATH", "Where to write (default alicert.toml)."),
            flag("force", "Overwrite the file if it exists."),
        ],
        positional: None,
    },
    Spec { path: "account", about: "ACME account operations.", opts: &[], positional: None },
    Spec { path: "account show", about: "Print the account URL, status, contacts and key thumbprint (creates nothing).", opts: &[], positional: None },
    Spec { path: "account create", about: "Create the account (and its key) if it does not exist.", opts: &[], positional: None },
    Spec {
        path: "account update",
        about: "Change the account's contact email(s).",
        opts: &[Opt { long: "email", value: Some("EMAIL"), repeat: true, required: true, help: "Repeat for several addresses." }],
        positional: None,
    },
    Spec { path: "account rollover", about: "Replace the account key (RFC 8555 key change).", opts: &[], positional: None },
    Spec { path: "account deactivate", about: "Deactivate the account; irreversible.", opts: &[flag("yes", "Confirm.")], positional: None },
    Spec {
        path: "revoke",
        about: "Revoke the certificate currently deployed for a configured certificate: first order a\nnew one and roll it out to every target, then revoke the old one (nothing is revoked if\nthe rollout fails).",
        opts: &[
            Opt { long: "certificate", value: Some("NAME"), repeat: false, required: true, help: "The configured certificate's name." },
            flag("no-replace", "Revoke only: do not order and deploy a replacement first (the revoked certificate\nstays deployed until the next renewal run replaces it)."),
            value("reason", "CODE", "RFC 5280 reason code: 0 unspecified, 1 keyCompromise, 3 affiliationChanged,\n4 superseded, 5 cessationOfOperation, ... (7 does not exist)."),
        ],
        positional: None,
    },
];

/// What the arguments ask for.
pub enum Parsed {
    Run(Cli),
    /// `--help`, `help`, `--version`: print this on stdout and exit 0.
    Print(String),
}

/// A usage error: the message and the command it concerns (for its usage line).
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
    pub path: String,
}

impl UsageError {
    fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            path: path.to_string(),
        }
    }

    /// What the binary prints on stderr before exiting 2.
    pub fn render(&self) -> String {
        let spec = spec(&self.path);
        let help = match self.path.as_str() {
            "" => "alicert --help".to_string(),
            p => format!("alicert {p} --help"),
        };
        format!(
            "error: {}\n\nUsage: {}\n\nFor more information, try '{help}'.\n",
            self.message,
            usage(spec)
        )
    }
}

/// Parse the process's arguments; print help or a usage error and exit when that is the answer.
pub fn parse() -> Cli {
    match parse_from(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(cli)) => cli,
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            std::process::exit(0)
        }
        Err(e) => {
            eprint!("{}", e.render());
            std::process::exit(2)
        }
    }
}

/// The options and positional argument found for one command.
#[derive(Default)]
struct Found {
    flags: Vec<&'static str>,
    values: BTreeMap<&'static str, Vec<String>>,
    positional: Option<String>,
}

/// Parse `args` (without the program name).
pub fn parse_from<I>(args: I) -> Result<Parsed, UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut parser = Parser::from_args(args);
    let mut path = String::new();
    let (mut config, mut dry_run) = (None, false);
    let mut found = Found::default();
    let fail = UsageError::new;
    while let Some(arg) = parser.next().map_err(|e| fail(&path, e.to_string()))? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Print(help(spec(&path)))),
            Arg::Long("version") | Arg::Short('V') if path.is_empty() => {
                return Ok(Parsed::Print(format!(
                    "alicert {}\n",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            Arg::Long("config") => config = Some(PathBuf::from(take_value(&mut parser, &path)?)),
            Arg::Long("dry-run") => dry_run = true,
            Arg::Long(long) => {
                let opt = spec(&path).opts.iter().find(|o| o.long == long);
                let opt = opt
                    .ok_or_else(|| fail(&path, format!("unexpected argument '--{long}' found")))?;
                take_opt(opt, &mut parser, &path, &mut found)?;
            }
            Arg::Short(c) => return Err(fail(&path, format!("unexpected argument '-{c}' found"))),
            Arg::Value(v) => {
                let v = v.string().map_err(|e| fail(&path, e.to_string()))?;
                if has_subcommands(&path) {
                    if v == "help" {
                        return Ok(Parsed::Print(help_for_rest(&path, &mut parser)));
                    }
                    path = subcommand(&path, &v)
                        .ok_or_else(|| fail(&path, format!("unrecognized subcommand '{v}'")))?;
                } else if spec(&path).positional.is_some() && found.positional.is_none() {
                    found.positional = Some(v);
                } else {
                    return Err(fail(&path, format!("unexpected argument '{v}' found")));
                }
            }
        }
    }
    let command = build(&path, found).map_err(|m| fail(&path, m))?;
    Ok(Parsed::Run(Cli {
        config,
        dry_run,
        command,
    }))
}

fn take_value(parser: &mut Parser, path: &str) -> Result<String, UsageError> {
    let fail = |e: lexopt::Error| UsageError::new(path, e.to_string());
    parser.value().map_err(fail)?.string().map_err(fail)
}

fn take_opt(
    opt: &'static Opt,
    parser: &mut Parser,
    path: &str,
    found: &mut Found,
) -> Result<(), UsageError> {
    let seen = found.flags.contains(&opt.long) || found.values.contains_key(opt.long);
    if seen && !opt.repeat {
        let message = format!(
            "the argument '{}' cannot be used multiple times",
            shown(opt)
        );
        return Err(UsageError::new(path, message));
    }
    match opt.value {
        None => found.flags.push(opt.long),
        Some(_) => {
            let v = take_value(parser, path)?;
            found.values.entry(opt.long).or_default().push(v);
        }
    }
    Ok(())
}

/// `alicert help [COMMAND...]`: the help of the command the remaining words name.
fn help_for_rest(path: &str, parser: &mut Parser) -> String {
    let mut path = path.to_string();
    while let Ok(Some(Arg::Value(v))) = parser.next() {
        match v.to_str().and_then(|v| subcommand(&path, v)) {
            Some(p) => path = p,
            None => break,
        }
    }
    help(spec(&path))
}

fn spec(path: &str) -> &'static Spec {
    SPECS.iter().find(|s| s.path == path).unwrap_or(&SPECS[0])
}

fn children(path: &str) -> impl Iterator<Item = &'static Spec> + '_ {
    SPECS.iter().filter(move |s| match s.path.rsplit_once(' ') {
        Some((parent, _)) => parent == path,
        None => path.is_empty() && !s.path.is_empty(),
    })
}

fn has_subcommands(path: &str) -> bool {
    children(path).next().is_some()
}

fn subcommand(path: &str, word: &str) -> Option<String> {
    children(path)
        .find(|s| s.path.rsplit(' ').next() == Some(word))
        .map(|s| s.path.to_string())
}

/// The first sentence of `about` (up to the first `.` before a space, a line break or the
/// end), on one line: what a command list shows.
fn summary(about: &str) -> String {
    let ends_sentence = |(i, c): &(usize, char)| {
        *c == '.'
            && about[i + 1..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
    };
    let end = about
        .char_indices()
        .find(ends_sentence)
        .map_or(about.len(), |(i, _)| i + 1);
    about[..end].replace('\n', " ")
}

fn shown(opt: &Opt) -> String {
    match opt.value {
        Some(name) => format!("--{} <{name}>", opt.long),
        None => format!("--{}", opt.long),
    }
}

fn usage(spec: &Spec) -> String {
    let mut line = match spec.path {
        "" => "alicert".to_string(),
        p => format!("alicert {p}"),
    };
    for opt in spec.opts.iter().filter(|o| o.required) {
        line.push_str(&format!(" {}", shown(opt)));
    }
    line.push_str(" [OPTIONS]");
    if let Some((name, _)) = spec.positional {
        line.push_str(&format!(" [{name}]"));
    }
    if has_subcommands(spec.path) {
        line.push_str(" <COMMAND>");
    }
    line
}

/// The help of one command: what it does, its usage, its subcommands and its options.
fn help(spec: &Spec) -> String {
    let mut out = format!("{}\n\nUsage: {}\n", spec.about, usage(spec));
    let rows = |items: Vec<(String, String)>| {
        let width = items.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut s = String::new();
        for (left, text) in items {
            let indent = format!("\n  {:width$}  ", "");
            s.push_str(&format!(
                "  {left:width$}  {}\n",
                text.replace('\n', &indent)
            ));
        }
        s
    };
    let commands: Vec<_> = children(spec.path)
        .map(|c| {
            (
                c.path.rsplit(' ').next().unwrap_or("").to_string(),
                summary(c.about),
            )
        })
        .collect();
    if !commands.is_empty() {
        out.push_str(&format!("\nCommands:\n{}", rows(commands)));
    }
    if let Some((name, text)) = spec.positional {
        out.push_str(&format!(
            "\nArguments:\n{}",
            rows(vec![(format!("[{name}]"), text.to_string())])
        ));
    }
    let mut opts: Vec<_> = spec
        .opts
        .iter()
        .chain(GLOBAL)
        .map(|o| (format!("    {}", shown(o)), o.help.to_string()))
        .collect();
    opts.push(("-h, --help".into(), "Print help".into()));
    if spec.path.is_empty() {
        opts.push(("-V, --version".into(), "Print version".into()));
    }
    out.push_str(&format!("\nOptions:\n{}", rows(opts)));
    out
}

impl Found {
    fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }
    fn one(&mut self, name: &str) -> Option<String> {
        self.values.remove(name).and_then(|mut v| v.pop())
    }
    fn all(&mut self, name: &str) -> Vec<String> {
        self.values.remove(name).unwrap_or_default()
    }
    fn number<T: std::str::FromStr<Err: std::fmt::Display>>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, String> {
        self.one(name)
            .map(|v| {
                v.parse()
                    .map_err(|e| format!("invalid value '{v}' for '--{name}': {e}"))
            })
            .transpose()
    }
}

/// The command `path` names, from the options found for it.
fn build(path: &str, mut f: Found) -> Result<Command, String> {
    if has_subcommands(path) {
        return Err(format!("'{}' requires a subcommand", usage(spec(path))));
    }
    if let Some(missing) = spec(path)
        .opts
        .iter()
        .find(|o| o.required && !f.values.contains_key(o.long))
    {
        return Err(format!(
            "the following required arguments were not provided: {}",
            shown(missing)
        ));
    }
    let account = |op| Command::Account { op };
    Ok(match path {
        "serve" => Command::Serve {
            insecure_local: f.flag("insecure-local"),
        },
        "invoke" => Command::Invoke {
            timeout: f.number("timeout")?,
            event: f.positional.take(),
        },
        "status" => Command::Status,
        "policy" => Command::Policy {
            role: f.one("role"),
        },
        "doctor" => Command::Doctor {
            json: f.flag("json"),
        },
        "scan" => Command::Scan {
            timeout: f.number("timeout")?,
            region: f.all("region"),
            json: f.flag("json"),
        },
        "init" => Command::Init(InitArgs {
            account_key: f.one("account-key"),
            ca: f.one("ca"),
            email: f.one("email"),
            output: f
                .one("output")
                .map_or_else(|| PathBuf::from("alicert.toml"), PathBuf::from),
            domain: f.all("domain"),
            region: f.all("region"),
            from_scan: f.flag("from-scan"),
            force: f.flag("force"),
        }),
        "account show" => account(AccountOp::Show),
        "account create" => account(AccountOp::Create),
        "account update" => account(AccountOp::Update {
            email: f.all("email"),
        }),
        "account rollover" => account(AccountOp::Rollover),
        "account deactivate" => account(AccountOp::Deactivate { yes: f.flag("yes") }),
        "revoke" => Command::Revoke {
            reason: f.number("reason")?,
            certificate: f.one("certificate").unwrap_or_default(),
            no_replace: f.flag("no-replace"),
        },
        other => return Err(format!("unrecognized subcommand '{other}'")),
    })
}

#[cfg(test)]
mod tests;
