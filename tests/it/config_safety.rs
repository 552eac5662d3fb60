//! Configuration that was ignored or unsafe, through the binary: `[server] auth_token_file` in
//! `fabsync.toml` is honoured (the API refused nothing before), short UI tokens are refused, a
//! kubeconfig that turns TLS verification off is warned about at start and on the fabric page,
//! credentials in URLs and plain-HTTP clusters are refused, relative paths resolve against the
//! file's directory, and failed logins are throttled.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::procs::{self, Fakes, fabsync, http, spawn_until, start_fakes, url_in};

/// A copy of the fake's kubeconfig with `insecure-skip-tls-verify: true` instead of its CA.
fn insecure_kubeconfig(fakes: &Fakes) -> std::path::PathBuf {
    let text = std::fs::read_to_string(&fakes.kubeconfig).unwrap();
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("certificate-authority-data:") {
                format!("{}insecure-skip-tls-verify: true", &l[..l.len() - t.len()])
            } else {
                l.to_string()
            }
        })
        .collect();
    let path = fakes.dir.path().join("insecure-kubeconfig");
    std::fs::write(&path, out.join("\n") + "\n").unwrap();
    path
}

fn with_kubeconfig(fakes: &Fakes, config: &Path, kubeconfig: &Path) {
    let text = std::fs::read_to_string(config).unwrap().replace(
        &format!("kubeconfig = {:?}", fakes.kubeconfig),
        &format!("kubeconfig = {kubeconfig:?}"),
    );
    std::fs::write(config, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_auth_token_is_honoured_and_insecure_tls_is_warned_about() {
    let fakes = start_fakes("vlab");
    let token = "config-file-token-0123456789abcdefghij";
    std::fs::write(fakes.dir.path().join("ui-token"), format!("{token}\n")).unwrap();
    // `auth_token_file` relative to the config file's folder, not to where fabsync runs.
    let config = fakes.config("fabsync.toml", "interval_secs = 0");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("[server]\nauth_token_file = \"ui-token\"\n\n{text}"),
    )
    .unwrap();
    with_kubeconfig(&fakes, &config, &insecure_kubeconfig(&fakes));

    let mut cmd = Command::new(procs::fabsync_bin());
    cmd.current_dir("/")
        .arg("serve")
        .arg("-c")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"]);
    let log = fakes.dir.path().join("serve.log");
    let (_serve, line) = spawn_until(cmd, "serve", &log, "listening on");
    let base = url_in(&line, "http://");
    let printed = std::fs::read_to_string(&log).unwrap();
    assert!(printed.contains("turns TLS verification off"), "{printed}");

    // The token from the file protects the API (it was open before).
    let (status, body) = http("POST", &format!("{base}/api/fabrics/vlab/sync"), None, None)
        .await
        .unwrap();
    assert_eq!(status, 401, "{body}");
    let bearer = format!("Bearer {token}");
    let (status, body) = http("GET", &format!("{base}/fabrics/vlab"), Some(&bearer), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("id=\"insecure-tls\""), "{body}");

    // Wrong tokens: five are answered 401, then every attempt waits (429 + Retry-After),
    // the right token too, until the window passes.
    for _ in 0..5 {
        let (status, _) = http(
            "GET",
            &format!("{base}/api/fabrics"),
            Some("Bearer guess"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 401);
    }
    let (status, body) = http(
        "GET",
        &format!("{base}/api/fabrics"),
        Some("Bearer guess"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 429, "{body}");
    let (status, _) = http("GET", &format!("{base}/api/fabrics"), Some(&bearer), None)
        .await
        .unwrap();
    assert_eq!(
        status, 429,
        "throttled for everyone until the window passes"
    );
}

#[test]
fn unsafe_settings_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nb-token"),
        "0123456789abcdef0123456789abcdef01234567\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("k8s-token"), "cluster-token\n").unwrap();
    std::fs::write(dir.path().join("short-ui-token"), "too-short\n").unwrap();
    let write = |name: &str, netbox_url: &str, cluster: &str, server: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "{server}[store]\npath = \":memory:\"\n\n[[fabric]]\nname = \"vlab\"\n\n[fabric.netbox]\nurl = \"{netbox_url}\"\ntoken_file = \"nb-token\"\n\n[fabric.cluster]\n{cluster}\n"
            ),
        )
        .unwrap();
        p
    };
    let https = "server = \"https://127.0.0.1:9\"\ntoken_file = \"k8s-token\"";
    let cases = [
        (
            write(
                "creds.toml",
                "https://admin:hunter2@netbox.example",
                https,
                "",
            ),
            &["diff", "vlab"][..],
            "netbox.url: holds a user name or password",
        ),
        (
            write(
                "http.toml",
                "https://netbox.example",
                "server = \"http://127.0.0.1:9\"\ntoken_file = \"k8s-token\"",
                "",
            ),
            &["sync", "vlab"],
            "is plain HTTP: the bearer token would cross the network in cleartext",
        ),
        (
            write(
                "short.toml",
                "https://netbox.example",
                https,
                "[server]\nauth_token_file = \"short-ui-token\"\n\n",
            ),
            &["serve", "--listen", "127.0.0.1:0"],
            "use at least 32",
        ),
    ];
    for (config, cmd, expected) in cases {
        let mut args = cmd.to_vec();
        let c = config.to_string_lossy().to_string();
        args.extend(["-c", c.as_str()]);
        // From another folder: relative token files are found next to the config file.
        let r = fabsync(&args, Duration::from_secs(60));
        assert_eq!(r.code, 2, "{args:?}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("hunter2"), "{args:?}: {}", r.stderr);
    }

    // Allowed explicitly, plain HTTP passes the check (and fails later, connecting to nothing).
    let ok = write(
        "http-allowed.toml",
        "https://netbox.example",
        "server = \"http://127.0.0.1:9\"\ntoken_file = \"k8s-token\"\nallow_insecure_http = true",
        "",
    );
    let r = fabsync(
        &["status", "-c", ok.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}
