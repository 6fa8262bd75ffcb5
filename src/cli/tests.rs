use super::*;

fn parse(args: &[&str]) -> Result<Parsed, UsageError> {
    parse_from(args.iter().map(|a| a.to_string()))
}

fn run(args: &[&str]) -> Cli {
    match parse(args) {
        Ok(Parsed::Run(cli)) => cli,
        Ok(Parsed::Print(text)) => panic!("{args:?} printed {text}"),
        Err(e) => panic!("{args:?}: {}", e.render()),
    }
}

fn error(args: &[&str]) -> String {
    match parse(args) {
        Err(e) => e.render(),
        Ok(_) => panic!("{args:?} parsed"),
    }
}

fn printed(args: &[&str]) -> String {
    match parse(args) {
        Ok(Parsed::Print(text)) => text,
        _ => panic!("{args:?} printed nothing"),
    }
}

#[test]
fn global_options_go_before_or_after_the_command() {
    for args in [
        &["--config", "a.toml", "--dry-run", "status"][..],
        &["status", "--config=a.toml", "--dry-run"],
    ] {
        let cli = run(args);
        assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("a.toml")));
        assert!(cli.dry_run);
        assert!(matches!(cli.command, Command::Status));
    }
    let cli = run(&["status"]);
    assert!(cli.config.is_none() && !cli.dry_run);
}

#[test]
fn each_command_takes_its_own_options() {
    let Command::Invoke { event, timeout } = run(&["invoke", "--timeout", "30", "-"]).command
    else {
        panic!("not invoke")
    };
    assert_eq!((event.as_deref(), timeout), (Some("-"), Some(30)));
    let Command::Scan {
        json,
        region,
        timeout,
    } = run(&[
        "scan",
        "--region",
        "cn-hangzhou",
        "--json",
        "--region=cn-shanghai",
    ])
    .command
    else {
        panic!("not scan")
    };
    assert!(json && timeout.is_none());
    assert_eq!(region, ["cn-hangzhou", "cn-shanghai"]);
    let Command::Init(init) = run(&["init", "--domain", "a.example", "--force"]).command else {
        panic!("not init")
    };
    assert_eq!(init.domain, ["a.example"]);
    assert!(init.force && !init.from_scan);
    assert_eq!(init.output, PathBuf::from("alicert.toml"));
    let Command::Revoke {
        certificate,
        no_replace,
        reason,
    } = run(&[
        "revoke",
        "--certificate",
        "www",
        "--reason",
        "4",
        "--no-replace",
    ])
    .command
    else {
        panic!("not revoke")
    };
    assert_eq!(
        (certificate.as_str(), no_replace, reason),
        ("www", true, Some(4))
    );
    let Command::Account {
        op: AccountOp::Update { email },
    } = run(&["account", "update", "--email", "a@x", "--email", "b@x"]).command
    else {
        panic!("not account update")
    };
    assert_eq!(email, ["a@x", "b@x"]);
    assert!(matches!(
        run(&["account", "deactivate", "--yes"]).command,
        Command::Account {
            op: AccountOp::Deactivate { yes: true }
        }
    ));
    assert!(matches!(
        run(&["serve", "--insecure-local"]).command,
        Command::Serve {
            insecure_local: true
        }
    ));
}

#[test]
fn usage_errors_name_the_argument_and_the_command() {
    let e = error(&["status", "--json"]);
    assert!(
        e.starts_with("error: unexpected argument '--json' found"),
        "{e}"
    );
    assert!(
        e.contains("Usage: alicert status [OPTIONS]") && e.contains("'alicert status --help'"),
        "{e}"
    );
    let e = error(&["revoke"]);
    assert!(
        e.contains("required arguments were not provided: --certificate <NAME>"),
        "{e}"
    );
    let e = error(&["account", "update"]);
    assert!(e.contains("--email <EMAIL>"), "{e}");
    let e = error(&["invoke", "--timeout", "soon"]);
    assert!(e.contains("invalid value 'soon' for '--timeout'"), "{e}");
    let e = error(&["revoke", "--certificate", "a", "--reason", "300"]);
    assert!(e.contains("invalid value '300' for '--reason'"), "{e}");
    let e = error(&["policy", "--role", "a", "--role", "b"]);
    assert!(
        e.contains("'--role <ARN>' cannot be used multiple times"),
        "{e}"
    );
    assert!(error(&["renew"]).contains("unrecognized subcommand 'renew'"));
    assert!(error(&[]).contains("requires a subcommand"));
    assert!(error(&["account"]).contains("Usage: alicert account [OPTIONS] <COMMAND>"));
    assert!(error(&["invoke", "{}", "{}"]).contains("unexpected argument '{}' found"));
    assert!(error(&["doctor", "--json=yes"]).contains("--json"));
    assert!(error(&["scan", "--timeout"]).contains("--timeout"));
}

#[test]
fn help_lists_every_command_and_option() {
    let top = printed(&["--help"]);
    for spec in SPECS
        .iter()
        .filter(|s| !s.path.is_empty() && !s.path.contains(' '))
    {
        assert!(
            top.contains(&format!("\n  {}", spec.path)),
            "{} missing in\n{top}",
            spec.path
        );
    }
    assert!(
        top.contains("--config <PATH>") && top.contains("-V, --version"),
        "{top}"
    );
    for spec in SPECS.iter().filter(|s| !s.path.is_empty()) {
        let words: Vec<&str> = spec.path.split(' ').collect();
        let help = printed(&[&words[..], &["--help"]].concat());
        assert!(help.starts_with(spec.about), "{}: {help}", spec.path);
        for opt in spec.opts {
            assert!(
                help.contains(&shown(opt)),
                "{}: --{} missing in\n{help}",
                spec.path,
                opt.long
            );
        }
        assert_eq!(
            printed(&[&["help"][..], &words].concat()),
            help,
            "alicert help {}",
            spec.path
        );
    }
    assert!(printed(&["account", "--help"]).contains("\n  rollover"));
    assert_eq!(
        printed(&["--version"]),
        format!("alicert {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_command_list_shows_the_first_sentence_on_one_line() {
    assert_eq!(
        summary("One line,\nstill one. Two."),
        "One line, still one."
    );
    // The earliest sentence end wins, whether a line break or a space follows it.
    assert_eq!(summary("First.\nSecond. Third."), "First.");
    assert_eq!(summary("Write alicert.toml now"), "Write alicert.toml now");
}
