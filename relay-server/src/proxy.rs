//! Trusted reverse proxies (docs/RELAY.md, "Behind a TLS proxy"): blocks of
//! addresses in CIDR notation, and the client address such a proxy vouches
//! for in `X-Forwarded-For`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// A block of addresses, such as `10.0.0.0/8`, `2001:db8::/32` or a single
/// `192.0.2.7` (a /32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The first address of the block (host bits cleared).
    net: IpAddr,
    /// How many leading bits are fixed.
    prefix: u8,
}

/// Why a CIDR block did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("`{0}` is not an IP address")]
    Address(String),
    /// The part after `/` is not a whole number of bits the address has.
    #[error("prefix `{0}` is not a number of bits from 0 to {1}")]
    Prefix(String, u8),
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = address
            .parse()
            .map_err(|_| CidrError::Address(address.to_owned()))?;
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                // u8's parser takes a leading `+`; a prefix is digits only.
                .filter(|n| *n <= bits && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| CidrError::Prefix(p.to_owned(), bits))?,
        };
        Ok(Cidr {
            net: masked(ip, prefix),
            prefix,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is in the block (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.net.is_ipv4() && masked(ip, self.prefix) == self.net
    }
}

/// `ip` with all but its first `prefix` bits cleared.
fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// The client's address. Without a trusted proxy it is the TCP peer, and
/// `X-Forwarded-For` (`forwarded`, its values in order) is ignored: anyone
/// can send it. When the peer is in `trusted`, it is the right-most address
/// of `X-Forwarded-For` that is not itself trusted: each proxy appends the
/// address it saw, so that is the last hop a trusted proxy vouches for. An
/// entry that is not an address ends the walk at the peer.
pub fn client_addr<'a>(
    peer: IpAddr,
    forwarded: impl IntoIterator<Item = &'a [u8]>,
    trusted: &[Cidr],
) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let values: Vec<&[u8]> = forwarded.into_iter().collect();
    let mut client = peer;
    for value in values.iter().rev() {
        let Ok(text) = std::str::from_utf8(value) else {
            return peer;
        };
        for hop in text.rsplit(',') {
            let Some(ip) = hop_addr(hop.trim()) else {
                return peer;
            };
            client = ip;
            if !is_trusted(ip) {
                return ip;
            }
        }
    }
    // Every hop was a trusted address: the client is the left-most.
    client
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port.
fn hop_addr(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_parse_and_clear_their_host_bits() {
        assert_eq!(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(cidr("::1").to_string(), "::1/128");
        assert_eq!(cidr("::/0").to_string(), "::/0");
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "::/129",
            "banana",
            " 10.0.0.0/8",
            "10.0.0.0 /8",
            "10.0.0.0/08x",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::Prefix("33".into(), 32))
        );
    }

    #[test]
    fn cidr_blocks_contain_their_addresses_only() {
        let block = cidr("10.0.0.0/8");
        assert!(block.contains(ip("10.0.0.0")));
        assert!(block.contains(ip("10.255.255.255")));
        assert!(!block.contains(ip("11.0.0.0")));
        assert!(!block.contains(ip("9.255.255.255")));
        assert!(block.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(!block.contains(ip("::a01:203")), "not mapped, not IPv4");
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
        let v6 = cidr("2001:db8:0:1::/64");
        assert!(v6.contains(ip("2001:db8:0:1:ffff::1")));
        assert!(!v6.contains(ip("2001:db8:0:2::1")));
        assert!(cidr("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!cidr("192.0.2.7").contains(ip("192.0.2.8")));
    }

    fn client(peer: &str, forwarded: &[&str], trusted: &[&str]) -> IpAddr {
        let trusted: Vec<Cidr> = trusted.iter().map(|t| cidr(t)).collect();
        client_addr(ip(peer), forwarded.iter().map(|v| v.as_bytes()), &trusted)
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy = ["10.0.0.0/8"];
        // A client talking directly cannot name another address.
        assert_eq!(
            client("203.0.113.9", &["198.51.100.1"], &proxy),
            ip("203.0.113.9")
        );
        assert_eq!(
            client("203.0.113.9", &["198.51.100.1"], &[]),
            ip("203.0.113.9")
        );
        // Behind the proxy: the address it appended.
        assert_eq!(
            client("10.0.0.2", &["198.51.100.1"], &proxy),
            ip("198.51.100.1")
        );
        // A client's own made-up entries sit left of it and are skipped.
        assert_eq!(
            client("10.0.0.2", &["1.2.3.4, 5.6.7.8, 198.51.100.1"], &proxy),
            ip("198.51.100.1")
        );
        // A chain of trusted proxies is walked through, over several lines.
        assert_eq!(
            client("10.0.0.2", &["1.2.3.4, 198.51.100.1", "10.0.0.7"], &proxy),
            ip("198.51.100.1")
        );
        // No header: the proxy itself is the client.
        assert_eq!(client("10.0.0.2", &[], &proxy), ip("10.0.0.2"));
        // Every hop trusted: the left-most.
        assert_eq!(
            client("10.0.0.2", &["10.9.9.9, 10.0.0.7"], &proxy),
            ip("10.9.9.9")
        );
        // Ports and brackets, IPv6, and mapped addresses.
        assert_eq!(
            client("10.0.0.2", &["198.51.100.1:4711"], &proxy),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.2", &["[2001:db8::5]:443"], &proxy),
            ip("2001:db8::5")
        );
        assert_eq!(
            client("::ffff:10.0.0.2", &["2001:db8::5"], &proxy),
            ip("2001:db8::5")
        );
        // Garbage where the proxy's entry should be: the proxy's own address.
        assert_eq!(client("10.0.0.2", &["unknown"], &proxy), ip("10.0.0.2"));
        assert_eq!(client("10.0.0.2", &["1.2.3.4, "], &proxy), ip("10.0.0.2"));
    }
}
