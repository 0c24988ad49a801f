//! The bytes of one batch and of the kernel's replies. Key and data are nftables concatenations:
//! every component is padded to a 4-byte register, numbers in network byte order (checked against
//! `nft --debug=netlink`; see the tests).

use std::net::Ipv4Addr;

use netlink_packet_core::{
    NLMSG_ERROR, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};

use super::{MAP_ANY, MAP_IP};
use crate::nft::TABLE;
use crate::state::{Lease, PortMap, Protocol};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_IPV4: u8 = 2;

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;
pub(super) const NLMSGERR_ATTR_MSG: u16 = 1;

const HDR_LEN: usize = 16;

/// Appends netlink messages and attributes to one buffer; lengths are patched when a message or a
/// nest is closed, so nothing is built twice.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self) {
        self.buf.resize((self.buf.len() + 3) & !3, 0);
    }
    /// nlmsghdr + nfgenmsg; returns where the message starts, for `end_msg`.
    fn begin_msg(&mut self, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        start
    }
    pub(super) fn end_msg(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }
    fn attr(&mut self, ty: u16, data: &[u8]) {
        self.buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }
    pub(super) fn attr_str(&mut self, ty: u16, s: &str) {
        let mut z = Vec::with_capacity(s.len() + 1);
        z.extend_from_slice(s.as_bytes());
        z.push(0);
        self.attr(ty, &z);
    }
    fn begin_nest(&mut self, ty: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        start
    }
    fn end_nest(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }
    /// `NFTA_*` → NFTA_DATA_VALUE → bytes.
    fn data_value(&mut self, ty: u16, value: &[u8]) {
        let n = self.begin_nest(ty);
        self.attr(NFTA_DATA_VALUE, value);
        self.end_nest(n);
    }
}

/// One concatenation component: its bytes, zero-padded to a 4-byte register.
fn register(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.resize((out.len() + 3) & !3, 0);
}

fn proto_number(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => libc::IPPROTO_TCP as u8,
        Protocol::Udp => libc::IPPROTO_UDP as u8,
    }
}

/// The map a port goes to and its key: `[host ip .] proto . host port`.
pub(super) fn key(p: &PortMap) -> (&'static str, Vec<u8>) {
    let mut k = Vec::with_capacity(12);
    if let Some(ip) = p.host_ip {
        register(&mut k, &ip.octets());
    }
    register(&mut k, &[proto_number(p.protocol)]);
    register(&mut k, &p.host_port.to_be_bytes());
    (if p.host_ip.is_some() { MAP_IP } else { MAP_ANY }, k)
}

/// `container ip . container port`.
pub(super) fn data(ip: Ipv4Addr, port: u16) -> Vec<u8> {
    let mut d = Vec::with_capacity(8);
    register(&mut d, &ip.octets());
    register(&mut d, &port.to_be_bytes());
    d
}

/// What a batch's element messages were about, by sequence number, to name the map in errors.
pub(super) struct Batch {
    pub(super) bytes: Vec<u8>,
    /// (sequence number, map) of every message that asked for an ack.
    pub(super) acked: Vec<(u32, &'static str)>,
    pub(super) begin_seq: u32,
    pub(super) add: bool,
}

/// The whole batch for one lease's ports: one element message per map that has any.
pub(super) fn build(lease: &Lease, add: bool, seq: u32) -> Batch {
    let mut w = Writer::default();
    let b = w.begin_msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, 0, NFNL_SUBSYS_NFTABLES);
    w.end_msg(b);
    let (ty, flags) = if add {
        (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
    } else {
        (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK)
    };
    let mut acked = Vec::new();
    let mut next = seq;
    for map in [MAP_ANY, MAP_IP] {
        let ports: Vec<&PortMap> = lease.ports.iter().filter(|p| key(p).0 == map).collect();
        if ports.is_empty() {
            continue;
        }
        next = next.wrapping_add(1);
        acked.push((next, map));
        let m = w.begin_msg((NFNL_SUBSYS_NFTABLES << 8) | ty, flags, next, NFPROTO_IPV4, 0);
        w.attr_str(NFTA_SET_ELEM_LIST_TABLE, TABLE);
        w.attr_str(NFTA_SET_ELEM_LIST_SET, map);
        let list = w.begin_nest(NFTA_SET_ELEM_LIST_ELEMENTS);
        for p in ports {
            let e = w.begin_nest(NFTA_LIST_ELEM);
            w.data_value(NFTA_SET_ELEM_KEY, &key(p).1);
            if add {
                w.data_value(NFTA_SET_ELEM_DATA, &data(lease.ip, p.container_port));
            }
            w.end_nest(e);
        }
        w.end_nest(list);
        w.end_msg(m);
    }
    let e = w.begin_msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, next.wrapping_add(1), 0, NFNL_SUBSYS_NFTABLES);
    w.end_msg(e);
    Batch { bytes: w.buf, acked, begin_seq: seq, add }
}

/// One reply: the sequence number it answers, the kernel's errno (0 for an ack) and its message.
#[derive(Debug, PartialEq)]
pub(super) struct Reply {
    pub(super) seq: u32,
    pub(super) errno: i32,
    pub(super) message: Option<String>,
}

/// Splits a datagram into its NLMSG_ERROR replies; anything else the kernel sends us is an error.
pub(super) fn parse_replies(buf: &[u8]) -> Result<Vec<Reply>, String> {
    let u16_at = |o: usize| u16::from_ne_bytes([buf[o], buf[o + 1]]);
    let u32_at = |o: usize| u32::from_ne_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]);
    let mut out = Vec::new();
    let mut off = 0;
    while off + HDR_LEN <= buf.len() {
        let len = u32_at(off) as usize;
        if len < HDR_LEN || off + len > buf.len() {
            return Err(format!("truncated netlink message ({len} bytes at offset {off})"));
        }
        let (ty, flags, seq) = (u16_at(off + 4), u16_at(off + 6), u32_at(off + 8));
        if ty != NLMSG_ERROR || len < HDR_LEN + 4 + HDR_LEN {
            return Err(format!("unexpected netlink message type {ty} for sequence {seq}"));
        }
        let errno = -(u32_at(off + HDR_LEN) as i32);
        // The echoed request is only its header when capped; extended-ack attributes follow it.
        let echoed = if flags & NLM_F_CAPPED != 0 { HDR_LEN } else { u32_at(off + HDR_LEN + 4) as usize };
        let mut message = None;
        let mut a = off + HDR_LEN + 4 + ((echoed + 3) & !3);
        while flags & NLM_F_ACK_TLVS != 0 && a + 4 <= off + len {
            let (alen, aty) = (u16_at(a) as usize, u16_at(a + 2) & !NLA_F_NESTED);
            if alen < 4 || a + alen > off + len {
                break;
            }
            if aty == NLMSGERR_ATTR_MSG {
                let s = &buf[a + 4..a + alen];
                message = Some(String::from_utf8_lossy(s.split(|b| *b == 0).next().unwrap_or(s)).into_owned());
            }
            a += (alen + 3) & !3;
        }
        out.push(Reply { seq, errno, message });
        off += (len + 3) & !3;
    }
    Ok(out)
}

