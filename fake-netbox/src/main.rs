//! `fake-netbox`: the fake NetBox on a TCP port, with the system clock.
//!
//! `fake-netbox --listen 127.0.0.1:8000 --token T [--fixture vlab|large|xlarge|FILE.json]`
//! Prints one line with the URL once it accepts connections; runs until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fake_netbox::{FakeNetBox, Fixture, system_clock};

#[derive(Parser, Debug)]
#[command(
    name = "fake-netbox",
    version,
    about = "A fake NetBox 4.7 REST API for Hedgehog fabrics"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: String,
    /// Accepted read-write API token (v1: 40 letters/digits, v2: nbt_<key>.<secret>); repeatable.
    #[arg(long = "token", env = "FAKE_NETBOX_TOKEN", required = true)]
    tokens: Vec<String>,
    /// Accepted read-only API token; repeatable.
    #[arg(long = "read-only-token")]
    read_only_tokens: Vec<String>,
    /// Token guarding /__fake/ (faults, log, export).
    #[arg(long, env = "FAKE_NETBOX_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Initial data: vlab, large, xlarge, empty, or a fixture JSON file.
    #[arg(long, default_value = "empty")]
    fixture: String,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Log request and response bodies (secrets redacted).
    #[arg(long)]
    log_bodies: bool,
    /// Write the request log (JSON lines) here on exit.
    #[arg(long)]
    request_log: Option<PathBuf>,
    /// Seconds an idle keep-alive connection stays open before the server closes it, as
    /// NetBox's gunicorn does (its default: 2); 0 never closes one.
    #[arg(long, default_value_t = 2.0)]
    keepalive_secs: f64,
}

fn fixture_of(arg: &str) -> Result<Fixture, String> {
    Ok(match arg {
        "empty" => Fixture::Empty,
        "vlab" => Fixture::Vlab,
        "large" => Fixture::Large,
        "xlarge" => Fixture::Xlarge,
        path => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("--fixture {path}: {e}"))?;
            let doc = serde_json::from_str(&text)
                .map_err(|e| format!("--fixture {path}: not JSON: {e}"))?;
            Fixture::Json(doc)
        }
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.keepalive_secs >= 0.0 && args.keepalive_secs.is_finite()) {
        eprintln!(
            "fake-netbox: --keepalive-secs must be a number of seconds, 0 or more (got {})",
            args.keepalive_secs
        );
        return ExitCode::from(2);
    }
    let fixture = match fixture_of(&args.fixture) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-netbox: {e}");
            return ExitCode::from(2);
        }
    };
    let mut builder = FakeNetBox::builder()
        .tokens(args.tokens.iter().cloned())
        .read_only_tokens(args.read_only_tokens.iter().cloned())
        .seed(args.seed)
        .clock(system_clock())
        .fixture(fixture)
        .log_bodies(args.log_bodies)
        .keepalive(
            (args.keepalive_secs > 0.0)
                .then(|| std::time::Duration::try_from_secs_f64(args.keepalive_secs).ok())
                .flatten(),
        );
    if let Some(a) = &args.admin_token {
        builder = builder.admin_token(a.clone());
    }
    let nb = match builder.build() {
        Ok(nb) => nb,
        Err(e) => {
            eprintln!("fake-netbox: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-netbox: cannot listen on {}: {e}", args.listen);
            return ExitCode::from(1);
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(args.listen.clone());
    println!(
        "fake-netbox {} listening on http://{addr} ({} objects)",
        fake_netbox::NETBOX_VERSION,
        nb.object_count()
    );
    let served = nb.clone();
    let result = tokio::select! {
        r = served.serve(listener) => r.map_err(|e| e.to_string()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    if let Some(path) = &args.request_log
        && let Err(e) = std::fs::write(path, nb.log().to_jsonl())
    {
        eprintln!("fake-netbox: writing {}: {e}", path.display());
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-netbox: {e}");
            ExitCode::from(1)
        }
    }
}
