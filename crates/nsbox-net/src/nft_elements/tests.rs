//! Golden bytes: transcribed from `nft --debug=mnl` (nftables 1.0.6) for the same elements, run in a
//! throwaway netns. Two deliberate differences from nft's own messages: our element messages ask for
//! an ack and, when adding, refuse existing elements (flags), and they carry no NFTA_SET_ELEM_LIST_SET_ID
//! (nft adds it in case the set is created in the same batch; ours never is). Headers are in host
//! byte order, so these hold on little-endian machines.

use super::message::*;
use super::*;
use netlink_packet_core::{NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED};
use std::net::Ipv4Addr;
use crate::state::{Lease, PortMap, Protocol};

fn lease(ip: [u8; 4], ports: Vec<PortMap>) -> Lease {
    Lease { ports, ..Lease::placeholder("0123456789ab", Ipv4Addr::from(ip)) }
}

fn port(host_ip: Option<[u8; 4]>, protocol: Protocol, host_port: u16, container_port: u16) -> PortMap {
    PortMap { host_ip: host_ip.map(Ipv4Addr::from), host_port, container_port, protocol }
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

const BEGIN_SEQ0: &str = "14 00 00 00  10 00 01 00  00 00 00 00  00 00 00 00  00 00 00 0a";
const END_SEQ2: &str = "14 00 00 00  11 00 01 00  02 00 00 00  00 00 00 00  00 00 00 0a";

/// `add element ip nsbox ports_any { tcp . 8080 : 10.0.0.2 . 80 }`
#[cfg(target_endian = "little")]
#[test]
fn add_ports_any_matches_nft() {
    let b = build(&lease([10, 0, 0, 2], vec![port(None, Protocol::Tcp, 8080, 80)]), true, 0);
    let element = "
        58 00 00 00  0c 0a 05 06  01 00 00 00  00 00 00 00  02 00 00 00
        0a 00 01 00  6e 73 62 6f  78 00 00 00
        0e 00 02 00  70 6f 72 74  73 5f 61 6e  79 00 00 00
        28 00 03 80
          24 00 01 80
            10 00 01 80  0c 00 01 00  06 00 00 00  1f 90 00 00
            10 00 02 80  0c 00 01 00  0a 00 00 02  00 50 00 00";
    assert_eq!(b.bytes, hex(&format!("{BEGIN_SEQ0} {element} {END_SEQ2}")));
    assert_eq!(b.acked, vec![(1, MAP_ANY)]);
}

/// `add element ip nsbox ports_ip { 192.168.1.5 . udp . 53 : 10.0.0.3 . 5353 }`
#[cfg(target_endian = "little")]
#[test]
fn add_ports_ip_matches_nft() {
    let b = build(&lease([10, 0, 0, 3], vec![port(Some([192, 168, 1, 5]), Protocol::Udp, 53, 5353)]), true, 0);
    let element = "
        5c 00 00 00  0c 0a 05 06  01 00 00 00  00 00 00 00  02 00 00 00
        0a 00 01 00  6e 73 62 6f  78 00 00 00
        0d 00 02 00  70 6f 72 74  73 5f 69 70  00 00 00 00
        2c 00 03 80
          28 00 01 80
            14 00 01 80  10 00 01 00  c0 a8 01 05  11 00 00 00  00 35 00 00
            10 00 02 80  0c 00 01 00  0a 00 00 03  14 e9 00 00";
    assert_eq!(b.bytes, hex(&format!("{BEGIN_SEQ0} {element} {END_SEQ2}")));
}

/// `delete element ip nsbox ports_ip { 192.168.1.5 . udp . 53 }`: the key only.
#[cfg(target_endian = "little")]
#[test]
fn delete_ports_ip_matches_nft() {
    let b = build(&lease([10, 0, 0, 3], vec![port(Some([192, 168, 1, 5]), Protocol::Udp, 53, 5353)]), false, 0);
    let element = "
        4c 00 00 00  0e 0a 05 00  01 00 00 00  00 00 00 00  02 00 00 00
        0a 00 01 00  6e 73 62 6f  78 00 00 00
        0d 00 02 00  70 6f 72 74  73 5f 69 70  00 00 00 00
        1c 00 03 80
          18 00 01 80
            14 00 01 80  10 00 01 00  c0 a8 01 05  11 00 00 00  00 35 00 00";
    assert_eq!(b.bytes, hex(&format!("{BEGIN_SEQ0} {element} {END_SEQ2}")));
}

#[test]
fn one_message_per_map_all_elements_in_it() {
    let ports = vec![
        port(None, Protocol::Tcp, 8080, 80),
        port(Some([127, 0, 0, 1]), Protocol::Tcp, 8443, 443),
        port(None, Protocol::Udp, 5353, 53),
    ];
    let b = build(&lease([10, 0, 0, 9], ports), true, 100);
    assert_eq!(b.acked, vec![(101, MAP_ANY), (102, MAP_IP)]);
    assert_eq!(b.begin_seq, 100);
    // Walk the messages: begin, ports_any (two elements), ports_ip (one), end with the last seq.
    let mut off = 0;
    let mut seen = Vec::new();
    while off < b.bytes.len() {
        let len = u32::from_ne_bytes(b.bytes[off..off + 4].try_into().unwrap()) as usize;
        let ty = u16::from_ne_bytes(b.bytes[off + 4..off + 6].try_into().unwrap());
        let seq = u32::from_ne_bytes(b.bytes[off + 8..off + 12].try_into().unwrap());
        seen.push((ty, seq, len));
        off += len;
    }
    assert_eq!(off, b.bytes.len());
    let types: Vec<(u16, u32)> = seen.iter().map(|(t, s, _)| (*t, *s)).collect();
    assert_eq!(types, vec![(16, 100), (0x0a0c, 101), (0x0a0c, 102), (17, 103)]);
    // Two list elements of 36 bytes each (key 16 + data 16 + header 4) in the ports_any message.
    assert_eq!(seen[1].2, 20 + 12 + 16 + 4 + 2 * 36);
}

#[test]
fn keys_and_data_are_padded_registers() {
    assert_eq!(key(&port(None, Protocol::Udp, 53, 0)), (MAP_ANY, vec![17, 0, 0, 0, 0, 53, 0, 0]));
    assert_eq!(
        key(&port(Some([1, 2, 3, 4]), Protocol::Tcp, 0x1234, 0)),
        (MAP_IP, vec![1, 2, 3, 4, 6, 0, 0, 0, 0x12, 0x34, 0, 0])
    );
    assert_eq!(data(Ipv4Addr::new(10, 1, 2, 3), 65535), vec![10, 1, 2, 3, 0xff, 0xff, 0, 0]);
}

/// An NLMSG_ERROR as the kernel sends it on a capped socket, optionally with an extack message.
fn error_reply(seq: u32, errno: i32, msg: Option<&str>) -> Vec<u8> {
    let mut w = Writer::default();
    let flags = NLM_F_CAPPED | if msg.is_some() { NLM_F_ACK_TLVS } else { 0 };
    let start = w.buf.len();
    w.buf.extend_from_slice(&0u32.to_ne_bytes());
    w.buf.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
    w.buf.extend_from_slice(&flags.to_ne_bytes());
    w.buf.extend_from_slice(&seq.to_ne_bytes());
    w.buf.extend_from_slice(&4242u32.to_ne_bytes());
    w.buf.extend_from_slice(&(-errno).to_ne_bytes());
    // The echoed request header (its length is the full request's, as the kernel leaves it).
    w.buf.extend_from_slice(&88u32.to_ne_bytes());
    w.buf.extend_from_slice(&0x0a0cu16.to_ne_bytes());
    w.buf.extend_from_slice(&5u16.to_ne_bytes());
    w.buf.extend_from_slice(&seq.to_ne_bytes());
    w.buf.extend_from_slice(&0u32.to_ne_bytes());
    if let Some(m) = msg {
        w.attr_str(NLMSGERR_ATTR_MSG, m);
    }
    w.end_msg(start);
    w.buf
}

fn one_map_batch() -> Batch {
    build(&lease([10, 0, 0, 2], vec![port(None, Protocol::Tcp, 8080, 80)]), true, 7)
}

#[test]
fn replies_parse_acks_errors_and_extack() {
    let mut dgram = error_reply(8, 0, None);
    dgram.extend(error_reply(9, libc::EEXIST, Some("element exists")));
    let r = parse_replies(&dgram).unwrap();
    assert_eq!(r[0], Reply { seq: 8, errno: 0, message: None });
    assert_eq!(r[1], Reply { seq: 9, errno: libc::EEXIST, message: Some("element exists".into()) });
    assert!(parse_replies(&dgram[..30]).is_err());
}

#[test]
fn all_acked_is_ok() {
    let b = one_map_batch();
    assert!(check("add published ports", &b, &parse_replies(&error_reply(8, 0, None)).unwrap()).is_ok());
}

#[test]
fn missing_map_names_table_and_map_with_enoent() {
    let b = one_map_batch();
    let e = check("add published ports", &b, &parse_replies(&error_reply(8, libc::ENOENT, None)).unwrap()).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ENOENT));
    assert_eq!(e.target(), "table ip nsbox map ports_any");
    assert_eq!(e.to_string(), "add published ports(table ip nsbox map ports_any): ENOENT: no such table or map");
}

#[test]
fn existing_element_is_eexist() {
    let b = one_map_batch();
    let e = check("add published ports", &b, &parse_replies(&error_reply(8, libc::EEXIST, None)).unwrap()).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    assert!(e.to_string().contains("ports_any"), "{e}");
}

#[test]
fn batch_level_error_names_the_table() {
    let b = one_map_batch();
    let e = check("delete published ports", &b, &parse_replies(&error_reply(7, libc::EPERM, None)).unwrap()).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EPERM));
    assert_eq!(e.target(), "table ip nsbox");
}

#[test]
fn silence_and_strangers_are_errors() {
    let b = one_map_batch();
    let e = check("add published ports", &b, &[]).unwrap_err();
    assert_eq!(e.errno(), None);
    assert!(e.to_string().contains("no ack for map(s) ports_any"), "{e}");
    let e = check("add published ports", &b, &parse_replies(&error_reply(99, 0, None)).unwrap()).unwrap_err();
    assert!(e.to_string().contains("unknown sequence 99"), "{e}");
}
