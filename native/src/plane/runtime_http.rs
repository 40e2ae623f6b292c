//! The Runtime API over HTTP/1.1 as the native plane speaks it to a lent runtime (Go's, Java's,
//! a custom runtime's; `lamina/runtime/http11.py` and `api.py` serve it in Python; pure).
//!
//! A lent runtime waits on `GET /2018-06-01/runtime/invocation/next` (already read). The plane
//! answers it with the event (`event`: the 200 Python writes), reads the runtime's
//! `POST .../invocation/<id>/response` or `/error` (`parse`), answers `ACCEPTED` (Python's 202) and
//! reads its next `GET .../next`. Requests are read into the same `Frame`s as the framed encoding,
//! more strictly than Python reads them: CRLF lines of visible ASCII (and spaces, tabs), HTTP/1.1,
//! every header at most once, a decimal Content-Length within the response limit (absent: no
//! body) or a chunked body (as Go's net/http sends aws-lambda-go's results) without chunk
//! extensions or trailers, Connection absent or `keep-alive`, Expect absent or `100-continue`, no
//! query, and a `next` without a body. Anything else (an init error, another path, an oversized
//! body, a head over `MAX_HEAD`) is `Other`: the plane leaves it unread and gives the environment
//! back to Python, which answers it as it always has.

use super::frames::Frame;

pub const MAX_HEAD: usize = 8192;
const MAX_HEADERS: usize = 64;
const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";

/// Python's answer to a result (`respond_json(202, {"status": "OK"})`).
pub const ACCEPTED: &[u8] =
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\": \"OK\"}";
/// Python's interim answer to a head with `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The first request of `buf` (see the module); `Frame::Continue`: a result's head that expects
/// `100 Continue` before its body, which has not all arrived.
pub fn parse(buf: &[u8], max_payload: usize) -> Frame {
    let seen = &buf[..buf.len().min(MAX_HEAD)];
    if odd(seen) {
        return Frame::Other;
    }
    let end = match seen.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => at + 4,
        None if buf.len() >= MAX_HEAD => return Frame::Other,
        None => return Frame::NeedMore,
    };
    let head = &buf[..end];
    for (i, &b) in head.iter().enumerate() {
        let bare_lf = b == b'\n' && (i == 0 || head[i - 1] != b'\r');
        if bare_lf || (b == b'\r' && head.get(i + 1) != Some(&b'\n')) {
            return Frame::Other;
        }
    }
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut storage);
    match request.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == end => {}
        _ => return Frame::Other,
    }
    if request.version != Some(1) {
        return Frame::Other;
    }
    let mut headers: Vec<(String, &str)> = Vec::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        let Ok(value) = std::str::from_utf8(header.value) else { return Frame::Other };
        if name.is_empty() || headers.iter().any(|(n, _)| *n == name) {
            return Frame::Other;
        }
        headers.push((name, value.trim_matches([' ', '\t'])));
    }
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    let chunked = match get("transfer-encoding").map(str::to_ascii_lowercase).as_deref() {
        None => false,
        Some("chunked") if get("content-length").is_none() => true,
        Some(_) => return Frame::Other,
    };
    if !matches!(get("connection").map(str::to_ascii_lowercase).as_deref(), None | Some("keep-alive")) {
        return Frame::Other;
    }
    let expects = match get("expect").map(str::to_ascii_lowercase).as_deref() {
        None => false,
        Some("100-continue") => true,
        Some(_) => return Frame::Other,
    };
    let length = match get("content-length") {
        None => 0,
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => match v.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return Frame::Other,
        },
        Some(_) => return Frame::Other,
    };
    let (Some(method), Some(path)) = (request.method, request.path) else { return Frame::Other };
    match method {
        "GET" if path == NEXT_PATH && length == 0 && !chunked && !expects => Frame::Next { used: end },
        "POST" => {
            let Some((request_id, kind)) = path.strip_prefix(INVOCATION).and_then(|rest| rest.split_once('/')) else {
                return Frame::Other;
            };
            if request_id.is_empty() || path.contains('?') || length > max_payload {
                return Frame::Other;
            }
            let error = match kind {
                "response" => None,
                "error" => Some(get(ERROR_TYPE).unwrap_or("").to_owned()),
                _ => return Frame::Other,
            };
            let body = if chunked { dechunk(&buf[end..], max_payload) } else { sized(&buf[end..], length) };
            match body {
                Body::Whole { used, body } => Frame::Result { used: end + used, request_id: request_id.to_owned(), error, body },
                // Chunks' lines around tiny chunks: buffered no further than Python buffers them.
                Body::NeedMore if buf.len() - end > max_payload + MAX_HEAD => Frame::Other,
                Body::NeedMore if expects => Frame::Continue,
                Body::NeedMore => Frame::NeedMore,
                Body::Other => Frame::Other,
            }
        }
        _ => Frame::Other,
    }
}

enum Body {
    Whole { used: usize, body: Vec<u8> },
    NeedMore,
    Other,
}

fn sized(buf: &[u8], length: usize) -> Body {
    match buf.get(..length) {
        Some(body) => Body::Whole { used: length, body: body.to_vec() },
        None => Body::NeedMore,
    }
}

/// A chunked body at the start of `buf`: chunk sizes in hex digits only (no extensions), no
/// trailers (Python's to read), at most `max_payload` bytes of data. Until it is whole, only its
/// chunks' lines are read (the data is copied once).
fn dechunk(buf: &[u8], max_payload: usize) -> Body {
    let mut chunks = Vec::new();
    let mut total = 0usize;
    let mut pos = 0;
    loop {
        let rest = &buf[pos..];
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            let partial = rest.len() <= 8 && rest.iter().all(|b| b.is_ascii_hexdigit() || *b == b'\r');
            return if partial { Body::NeedMore } else { Body::Other };
        };
        let line = &rest[..eol];
        if line.is_empty() || line.len() > 8 || !line.iter().all(u8::is_ascii_hexdigit) {
            return Body::Other;
        }
        let Ok(size) = usize::from_str_radix(std::str::from_utf8(line).unwrap_or("x"), 16) else { return Body::Other };
        pos += eol + 2;
        if size == 0 {
            return match buf.get(pos..pos + 2) {
                Some(b"\r\n") => {
                    let mut body = Vec::with_capacity(total);
                    for (at, size) in chunks {
                        body.extend_from_slice(&buf[at..at + size]);
                    }
                    Body::Whole { used: pos + 2, body }
                }
                None if buf.len() == pos || buf[pos..] == *b"\r" => Body::NeedMore,
                _ => Body::Other,
            };
        }
        total += size;
        if total > max_payload {
            return Body::Other;
        }
        match buf.get(pos + size..pos + size + 2) {
            Some(b"\r\n") => {}
            Some(_) => return Body::Other,
            None => return Body::NeedMore,
        }
        chunks.push((pos, size));
        pos += size + 2;
    }
}

/// Bytes Python's reader might read otherwise: controls but tab, CR and LF; DEL; non-ASCII.
fn odd(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| (b < 0x20 && b != b'\t' && b != b'\r' && b != b'\n') || b >= 0x7f)
}

/// The answer to `next` with an event, as Python writes it (runtime/api.py's `_send_next` through
/// http11.py's `_write`); `client_context`: the decoded context, as Python encodes it (`latin1`).
pub fn event(request_id: &str, deadline_ms: u64, function_arn: &str, trace_id: &str, client_context: Option<&[u8]>,
             payload: &[u8]) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
         Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\nLambda-Runtime-Invoked-Function-Arn: {function_arn}\r\n\
         Lambda-Runtime-Trace-Id: {trace_id}\r\n"
    );
    let mut out = Vec::with_capacity(head.len() + payload.len() + 128);
    out.extend_from_slice(head.as_bytes());
    if let Some(context) = client_context {
        out.extend_from_slice(b"Lambda-Runtime-Client-Context: ");
        out.extend_from_slice(context);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str, extra: &str, body: &str) -> String {
        format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n{extra}Content-Length: {}\r\n\r\n{body}", body.len())
    }

    const NEXT: &str = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: Go\r\n\r\n";

    #[test]
    fn reads_results_and_next() {
        let buf = post("/2018-06-01/runtime/invocation/id-1/response", "", "{\"a\":1}") + NEXT;
        let Frame::Result { used, request_id, error, body } = parse(buf.as_bytes(), 100) else { panic!() };
        assert_eq!((request_id.as_str(), error, body.as_slice()), ("id-1", None, b"{\"a\":1}".as_slice()));
        assert_eq!(parse(&buf.as_bytes()[used..], 100), Frame::Next { used: NEXT.len() });
        let buf = post("/2018-06-01/runtime/invocation/id/error", "Lambda-Runtime-Function-Error-Type: My.Error\r\n", "{}");
        assert!(matches!(parse(buf.as_bytes(), 100), Frame::Result { error: Some(e), .. } if e == "My.Error"));
        let buf = post("/2018-06-01/runtime/invocation/id/error", "", "{}");
        assert!(matches!(parse(buf.as_bytes(), 100), Frame::Result { error: Some(e), .. } if e.is_empty()));
        let bare = "POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\n\r\n";
        assert_eq!(parse(bare.as_bytes(), 100), Frame::Result { used: bare.len(), request_id: "id".into(), error: None,
                                                                  body: vec![] });
    }

    // As Go's net/http sends a body of unknown length (aws-lambda-go's results), trailers declared.
    const CHUNKED: &str = "POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: h\r\n\
                           User-Agent: aws-lambda-go/go1.24\r\nTransfer-Encoding: chunked\r\n\
                           Trailer: Lambda-Runtime-Function-Error-Body, Lambda-Runtime-Function-Error-Type\r\n\
                           Content-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n\
                           6\r\n{\"a\":1\r\n1\r\n}\r\n0\r\n\r\n";

    #[test]
    fn reads_chunked_results() {
        let buf = format!("{CHUNKED}{NEXT}");
        let Frame::Result { used, body, .. } = parse(buf.as_bytes(), 100) else { panic!() };
        assert_eq!((used, body.as_slice()), (CHUNKED.len(), b"{\"a\":1}".as_slice()));
        for cut in 0..CHUNKED.len() {
            assert_eq!(parse(&CHUNKED.as_bytes()[..cut], 100), Frame::NeedMore, "{cut}");
        }
        let head = &CHUNKED[..CHUNKED.find("\r\n\r\n").unwrap() + 4];
        for bad in ["6;x=y\r\n{\"a\":1\r\n0\r\n\r\n", "6\r\n{\"a\":1}\r\n0\r\n\r\n", "-1\r\n", "123456789\r\n", "zz\r\n",
                    "0\r\nX-Trailer: y\r\n\r\n", "65\r\n"] {
            let buf = format!("{head}{bad}");
            assert_eq!(parse(buf.as_bytes(), 100), Frame::Other, "{bad:?}");
        }
        let over = format!("{head}40\r\n{x}\r\n40\r\n{x}\r\n", x = "x".repeat(64));
        assert_eq!(parse(over.as_bytes(), 100), Frame::Other);
        let tiny = format!("{head}{}", "1\r\nx\r\n".repeat(20));
        assert_eq!(parse(tiny.as_bytes(), 100), Frame::NeedMore);
        // 720 bytes of data within 1,000 allowed, in 9,360 bytes: more than Python buffers.
        let tiny = format!("{head}{}", "00000001\r\nx\r\n".repeat(720));
        assert_eq!(parse(tiny.as_bytes(), 1000), Frame::Other);
        assert_eq!(parse(&tiny.as_bytes()[..head.len() + 13 * 600], 1000), Frame::NeedMore);
    }

    #[test]
    fn waits_for_the_rest() {
        let buf = post("/2018-06-01/runtime/invocation/id/response", "", "{}");
        for cut in 0..buf.len() {
            assert_eq!(parse(&buf.as_bytes()[..cut], 100), Frame::NeedMore, "{cut}");
        }
        let buf = post("/2018-06-01/runtime/invocation/id/response", "Expect: 100-continue\r\n", "{}");
        let head = buf.len() - 2;
        assert_eq!(parse(&buf.as_bytes()[..head], 100), Frame::Continue);
        assert!(matches!(parse(buf.as_bytes(), 100), Frame::Result { .. }));
    }

    #[test]
    fn leaves_the_rest_to_python() {
        let response = "/2018-06-01/runtime/invocation/id/response";
        for buf in [
            post("/2018-06-01/runtime/init/error", "", "{}"),
            post("/2018-06-01/runtime/invocation/id/other", "", "{}"),
            post("/2018-06-01/runtime/invocation//response", "", "{}"),
            post("/2018-06-01/runtime/invocation/id/response?x=1", "", "{}"),
            post("/2020-01-01/extension/register", "", "{}"),
            post(response, "", &"x".repeat(101)),
            post(response, "Transfer-Encoding: gzip\r\n", ""),
            post(response, "Transfer-Encoding: chunked\r\n", ""),
            post(response, "Connection: close\r\n", "{}"),
            post(response, "Expect: something\r\n", "{}"),
            post(response, "Content-Length: 2\r\n", "{}"),
            post(response, "X: caf\u{e9}\r\n", "{}"),
            post(response, "X: \x01\r\n", "{}"),
            format!("POST {response} HTTP/1.1\r\nContent-Length: +2\r\n\r\n{{}}"),
            format!("POST {response} HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"),
            format!("POST {response} HTTP/1.0\r\nContent-Length: 2\r\n\r\n{{}}"),
            format!("POST {response} HTTP/1.1\nContent-Length: 2\r\n\r\n{{}}"),
            format!("POST {response} HTTP/1.1\r\nX: a\r\n folded\r\n\r\n"),
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}".into(),
            "GET /2018-06-01/runtime/invocation/next?x HTTP/1.1\r\n\r\n".into(),
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nConnection: close\r\n\r\n".into(),
            "PUT /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n".into(),
            "\x16\x03\x01garbage".into(),
            "garbage\r\n\r\n".into(),
        ] {
            assert_eq!(parse(buf.as_bytes(), 100), Frame::Other, "{buf:?}");
        }
        let long = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse(long.as_bytes(), 100), Frame::Other);
        assert_eq!(parse("x".repeat(MAX_HEAD).as_bytes(), 100), Frame::Other);
        let many: String = (0..=MAX_HEADERS).map(|n| format!("X{n}: y\r\n")).collect();
        let next = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse(next.as_bytes(), 100), Frame::Other);
    }

    #[test]
    fn writes_events_as_python() {
        let e = event("id", 5, "arn", "Root=1", Some(b"{\"c\":1}"), b"{}");
        assert_eq!(String::from_utf8(e).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: id\r\n\
             Lambda-Runtime-Deadline-Ms: 5\r\nLambda-Runtime-Invoked-Function-Arn: arn\r\nLambda-Runtime-Trace-Id: Root=1\r\n\
             Lambda-Runtime-Client-Context: {\"c\":1}\r\nContent-Length: 2\r\n\r\n{}");
        let e = event("id", 5, "arn", "Root=1", None, b"");
        assert!(String::from_utf8(e).unwrap().ends_with("Root=1\r\nContent-Length: 0\r\n\r\n"));
    }
}
