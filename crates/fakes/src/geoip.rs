//! A FAKE GeoIP country database: writes a small file in MaxMind DB format (the format of
//! GeoLite2/GeoIP2 Country) mapping IPv4 networks to countries, so the real reader can be
//! tested without MaxMind's data. Format: https://maxmind.github.io/MaxMind-DB/

use std::net::Ipv4Addr;

/// One tree record: another node, nothing, or data at an offset in the data section.
#[derive(Clone, Copy)]
enum Record {
    Node(usize),
    Empty,
    Data(usize),
}

/// Bytes of a 24-bit-record, IPv4 country database where each `(network, prefix length,
/// ISO country code)` maps to `{"country": {"iso_code": …}}`.
pub fn country_database(networks: &[(Ipv4Addr, u8, &str)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
    for &(network, prefix, country) in networks {
        let offset = data.len();
        map_header(&mut data, 1);
        string(&mut data, "country");
        map_header(&mut data, 1);
        string(&mut data, "iso_code");
        string(&mut data, country);
        let bits = u32::from(network);
        let mut node = 0;
        for depth in 0..usize::from(prefix.clamp(1, 32)) {
            let bit = usize::from((bits >> (31 - depth)) & 1 == 1);
            if depth + 1 == usize::from(prefix) {
                nodes[node][bit] = Record::Data(offset);
            } else if let Record::Node(next) = nodes[node][bit] {
                node = next;
            } else {
                nodes.push([Record::Empty; 2]);
                let next = nodes.len() - 1;
                nodes[node][bit] = Record::Node(next);
                node = next;
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for pair in &nodes {
        for record in pair {
            let value = match *record {
                Record::Node(n) => n,
                Record::Empty => count,
                Record::Data(offset) => count + 16 + offset,
            };
            let value = u32::try_from(value).unwrap_or(u32::MAX);
            out.extend_from_slice(&value.to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
    map_header(&mut out, 9);
    string(&mut out, "binary_format_major_version");
    uint(&mut out, 5, 2);
    string(&mut out, "binary_format_minor_version");
    uint(&mut out, 5, 0);
    string(&mut out, "build_epoch");
    uint(&mut out, 9, 1_700_000_000);
    string(&mut out, "database_type");
    string(&mut out, "FAKE-Country");
    string(&mut out, "description");
    map_header(&mut out, 1);
    string(&mut out, "en");
    string(&mut out, "FAKE country database for tests");
    string(&mut out, "ip_version");
    uint(&mut out, 5, 4);
    string(&mut out, "languages");
    out.extend_from_slice(&[1, 4]); // array (extended type 11), one element
    string(&mut out, "en");
    string(&mut out, "node_count");
    uint(&mut out, 6, u64::try_from(count).unwrap_or(0));
    string(&mut out, "record_size");
    uint(&mut out, 5, 24);
    out
}

/// Control byte: type in the top three bits (extended types 8+ in a second byte), size in
/// the low five; sizes of 29 to 284 add one byte holding `size - 29`.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (low, extra) = match u8::try_from(size) {
        Ok(small) if small < 29 => (small, None),
        _ => (29, Some(u8::try_from(size.saturating_sub(29)).unwrap_or(u8::MAX))),
    };
    if kind < 8 {
        out.push((kind << 5) | low);
    } else {
        out.push(low);
        out.push(kind - 7);
    }
    out.extend(extra);
}

fn map_header(out: &mut Vec<u8>, entries: usize) {
    control(out, 7, entries);
}

fn string(out: &mut Vec<u8>, s: &str) {
    control(out, 2, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// uint16 (5), uint32 (6) or uint64 (9), big-endian in the fewest bytes.
fn uint(out: &mut Vec<u8>, kind: u8, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}
