//! What we keep about a device: browser, OS and device type read from the User-Agent,
//! and the client address truncated to its network (/24 for IPv4, /48 for IPv6).

use std::net::IpAddr;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub browser: String,
    pub os: String,
    pub device_type: String,
}

impl Device {
    pub fn from_user_agent(ua: &str) -> Self {
        let has = |s: &str| ua.contains(s);
        let browser = if has("Edg/") {
            "Edge"
        } else if has("OPR/") || has("Opera") {
            "Opera"
        } else if has("SamsungBrowser") {
            "Samsung Internet"
        } else if has("Firefox/") || has("FxiOS") {
            "Firefox"
        } else if has("Chrome/") || has("CriOS") || has("Chromium/") {
            "Chrome"
        } else if has("Safari/") {
            "Safari"
        } else if has("curl/") || has("python-") || has("reqwest") || has("Go-http-client") {
            "API client"
        } else {
            "Unknown"
        };
        let os = if has("Android") {
            "Android"
        } else if has("iPhone") || has("iPad") || has("iPod") {
            "iOS"
        } else if has("Windows") {
            "Windows"
        } else if has("Mac OS X") || has("Macintosh") {
            "macOS"
        } else if has("CrOS") {
            "ChromeOS"
        } else if has("Linux") {
            "Linux"
        } else {
            "Unknown"
        };
        let device_type = if has("iPad") || has("Tablet") || (has("Android") && !has("Mobile")) {
            "tablet"
        } else if has("Mobile") || has("iPhone") {
            "mobile"
        } else if browser == "API client" || browser == "Unknown" {
            "other"
        } else {
            "desktop"
        };
        Self { browser: browser.into(), os: os.into(), device_type: device_type.into() }
    }
}

/// The network part of an address: enough for fraud signals, not enough to identify a home.
pub fn truncate_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => truncate_ip(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_agents() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert_eq!(
            Device::from_user_agent(iphone),
            Device { browser: "Safari".into(), os: "iOS".into(), device_type: "mobile".into() }
        );
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36";
        assert_eq!(Device::from_user_agent(android).os, "Android");
        assert_eq!(Device::from_user_agent(android).browser, "Chrome");
        let win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0";
        assert_eq!(Device::from_user_agent(win).browser, "Edge");
        assert_eq!(Device::from_user_agent(win).device_type, "desktop");
        assert_eq!(Device::from_user_agent("curl/8.5").device_type, "other");
    }

    #[test]
    fn truncates_addresses() {
        assert_eq!(truncate_ip("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(truncate_ip("2001:db8:abcd:12::1".parse().unwrap()), "2001:db8:abcd::/48");
        assert_eq!(truncate_ip("::ffff:198.51.100.9".parse().unwrap()), "198.51.100.0/24");
    }
}
