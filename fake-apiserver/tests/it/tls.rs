//! kube-rs against the binary over HTTPS: the written kubeconfig (CA data + token) is accepted by
//! rustls (leaf certificate, not a CA used as end entity), and a wrong token is refused with 401.

use crate::common::*;
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn kube_rs_over_https_with_the_written_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let crds = dir.path().join("crds");
    std::fs::create_dir(&crds).unwrap();
    std::fs::write(
        crds.join("switches.yaml"),
        serde_json::to_string(&switch_crd()).unwrap(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-apiserver"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--token",
            "kr-token",
            "--crds",
        ])
        .arg(&crds)
        .arg("--write-kubeconfig")
        .arg(dir.path().join("kubeconfig"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let kc = Kubeconfig::read_from(dir.path().join("kubeconfig")).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc.clone(), &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    let v = client.apiserver_version().await.unwrap();
    assert_eq!(v.minor, "32");
    let api = switches(&client);
    api.create(&PostParams::default(), &dyn_obj(switch("tls-1", "spine")))
        .await
        .unwrap();
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    let mut bad = kc;
    for a in &mut bad.auth_infos {
        if let Some(ai) = a.auth_info.as_mut() {
            ai.token = Some("wrong".to_string().into());
        }
    }
    let cfg = kube::Config::from_custom_kubeconfig(bad, &KubeConfigOptions::default())
        .await
        .unwrap();
    let bad_client = kube::Client::try_from(cfg).unwrap();
    let err = switches(&bad_client)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    let _ = child.kill();
    let _ = child.wait();
    match err {
        kube::Error::Api(s) => assert_eq!(s.code, 401),
        other => panic!("{other:?}"),
    }
}
