//! A SigV4 signature recomputed over a request exactly as its client signed it, by AWS's
//! `aws-sigv4` crate (the canonical request, its percent-encoding and path normalization, the
//! string to sign and the HMAC chain are all the crate's).
//!
//! The caller (Lamina's `identity/sigv4.py`) has already parsed and checked the signature's parts
//! (key, scope, date, expiry, token, payload hash); this computes the signature the key's secret
//! makes over the request and the headers the client named in SignedHeaders. It declines (None)
//! any request it cannot read exactly as sent (a target `http::Uri` would read otherwise, a header
//! value that is not visible ASCII), whose query or path the crate canonicalizes otherwise than
//! awscrt (a raw `+`, a bad escape, escaped bytes that are not UTF-8; a trailing dot segment), or
//! whose signed headers the crate would not sign as the client did or awscrt would not sign (no
//! X-Amz-Date or session token among them): the caller then recomputes it with awscrt, so
//! declining is never a verdict and both ways decide every request alike.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningParams, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
const HOST: &str = "host";
// Any host: the canonical request's Host is the request's own header (always signed).
const ORIGIN: &str = "http://lamina";

/// The request as it arrived.
pub struct Request<'a> {
    pub method: &'a str,
    /// As sent (percent-encoded), without the query.
    pub path: &'a str,
    /// As sent, without the "?"; a presigned URL's without its signature's own parameters
    /// (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature,
    /// -Security-Token), which the signer adds back as it signs.
    pub query: &'a str,
    /// The headers the client signed, by lower-case name, repeats joined with commas.
    pub headers: &'a [(&'a str, &'a str)],
}

/// What the client signed with and for.
pub struct Scope<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// The session token the request carries (None: none), signed or not.
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
    /// X-Amz-Date, in seconds since the epoch.
    pub time: u64,
}

/// Where the signature is: the Authorization header, or a presigned URL's query.
#[derive(Clone, Copy)]
pub enum Form {
    Headers,
    Query { expires: u64 },
}

/// The hex signature `scope`'s secret makes over `request`, signing exactly the headers named in
/// `signed` (SignedHeaders as sent: `;`-separated, sorted, lower case); `payload`: the canonical
/// request's payload line (the body's SHA-256, or one of S3's special values); `s3`: S3's URI
/// rules (no double encoding, no path normalization). None: declined (see the module's doc).
pub fn signature(request: &Request<'_>, scope: &Scope<'_>, form: Form, payload: &str, s3: bool,
                 signed: &str) -> Option<String> {
    if !readable(request.path, request.query) {
        return None;
    }
    // A path ending in a dot segment: the crate normalizes "/a/." to "/a/" (RFC 3986), where
    // awscrt and botocore make "/a"; the SDKs' form is awscrt's to compute.
    if !s3 && (request.path.ends_with("/.") || request.path.ends_with("/..")) {
        return None;
    }
    let names: Vec<&str> = signed.split(';').collect();
    let is_signed = |name: &str| names.contains(&name);
    // The Authorization header cannot cover itself; in a presigned URL, what the header form's
    // signer adds is awscrt's to read (it never comes from SDKs).
    let added = |name: &str| [X_AMZ_DATE, X_AMZ_SECURITY_TOKEN, X_AMZ_CONTENT_SHA256].contains(&name);
    if !is_signed(HOST)
        || is_signed("authorization")
        || (matches!(form, Form::Query { .. }) && names.iter().any(|name| added(name)))
    {
        return None;
    }
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    settings.percent_encoding_mode = if s3 { PercentEncodingMode::Single } else { PercentEncodingMode::Double };
    settings.uri_path_normalization_mode =
        if s3 { UriPathNormalizationMode::Disabled } else { UriPathNormalizationMode::Enabled };
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(request.headers.len());
    match form {
        Form::Headers => {
            settings.signature_location = SignatureLocation::Headers;
            // The signer adds X-Amz-Date, the session token and X-Amz-Content-SHA256 itself.
            for &(name, value) in request.headers {
                match name {
                    X_AMZ_DATE | X_AMZ_SECURITY_TOKEN => {}
                    X_AMZ_CONTENT_SHA256 if value.trim() != payload => return None,
                    X_AMZ_CONTENT_SHA256 => {}
                    _ => headers.push((name, value)),
                }
            }
            // awscrt always signs X-Amz-Date and a session token: a client that did not is awscrt's
            // to refuse, so that both ways decide every request alike.
            if !is_signed(X_AMZ_DATE) || is_signed(X_AMZ_SECURITY_TOKEN) != scope.session_token.is_some() {
                return None;
            }
            settings.session_token_mode = SessionTokenMode::Include;
            settings.payload_checksum_kind = if is_signed(X_AMZ_CONTENT_SHA256) {
                PayloadChecksumKind::XAmzSha256
            } else {
                PayloadChecksumKind::NoHeader
            };
        }
        Form::Query { expires } => {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(Duration::from_secs(expires));
            // A token the query carried is one of its parameters, signed as such.
            settings.session_token_mode = SessionTokenMode::Include;
            headers.extend(request.headers.iter().copied());
        }
    }
    let uri = if request.query.is_empty() {
        format!("{ORIGIN}{}", request.path)
    } else {
        format!("{ORIGIN}{}?{}", request.path, request.query)
    };
    let body = SignableBody::Precomputed(payload.to_owned());
    let signable = SignableRequest::new(request.method, uri, headers.into_iter(), body).ok()?;
    let identity: Identity = Credentials::new(
        scope.access_key_id,
        scope.secret_access_key,
        scope.session_token.map(str::to_owned),
        None,
        "lamina",
    )
    .into();
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(scope.time))
        .settings(settings)
        .build()
        .ok()?
        .into();
    let output = sign(signable, &params).ok()?;
    // The headers it signed must be the client's: one the crate adds or skips is another request.
    let made = match form {
        Form::Headers => output
            .output()
            .headers()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.split("SignedHeaders=").nth(1)?.split(',').next())?,
        Form::Query { .. } => output
            .output()
            .params()
            .iter()
            .find(|(name, _)| *name == "X-Amz-SignedHeaders")
            .map(|(_, value)| value.as_ref()),
    };
    if made != Some(signed) {
        return None;
    }
    Some(output.signature().to_owned())
}

/// Whether `http::Uri` (what the signer reads a target with) reads `path` and `query` back as sent,
/// and the query is one the crate canonicalizes as awscrt does: the crate decodes it as a form
/// (a `+` is a space, a bad escape is kept, bytes that are not UTF-8 are replaced) where awscrt
/// keeps `+`, refuses a bad escape and keeps the bytes.
fn readable(path: &str, query: &str) -> bool {
    if !path.starts_with('/') || path.contains(['?', '#']) || query.contains(['#', '+']) {
        return false;
    }
    if !escapes_utf8(query) {
        return false;
    }
    let target = if query.is_empty() { Cow::Borrowed(path) } else { Cow::Owned(format!("{path}?{query}")) };
    match target.parse::<http::Uri>() {
        Ok(uri) => uri.path() == path && uri.query().unwrap_or("") == query,
        Err(_) => false,
    }
}

/// Whether every `%` in `text` starts an escape of two hex digits, and what they escape is UTF-8.
fn escapes_utf8(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (Some(high), Some(low)) => decoded.push((high * 16 + low) as u8),
                _ => return false,
            }
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}
