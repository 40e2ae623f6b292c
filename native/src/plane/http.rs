//! Which request heads the native plane serves, and its answers as bytes (pure).
//!
//! A head is an `Invoke` only when it is plainly a synchronous Invoke of a function by its plain
//! name, read more strictly than Lamina's Python front door reads one (`dataplane/head.py`):
//!
//! ```text
//! POST /2015-03-31/functions/<name>/invocations[?Qualifier=<q>] HTTP/1.1
//! ```
//!
//! CRLF line ends, visible ASCII (and spaces, tabs) only, every header at most once, one Host
//! (no function URL's or execute-api address), a decimal Content-Length within the synchronous
//! payload limit (absent: no body), no Transfer-Encoding, Expect, Upgrade or Content-Encoding,
//! Connection absent, `keep-alive` or `close`, X-Amz-Invocation-Type absent or `RequestResponse`,
//! X-Amz-Log-Type absent or `None`. Anything else is `Other`: the connection goes to Python,
//! which reads it as it always has. Every `Invoke` is one Python's `head.route` reads as a
//! `FastInvoke` too, so a miss can always be answered by the Python front door's own code.

pub const MAX_HEAD: usize = 8192;
const MAX_HEADERS: usize = 128;
const PREFIX: &str = "/2015-03-31/functions/";
const SUFFIX: &str = "/invocations";

/// A plain synchronous Invoke, as read from its head.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoke {
    pub head_len: usize,
    pub content_length: usize,
    pub function: String,
    pub qualifier: Option<String>,
    pub close: bool,
    /// As sent, without the query.
    pub path: String,
    /// As sent, without the "?".
    pub query: String,
    /// Every header: lower-case name, value without surrounding spaces.
    pub headers: Vec<(String, String)>,
}

impl Invoke {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, PartialEq)]
pub enum Head {
    NeedMore,
    Invoke(Invoke),
    Other,
}

/// What `buf`'s first request is (see the module).
pub fn parse(buf: &[u8], payload_limit: usize) -> Head {
    // What can be no plain Invoke is Python's at once (a TLS handshake, another method, odd bytes).
    const START: &[u8] = b"POST /2015-03-31/functions/";
    let seen = buf.len().min(START.len());
    if buf[..seen] != START[..seen] || odd(&buf[..buf.len().min(MAX_HEAD)]) {
        return Head::Other;
    }
    let end = match find_end(buf) {
        Some(end) => end,
        None if buf.len() >= MAX_HEAD => return Head::Other,
        None => return Head::NeedMore,
    };
    if end > MAX_HEAD {
        return Head::Other;
    }
    let head = &buf[..end];
    // Every line ends with CRLF: no bare LF, no bare CR.
    for (i, &b) in head.iter().enumerate() {
        if b == b'\n' && (i == 0 || head[i - 1] != b'\r') {
            return Head::Other;
        }
        if b == b'\r' && head.get(i + 1) != Some(&b'\n') {
            return Head::Other;
        }
    }
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut storage);
    match request.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == end => {}
        _ => return Head::Other,
    }
    if request.method != Some("POST") || request.version != Some(1) {
        return Head::Other;
    }
    let target = match request.path {
        Some(target) => target,
        None => return Head::Other,
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    };
    let function = match path.strip_prefix(PREFIX).and_then(|rest| rest.strip_suffix(SUFFIX)) {
        Some(name) if plain_name(name) => name,
        _ => return Head::Other,
    };
    let qualifier = if query.is_empty() && !target.contains('?') {
        None
    } else {
        match query.strip_prefix("Qualifier=").and_then(qualifier_of) {
            Some(q) => Some(q),
            None => return Head::Other,
        }
    };
    let mut headers: Vec<(String, String)> = Vec::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        let value = match std::str::from_utf8(header.value) {
            Ok(v) => v.trim_matches([' ', '\t']).to_owned(),
            Err(_) => return Head::Other,
        };
        if name.is_empty() || headers.iter().any(|(n, _)| *n == name) {
            return Head::Other; // a header sent twice: Python's to read
        }
        headers.push((name, value));
    }
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    for refused in ["transfer-encoding", "expect", "upgrade", "content-encoding"] {
        if get(refused).is_some() {
            return Head::Other;
        }
    }
    match get("host") {
        Some(host) if !host.is_empty() && !host.contains("lambda-url") && !host.contains("execute-api") => {}
        _ => return Head::Other,
    }
    let close = match get("connection").map(str::to_ascii_lowercase).as_deref() {
        None | Some("keep-alive") => false,
        Some("close") => true,
        Some(_) => return Head::Other,
    };
    let content_length = match get("content-length") {
        None => 0,
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            match v.parse::<usize>() {
                Ok(n) if n <= payload_limit => n,
                _ => return Head::Other,
            }
        }
        Some(_) => return Head::Other,
    };
    match get("x-amz-invocation-type") {
        None | Some("RequestResponse") => {}
        Some(_) => return Head::Other,
    }
    match get("x-amz-log-type") {
        None | Some("None") => {}
        Some(_) => return Head::Other,
    }
    Head::Invoke(Invoke {
        head_len: end,
        content_length,
        function: function.to_owned(),
        qualifier,
        close,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
    })
}

/// Bytes Python's reader might read otherwise: controls but tab, CR and LF; DEL; non-ASCII.
fn odd(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| (b < 0x20 && b != b'\t' && b != b'\r' && b != b'\n') || b >= 0x7f)
}

fn find_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// A function's plain name (no ARN, no escapes), as Lambda's names are.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A qualifier as sent (`$` escaped as `%24`, as botocore sends it, or not), decoded; None: not one
/// read here.
fn qualifier_of(raw: &str) -> Option<String> {
    let decoded = raw.replace("%24", "$");
    let ok = !decoded.is_empty()
        && decoded.len() <= 128
        && decoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$');
    ok.then_some(decoded)
}

/// An Invoke's answer, exactly as the Python front door writes it (`dataplane/wire.py`'s
/// `response` with `api/invoke.py`'s `result_headers`).
pub fn answer(request_id: &str, version: &str, function_error: bool, body: &[u8], date: &str, server: &str,
              close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nx-amzn-RequestId: ");
    out.extend_from_slice(request_id.as_bytes());
    out.extend_from_slice(b"\r\nX-Amz-Executed-Version: ");
    out.extend_from_slice(version.as_bytes());
    if function_error {
        out.extend_from_slice(b"\r\nX-Amz-Function-Error: Unhandled");
    }
    out.extend_from_slice(b"\r\nContent-Type: application/json\r\nContent-Length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    out.extend_from_slice(date.as_bytes());
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(server.as_bytes());
    out.extend_from_slice(if close { b"\r\nConnection: close\r\n\r\n".as_slice() } else { b"\r\n\r\n".as_slice() });
    out.extend_from_slice(body);
    out
}

/// An HTTP date (RFC 7231's IMF-fixdate) for `secs` since the epoch, as Python's
/// `email.utils.formatdate(usegmt=True)` writes it.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs / 86400;
    let rem = secs % 86400;
    let (y, m, d) = civil(days as i64);
    format!("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", DAYS[(days % 7) as usize], d, MONTHS[(m - 1) as usize], y,
            rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 as (year, month, day) (Howard Hinnant's algorithm).
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 6 * 1024 * 1024;

    fn invoke(head: &str) -> Invoke {
        match parse(head.as_bytes(), LIMIT) {
            Head::Invoke(inv) => inv,
            other => panic!("not an invoke: {other:?}"),
        }
    }

    #[test]
    fn reads_a_plain_invoke() {
        let inv = invoke("POST /2015-03-31/functions/fn-1/invocations?Qualifier=%24LATEST HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}");
        assert_eq!(inv.function, "fn-1");
        assert_eq!(inv.qualifier.as_deref(), Some("$LATEST"));
        assert_eq!(inv.content_length, 2);
        assert_eq!(inv.path, "/2015-03-31/functions/fn-1/invocations");
        assert_eq!(inv.query, "Qualifier=%24LATEST");
        assert!(!inv.close);
        let inv = invoke("POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assert_eq!((inv.qualifier, inv.content_length, inv.close), (None, 0, true));
    }

    #[test]
    fn waits_for_the_head() {
        assert_eq!(parse(b"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\n", LIMIT), Head::NeedMore);
        assert_eq!(parse(b"PO", LIMIT), Head::NeedMore);
        assert_eq!(parse(b"", LIMIT), Head::NeedMore);
    }

    #[test]
    fn gives_up_as_soon_as_it_can_be_no_invoke() {
        assert_eq!(parse(b"GET", LIMIT), Head::Other);
        assert_eq!(parse(b"\x16\x03\x01", LIMIT), Head::Other);
        assert_eq!(parse(b"POST /2015-03-31/functions/f\xff", LIMIT), Head::Other);
    }

    #[test]
    fn leaves_everything_else_to_python() {
        for head in [
            "GET /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.0\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/arn%3Aaws/invocations HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/a:b/invocations HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations?Qualifier= HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations? HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x.lambda-url.us-east-1.on.aws\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nContent-Length: 6291457\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nX-Amz-Invocation-Type: Event\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nX-Amz-Log-Type: Tail\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\nHost: h\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nX: \x01\r\n\r\n",
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nX: caf\u{e9}\r\n\r\n",
        ] {
            assert_eq!(parse(head.as_bytes(), LIMIT), Head::Other, "{head:?}");
        }
        let long = format!("POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse(long.as_bytes(), LIMIT), Head::Other);
        assert_eq!(parse("x".repeat(MAX_HEAD).as_bytes(), LIMIT), Head::Other);
    }

    #[test]
    fn answers_as_the_python_front_door() {
        let bytes = answer("id", "$LATEST", true, b"{}", "Mon, 07 Dec 2026 15:50:50 GMT", "S", true);
        assert_eq!(String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 200 OK\r\nx-amzn-RequestId: id\r\nX-Amz-Executed-Version: $LATEST\r\nX-Amz-Function-Error: Unhandled\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nDate: Mon, 07 Dec 2026 15:50:50 GMT\r\nServer: S\r\n\
             Connection: close\r\n\r\n{}");
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1796658650), "Mon, 07 Dec 2026 15:50:50 GMT");
        assert_eq!(http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
