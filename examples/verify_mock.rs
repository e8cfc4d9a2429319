//! Measures `--verify` throughput: 100 distinct Entra findings (each with a tenant and client
//! id) verified against a mock token endpoint on 127.0.0.1 that answers every request after
//! `DELAY_MS` (a stand-in for the authority's latency). Run with the release build:
//!
//! ```text
//! cargo run --release --example verify_mock [DELAY_MS]
//! ```
//!
//! Prints, for each setting (one worker thread as the reference, the default four, with and
//! without the default per-host rate limit), the wall time and the requests made.

#![allow(clippy::print_stdout)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use azleak::finding::{ChecksumStatus, Confidence, Finding, Pairing, Part, Secret};
use azleak::verify::{ClientOptions, Endpoint, VerifyOptions, verify};

fn serve(listener: std::net::TcpListener, delay: Duration) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        std::thread::spawn(move || {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    return;
                }
                data.extend_from_slice(&buf[..n]);
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    break;
                }
            }
            std::thread::sleep(delay);
            let body = r#"{"error":"invalid_client","error_codes":[7000215]}"#;
            let reply = format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        });
    }
}

fn findings() -> Vec<Finding> {
    (0..100)
        .map(|i| Finding {
            rule_id: "azure.entra.client-secret".to_string(),
            confidence: Confidence::High,
            path: format!("f{i}.env"),
            member: None,
            part: Part::Content,
            line: 1,
            column: 1,
            end_column: 41,
            secret: Secret::new(format!("abc8Q~{i:034}")),
            entropy: 4.0,
            checksum: ChecksumStatus::Valid,
            encoding: None,
            fingerprint: String::new(),
            line_hash: String::new(),
            commit: None,
            copies: None,
            allowed_inline: false,
            pairing: Some(Pairing {
                tenant_ids: vec!["11111111-2222-3333-4444-555555555555".to_string()],
                client_ids: vec![format!("aaaaaaaa-0000-0000-0000-{i:012}")],
                ..Pairing::default()
            }),
            verification: None,
            owners: None,
            repository: None,
            expires: None,
        })
        .collect()
}

fn main() {
    let delay_ms: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || serve(listener, Duration::from_millis(delay_ms)));
    println!("100 distinct findings, mock authority answering after {delay_ms} ms");
    for (name, concurrency, rate) in [
        ("1 thread, no rate limit (reference)", 1, 1e9),
        ("4 threads, no rate limit", 4, 1e9),
        ("4 threads, default 10 req/s per host", 4, ClientOptions::default().rate_per_host),
    ] {
        let mut f = findings();
        let options = VerifyOptions {
            authority: Some(Endpoint::parse(&url).expect("loopback")),
            client: ClientOptions { rate_per_host: rate, ..ClientOptions::default() },
            concurrency,
            ..VerifyOptions::default()
        };
        let start = Instant::now();
        let report = verify(&mut f, &options);
        let wall = start.elapsed();
        let invalid = f
            .iter()
            .filter(|f| {
                f.verification
                    .as_ref()
                    .is_some_and(|v| v.status == azleak::finding::VerificationStatus::Invalid)
            })
            .count();
        println!(
            "{name}: {:.2} s wall, {} requests, {invalid} classified invalid",
            wall.as_secs_f64(),
            report.requests
        );
    }
}
