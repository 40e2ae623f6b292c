//! Request ids and X-Ray trace ids, as `lamina/ids.py` makes them (random: xoshiro256**, seeded
//! from the operating system).

use std::cell::Cell;

thread_local! {
    static STATE: Cell<[u64; 4]> = Cell::new(seed());
}

fn seed() -> [u64; 4] {
    let mut bytes = [0u8; 32];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes)).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
    }
    let mut s = [0u64; 4];
    for (i, word) in s.iter_mut().enumerate() {
        *word = u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or([1; 8])) | 1;
    }
    s
}

fn next() -> u64 {
    STATE.with(|cell| {
        let mut s = cell.get();
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        cell.set(s);
        result
    })
}

/// A version 4 UUID's text, as `ids.request_id`.
pub fn request_id() -> String {
    let bits = (u128::from(next()) << 64 | u128::from(next())) & !(0xf << 76) & !(0x3 << 62) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A whole `_X_AMZN_TRACE_ID` value for a new trace, as `ids.trace_id`.
pub fn trace_id(seconds: u64, sampled: bool) -> String {
    let root = (u128::from(next()) << 32 | u128::from(next() >> 32)) & ((1u128 << 96) - 1);
    format!("Root=1-{seconds:08x}-{root:024x};Parent={:016x};Sampled={};Lineage=1", next(), u8::from(sampled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]));
        assert_ne!(id, request_id());
        let trace = trace_id(0x5f00_0000, true);
        assert!(trace.starts_with("Root=1-5f000000-"));
        assert!(trace.ends_with(";Sampled=1;Lineage=1"));
        assert_eq!(trace.len(), "Root=1-5f000000-".len() + 24 + ";Parent=".len() + 16 + ";Sampled=1;Lineage=1".len());
    }
}
