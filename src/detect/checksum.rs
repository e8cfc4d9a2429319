//! The checksum built into current (`8Q~`) Entra ID client secrets.
//!
//! The last three characters of a genuine 40-character secret are the first three digits of the
//! Marvin32 hash of the first 37 characters, written in base 66. This module owns that arithmetic
//! and nothing else; the detector decides what a failing checksum means for confidence.

use crate::rules::ChecksumKind;

/// Seed Entra ID uses for the checksum (`"AadPwd00"`, little-endian).
const SEED: u64 = 0x4161_6450_7764_3030;

/// Digits of the base-66 encoding, least significant value first.
const ALPHABET: &[u8; 66] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890.-_~";

/// Number of characters a current secret has in all.
const SECRET_LEN: usize = 40;

/// Number of leading characters the checksum covers.
const BODY_LEN: usize = 37;

/// Computes the .NET Marvin32 hash of `data` with `seed`, as a 32-bit value.
pub fn marvin32(data: &[u8], seed: u64) -> u32 {
    let mut p0 = seed as u32;
    let mut p1 = (seed >> 32) as u32;
    let block = |p0: &mut u32, p1: &mut u32| {
        *p1 ^= *p0;
        *p0 = p0.rotate_left(20);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(9);
        *p1 ^= *p0;
        *p0 = p0.rotate_left(27);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(19);
    };
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        p0 = p0.wrapping_add(u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
        block(&mut p0, &mut p1);
    }
    // The tail, then the 0x80 terminator, zero-padded to a whole word.
    let rest = chunks.remainder();
    let mut last = [0u8; 4];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    p0 = p0.wrapping_add(u32::from_le_bytes(last));
    block(&mut p0, &mut p1);
    block(&mut p0, &mut p1);
    p0 ^ p1
}

/// Encodes `value` in base 66, most significant digit first, left-padded with `a` to 6 digits.
fn encode_base66(mut value: u32) -> [u8; 6] {
    let mut out = [ALPHABET[0]; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 66) as usize];
        value /= 66;
    }
    out
}

/// Whether `secret` passes the checksum a rule names.
pub fn verify(kind: ChecksumKind, secret: &[u8]) -> bool {
    match kind {
        ChecksumKind::EntraClientSecret => entra_checksum_valid(secret),
    }
}

/// Whether `secret` is a 40-character current-format secret whose last three characters are the
/// checksum of the first 37.
pub fn entra_checksum_valid(secret: &[u8]) -> bool {
    if secret.len() != SECRET_LEN {
        return false;
    }
    let digits = encode_base66(marvin32(&secret[..BODY_LEN], SEED));
    digits[..3] == secret[BODY_LEN..]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Microsoft's published examples, not live secrets.
    const VALID: [&str; 2] = [
        "zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP", // azleak:allow
        "riG8Q~p-69WAm.dX4a6IDnOdcdbWB3dC5-DSDciR", // azleak:allow
    ];

    #[test]
    fn microsoft_vectors_are_valid() {
        for secret in VALID {
            assert!(entra_checksum_valid(secret.as_bytes()), "{secret}");
        }
    }

    #[test]
    fn any_changed_character_breaks_the_checksum() {
        for secret in VALID {
            for i in 0..secret.len() {
                let mut bytes = secret.as_bytes().to_vec();
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                assert!(!entra_checksum_valid(&bytes), "{secret} changed at {i}");
            }
        }
    }

    #[test]
    fn wrong_length_is_invalid() {
        assert!(!entra_checksum_valid(b"zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzbl")); // azleak:allow
        assert!(!entra_checksum_valid(b""));
    }

    #[test]
    fn encoding_pads_with_the_first_digit() {
        assert_eq!(&encode_base66(0), b"aaaaaa");
        assert_eq!(&encode_base66(65), b"aaaaa~");
        assert_eq!(&encode_base66(66), b"aaaaba");
    }
}
