//! Input validation before any network call: every bad config names the key and the file and
//! exits 2, and the Alibaba Cloud emulator sees no request at all.
mod support;

use support::emulator::{self};
use support::rig::{alicert_bin, AK_ID, AK_SECRET};

const BASE: &str = r#"
[acme]
directory = "https://127.0.0.1:9/dir"
account_key = "oss://alicert-state/acme/account.pem"
"#;

const GOOD_CERT: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "cdn", domain = "www.example.com" }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_exit_2_naming_key_and_file_before_any_call() {
    let emu = emulator::start(support::rig::www_seed()).await;
    let cert = |domains: &str, targets: &str| {
        format!("[[certificate]]\nname = \"c\"\ndomains = {domains}\ntargets = {targets}\n")
    };
    let cdn = r#"[{ kind = "cdn", domain = "www.example.com" }]"#;
    let cases: Vec<(String, Vec<&str>)> = vec![
        (cert(r#"["10.0.0.1"]"#, cdn), vec!["domains", "IP address"]),
        (
            cert(r#"["[2001:db8::1]"]"#, cdn),
            vec!["domains", "IP address"],
        ),
        (
            cert(r#"["www.*.example.com"]"#, cdn),
            vec!["domains", "first label"],
        ),
        (
            cert(r#"["example.com", "EXAMPLE.com."]"#, cdn),
            vec!["domains", "twice"],
        ),
        (
            cert(r#"["localhost"]"#, cdn),
            vec!["domains", "fully qualified"],
        ),
        (
            cert(r#"["ex_ample..com"]"#, cdn),
            vec!["domains", "invalid label"],
        ),
        (cert("[]", cdn), vec!["domains"]),
        (
            cert(r#"["www.example.com"]"#, r#"[{ kind = "s3" }]"#),
            vec!["targets[0]", "unknown target kind `s3`"],
        ),
        (
            cert(
                r#"["www.example.com"]"#,
                r#"[{ kind = "cdn", domain = "x.example.com", extra = "1" }]"#,
            ),
            vec!["targets[0]", "unknown key `extra`"],
        ),
        (
            format!("{GOOD_CERT}{GOOD_CERT}"),
            vec!["duplicate certificate name `www`"],
        ),
        (
            format!("[http]\ntoken_sha256 = \"hunter2\"\n{GOOD_CERT}"),
            vec!["[http]", "token_sha256"],
        ),
        (
            format!("[http]\nallowed_domains = [\"1.2.3.4\"]\n{GOOD_CERT}"),
            vec!["[http]", "allowed_domains"],
        ),
        (
            format!("[http]\nauth = \"magic\"\n{GOOD_CERT}"),
            vec!["auth", "magic"],
        ),
        (format!("[http]\ntokn = \"x\"\n{GOOD_CERT}"), vec!["tokn"]),
        (
            format!("[lock]\nbucket = \"Not_A_Bucket\"\n{GOOD_CERT}"),
            vec!["[lock]", "bucket"],
        ),
        (
            format!("[dns]\nsweep_grace_secs = 0\n{GOOD_CERT}"),
            vec!["sweep_grace_secs"],
        ),
        (
            format!("[dns]\nsweep_grace_secs = \"soon\"\n{GOOD_CERT}"),
            vec!["sweep_grace_secs"],
        ),
        (
            format!("[aliyun.retry]\nmax_attempts = 0\n{GOOD_CERT}"),
            vec!["[aliyun.retry]", "max_attempts"],
        ),
        (
            format!("[aliyun]\nregoin = \"x\"\n{GOOD_CERT}"),
            vec!["regoin"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (body, needles)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.toml"));
        std::fs::write(&path, format!("{BASE}{body}")).unwrap();
        let out = std::process::Command::new(alicert_bin())
            .env_clear()
            .env("ALICERT_CONFIG", &path)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", AK_SECRET)
            .env("ALICERT_ENDPOINT_ALIDNS", emu.base_url())
            .env("ALICERT_ENDPOINT_CDN", emu.base_url())
            .env("ALICERT_ENDPOINT_OSS", emu.base_url())
            .args(["invoke", "{}"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {stderr}");
        let file = format!("case{i}.toml");
        assert!(
            stderr.contains(&file),
            "case {i} does not name the file: {stderr}"
        );
        for n in needles {
            assert!(stderr.contains(n), "case {i} lacks `{n}`: {stderr}");
        }
    }
    assert!(emu.state().calls.is_empty(), "{:?}", emu.state().calls);
}

#[test]
fn unicode_domains_become_punycode() {
    let mut c = alicert::config::Config::parse(
        &format!("{BASE}[[certificate]]\nname = \"idn\"\ndomains = [\"Bücher.de\", \"*.bücher.de\"]\ntargets = [{{ kind = \"cas\" }}]\n"),
        "idn.toml",
    )
    .unwrap();
    c.normalize().unwrap();
    c.validate().unwrap();
    assert_eq!(
        c.certificates[0].domains,
        ["xn--bcher-kva.de", "*.xn--bcher-kva.de"]
    );
}
