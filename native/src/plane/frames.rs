//! The framed Runtime API as the native plane speaks it (`lamina/runtime/frames.py`; pure).
//!
//! `length (4 bytes, big-endian) | kind (1 byte) | body`. The plane writes `E` events and reads
//! `N` (next), `R` (`<request-id>\n<payload>`) and `X` (`<request-id>\n<error-type>\n<document>`).
//! Anything else (an init error, an unknown kind, a malformed or oversized frame) is `Other`: the
//! plane leaves it unread and gives the environment back to Python, which reads it as it always has.

pub const NEXT: u8 = b'N';
pub const RESPONSE: u8 = b'R';
pub const ERROR: u8 = b'X';
pub const EVENT: u8 = b'E';

/// The start of a buffer, read as a frame.
#[derive(Debug, PartialEq)]
pub enum Frame {
    NeedMore,
    /// `used` bytes: an `N` frame.
    Next { used: usize },
    /// `used` bytes: an `R` or `X` frame for `request_id`, with its payload; `error`: `X`'s type
    /// (possibly empty).
    Result { used: usize, request_id: String, error: Option<String>, body: Vec<u8> },
    /// A result's head that waits for `100 Continue` before its body (HTTP only: `runtime_http.rs`).
    Continue,
    /// Not one the plane reads (see the module).
    Other,
}

/// The first frame of `buf`; a result whose payload is over `max_payload` is `Other`.
pub fn parse(buf: &[u8], max_payload: usize) -> Frame {
    if buf.len() < 5 {
        return Frame::NeedMore;
    }
    let length = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let kind = buf[4];
    if length == 0 {
        return Frame::Other;
    }
    let size = length - 1;
    match kind {
        NEXT if size == 0 => Frame::Next { used: 5 },
        RESPONSE | ERROR => {
            // The request id (36 bytes) and an error type fit in a few hundred bytes.
            if size > max_payload + 1024 {
                return Frame::Other;
            }
            if buf.len() < 5 + size {
                return Frame::NeedMore;
            }
            let body = &buf[5..5 + size];
            let Some(newline) = body.iter().position(|&b| b == b'\n') else { return Frame::Other };
            let Ok(request_id) = std::str::from_utf8(&body[..newline]) else { return Frame::Other };
            let mut start = newline + 1;
            let mut error = None;
            if kind == ERROR {
                let Some(end) = body[start..].iter().position(|&b| b == b'\n') else { return Frame::Other };
                let Ok(error_type) = std::str::from_utf8(&body[start..start + end]) else { return Frame::Other };
                error = Some(error_type.to_owned());
                start += end + 1;
            }
            if size - start > max_payload {
                return Frame::Other;
            }
            Frame::Result { used: 5 + size, request_id: request_id.to_owned(), error, body: body[start..].to_vec() }
        }
        _ => Frame::Other,
    }
}

/// The `E` frame of an event, with the headers Python writes (runtime/api.py's `_send_next`);
/// `client_context`: the decoded context, as Python encodes it (latin-1).
pub fn event(request_id: &str, deadline_ms: u64, function_arn: &str, trace_id: &str, client_context: Option<&[u8]>,
             payload: &[u8]) -> Vec<u8> {
    let head = format!(
        "Content-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
         Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\nLambda-Runtime-Invoked-Function-Arn: {function_arn}\r\n\
         Lambda-Runtime-Trace-Id: {trace_id}\r\n"
    );
    let context = client_context.map_or(0, |c| c.len() + 33);
    let length = (1 + head.len() + context + 2 + payload.len()) as u32;
    let mut out = Vec::with_capacity(5 + length as usize);
    out.extend_from_slice(&length.to_be_bytes());
    out.push(EVENT);
    out.extend_from_slice(head.as_bytes());
    if let Some(context) = client_context {
        out.extend_from_slice(b"Lambda-Runtime-Client-Context: ");
        out.extend_from_slice(context);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
const NEXT_FRAME: [u8; 5] = [0, 0, 0, 1, NEXT];

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 1) as u32).to_be_bytes().to_vec();
        out.push(kind);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn reads_results_and_next() {
        let mut buf = frame(RESPONSE, b"id-1\n{\"a\":1}");
        buf.extend_from_slice(&NEXT_FRAME);
        match parse(&buf, 100) {
            Frame::Result { used, request_id, error, body } => {
                assert_eq!((request_id.as_str(), error, body.as_slice()), ("id-1", None, b"{\"a\":1}".as_slice()));
                assert_eq!(parse(&buf[used..], 100), Frame::Next { used: 5 });
            }
            other => panic!("{other:?}"),
        }
        let buf = frame(ERROR, b"id\nMy.Error\n{}");
        assert!(matches!(parse(&buf, 100), Frame::Result { error: Some(e), .. } if e == "My.Error"));
    }

    #[test]
    fn waits_for_the_rest() {
        let buf = frame(RESPONSE, b"id\n{}");
        for cut in 0..buf.len() {
            assert_eq!(parse(&buf[..cut], 100), Frame::NeedMore);
        }
    }

    #[test]
    fn leaves_the_rest_to_python() {
        assert_eq!(parse(&frame(b'I', b"T\n{}"), 100), Frame::Other);
        assert_eq!(parse(&frame(b'Z', b""), 100), Frame::Other);
        assert_eq!(parse(&[0, 0, 0, 0, 0], 100), Frame::Other);
        assert_eq!(parse(&frame(RESPONSE, b"no newline"), 100), Frame::Other);
        assert_eq!(parse(&frame(ERROR, b"id\nno type end"), 100), Frame::Other);
        assert_eq!(parse(&frame(RESPONSE, &[b"id\n".as_slice(), &[b'x'; 101]].concat()), 100), Frame::Other);
        assert_eq!(parse(&[0, 0, 0xff, 0xff, RESPONSE], 100), Frame::Other);
        assert_eq!(parse(&frame(NEXT, b"x"), 100), Frame::Other);
    }

    #[test]
    fn writes_events() {
        let e = event("id", 5, "arn", "Root=1", None, b"{}");
        let head = "Content-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: id\r\nLambda-Runtime-Deadline-Ms: 5\r\n\
                    Lambda-Runtime-Invoked-Function-Arn: arn\r\nLambda-Runtime-Trace-Id: Root=1\r\n\r\n{}";
        assert_eq!(&e[5..], head.as_bytes());
        assert_eq!(u32::from_be_bytes([e[0], e[1], e[2], e[3]]) as usize, head.len() + 1);
        assert_eq!(e[4], EVENT);
        let e = event("id", 5, "arn", "Root=1", Some(b"{\"c\":1}"), b"{}");
        let head = head.replace("\r\n\r\n", "\r\nLambda-Runtime-Client-Context: {\"c\":1}\r\n\r\n");
        assert_eq!(&e[5..], head.as_bytes());
        assert_eq!(u32::from_be_bytes([e[0], e[1], e[2], e[3]]) as usize, head.len() + 1);
    }
}
