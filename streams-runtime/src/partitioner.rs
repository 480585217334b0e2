//! Kafka's default partitioner for keyed records: `toPositive(murmur2(key)) % partitions`,
//! bit for bit as the Java client computes it.

/// Kafka's `Utils.murmur2` (seed `0x9747b28c`), returning the same `int` as Java.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java producer picks for a non-null key.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions
}

/// The producer's choice of partition among `partitions`: murmur2 of the key bytes, or,
/// for a null key, the next one round-robin (`next_for_null` keeps the turn).
pub(crate) fn choose_partition(key: Option<&[u8]>, partitions: u32, next_for_null: &mut u32) -> u32 {
    match key {
        Some(k) => partition_for_key(k, partitions),
        None => {
            let p = *next_for_null % partitions;
            *next_for_null = (p + 1) % partitions;
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own `UtilsTest.testMurmur2` vectors.
    #[test]
    fn murmur2_matches_java() {
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
        assert_eq!(murmur2(b"abc"), 479470107);
    }
}
