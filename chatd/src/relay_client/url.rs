//! Which relay URLs chatd accepts (docs/SECURITY.md §2.1). The relay
//! password, every bearer token and who talks to whom cross this link, so
//! it is `https://`, except to this machine; plain HTTP to another host
//! only when the user says a TLS proxy on this machine forwards it.

use std::net::IpAddr;

/// Why a relay URL is refused; each says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("relay URL {0:?} does not parse: {1}")]
    Parse(String, String),
    /// Neither http nor https.
    #[error("relay URL must start with https:// (got {0}://)")]
    Scheme(String),
    /// Plain HTTP to a host that is not this machine.
    #[error(
        "refusing plain http:// to {0}: the password and tokens would travel in clear; \
         use https://, or --insecure-http if a TLS proxy on this machine forwards it"
    )]
    PlainHttp(String),
    /// `user:password@`, `?query` or `#fragment`.
    #[error("relay URL must not carry a {0}; give just https://host[:port][/path]")]
    Extra(&'static str),
    /// An empty list.
    #[error("give the relay's URL")]
    NoUrl,
    /// More URLs than [`MAX_RELAY_URLS`].
    #[error("a relay has at most {MAX_RELAY_URLS} URLs (got {0})")]
    TooMany(usize),
    /// The same URL twice.
    #[error("relay URL {0} is given twice")]
    Twice(String),
}

/// The most URLs one relay may be reached at: each one a request may try
/// before it gives up.
pub const MAX_RELAY_URLS: usize = 8;

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a relay URL and returns it without a trailing `/`. No request is
/// made: a refused URL never sees a packet.
pub fn check_url(url: &str, insecure_http: bool) -> Result<String, UrlError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| UrlError::Parse(url.to_owned(), e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlError::Extra("user name or password"));
    }
    if parsed.query().is_some() {
        return Err(UrlError::Extra("query"));
    }
    if parsed.fragment().is_some() {
        return Err(UrlError::Extra("fragment"));
    }
    let host = parsed.host_str().unwrap_or_default().to_owned();
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) || insecure_http => {}
        "http" => return Err(UrlError::PlainHttp(host)),
        other => return Err(UrlError::Scheme(other.to_owned())),
    }
    if host.is_empty() {
        return Err(UrlError::Parse(url.to_owned(), "no host".into()));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Checks each URL of one relay as [`check_url`] does (the same rules for
/// every one: the trust settings are the relay's, not a URL's) and returns
/// them in their order, without trailing `/`.
pub fn check_urls(urls: &[String], insecure_http: bool) -> Result<Vec<String>, UrlError> {
    if urls.is_empty() {
        return Err(UrlError::NoUrl);
    }
    if urls.len() > MAX_RELAY_URLS {
        return Err(UrlError::TooMany(urls.len()));
    }
    let mut checked: Vec<String> = Vec::with_capacity(urls.len());
    for url in urls {
        let url = check_url(url, insecure_http)?;
        if checked.contains(&url) {
            return Err(UrlError::Twice(url));
        }
        checked.push(url);
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_this_machine() {
        for ok in [
            "https://relay.example.org",
            "https://relay.example.org:8443/",
            "https://relay.example.org/chat",
            "http://127.0.0.1:8443",
            "http://127.8.9.10",
            "http://[::1]:9000",
            "http://localhost:1234/",
            "http://LOCALHOST",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        assert_eq!(
            check_url("https://relay.example.org:8443/", false).unwrap(),
            "https://relay.example.org:8443"
        );
        for remote in [
            "http://relay.example.org",
            "http://10.0.0.1:8443",
            "http://[::2]",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
        ] {
            let err = check_url(remote, false).unwrap_err();
            assert!(matches!(err, UrlError::PlainHttp(_)), "{remote}: {err}");
            assert!(err.to_string().contains("--insecure-http"), "{err}");
            assert!(
                check_url(remote, true).is_ok(),
                "{remote} with --insecure-http"
            );
        }
    }

    #[test]
    fn credentials_queries_fragments_and_other_schemes_are_refused() {
        for (url, what) in [
            ("https://alice:pw@relay.example.org", "password"),
            ("https://alice@relay.example.org", "user name"),
            ("https://relay.example.org/?token=x", "query"),
            ("https://relay.example.org/#x", "fragment"),
        ] {
            let err = check_url(url, true).unwrap_err();
            assert!(err.to_string().contains(what), "{url}: {err}");
        }
        assert!(matches!(
            check_url("ftp://relay.example.org", true),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            check_url("relay.example.org", false),
            Err(UrlError::Parse(..))
        ));
    }

    #[test]
    fn every_url_of_a_relay_is_held_to_the_same_rules() {
        let urls = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_urls(
                &urls(&[
                    "https://a.example.org/",
                    "http://127.0.0.1:9",
                    "https://b.example.org:8443"
                ]),
                false
            )
            .unwrap(),
            [
                "https://a.example.org",
                "http://127.0.0.1:9",
                "https://b.example.org:8443"
            ],
            "checked, in their order"
        );
        // One plain remote URL among good ones is refused as it would be alone.
        let err = check_urls(
            &urls(&["https://a.example.org", "http://b.example.org"]),
            false,
        )
        .unwrap_err();
        assert!(
            matches!(err, UrlError::PlainHttp(ref h) if h == "b.example.org"),
            "{err}"
        );
        assert!(
            check_urls(
                &urls(&["https://a.example.org", "http://b.example.org"]),
                true
            )
            .is_ok()
        );
        assert!(matches!(
            check_urls(
                &urls(&["https://a.example.org", "https://x:y@b.example.org"]),
                false
            ),
            Err(UrlError::Extra(_))
        ));
        assert_eq!(check_urls(&[], false), Err(UrlError::NoUrl));
        // The same URL twice, also when written differently.
        assert_eq!(
            check_urls(
                &urls(&["https://a.example.org", "https://A.example.org/"]),
                false
            ),
            Err(UrlError::Twice("https://a.example.org".into()))
        );
        let nine: Vec<String> = (0..9)
            .map(|i| format!("https://r{i}.example.org"))
            .collect();
        assert_eq!(check_urls(&nine, false), Err(UrlError::TooMany(9)));
        assert_eq!(check_urls(&nine[..8], false).unwrap().len(), 8);
    }
}
