//! The one HTTP client of azleak, used only by `--verify`: blocking `ureq` with rustls
//! (certificates checked against the Mozilla roots), HTTPS only except an explicitly given
//! loopback address, a global timeout, no redirects followed, a per-host rate limit, and
//! retries with backoff on 429 and 503 that honour `Retry-After`. It never logs a request body
//! or header value; callers put secrets only in the body (Entra) or never send them (storage).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest response body read (an error or a token response is a few KiB).
const MAX_BODY: u64 = 64 * 1024;

/// Longest `Retry-After` honoured; a longer one ends the retries (the result is unknown).
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// A base URL requests may go to: `https://host[:port][/path]`, or `http://` to a loopback
/// address (127.0.0.0/8, `[::1]`, `localhost`) given on purpose, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: &'static str,
    host: String,
    port: Option<u16>,
    path: String,
}

/// Why an endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not `https://`, nor `http://` to a loopback address.
    #[error("{0}: only https:// URLs (or http:// to a loopback address, for tests) are allowed")]
    Scheme(String),
    /// No host, a bad port, or a query or fragment.
    #[error("{0}: not a URL of the form https://host[:port][/path]")]
    Malformed(String),
}

impl Endpoint {
    /// Parses and checks a base URL.
    pub fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            ("http", rest)
        } else {
            return Err(EndpointError::Scheme(url.to_string()));
        };
        let malformed = || EndpointError::Malformed(url.to_string());
        if rest.contains(['?', '#', '@', ' ', '\\']) || rest.chars().any(char::is_control) {
            return Err(malformed());
        }
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(malformed)?;
            (format!("[{host}]"), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse::<u16>().map_err(|_| malformed())?),
            None => None,
        };
        let host_ok = host.len() > 2 && host.starts_with('[')
            || !host.is_empty()
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !host_ok {
            return Err(malformed());
        }
        let endpoint = Endpoint {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path: path.trim_end_matches('/').to_string(),
        };
        if scheme == "http" && !endpoint.is_loopback() {
            return Err(EndpointError::Scheme(url.to_string()));
        }
        Ok(endpoint)
    }

    /// Whether the host is a loopback address.
    pub fn is_loopback(&self) -> bool {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The host (and port, if given), as `--verbose` names it.
    pub fn host(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// The host name alone, lowercase.
    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// The base path (no trailing `/`, empty for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// This endpoint with another host (same scheme and port).
    pub fn with_host(&self, host: &str) -> Endpoint {
        Endpoint { host: host.to_ascii_lowercase(), ..self.clone() }
    }

    /// The full URL of `path_and_query` (which starts with `/`) under this endpoint.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}://{}{}{path_and_query}", self.scheme, self.host(), self.path)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.host(), self.path)
    }
}

/// One request: a GET, or a POST of a form body.
#[derive(Debug)]
pub struct Request<'a> {
    /// Where it goes.
    pub endpoint: &'a Endpoint,
    /// Path and query under the endpoint (no secret in it, ever: it is logged).
    pub path_and_query: String,
    /// Headers (values are never logged).
    pub headers: Vec<(&'static str, String)>,
    /// A form body to POST (`None`: GET).
    pub form: Option<Vec<(&'static str, &'a str)>>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// An HTTP response (any status), its body cut at 64 KiB.
    Http {
        /// The status code.
        status: u16,
        /// `x-ms-error-code`, if sent (storage errors).
        error_code: Option<String>,
        /// `Location`, if sent (redirects, which are never followed).
        location: Option<String>,
        /// `Retry-After` in seconds, on a 429 or 503.
        retry_after: Option<Duration>,
        /// The body as text.
        body: String,
    },
    /// No usable response: why (timeout, connection refused, TLS, ...; no secret in it).
    Failed(String),
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Connect plus read timeout of one request.
    pub timeout: Duration,
    /// Requests per second to one host.
    pub rate_per_host: f64,
    /// Retries after a 429 or 503.
    pub retries: u32,
    /// First backoff when no `Retry-After` is given; doubled on each retry.
    pub backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            rate_per_host: 10.0,
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// The blocking client, shared by the verifier threads.
pub struct Client {
    agent: ureq::Agent,
    options: ClientOptions,
    next_slot: Mutex<HashMap<String, Instant>>,
    requests: std::sync::atomic::AtomicUsize,
}

impl Client {
    /// A client; `use_proxy` takes a proxy from the environment (`HTTPS_PROXY`, ...).
    pub fn new(options: ClientOptions, use_proxy: bool) -> Client {
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("azleak/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(4);
        if !use_proxy {
            config = config.proxy(None);
        }
        Client {
            agent: config.build().into(),
            options,
            next_slot: Mutex::new(HashMap::new()),
            requests: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends a request, retrying on 429 and 503 (after `Retry-After`, or an exponential
    /// backoff), each attempt after the host's rate-limit slot. Returns the last response and
    /// how many attempts were made.
    pub fn send(&self, request: &Request<'_>) -> (Response, u32) {
        let mut backoff = self.options.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_for_slot(&request.endpoint.host());
            let response = self.send_once(request);
            let Response::Http { status: 429 | 503, .. } = &response else {
                return (response, attempt);
            };
            if attempt > self.options.retries {
                return (response, attempt);
            }
            let wait = match &response {
                Response::Http { retry_after, .. } => *retry_after,
                Response::Failed(_) => None,
            };
            let wait = wait.unwrap_or(backoff);
            if wait > MAX_RETRY_WAIT {
                return (response, attempt);
            }
            std::thread::sleep(wait);
            backoff = backoff.saturating_mul(2);
        }
    }

    fn wait_for_slot(&self, host: &str) {
        let interval = if self.options.rate_per_host > 0.0 {
            Duration::from_secs_f64(1.0 / self.options.rate_per_host)
        } else {
            Duration::ZERO
        };
        let slot = {
            let mut slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let next = slots.entry(host.to_string()).or_insert(now);
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }

    fn send_once(&self, request: &Request<'_>) -> Response {
        self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = request.endpoint.url(&request.path_and_query);
        let result = match &request.form {
            Some(form) => {
                let mut req = self.agent.post(&url);
                for (k, v) in &request.headers {
                    req = req.header(*k, v);
                }
                req.send_form(form.iter().copied())
            }
            None => {
                let mut req = self.agent.get(&url);
                for (k, v) in &request.headers {
                    req = req.header(*k, v);
                }
                req.call()
            }
        };
        match result {
            Ok(mut resp) => {
                let header = |name: &str| {
                    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
                };
                let status = resp.status().as_u16();
                let error_code = header("x-ms-error-code");
                let location = header("location");
                // Delta seconds; an HTTP date falls back to the backoff.
                let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
                let retry_after = retry_after.map(Duration::from_secs);
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_string()
                    .unwrap_or_default();
                Response::Http { status, error_code, location, retry_after, body }
            }
            Err(e) => Response::Failed(describe(&e, self.options.timeout)),
        }
    }
}

/// A transport error in words, without the URL (ureq's messages may carry it).
fn describe(e: &ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("timed out after {:.1} s", timeout.as_secs_f64()),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Io(io) => format!("connection error: {}", io.kind()),
        ureq::Error::Tls(t) => format!("TLS error: {t}"),
        ureq::Error::Rustls(t) => format!("TLS error: {t}"),
        ureq::Error::RequireHttpsOnly(_) => "refused: not https".to_string(),
        other => format!("request failed: {}", kind_of(other)),
    }
}

fn kind_of(e: &ureq::Error) -> String {
    // The Debug form names the variant; cut before any payload (which might hold a URL).
    let debug = format!("{e:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or("error").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_explicit_loopback() {
        let e = Endpoint::parse("https://login.microsoftonline.com/").unwrap();
        assert_eq!(
            e.url("/t/oauth2/v2.0/token"),
            "https://login.microsoftonline.com/t/oauth2/v2.0/token"
        );
        let e = Endpoint::parse("http://127.0.0.1:8080/base").unwrap();
        assert_eq!(e.url("/x"), "http://127.0.0.1:8080/base/x");
        assert!(Endpoint::parse("http://[::1]:9/").unwrap().is_loopback());
        assert!(Endpoint::parse("http://localhost:9").is_ok());
        for bad in [
            "http://login.microsoftonline.com",
            "http://10.0.0.1",
            "ftp://x",
            "https://",
            "https://a b",
            "https://user@evil",
            "https://h/?q=1",
            "https://h:99999",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
