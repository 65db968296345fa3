//! Which proxy requests to the relay go through, from the standard
//! environment variables (docs/SECURITY.md §2.1, README "Proxies"):
//! `HTTPS_PROXY` for an https:// relay and `HTTP_PROXY` for http://, else
//! `ALL_PROXY` (each also in lower case, which wins), minus the hosts in
//! `NO_PROXY`. A loopback relay never goes through a proxy. chatd decides
//! this itself and gives reqwest exactly that, so `status` shows what is
//! really used.

use super::url::is_loopback_host;

/// Reads one variable, the lower-case spelling first (curl's order).
fn var(name: &str, get: &impl Fn(&str) -> Option<String>) -> Option<String> {
    get(&name.to_ascii_lowercase())
        .or_else(|| get(name))
        .filter(|v| !v.trim().is_empty())
}

/// True when `NO_PROXY` (`a.example, .b.example, 10.0.0.1, *`) covers `host`.
fn excluded(host: &str, no_proxy: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            host == entry || host.ends_with(&format!(".{entry}"))
        })
}

/// The proxy for `url`, as given in the environment `get` reads.
pub fn proxy_for_env(
    url: &reqwest::Url,
    get: impl Fn(&str) -> Option<String>,
) -> Option<reqwest::Url> {
    let host = url.host_str()?;
    if is_loopback_host(host) {
        return None;
    }
    if let Some(no) = var("NO_PROXY", &get)
        && excluded(host, &no)
    {
        return None;
    }
    let scheme_var = if url.scheme() == "https" {
        "HTTPS_PROXY"
    } else {
        "HTTP_PROXY"
    };
    let raw = var(scheme_var, &get).or_else(|| var("ALL_PROXY", &get))?;
    let with_scheme = if raw.contains("://") {
        raw
    } else {
        format!("http://{raw}")
    };
    reqwest::Url::parse(&with_scheme).ok()
}

/// The proxy for `url` from this process's environment.
pub fn proxy_for(url: &reqwest::Url) -> Option<reqwest::Url> {
    proxy_for_env(url, |k| std::env::var(k).ok())
}

/// A proxy URL as shown to people: no user name or password.
pub fn shown(proxy: &reqwest::Url) -> String {
    let mut p = proxy.clone();
    let _ = p.set_username("");
    let _ = p.set_password(None);
    p.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn the_scheme_variable_then_all_proxy_and_no_proxy_excludes() {
        let vars = [
            ("HTTPS_PROXY", "http://user:secret@proxy.corp:3128"),
            ("NO_PROXY", "internal.corp, .lan,10.1.2.3"),
        ];
        let p = proxy_for_env(&url("https://relay.example.org"), env(&vars)).unwrap();
        assert_eq!(shown(&p), "http://proxy.corp:3128", "no credentials shown");
        assert_eq!(p.password(), Some("secret"), "but they are used");
        for direct in [
            "https://internal.corp",
            "https://a.internal.corp",
            "https://x.lan",
            "https://10.1.2.3",
        ] {
            assert_eq!(proxy_for_env(&url(direct), env(&vars)), None, "{direct}");
        }
        assert_eq!(
            proxy_for_env(&url("http://relay.example.org"), env(&vars)),
            None
        );
        let all = [
            ("ALL_PROXY", "socks5://127.0.0.1:1080"),
            ("https_proxy", "proxy.lower:8080"),
        ];
        let p = proxy_for_env(&url("https://relay.example.org"), env(&all)).unwrap();
        assert_eq!(
            shown(&p),
            "http://proxy.lower:8080",
            "lower case wins, scheme defaults to http"
        );
        let p = proxy_for_env(&url("http://relay.example.org"), env(&all)).unwrap();
        assert_eq!(p.scheme(), "socks5");
    }

    #[test]
    fn a_loopback_relay_never_goes_through_a_proxy() {
        let vars = [
            ("HTTP_PROXY", "http://proxy:1"),
            ("HTTPS_PROXY", "http://proxy:1"),
            ("ALL_PROXY", "http://proxy:1"),
        ];
        for local in [
            "http://127.0.0.1:8443",
            "https://localhost",
            "http://[::1]:9",
        ] {
            assert_eq!(proxy_for_env(&url(local), env(&vars)), None, "{local}");
        }
        assert_eq!(
            proxy_for_env(
                &url("https://r.example"),
                env(&[("NO_PROXY", "*"), ("ALL_PROXY", "http://p:1")])
            ),
            None
        );
    }
}
