//! The checksums Microsoft builds into the credentials it issues, one function per algorithm;
//! rules pick one and give its parameters ([`ChecksumKind`]) in their rule file.
//!
//! - `entra-client-secret`: the last three characters of a 40-character `8Q~` secret are the
//!   first three base-66 digits of the Marvin32 hash of the first 37.
//! - `marvin32-base64`: an identifiable key is base64 of N bytes whose last 4 are
//!   `Marvin32(bytes[..N-4], seed)` little-endian, with a 4-character signature just before the
//!   encoded checksum (`key[len - padding - 10 ..][..4]`).
//! - `common-annotated`: the `JQQJ9…` keys: Marvin32 (seed `Default0`) of the first 60 bytes,
//!   stored base62-encoded (or raw) after the provider signature at offset 76.
//! - `crc32-ado-pat`: the legacy Azure DevOps PAT, 52 base32 characters with a CRC32.
//!
//! This module owns that arithmetic (and generates keys for tests and examples) and nothing
//! else; the detector decides what a failing checksum means for confidence.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

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
pub fn verify(kind: &ChecksumKind, secret: &[u8]) -> bool {
    match kind {
        ChecksumKind::EntraClientSecret => entra_checksum_valid(secret),
        ChecksumKind::Marvin32Base64 {
            seeds,
            signature,
            bytes,
            url_safe,
            special_character_variant,
        } => {
            identifiable_valid(secret, seeds, signature, *bytes, *url_safe)
                || (*special_character_variant
                    && special_variant_valid(secret, seeds, signature, *bytes))
        }
        ChecksumKind::CommonAnnotated { signature } => common_annotated_valid(secret, signature),
        ChecksumKind::Crc32AdoPat { magic } => ado_pat_valid(secret, magic),
    }
}

/// A seed name (`Default0`) as Microsoft reads it: its 8 ASCII bytes as a big-endian integer.
pub fn seed(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    for (slot, b) in bytes.iter_mut().zip(name.bytes()) {
        *slot = b;
    }
    u64::from_be_bytes(bytes)
}

/// Length of the base64 text of `bytes` bytes, padding included.
fn encoded_len(bytes: usize) -> usize {
    bytes.div_ceil(3) * 4
}

/// An identifiable key of `bytes` bytes: length, alphabet, signature, then any seed's Marvin32.
fn identifiable_valid(
    secret: &[u8],
    seeds: &[String],
    signature: &str,
    bytes: usize,
    url_safe: bool,
) -> bool {
    if secret.len() != encoded_len(bytes) {
        return false;
    }
    let wrong: [u8; 2] = if url_safe { [b'+', b'/'] } else { [b'-', b'_'] };
    if secret.iter().any(|b| wrong.contains(b)) {
        return false;
    }
    let padding = secret.iter().rev().take_while(|&&b| b == b'=').count();
    let Some(at) = secret.len().checked_sub(padding + 10) else { return false };
    if &secret[at..at + 4] != signature.as_bytes() {
        return false;
    }
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    let Ok(decoded) = engine.decode(secret) else { return false };
    if decoded.len() != bytes {
        return false;
    }
    let (body, sum) = decoded.split_at(bytes - 4);
    let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
    seeds.iter().any(|name| marvin32(body, seed(name)) == stored)
}

/// Most `P`/`F` characters tried as `+`/`/` in the special-character variant (2^12 tries).
const MAX_SPECIAL: usize = 12;

/// An Azure Cache for Redis key whose `+` and `/` were written as `P` and `F`: valid if the key
/// with some of its `P`s and `F`s turned back into `+` and `/` passes the standard check.
fn special_variant_valid(secret: &[u8], seeds: &[String], signature: &str, bytes: usize) -> bool {
    if secret.len() != encoded_len(bytes) || secret.iter().any(|&b| b == b'+' || b == b'/') {
        return false;
    }
    let spots: Vec<usize> =
        (0..secret.len()).filter(|&i| secret[i] == b'P' || secret[i] == b'F').collect();
    if spots.is_empty() || spots.len() > MAX_SPECIAL {
        return false;
    }
    let mut candidate = secret.to_vec();
    (1u32..1 << spots.len()).any(|mask| {
        for (bit, &i) in spots.iter().enumerate() {
            candidate[i] = match (mask >> bit & 1 == 1, secret[i]) {
                (true, b'P') => b'+',
                (true, _) => b'/',
                (false, original) => original,
            };
        }
        identifiable_valid(&candidate, seeds, signature, bytes, false)
    })
}

/// Offset of a common annotated key's provider signature.
const PROVIDER_SIGNATURE_AT: usize = 76;
/// Offset of its encoded checksum (the bytes before it are checksummed).
const CHECKSUM_AT: usize = 80;

/// A common annotated key (84 characters, or 88 in the long form).
fn common_annotated_valid(secret: &[u8], signature: &str) -> bool {
    let long = match secret.len() {
        84 => false,
        88 => true,
        _ => return false,
    };
    let sig = &secret[PROVIDER_SIGNATURE_AT..CHECKSUM_AT];
    if !sig.eq_ignore_ascii_case(signature.as_bytes()) {
        return false;
    }
    let Ok(body) = STANDARD.decode(&secret[..CHECKSUM_AT]) else { return false };
    let sum = marvin32(&body, seed("Default0")).to_le_bytes();
    let text = &secret[CHECKSUM_AT..];
    let trimmed = text.strip_suffix(b"==").unwrap_or(text);
    if trimmed.len() == if long { 6 } else { 4 } && base62_checksum(sum).starts_with(trimmed) {
        return true;
    }
    STANDARD.encode(&sum[..if long { 4 } else { 3 }]).as_bytes() == text
}

/// Digits of Microsoft's base62 (`0-9A-Za-z`).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The checksum's bytes in base62 as Microsoft writes it: the digits of the 4 bytes read as a
/// big-endian number (one `0` per leading zero byte, at most 3), right-padded with `0` to 6
/// characters, the 6th reduced to what base64 keeps of it (its top 2 bits).
fn base62_checksum(sum: [u8; 4]) -> [u8; 6] {
    let zeros = sum.iter().take_while(|&&b| b == 0).count().min(3);
    let mut value = u32::from_be_bytes(sum);
    let mut digits = Vec::with_capacity(6);
    loop {
        digits.push(BASE62[(value % 62) as usize]);
        value /= 62;
        if value == 0 {
            break;
        }
    }
    digits.extend(std::iter::repeat_n(b'0', zeros));
    digits.reverse();
    let mut out = [b'0'; 6];
    for (slot, d) in out.iter_mut().zip(&digits) {
        *slot = *d;
    }
    let sixth = base64_value(out[5]) & 0b11_0000;
    out[5] = BASE64[sixth as usize];
    out
}

/// The standard base64 alphabet.
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_value(c: u8) -> u8 {
    BASE64.iter().position(|&b| b == c).unwrap_or(0) as u8
}

/// Length of a legacy Azure DevOps PAT, in base32 characters.
const ADO_PAT_LEN: usize = 52;

/// A legacy Azure DevOps PAT: CRC32 of 28 of its 32 bytes, XOR one of `magic`, equals the
/// number stored little-endian in bytes 22, 8, 7 and 2.
fn ado_pat_valid(secret: &[u8], magic: &[u32]) -> bool {
    let Some(bytes) = base32_decode(secret) else { return false };
    let mut token = Vec::with_capacity(28);
    token.extend_from_slice(&bytes[0..2]);
    token.extend_from_slice(&bytes[3..7]);
    token.extend_from_slice(&bytes[9..22]);
    token.extend_from_slice(&bytes[23..32]);
    let crc = crc32fast::hash(&token);
    let stored = u32::from_le_bytes([bytes[22], bytes[8], bytes[7], bytes[2]]);
    magic.iter().any(|m| crc ^ m == stored)
}

/// The 32 bytes of 52 base32 characters (`a-z2-7`, either case), most significant bit first.
fn base32_decode(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != ADO_PAT_LEN {
        return None;
    }
    let mut out = [0u8; 32];
    let mut acc: u64 = 0;
    let mut bits = 0;
    let mut at = 0;
    for &c in text {
        let v = match c {
            b'a'..=b'z' => c - b'a',
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = acc << 5 | u64::from(v);
        bits += 5;
        if bits >= 8 && at < out.len() {
            bits -= 8;
            out[at] = (acc >> bits) as u8;
            at += 1;
        }
    }
    Some(out)
}

/// Makes an identifiable key the way Microsoft's generator does, from `random` (its length is
/// the key's length in bytes): the signature is placed before the checksum (keeping base64
/// alignment), then the Marvin32 of the rest under `seed_name` fills the last 4 bytes.
/// For tests and rule examples: a key it makes passes [`verify`] with the same parameters.
pub fn generate_identifiable(
    random: &[u8],
    seed_name: &str,
    signature: &str,
    url_safe: bool,
) -> String {
    let mut key = random.to_vec();
    let n = key.len();
    assert!(n >= 12 && signature.len() == 4, "a key of 12 bytes or more, a 4-character signature");
    let sig = STANDARD
        .decode(signature.replace('-', "+").replace('_', "/"))
        .expect("a signature of 4 base64 characters");
    let spill = ((n - 7) * 8) % 6;
    let prefix = u32::from(key[n - 8]) << 24;
    let mask: u32 = match spill {
        2 => 0xfcff_ffff,
        4 => 0xf0ff_ffff,
        _ => u32::MAX,
    };
    let value = (prefix & mask)
        | u32::from(sig[0]) << (16 + spill)
        | u32::from(sig[1]) << (8 + spill)
        | u32::from(sig[2]) << spill;
    key[n - 8..n - 4].copy_from_slice(&value.to_be_bytes());
    let sum = marvin32(&key[..n - 4], seed(seed_name));
    key[n - 4..].copy_from_slice(&sum.to_le_bytes());
    if url_safe { URL_SAFE.encode(&key) } else { STANDARD.encode(&key) }
}

/// Completes a common annotated key from its first 80 characters (base64, ending with the
/// provider signature): the standard form (84 characters) or the long form (88).
pub fn generate_common_annotated(prefix: &str, long: bool) -> String {
    let body = STANDARD.decode(prefix).expect("80 base64 characters");
    let sum = base62_checksum(marvin32(&body, seed("Default0")).to_le_bytes());
    let sum = String::from_utf8_lossy(&sum).into_owned();
    if long { format!("{prefix}{sum}==") } else { format!("{prefix}{}", &sum[..4]) }
}

/// Makes a legacy Azure DevOps PAT from 28 random bytes and a magic number.
pub fn generate_ado_pat(random: &[u8; 28], magic: u32) -> String {
    let crc = (crc32fast::hash(random) ^ magic).to_le_bytes();
    let mut bytes = [0u8; 32];
    bytes[0..2].copy_from_slice(&random[0..2]);
    bytes[3..7].copy_from_slice(&random[2..6]);
    bytes[9..22].copy_from_slice(&random[6..19]);
    bytes[23..32].copy_from_slice(&random[19..28]);
    (bytes[22], bytes[8], bytes[7], bytes[2]) = (crc[0], crc[1], crc[2], crc[3]);
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(ADO_PAT_LEN);
    let (mut acc, mut bits) = (0u64, 0);
    for b in bytes {
        acc = acc << 8 | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[(acc >> bits & 31) as usize] as char);
        }
    }
    out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    out
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
