//! An Invoke's `X-Amz-Client-Context`, read as Python's invoker reads it (`invoke/service.py`'s
//! `_client_context`), more strictly (pure).
//!
//! Python takes standard base64 (its alphabet and padding only) of at most
//! `CLIENT_CONTEXT_MAX_BYTES` bytes that is a JSON object, and hands the runtime the decoded text
//! (written as latin-1, a character past it as `?`). The plane takes only canonical base64 whose
//! decoded bytes are UTF-8 JSON (serde's reading) of an object, with no control character (which a
//! header line could not carry as it is); anything else, valid or not, is Python's to read and
//! answer (a miss), so every refusal stays Python's.

/// Python's `CLIENT_CONTEXT_MAX_BYTES`.
pub const MAX_BYTES: usize = 3583;

/// What the plane makes of a client context.
#[derive(Debug, PartialEq)]
pub enum Context {
    /// None sent (or empty, which Python reads as none).
    Absent,
    /// The context as the runtime is handed it: its header value's bytes.
    Passed(Vec<u8>),
    /// Python's to read (see the module).
    Python,
}

pub fn read(header: Option<&str>) -> Context {
    let Some(raw) = header.filter(|raw| !raw.is_empty()) else { return Context::Absent };
    let Some(decoded) = base64(raw.as_bytes()) else { return Context::Python };
    if decoded.len() > MAX_BYTES || decoded.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Context::Python;
    }
    let Ok(text) = std::str::from_utf8(&decoded) else { return Context::Python };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Context::Passed(latin1(text)),
        _ => Context::Python,
    }
}

/// `text` as Python's `str.encode("latin-1", "replace")` writes it.
fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
}

/// Standard base64 with its padding; None for anything else.
fn base64(raw: &[u8]) -> Option<Vec<u8>> {
    if !raw.len().is_multiple_of(4) {
        return None;
    }
    let value = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(raw.len() / 4 * 3);
    let last = raw.len() / 4;
    for (n, quad) in raw.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && n + 1 != last) {
            return None;
        }
        let mut bits = 0u32;
        for &b in &quad[..4 - pad] {
            bits = bits << 6 | value(b)?;
        }
        bits <<= 6 * pad as u32;
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(base64(b""), Some(vec![]));
        assert_eq!(base64(b"eyJhIjoxfQ=="), Some(b"{\"a\":1}".to_vec()));
        assert_eq!(base64(b"YWI="), Some(b"ab".to_vec()));
        assert_eq!(base64(b"YWJj"), Some(b"abc".to_vec()));
        for bad in [&b"YWI"[..], b"YW==YWJj", b"Y===", b"YW#=", b"YWJj\n", b"-_-_"] {
            assert_eq!(base64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn passes_json_objects_only() {
        assert_eq!(read(None), Context::Absent);
        assert_eq!(read(Some("")), Context::Absent);
        assert_eq!(read(Some("eyJhIjoxfQ==")), Context::Passed(b"{\"a\":1}".to_vec()));
        // {"é":"€"}: é as one latin-1 byte, € as "?", as Python writes them.
        assert_eq!(read(Some("eyLDqSI6IuKCrCJ9")), Context::Passed(b"{\"\xe9\":\"?\"}".to_vec()));
        for python in ["W10=", "MQ==", "bm90IGpzb24=", "eyJhIjoKMX0=", "not base64!", "eyJhIjox"] {
            assert_eq!(read(Some(python)), Context::Python, "{python}");
        }
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BYTES));
        let encoded = encode(big.as_bytes());
        assert_eq!(read(Some(&encoded)), Context::Python);
        let fits = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BYTES - 8));
        assert_eq!(read(Some(&encode(fits.as_bytes()))), Context::Passed(fits.into_bytes()));
    }

    fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for i in 0..4 {
                out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
            }
        }
        out
    }
}
