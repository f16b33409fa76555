//! Which certificate authorities the client trusts: the system's store (so that a
//! company's TLS inspection works where the system trusts it), plus any CA named
//! with `--ca-cert`. Certificates are always verified; there is no switch to skip it.

use std::path::Path;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The TLS settings for a run, and a note for the user when something was odd.
pub struct Trust {
    /// What the agent is built with.
    pub config: TlsConfig,
    /// A warning worth printing (no system store found, unreadable entries).
    pub warning: Option<String>,
}

/// Loads the system's trust store and `extra_ca` (a PEM file of one or more CA
/// certificates). An unreadable or empty `extra_ca` is an error naming the flag.
pub fn load(extra_ca: Option<&Path>) -> Result<Trust, String> {
    let extra = match extra_ca {
        Some(path) => read_pem_certificates(path)?,
        None => Vec::new(),
    };
    // Honours SSL_CERT_FILE and SSL_CERT_DIR, then the platform's usual places.
    let native = rustls_native_certs::load_native_certs();
    let mut roots: Vec<Certificate<'static>> = native
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    let system_count = roots.len();
    roots.extend(extra);

    let mut warning = None;
    if system_count == 0 {
        warning = Some(match native.errors.first() {
            Some(error) => format!("the system's trusted certificates could not be read ({error})"),
            None => "no trusted certificates were found on this system".to_string(),
        });
    }
    let root_certs = if roots.is_empty() {
        // Nothing from the system and no --ca-cert: Mozilla's roots, bundled with ureq,
        // still verify DigiCert's own certificate.
        warning = warning
            .map(|w| format!("{w}; using the bundled Mozilla roots (add a CA with --ca-cert)"));
        RootCerts::WebPki
    } else {
        RootCerts::new_with_certs(&roots)
    };
    Ok(Trust {
        config: TlsConfig::builder().root_certs(root_certs).build(),
        warning,
    })
}

fn read_pem_certificates(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(PemItem::Certificate(certificate)) => certificates.push(certificate),
            Ok(_) => {}
            Err(error) => {
                return Err(format!(
                    "--ca-cert {}: not a readable PEM file: {error}",
                    path.display()
                ));
            }
        }
    }
    if certificates.is_empty() {
        return Err(format!(
            "--ca-cert {}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_naming_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = load(Some(&empty)).err().unwrap();
        assert!(
            error.contains("--ca-cert") && error.contains("no PEM certificate"),
            "{error}"
        );

        let missing = dir.path().join("missing.pem");
        let error = load(Some(&missing)).err().unwrap();
        assert!(
            error.contains("--ca-cert") && error.contains("missing.pem"),
            "{error}"
        );
    }

    #[test]
    fn the_system_store_loads_without_a_ca_file() {
        assert!(load(None).is_ok());
    }
}
