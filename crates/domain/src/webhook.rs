//! Outbound webhooks: the events a seller can subscribe to, where they may be sent, and the
//! Standard Webhooks signature (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed
//! with the bytes of a `whsec_<base64>` secret), so receivers can use any Standard
//! Webhooks library.

use std::net::{IpAddr, Ipv4Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    CreationSucceeded,
    CreationFailed,
    BatchFinished,
    ListingReady,
    TokensLow,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::CreationSucceeded,
        EventType::CreationFailed,
        EventType::BatchFinished,
        EventType::ListingReady,
        EventType::TokensLow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CreationSucceeded => "creation.succeeded",
            EventType::CreationFailed => "creation.failed",
            EventType::BatchFinished => "batch.finished",
            EventType::ListingReady => "listing.ready",
            EventType::TokensLow => "tokens.low",
        }
    }

    /// For the seller's page.
    pub fn label(self) -> &'static str {
        match self {
            EventType::CreationSucceeded => "Images ready",
            EventType::CreationFailed => "Images could not be made",
            EventType::BatchFinished => "A batch finished",
            EventType::ListingReady => "A listing is written",
            EventType::TokensLow => "Tokens running low",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// What an endpoint subscribes to: at least one known event, no repeats, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Events(Vec<EventType>);

impl Events {
    pub fn parse<S: AsRef<str>>(asked: &[S]) -> Result<Self, Invalid> {
        let mut events = Vec::new();
        for s in asked {
            let e = EventType::parse(s.as_ref().trim()).ok_or_else(|| {
                Invalid::new(
                    "invalid_event",
                    "events",
                    format!("Unknown event. Choose from {}.", EventType::ALL.map(EventType::as_str).join(", ")),
                )
            })?;
            events.push(e);
        }
        if events.is_empty() {
            return Err(Invalid::new("invalid_event", "events", "Choose at least one event."));
        }
        Ok(Self(EventType::ALL.into_iter().filter(|e| events.contains(e)).collect()))
    }

    /// As stored: space-separated. Unknown words (from a newer version) subscribe to nothing.
    pub fn from_stored(text: &str) -> Self {
        Self(EventType::ALL.into_iter().filter(|e| text.split_whitespace().any(|w| w == e.as_str())).collect())
    }

    pub fn to_stored(&self) -> String {
        self.names().join(" ")
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.as_str()).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = EventType> + '_ {
        self.0.iter().copied()
    }
}

/// Where deliveries go: an absolute https URL without credentials (http, and addresses
/// inside private networks, only where `local` allows them: a development setup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target(String);

impl Target {
    pub fn parse(text: &str, local: bool) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("invalid_url", "url", why.to_owned());
        let text = text.trim();
        if text.len() > 2000 {
            return Err(bad("The address is too long (at most 2000 characters)."));
        }
        let mut url = url::Url::parse(text).map_err(|_| bad("Give a full address, like https://example.com/hooks."))?;
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            _ => return Err(bad("The address must start with https://.")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("Leave names and passwords out of the address; check the signature instead."));
        }
        let refused = match url.host() {
            None => return Err(bad("The address needs a host name.")),
            Some(url::Host::Ipv4(ip)) => !allowed(IpAddr::V4(ip), local),
            Some(url::Host::Ipv6(ip)) => !allowed(IpAddr::V6(ip), local),
            Some(url::Host::Domain(d)) => !local && (d == "localhost" || d.ends_with(".localhost")),
        };
        if refused {
            return Err(Invalid::new(
                "private_address",
                "url",
                "This address is inside a private network. Give one the internet can reach.",
            ));
        }
        url.set_fragment(None);
        Ok(Self(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True for an address on the public internet: not loopback, private, link-local (cloud
/// metadata lives there), shared, documentation, multicast or reserved. For IPv6 only
/// global unicast (2000::/3) can be public, and IPv4 carried inside it (mapped, NAT64, 6to4)
/// is judged as IPv4; Teredo, which hides where it leads, is refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_v4(v4);
            }
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| public_v4(Ipv4Addr::from(u32::from(hi) << 16 | u32::from(lo)));
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return embedded(s[6], s[7]); // NAT64
            }
            match s[0] {
                0x2002 => embedded(s[1], s[2]),                 // 6to4
                0x2001 if s[1] == 0 || s[1] == 0x0db8 => false, // Teredo, documentation
                first => (first & 0xe000) == 0x2000,
            }
        }
    }
}

/// Whether a delivery may go to `ip`. A development setup (`private_ok`) may reach this
/// machine and its network, never link-local addresses, where cloud metadata lives.
pub fn allowed(ip: IpAddr, private_ok: bool) -> bool {
    let ip = ip.to_canonical();
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 || v6.segments()[..2] == [0xfd00, 0x0ec2],
    };
    is_public(ip) || (private_ok && !link_local && !ip.is_unspecified())
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || a >= 240) // reserved
}

/// A new signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header for one attempt; `None` if the secret is malformed.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    Some(format!("v1,{}", STANDARD.encode(crate::secrets::mac_bytes(&key, &message))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signed.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        assert_eq!(sign("not-a-secret", "m", 1, b"{}"), None);
        let fresh = new_secret();
        assert!(fresh.starts_with("whsec_") && sign(&fresh, "m", 1, b"{}").is_some());
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
            "::ffff:0:a00:1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in
            ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
        {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        // A development setup reaches this machine, never the metadata service.
        assert!(allowed("127.0.0.1".parse().unwrap(), true) && !allowed("127.0.0.1".parse().unwrap(), false));
        for metadata in ["169.254.169.254", "fd00:ec2::254", "fe80::1", "::ffff:169.254.169.254"] {
            assert!(!allowed(metadata.parse().unwrap(), true), "{metadata}");
        }
    }

    #[test]
    fn targets_are_https_public_and_without_credentials() {
        assert_eq!(
            Target::parse(" https://shop.example/hooks#x ", false).unwrap().as_str(),
            "https://shop.example/hooks"
        );
        for (url, code) in [
            ("http://shop.example/hooks", "invalid_url"),
            ("ftp://shop.example/", "invalid_url"),
            ("https://user:pw@shop.example/", "invalid_url"),
            ("not a url", "invalid_url"),
            ("https://127.0.0.1/hooks", "private_address"),
            ("https://10.0.0.5/hooks", "private_address"),
            ("https://169.254.169.254/latest/meta-data", "private_address"),
            ("https://[::1]/", "private_address"),
            ("https://localhost/", "private_address"),
        ] {
            assert_eq!(Target::parse(url, false).unwrap_err().code, code, "{url}");
        }
        assert!(Target::parse("http://127.0.0.1:9000/hooks", true).is_ok());
        assert_eq!(Target::parse("http://169.254.169.254/", true).unwrap_err().code, "private_address");
    }

    #[test]
    fn events_parse_strictly_and_store_in_order() {
        let e = Events::parse(&["tokens.low", "creation.succeeded", "tokens.low"]).unwrap();
        assert_eq!(e.to_stored(), "creation.succeeded tokens.low");
        assert_eq!(Events::parse(&["creation.deleted"]).unwrap_err().code, "invalid_event");
        assert_eq!(Events::parse::<&str>(&[]).unwrap_err().code, "invalid_event");
        assert_eq!(Events::from_stored("batch.finished unknown.thing").names(), ["batch.finished"]);
    }
}
