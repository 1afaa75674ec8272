//! TLS for `wss://` and `https://`: rustls with the platform's roots, plus a
//! private CA when one is given. Certificate problems are errors with a
//! clear line, never silently ignored.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// The client TLS settings every source shares.
pub fn client_config(ca_file: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A platform root rustls cannot parse is skipped, not fatal.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let shown = path.display();
        let certs =
            CertificateDer::pem_file_iter(path).map_err(|e| anyhow::anyhow!("cannot read CA file {shown}: {e}"))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|e| anyhow::anyhow!("CA file {shown} is not valid PEM: {e}"))?;
            roots.add(cert).map_err(|e| anyhow::anyhow!("CA file {shown} holds a certificate rustls rejects: {e}"))?;
            added += 1;
        }
        anyhow::ensure!(added > 0, "CA file {shown} holds no certificates");
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Ok(Arc::new(config))
}

/// An HTTP client for REST calls that trusts the same roots.
pub fn http_client(tls: &Arc<rustls::ClientConfig>) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(rustls::ClientConfig::clone(tls))
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_files_are_clear_errors() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let err = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err().to_string();
        assert!(err.starts_with("cannot read CA file /nonexistent/ca.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("vigil-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(Some(&empty)).unwrap_err().to_string();
        assert!(err.contains("holds no certificates"), "{err}");
        assert!(client_config(None).is_ok());
    }
}
