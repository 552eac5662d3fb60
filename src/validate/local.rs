//! `fabsync validate --target local`: the fake apiserver (HTTPS, our CRDs, Hedgehog's admission
//! rules, a bearer token) and the fake NetBox (HTTP, an API token) served in this process on
//! loopback ports with the system clock, a kubeconfig written for them, and then the `real`
//! target run against them unchanged — so every byte goes through the real path (kube-rs over
//! TLS, the NetBox client over TCP) — plus the fakes' own faults for what a real system cannot be
//! given (fail the Nth write, 429 on demand), so every requirement can be PROVEN.
//!
//! It starts servers and hands out their addresses; it runs no workflow.

use std::sync::Arc;

use fake_apiserver::{FakeApiServer, Fault, RejectForm, When};
use fake_netbox::FakeNetBox;

use super::error::{Context, ValidateError};
use super::real::{RealSystems, SimulatedFaults};
use super::scratch::Scratch;
use crate::hedgehog::Kind;

/// A random hex string of `bytes` bytes.
fn hex_token(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// The fakes on loopback ports, stopped when dropped.
pub struct LocalSystems {
    /// How to reach them, as `--target real` flags would say.
    pub systems: RealSystems,
    /// The faults only a fake can be given.
    pub faults: Arc<dyn SimulatedFaults>,
    /// Every token in use (for the redaction check).
    pub secrets: Vec<String>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    _scratch: Scratch,
}

impl std::fmt::Debug for LocalSystems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSystems")
            .field("kubeconfig", &self.systems.kubeconfig)
            .field("netbox", &self.systems.netbox_url)
            .finish()
    }
}

impl Drop for LocalSystems {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

struct LocalFaults {
    apiserver: FakeApiServer,
}

impl SimulatedFaults for LocalFaults {
    fn fail_nth_cluster_write(&self, n: u64) -> Result<(), ValidateError> {
        self.apiserver
            .faults()
            .add(Fault::FailNthWrite { n, code: Some(500) })
            .map(|_| ())
            .map_err(ValidateError::fake)
    }

    fn throttle_cluster(&self, times: u32, secs: u32) -> Result<(), ValidateError> {
        self.apiserver
            .faults()
            .add(Fault::TooManyRequests {
                retry_after_seconds: secs,
                form: RejectForm::Plain,
                when: When::always().verb("apply").times(times),
            })
            .map(|_| ())
            .map_err(ValidateError::fake)
    }

    fn clear(&self) {
        self.apiserver.faults().clear();
    }
}

impl LocalSystems {
    /// Starts both fakes on free loopback ports and writes the kubeconfig and token file.
    pub async fn start(seed: u64) -> Result<Self, ValidateError> {
        let scratch = Scratch::new("fabsync-validate-local")?;
        let cluster_token = format!("fabsync-local-{}", hex_token(16));
        let cluster_admin = format!("fabsync-local-admin-{}", hex_token(16));
        let netbox_token = format!("nbt_{}.{}", &hex_token(6), hex_token(20));
        let netbox_admin = hex_token(20);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port for the cluster")?;
        let addr = listener.local_addr()?;
        let mut b = FakeApiServer::builder()
            .token(cluster_token.clone())
            .admin_token(cluster_admin.clone())
            .seed(seed)
            .clock(fake_apiserver::system_clock())
            .server_address(addr.to_string())
            .admission(Arc::new(crate::hedgehog::admission::HedgehogAdmission));
        for kind in Kind::ALL {
            b = b.crd(serde_json::to_value(kind.crd()).expect("CRDs serialize"));
        }
        let apiserver = b.try_build().map_err(ValidateError::fake)?;
        let material = fake_apiserver::tls::generate(&["127.0.0.1", "localhost"])
            .map_err(ValidateError::fake)?;
        let url = format!("https://{addr}");
        let kubeconfig = scratch.write(
            "kubeconfig",
            fake_apiserver::tls::kubeconfig(&url, &material.ca_pem, &cluster_token, "default")
                .as_bytes(),
        )?;
        let served = apiserver.clone();
        let api_task = tokio::spawn(async move {
            if let Err(e) = served.serve(listener, Some(material)).await {
                eprintln!("fabsync validate: the local cluster stopped: {e}");
            }
        });

        let netbox = FakeNetBox::builder()
            .token(netbox_token.clone())
            .admin_token(netbox_admin.clone())
            .seed(seed)
            .clock(fake_netbox::system_clock())
            .build()
            .map_err(ValidateError::fake)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port for NetBox")?;
        let netbox_url = format!("http://{}", listener.local_addr()?);
        let served = netbox.clone();
        let nb_task = tokio::spawn(async move {
            if let Err(e) = served.serve(listener).await {
                eprintln!("fabsync validate: the local NetBox stopped: {e}");
            }
        });
        let netbox_token_file = scratch.write("netbox-token", netbox_token.as_bytes())?;
        Ok(Self {
            systems: RealSystems {
                kubeconfig,
                context: None,
                netbox_url,
                netbox_token_file,
            },
            faults: Arc::new(LocalFaults { apiserver }),
            secrets: vec![cluster_token, cluster_admin, netbox_token, netbox_admin],
            servers: vec![api_task, nb_task],
            _scratch: scratch,
        })
    }
}
