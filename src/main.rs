//! The `alicert` command: `serve` (FC custom runtime), `invoke` (the same handler, locally),
//! and maintenance subcommands. Exit codes: 0 ok, 1 some certificate failed, 2 bad input/config.
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

use cli::{AccountOp, Cli, Command, InitArgs};

use alicert::acme::account::OpKind;
use alicert::config::Config;
use alicert::error::Error;
use alicert::event::{Event, RenewOptions};
use alicert::handler::{self, Invocation};

fn main() -> ExitCode {
    let cli = cli::parse();
    alicert::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("alicert: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("alicert: {e}");
            ExitCode::from(if e.is_user_error() { 2 } else { 1 })
        }
    }
}

fn read_event(arg: Option<&str>) -> Result<Vec<u8>, Error> {
    match arg {
        None => Ok(b"{}".to_vec()),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Error::Input(format!("reading the event from stdin: {e}")))?;
            Ok(buf)
        }
        Some(s) if s.starts_with('@') => std::fs::read(&s[1..])
            .map_err(|e| Error::Input(format!("reading the event file {}: {e}", &s[1..]))),
        Some(s) => Ok(s.as_bytes().to_vec()),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let mut invocation = Invocation {
        request_id: format!("local-{}", hex::encode(rand::random::<[u8; 8]>())),
        fc_credentials: None,
        deadline: None,
    };
    match cli.command {
        Command::Serve { insecure_local } => {
            // Loading reads a local file only; no network work before the port is open.
            let config = Config::load(cli.config.as_deref());
            let port = alicert::runtime::port_from_env();
            let options = alicert::runtime::ServeOptions { insecure_local };
            alicert::runtime::serve(config, port, options)
                .await
                .map_err(|e| Error::Other(format!("serve on port {port}: {e}")))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoke { event, timeout } => {
            invocation.deadline = timeout
                .map(|s| alicert::runtime::deadline_after(s, "--timeout"))
                .transpose()?;
            let mut event = Event::parse(&read_event(event.as_deref())?)?;
            if cli.dry_run {
                event.set_dry_run();
            }
            let config = Config::load(cli.config.as_deref())?;
            print_result(handler::handle(&config, event, &invocation).await?)
        }
        Command::Status => {
            let config = Config::load(cli.config.as_deref())?;
            let event = Event::Status(RenewOptions::default());
            print_result(handler::handle(&config, event, &invocation).await?)
        }
        Command::Policy { role } => policy(&Config::load(cli.config.as_deref())?, role),
        Command::Doctor { json } => {
            let config = Config::load(cli.config.as_deref())?;
            doctor(&config, &invocation, json).await
        }
        Command::Scan {
            json,
            region,
            timeout,
        } => {
            invocation.deadline = timeout
                .map(|s| alicert::runtime::deadline_after(s, "--timeout"))
                .transpose()?;
            scan(cli.config.as_deref(), &invocation, &region, json).await
        }
        Command::Init(args) => init_command(cli.config.as_deref(), args, &invocation).await,
        Command::Account { op } => {
            let config = Config::load(cli.config.as_deref())?;
            let event = account_event(op, cli.dry_run);
            print_result(handler::handle(&config, event, &invocation).await?)
        }
        Command::Revoke {
            certificate,
            reason,
            no_replace,
        } => {
            let config = Config::load(cli.config.as_deref())?;
            let reason = reason
                .map(alicert::event::RevokeReason::from_code)
                .transpose()
                .map_err(|m| Error::Input(format!("--reason: {m}")))?;
            let event = Event::Revoke {
                certificate,
                reason,
                dry_run: cli.dry_run,
                replace: !no_replace,
            };
            print_result(handler::handle(&config, event, &invocation).await?)
        }
    }
}

/// `alicert policy [--role ARN]`: the document on stdout, each statement's purpose on stderr.
fn policy(config: &Config, role: Option<String>) -> Result<ExitCode, Error> {
    let policy = match role {
        Some(arn) => alicert::policy::Policy::for_role(config, &arn)?,
        None => alicert::policy::Policy::for_config(config)?,
    };
    eprint!("{}", policy.purposes());
    println!("{}", policy.to_json_text());
    Ok(ExitCode::SUCCESS)
}

fn account_event(op: AccountOp, dry_run: bool) -> Event {
    let (op, email, confirm) = match op {
        AccountOp::Show => (OpKind::Show, None, false),
        AccountOp::Create => (OpKind::Create, None, false),
        AccountOp::Update { email } => (OpKind::Update, Some(email.join(",")), false),
        AccountOp::Rollover => (OpKind::Rollover, None, false),
        AccountOp::Deactivate { yes } => (OpKind::Deactivate, None, yes),
    };
    Event::Account {
        op,
        email,
        confirm,
        dry_run,
    }
}

/// `alicert doctor`: the table on stdout (JSON with `--json`); exit 1 unless all is ok.
async fn doctor(config: &Config, invocation: &Invocation, json: bool) -> Result<ExitCode, Error> {
    let result = handler::handle(config, Event::Doctor, invocation).await?;
    if json {
        return print_result(result);
    }
    if let Some(report) = &result.doctor {
        print!("{}", alicert::doctor::human_table(report));
    }
    Ok(if result.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn regions(given: &[String]) -> Result<Vec<alicert::ident::RegionId>, Error> {
    given
        .iter()
        .map(|r| {
            alicert::ident::RegionId::parse(r)
                .map_err(|e| Error::Input(format!("--region {r}: {e}")))
        })
        .collect()
}

/// `alicert scan`: the table on stdout (JSON with `--json`); exit 1 unless all was read.
async fn scan(
    path: Option<&std::path::Path>,
    invocation: &Invocation,
    region: &[String],
    json: bool,
) -> Result<ExitCode, Error> {
    let config = &alicert::scan::config_for_scan(path)?;
    let regions = regions(region)?;
    let result = handler::handle(config, Event::Scan { regions }, invocation).await?;
    if json {
        return print_result(result);
    }
    if let Some(report) = &result.scan {
        print!("{}", alicert::scan::human_table(report));
    }
    Ok(if result.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

struct Init {
    from_scan: bool,
    output: PathBuf,
    force: bool,
}

/// `alicert init`: the config to scan with (the current one, if any), then [`init_config`].
async fn init_command(
    path: Option<&std::path::Path>,
    args: InitArgs,
    invocation: &Invocation,
) -> Result<ExitCode, Error> {
    let mut config = alicert::scan::config_for_scan(path)?;
    let mut args = args;
    if !args.from_scan && args.domain.is_empty() && interactive() {
        let region = match args.region.first() {
            Some(r) => r.clone(),
            None => config.aliyun.region.clone(),
        };
        let stdin = std::io::stdin();
        let a = alicert::scan::interview::interview(
            &mut stdin.lock(),
            &mut std::io::stderr(),
            &region,
        )?;
        args.from_scan = a.from_scan;
        args.domain = a.domains;
        args.region = [
            vec![a.region],
            args.region.split_off(1.min(args.region.len())),
        ]
        .concat();
        args.ca = args.ca.or(a.ca);
        args.account_key = args.account_key.or(a.account_key);
        args.email = args.email.or(a.email);
    }
    let regions = regions(&args.region)?;
    if let Some(first) = regions.first() {
        config.aliyun.region = first.as_str().to_string();
    }
    let options = alicert::scan::InitOptions {
        domains: args.domain,
        account_key: args.account_key,
        ca: args.ca,
        email: args.email,
        region: config.aliyun.region.clone(),
    };
    let init = Init {
        from_scan: args.from_scan,
        output: args.output,
        force: args.force,
    };
    init_config(&config, invocation, regions, &options, init).await
}

/// Whether `init` can ask: both its input and where it asks are a terminal.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// `alicert init`: refuses an existing file without --force, scans if asked, writes the text.
async fn init_config(
    config: &Config,
    invocation: &Invocation,
    regions: Vec<alicert::ident::RegionId>,
    options: &alicert::scan::InitOptions,
    init: Init,
) -> Result<ExitCode, Error> {
    if !init.from_scan && options.domains.is_empty() {
        return Err(Error::Input(
            "alicert init needs --from-scan or --domain D when its input is not a terminal (on a terminal it asks)".into(),
        ));
    }
    let path = &init.output;
    if path.exists() && !init.force {
        return Err(Error::Input(format!(
            "{} exists; alicert init does not overwrite it (use --force, or --output another path)",
            path.display()
        )));
    }
    let report = if init.from_scan {
        let options = alicert::scan::Options { regions };
        Some(alicert::scan::run(config, invocation, &options).await)
    } else {
        None
    };
    let text = alicert::scan::from_scan(report.as_ref(), options)?;
    std::fs::write(path, &text)
        .map_err(|e| Error::Input(format!("writing {}: {e}", path.display())))?;
    let certificates = text.matches("\n[[certificate]]").count();
    eprintln!(
        "alicert: wrote {} ({certificates} certificate{}); next: alicert --config {} policy",
        path.display(),
        if certificates == 1 { "" } else { "s" },
        path.display()
    );
    if let Some(r) = &report {
        if !r.complete {
            eprintln!("alicert: the scan could not read everything; see the comments at the end");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_result(result: alicert::result::RunResult) -> Result<ExitCode, Error> {
    let text = serde_json::to_string_pretty(&result).map_err(|e| Error::Other(e.to_string()))?;
    println!("{text}");
    Ok(if result.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
