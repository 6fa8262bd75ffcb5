//! `alicert init` on a terminal asks its questions (run under `script(1)`, which gives it a
//! pseudo-terminal; util-linux, in every Debian), and writes the config its answers describe;
//! without a terminal and without flags it refuses, naming the flags.
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_alicert");

#[test]
fn on_a_terminal_init_asks_and_writes_what_was_answered() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alicert.toml");
    let cmd = format!("{BIN} init --output {}", out.display());
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) runs");
    // Region (default), no scan, a wrong name then two, the staging CA, the key, an email.
    let answers = "\nn\nexa mple..com\nexample.com, *.example.com\nletsencrypt-staging\noss://state/acme/account.pem\nops@example.com\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let done = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{shown}");
    assert!(shown.contains("[aliyun] region [cn-hangzhou]"), "{shown}");
    assert!(
        shown.contains("try again"),
        "the wrong name was refused: {shown}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let config =
        alicert::config::Config::load(Some(&out)).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let names: Vec<Vec<String>> = config
        .certificates
        .iter()
        .map(|c| c.domains.clone())
        .collect();
    assert_eq!(
        names,
        [
            vec!["example.com".to_string()],
            vec!["*.example.com".to_string()]
        ]
    );
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        table["acme"]["account_key"].as_str(),
        Some("oss://state/acme/account.pem")
    );
    assert_eq!(table["acme"]["email"].as_str(), Some("ops@example.com"));
    assert_eq!(
        table["acme"]["directory"].as_str(),
        Some("letsencrypt-staging")
    );
}

#[test]
fn without_a_terminal_or_flags_init_names_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let done = Command::new(BIN)
        .args(["init", "--output", "x.toml"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!done.status.success());
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("--from-scan or --domain"), "{err}");
    assert!(!dir.path().join("x.toml").exists());
}
