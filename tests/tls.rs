//! wss:// and https:// through rustls against a gateway behind a TLS front
//! whose certificate comes from a private CA made for the test: trusted
//! with `--ca-file`, refused with a clear TLS error without it.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil::core::model::{ConnState, ErrorClass, Update};
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::Scenario;
use vigil::sources::SourceStats;
use vigil::sources::gateway::link::{Link, LinkOptions, Timing};

struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.distinguished_name.push(DnType::CommonName, "vigil test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&leaf_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone()],
        key: PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    }
}

/// Terminates TLS on a loopback port and forwards to the gateway in clear.
async fn tls_front(upstream: String, pki: &Pki) -> u16 {
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut clear) = TcpStream::connect(&upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut clear).await;
            });
        }
    });
    port
}

/// Runs a link for `wait` and returns every connection state it reported,
/// the number of live frames and its stats.
async fn run_link(
    url: String,
    ca_file: Option<&std::path::Path>,
    wait: Duration,
) -> (Vec<ConnState>, u64, Arc<SourceStats>) {
    let tls = vigil::sources::tls::client_config(ca_file).unwrap();
    let stats = Arc::new(SourceStats::for_url(&url));
    let (tx, mut rx) = mpsc::channel(1024);
    let (_control, control_rx) = mpsc::channel(1);
    let timing = Timing { slow_retry: Duration::from_secs(30), ..Timing::default() };
    let opts = LinkOptions {
        urls: vec![url],
        token: None,
        backfill: Duration::from_secs(30),
        tls,
        first_jitter: false,
        timing,
    };
    let link = Link::new(opts, tx, vec![stats.clone()], control_rx).unwrap();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(link.run(cancel.clone()));
    let seen: Arc<Mutex<(Vec<ConnState>, u64)>> = Arc::default();
    let record = seen.clone();
    let collector = tokio::spawn(async move {
        while let Some(u) = rx.recv().await {
            let mut s = record.lock().unwrap();
            match u {
                Update::Conn(c) => s.0.push(c),
                Update::Samples { live: true, .. } => s.1 += 1,
                _ => {}
            }
        }
    });
    tokio::time::sleep(wait).await;
    cancel.cancel();
    let _ = task.await;
    let _ = tokio::time::timeout(Duration::from_secs(2), collector).await;
    let (states, frames) = std::mem::take(&mut *seen.lock().unwrap());
    (states, frames, stats)
}

async fn gateway() -> Gateway {
    let opts = ServeOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        scenario: Scenario::Calm,
        interval: Duration::from_millis(100),
        ..ServeOptions::default()
    };
    Gateway::start(opts).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_with_ca_file_and_refused_without() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let gw = gateway().await;
    let pki = pki();
    let port = tls_front(gw.local_addr().to_string(), &pki).await;
    let url = format!("wss://localhost:{port}{}", vigil::wire::STREAM_PATH);
    let dir = std::env::temp_dir().join(format!("vigil-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    // Trusted: the stream flows over wss://, and the backfill over https://.
    let (states, frames, stats) = run_link(url.clone(), Some(&ca_file), Duration::from_secs(3)).await;
    assert!(states.iter().any(|s| s.is_connected()), "{states:?}");
    assert!(frames >= 5, "only {frames} live frames over wss://");
    assert!(SourceStats::read(&stats.backfills) >= 1);
    assert_eq!(SourceStats::read(&stats.backfill_errors), 0, "https backfill failed");

    // Not trusted: one clear TLS error, then a slow retry.
    let (states, frames, _) = run_link(url, None, Duration::from_secs(2)).await;
    assert_eq!(frames, 0);
    let errors: Vec<_> = states
        .iter()
        .filter_map(|s| match s {
            ConnState::Reconnecting { class, error, .. } => Some((*class, error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (class, error) = &errors[0];
    assert_eq!(*class, ErrorClass::Tls, "{error}");
    assert!(error.contains("certificate") && !error.contains('\n'), "{error}");
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
