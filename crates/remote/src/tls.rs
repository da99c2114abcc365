//! TLS: the verifiers (a pinned fingerprint, or CA roots with the host name), the handshake,
//! and the certificate capture of [`crate::fingerprint`].

use std::fmt;
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};
use crate::{Trust, Url};

/// The SHA-256 fingerprint of a certificate's DER bytes, as `openssl x509 -fingerprint
/// -sha256` prints it (`AB:CD:…`, 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pin([u8; 32]);

impl Pin {
    /// Parses 64 hex digits, colons (or spaces) between bytes optional, any case; a leading
    /// `sha256//` or `SHA256 Fingerprint=` as openssl prints it is accepted.
    ///
    /// # Errors
    /// [`ErrorKind::Pin`] when it is not 32 bytes of hex.
    pub fn parse(text: &str) -> Result<Pin, Error> {
        let t = text.trim();
        let t = t
            .strip_prefix("sha256 Fingerprint=")
            .or_else(|| t.strip_prefix("SHA256 Fingerprint="))
            .unwrap_or(t);
        let digits: String = t.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        let mut out = [0u8; 32];
        if digits.len() != 64 || hex::decode_to_slice(&digits, &mut out).is_err() {
            return Err(Error::new(
                ErrorKind::Pin,
                format!(
                    "{} is not a SHA-256 fingerprint: 64 hex digits, colons optional (as \
                     `jimsctl remote fingerprint` or `openssl x509 -fingerprint -sha256` print it)",
                    quote(text)
                ),
            ));
        }
        Ok(Pin(out))
    }

    /// The fingerprint of `der`.
    pub fn of(der: &[u8]) -> Pin {
        Pin(Sha256::digest(der).into())
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pin({self})")
    }
}

/// What [`crate::fingerprint`] saw of a server's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The SHA-256 fingerprint of the leaf certificate's DER bytes.
    pub sha256: Pin,
    /// The subject, as a distinguished name (`CN=…`).
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// Valid from (UTC).
    pub not_before: String,
    /// Valid until (UTC).
    pub not_after: String,
    /// The DNS names and addresses of its subject alternative names.
    pub names: Vec<String>,
}

/// Text from outside (a URL, a fingerprint, a certificate's field) made safe for a terminal:
/// control characters escaped.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

// ring, as the workspace chose (no C toolchain beyond cc; no cmake): rustls marks its provider
// deprecated only for lacking post-quantum key exchange, which JIMS does not offer either.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the CA roots of the PEM file `path`.
pub(crate) fn load_roots(path: &Path) -> Result<rustls::RootCertStore, Error> {
    let shown = quote(&path.display().to_string());
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(ErrorKind::CaFile, format!("could not read the CA file {shown}: {e}"))
            .with_source(e)
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| {
            Error::new(ErrorKind::CaFile, format!("the CA file {shown} is not valid PEM: {e}"))
        })?;
        roots.add(cert).map_err(|e| {
            Error::new(
                ErrorKind::CaFile,
                format!("the CA file {shown} holds a certificate that cannot be a root: {e}"),
            )
        })?;
    }
    if roots.is_empty() {
        return Err(Error::new(
            ErrorKind::CaFile,
            format!("the CA file {shown} holds no certificate (PEM, -----BEGIN CERTIFICATE-----)"),
        ));
    }
    Ok(roots)
}

/// The rustls configuration for `trust`.
pub(crate) fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, Error> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match trust {
        Trust::Pin(pin) => Arc::new(Pinned { pin: *pin, provider: provider.clone() }),
        Trust::CaFile(path) => {
            let roots = load_roots(path)?;
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::CaFile,
                    format!(
                        "the CA file {} cannot be used: {e}",
                        quote(&path.display().to_string())
                    ),
                )
            })?
        }
    };
    config_with(provider, verifier)
}

fn config_with(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<Arc<ClientConfig>, Error> {
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS could not be set up: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn server_name(url: &Url) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(url.host().to_owned()).map_err(|e| {
        Error::new(ErrorKind::Url, format!("{url}: the host cannot be used for TLS: {e}"))
    })
}

/// Runs the handshake on `tcp` before `deadline`; every failure is [`ErrorKind::Tls`] (or a
/// timeout), and nothing has been sent then.
pub(crate) fn handshake(
    config: Arc<ClientConfig>,
    url: &Url,
    mut tcp: TcpStream,
    deadline: Instant,
) -> Result<StreamOwned<ClientConnection, TcpStream>, Error> {
    let mut conn = ClientConnection::new(config, server_name(url)?)
        .map_err(|e| Error::new(ErrorKind::Tls, format!("{url}: TLS could not start: {e}")))?;
    while conn.is_handshaking() {
        let left = crate::remaining(deadline, url)?;
        let _ = tcp.set_read_timeout(Some(left));
        let _ = tcp.set_write_timeout(Some(left));
        if let Err(e) = conn.complete_io(&mut tcp) {
            if crate::is_timeout(&e) {
                return Err(Error::timeout(url, "in the TLS handshake"));
            }
            return Err(tls_error(url, e));
        }
    }
    Ok(StreamOwned::new(conn, tcp))
}

fn tls_error(url: &Url, e: std::io::Error) -> Error {
    let why = match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => {
            other.to_string()
        }
        Some(tls) => tls.to_string(),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection".to_owned()
        }
        None => e.to_string(),
    };
    Error::new(
        ErrorKind::Tls,
        format!("{url}: the TLS handshake failed, nothing was sent: {}", quote(&why)),
    )
    .with_source(e)
}

/// The pinned-fingerprint verifier: the leaf certificate's SHA-256 must be the pin; the
/// handshake signatures are still verified (the server must hold the certificate's key).
#[derive(Debug)]
struct Pinned {
    pin: Pin,
    provider: Arc<CryptoProvider>,
}

/// Why a pinned certificate was refused (shown to the user).
#[derive(Debug)]
struct PinMismatch {
    seen: Pin,
    expected: Pin,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's certificate has the SHA-256 fingerprint {}, not the pinned {}; if the \
             server's certificate was replaced, check the new one with the server's own \
             administrator and pin it with `jimsctl remote set`",
            self.seen, self.expected
        )
    }
}

impl std::error::Error for PinMismatch {}

fn signature_tls12(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

fn signature_tls13(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = Pin::of(end_entity);
        if seen == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
                rustls::OtherError(Arc::new(PinMismatch { seen, expected: self.pin })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signature_tls12(&self.provider, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signature_tls13(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A verifier that trusts nothing: it keeps the leaf certificate and refuses it, so the
/// handshake stops there and nothing is ever sent.
#[derive(Debug)]
struct Capture {
    seen: Mutex<Option<Vec<u8>>>,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug)]
struct Captured;

impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("certificate captured, not trusted")
    }
}

impl std::error::Error for Captured {}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.as_ref().to_vec());
        }
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
            Arc::new(Captured),
        ))))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signature_tls12(&self.provider, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signature_tls13(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The handshake of [`crate::fingerprint`]: stops at the certificate and describes it.
pub(crate) fn capture_certificate(
    url: &Url,
    tcp: TcpStream,
    deadline: Instant,
) -> Result<CertInfo, Error> {
    let provider = provider();
    let capture = Arc::new(Capture { seen: Mutex::new(None), provider: provider.clone() });
    let config = config_with(provider, capture.clone())?;
    let result = handshake(config, url, tcp, deadline);
    let seen = capture.seen.lock().ok().and_then(|mut s| s.take());
    match (seen, result) {
        (Some(der), _) => describe(url, &der),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => {
            Err(Error::new(ErrorKind::Tls, format!("{url}: the server showed no certificate")))
        }
    }
}

fn describe(url: &Url, der: &[u8]) -> Result<CertInfo, Error> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| {
        Error::new(ErrorKind::Tls, format!("{url}: the server's certificate does not parse: {e}"))
    })?;
    let time = |t: &x509_parser::time::ASN1Time| {
        let d = t.to_datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => names.push(quote(n)),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => names.push(
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap_or_default())
                            .to_string(),
                    ),
                    16 => names.push(
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap_or_default())
                            .to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        sha256: Pin::of(der),
        subject: quote(&cert.subject().to_string()),
        issuer: quote(&cert.issuer().to_string()),
        not_before: time(&cert.validity().not_before),
        not_after: time(&cert.validity().not_after),
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_or_without_colons_and_print_as_openssl_does() {
        let hexes = "ab".repeat(32);
        let a = Pin::parse(&hexes).unwrap();
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(Pin::parse(&colons).unwrap(), a);
        assert_eq!(Pin::parse(&format!("sha256 Fingerprint={colons}")).unwrap(), a);
        assert_eq!(a.to_string(), colons);
        for bad in ["", "ab", &"ab".repeat(31), &"zz".repeat(32), &"ab".repeat(33)] {
            assert_eq!(Pin::parse(bad).unwrap_err().kind(), ErrorKind::Pin);
        }
    }
}
