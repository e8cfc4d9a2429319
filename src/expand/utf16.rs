//! Text encodings beyond UTF-8: UTF-16/UTF-32 detection and decoding, and `strings`-style runs
//! of printable text in binary bytes.
//! (Placeholder, filled in below.)
