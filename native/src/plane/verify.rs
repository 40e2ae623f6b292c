//! A plain Invoke's signature checked against a permit Python granted (pure but for the clock,
//! which is passed in).
//!
//! Python is the only authority: it verifies and authorizes an Invoke on the miss path and then
//! grants a `Permit` for that key and lane. This only accepts what matches the permit exactly;
//! everything else is a miss, which Python decides (and refuses with AWS's error). So it can only
//! ever be stricter than Python: the Authorization header in the form botocore writes, the
//! credential scope's day X-Amz-Date's, its region the permit's, its service `lambda`, X-Amz-Date
//! within five minutes of now, the session token the permit's (or none, both), SignedHeaders
//! naming host and X-Amz-Date (and the token, if any), every signed header present, an
//! X-Amz-Content-SHA256 (if sent) the body's hash, and the signature recomputed by `sigv4.rs`
//! equal to the one sent.

use sha2::{Digest, Sha256};

use super::http::Invoke;
use crate::sigv4;

const MAX_SKEW_S: u64 = 300;

/// What an Authorization header names.
#[derive(Debug, PartialEq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    pub day: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed: &'a str,
    pub signature: &'a str,
}

/// `AWS4-HMAC-SHA256 Credential=KEY/DAY/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=<hex>`.
pub fn authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 Credential=")?;
    let (credential, rest) = rest.split_once(", SignedHeaders=")?;
    let (signed, signature) = rest.split_once(", Signature=")?;
    let mut scope = credential.split('/');
    let (key, day, region, service) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    if scope.next() != Some("aws4_request") || scope.next().is_some() {
        return None;
    }
    let token_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    let fine = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric())
        && day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit())
        && !region.is_empty() && region.bytes().all(token_char)
        && signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && !signed.is_empty() && signed.split(';').all(|n| !n.is_empty() && n.bytes().all(token_char));
    fine.then_some(Authorization { access_key_id: key, day, region, service, signed, signature })
}

/// `20261207T155050Z` in seconds since the epoch.
pub fn amz_date(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = &text[range];
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok()).flatten()
    };
    let (y, m, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hh, mm, ss) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if super::http::civil(days) != (y, m, d) {
        return None; // the 31st of a shorter month, and the like
    }
    u64::try_from(days * 86400 + hh * 3600 + mm * 60 + ss).ok()
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The secret half of what a permit holds.
pub struct Key<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
    pub region: &'a str,
}

/// Whether `request` (with `body`) is signed by `key`, for its region and `lambda`, now (`now`:
/// seconds since the epoch). False is a miss, never a refusal.
pub fn signed_by(request: &Invoke, body: &[u8], key: &Key<'_>, now: u64) -> bool {
    let Some(auth) = request.header("authorization").and_then(authorization) else { return false };
    if auth.access_key_id != key.access_key_id || auth.region != key.region || auth.service != "lambda" {
        return false;
    }
    let Some(date) = request.header("x-amz-date") else { return false };
    let Some(signed_at) = amz_date(date) else { return false };
    if &date[..8] != auth.day || signed_at.abs_diff(now) >= MAX_SKEW_S {
        return false;
    }
    if request.header("x-amz-security-token") != key.token {
        return false;
    }
    let names: Vec<&str> = auth.signed.split(';').collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted != names || !names.contains(&"host") || !names.contains(&"x-amz-date")
        || names.contains(&"x-amz-security-token") != key.token.is_some()
    {
        return false;
    }
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(names.len());
    for name in &names {
        match request.header(name) {
            Some(value) => headers.push((name, value)),
            None => return false,
        }
    }
    let payload = hex(&Sha256::digest(body));
    if request.header("x-amz-content-sha256").is_some_and(|declared| declared != payload) {
        return false;
    }
    let signable = sigv4::Request { method: "POST", path: &request.path, query: &request.query, headers: &headers };
    let scope = sigv4::Scope {
        access_key_id: key.access_key_id,
        secret_access_key: key.secret,
        session_token: key.token,
        region: key.region,
        service: "lambda",
        time: signed_at,
    };
    match sigv4::signature(&signable, &scope, sigv4::Form::Headers, &payload, false, auth.signed) {
        Some(expected) => equal(expected.as_bytes(), auth.signature.as_bytes()),
        None => false,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// In time independent of where they differ.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_botocores_authorization() {
        let value = "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/lambda/aws4_request, \
                     SignedHeaders=host;x-amz-date, Signature=".to_owned() + &"a".repeat(64);
        let auth = authorization(&value).unwrap();
        assert_eq!((auth.access_key_id, auth.day, auth.region, auth.service, auth.signed),
                   ("AKID", "20261207", "us-east-1", "lambda", "host;x-amz-date"));
        for bad in [
            value.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256  "),
            value.replace("aws4_request", "aws4_request/x"),
            value.replace(&"a".repeat(64), &"A".repeat(64)),
            value.replace(&"a".repeat(64), &"a".repeat(63)),
            value.replace("20261207", "2026120"),
            value.replace("host;x-amz-date", "host;;x-amz-date"),
            value.replace("host;x-amz-date", "Host;x-amz-date"),
        ] {
            assert_eq!(authorization(&bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_dates() {
        assert_eq!(amz_date("19700101T000000Z"), Some(0));
        assert_eq!(amz_date("20261207T155050Z"), Some(1796658650));
        for bad in ["20261207T155050", "20261307T155050Z", "20260231T000000Z", "20261207T245050Z", "2026120xT155050Z",
                    "+0261207T155050Z"] {
            assert_eq!(amz_date(bad), None, "{bad}");
        }
    }

    fn request(auth: &str, date: &str, token: Option<&str>) -> Invoke {
        let mut headers = vec![("host".to_owned(), "localhost:9000".to_owned()),
                               ("x-amz-date".to_owned(), date.to_owned()),
                               ("authorization".to_owned(), auth.to_owned())];
        if let Some(token) = token {
            headers.push(("x-amz-security-token".to_owned(), token.to_owned()));
        }
        Invoke { head_len: 0, content_length: 2, function: "f".into(), qualifier: None, close: false,
                 path: "/2015-03-31/functions/f/invocations".into(), query: String::new(), headers }
    }

    fn signature(secret: &str, date: &str, token: Option<&str>, body: &[u8]) -> String {
        let inv = request("", date, token);
        let signed = if token.is_some() { "host;x-amz-date;x-amz-security-token" } else { "host;x-amz-date" };
        let headers: Vec<(&str, &str)> = signed.split(';').map(|n| (n, inv.header(n).unwrap())).collect();
        let signable = sigv4::Request { method: "POST", path: &inv.path, query: "", headers: &headers };
        let scope = sigv4::Scope { access_key_id: "AKID", secret_access_key: secret, session_token: token,
                                   region: "us-east-1", service: "lambda", time: amz_date(date).unwrap() };
        let sig = sigv4::signature(&signable, &scope, sigv4::Form::Headers, &hex(&Sha256::digest(body)), false, signed)
            .unwrap();
        format!("AWS4-HMAC-SHA256 Credential=AKID/{}/us-east-1/lambda/aws4_request, SignedHeaders={signed}, Signature={sig}",
                &date[..8])
    }

    #[test]
    fn accepts_only_an_exact_match() {
        let date = "20261207T155050Z";
        let now = amz_date(date).unwrap();
        let key = Key { access_key_id: "AKID", secret: "s3cret", token: None, region: "us-east-1" };
        let auth = signature("s3cret", date, None, b"{}");
        assert!(signed_by(&request(&auth, date, None), b"{}", &key, now));
        assert!(signed_by(&request(&auth, date, None), b"{}", &key, now + 299));
        assert!(!signed_by(&request(&auth, date, None), b"{}", &key, now + 300), "skewed");
        assert!(!signed_by(&request(&auth, date, None), b"{} ", &key, now), "another body");
        assert!(!signed_by(&request(&auth, date, Some("t")), b"{}", &key, now), "a token the key has not");
        let wrong = signature("other", date, None, b"{}");
        assert!(!signed_by(&request(&wrong, date, None), b"{}", &key, now), "another secret");
        let elsewhere = Key { region: "eu-west-1", ..key };
        assert!(!signed_by(&request(&auth, date, None), b"{}", &elsewhere, now), "another region");
        let s3 = auth.replace("/lambda/", "/s3/");
        assert!(!signed_by(&request(&s3, date, None), b"{}", &key, now), "another service");
        let tokened = Key { access_key_id: "AKID", secret: "s3cret", token: Some("tok"), region: "us-east-1" };
        let auth = signature("s3cret", date, Some("tok"), b"{}");
        assert!(signed_by(&request(&auth, date, Some("tok")), b"{}", &tokened, now));
        assert!(!signed_by(&request(&auth, date, Some("tok2")), b"{}", &tokened, now), "another token");
        assert!(!signed_by(&request(&auth, date, None), b"{}", &tokened, now), "no token");
    }
}
