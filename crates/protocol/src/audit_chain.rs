//! The hash chain of the venue's audit log. See docs/protocol.md, section 12.

/// The hash of entry `seq`, chained to the hash of the entry before it (`prev`; 32 zero
/// bytes before the first entry, or the base after a purge).
pub fn entry_hash(
    prev: &[u8],
    seq: i64,
    at: i64,
    event: &str,
    request_id: &str,
    office: &str,
    detail: &str,
) -> [u8; 32] {
    let field = |s: &str| {
        let mut v = (s.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    };
    crate::crypto::sha256(&[
        b"tresen/audit/v1\0",
        prev,
        &seq.to_be_bytes(),
        &at.to_be_bytes(),
        &field(event),
        &field(request_id),
        &field(office),
        &field(detail),
    ])
}
