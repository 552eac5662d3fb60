//! The `fake-apiserver` binary: serves the fake on a loopback port (HTTPS with `--tls`), loads the
//! CRDs of a directory, and writes a kubeconfig for kubectl, kube-rs and the Python client.
//!
//! It only wires command-line flags to the library; all behaviour lives there.

use clap::Parser;
use fake_apiserver::{FakeApiServer, system_clock, tls};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "fake-apiserver",
    about = "A fake kube-apiserver for CRD work (kubectl 1.32, kube-rs, Python client)"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: String,
    /// Serve HTTPS with a CA and leaf certificate made at start-up.
    #[arg(long)]
    tls: bool,
    /// Bearer token clients must send.
    #[arg(long, env = "FAKE_APISERVER_TOKEN")]
    token: String,
    /// A token that may only read (writes get 403).
    #[arg(long, env = "FAKE_APISERVER_READ_ONLY_TOKEN")]
    read_only_token: Option<String>,
    /// Token of the admin endpoint /__fake/* (faults, request log); unset disables it.
    #[arg(long, env = "FAKE_APISERVER_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Directory whose *.yaml files hold CustomResourceDefinitions to serve from the start.
    #[arg(long)]
    crds: Option<PathBuf>,
    /// Where to write a kubeconfig pointing at this server.
    #[arg(long)]
    write_kubeconfig: Option<PathBuf>,
    /// Namespace of the kubeconfig context.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Record request and response bodies (secrets redacted) in the request log.
    #[arg(long)]
    log_bodies: bool,
    /// Write the request log as JSON lines to this file when the server stops (Ctrl-C).
    #[arg(long)]
    request_log: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("fake-apiserver: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("binding {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut b = FakeApiServer::builder()
        .token(args.token.clone())
        .seed(args.seed)
        .clock(system_clock())
        .log_bodies(args.log_bodies)
        .server_address(addr.to_string());
    if let Some(t) = &args.read_only_token {
        b = b.read_only_token(t.clone());
    }
    if let Some(t) = &args.admin_token {
        b = b.admin_token(t.clone());
    }
    if let Some(dir) = &args.crds {
        b = b.crds_from_dir(dir).map_err(|e| e.to_string())?;
    }
    let server = b.try_build().map_err(|e| e.to_string())?;
    let host = addr.ip().to_string();
    let material = if args.tls {
        Some(tls::generate(&[host.as_str(), "localhost", "127.0.0.1"]).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let scheme = if args.tls { "https" } else { "http" };
    let url = format!("{scheme}://{addr}");
    if let Some(path) = &args.write_kubeconfig {
        let kc = tls::kubeconfig(
            &url,
            material.as_ref().map(|m| m.ca_pem.as_str()).unwrap_or(""),
            &args.token,
            &args.namespace,
        );
        std::fs::write(path, kc)
            .map_err(|e| format!("writing kubeconfig {}: {e}", path.display()))?;
    }
    println!("fake-apiserver listening on {url}");
    let log = server.log();
    tokio::select! {
        r = server.serve(listener, material) => r.map_err(|e| e.to_string())?,
        _ = tokio::signal::ctrl_c() => {}
    }
    if let Some(p) = &args.request_log {
        std::fs::write(p, log.to_jsonl())
            .map_err(|e| format!("writing request log {}: {e}", p.display()))?;
    }
    Ok(())
}
