//! A small synchronous rtnetlink client: one request (or one datagram of them) at a time, sequence numbers checked, the kernel's
//! errno (and extended-ack text) kept, interrupted dumps (`NLM_F_DUMP_INTR`) retried.

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTIPART,
    NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

/// How often an interrupted dump is retried before giving up.
const DUMP_RETRIES: u32 = 10;
const RECV_BUF: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The kernel (or the socket layer) refused: `errno` is the kernel's.
    #[error("{op}({target}): {errno:?}: {message}")]
    Kernel { op: String, target: String, errno: Errno, message: String },
    #[error("{op}({target}): cannot decode netlink reply: {detail}")]
    Decode { op: String, target: String, detail: String },
    #[error("{op}({target}): reply for sequence {got}, expected {expected}")]
    Sequence { op: String, target: String, expected: u32, got: u32 },
    #[error("{op}({target}): dump interrupted {DUMP_RETRIES} times in a row")]
    DumpInterrupted { op: String, target: String },
}

impl NetlinkError {
    pub fn errno(&self) -> Option<Errno> {
        match self {
            NetlinkError::Kernel { errno, .. } => Some(*errno),
            NetlinkError::DumpInterrupted { .. } => Some(Errno::EINTR),
            _ => None,
        }
    }
    pub fn op(&self) -> &str {
        match self {
            NetlinkError::Kernel { op, .. }
            | NetlinkError::Decode { op, .. }
            | NetlinkError::Sequence { op, .. }
            | NetlinkError::DumpInterrupted { op, .. } => op,
        }
    }
    pub fn target(&self) -> &str {
        match self {
            NetlinkError::Kernel { target, .. }
            | NetlinkError::Decode { target, .. }
            | NetlinkError::Sequence { target, .. }
            | NetlinkError::DumpInterrupted { target, .. } => target,
        }
    }
    fn io(op: &str, target: &str, e: std::io::Error) -> Self {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        NetlinkError::Kernel { op: op.into(), target: target.into(), errno, message: errno.desc().into() }
    }
}

pub type Result<T> = std::result::Result<T, NetlinkError>;

/// One change request of a [`Netlink::request_all`] batch: the message, extra flags (e.g.
/// `NLM_F_CREATE`) and what to name in its error.
pub struct Request<'a> {
    pub msg: RouteNetlinkMessage,
    pub flags: u16,
    pub op: &'a str,
    pub target: &'a str,
}

/// One NETLINK_ROUTE socket, bound to the network namespace of the thread that created it.
pub struct Netlink {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Self> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| NetlinkError::io("socket(NETLINK_ROUTE)", "", e))?;
        sock.bind_auto().map_err(|e| NetlinkError::io("bind(netlink)", "", e))?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(|e| NetlinkError::io("connect(netlink)", "", e))?;
        // Best effort: shorter error replies with the kernel's explanation attached.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_netlink_get_strict_chk(true);
        Ok(Netlink { sock, seq: std::process::id().wrapping_mul(7919), buf: Vec::with_capacity(RECV_BUF) })
    }

    /// A socket that only listens: subscribed to the given rtnetlink multicast groups (e.g.
    /// `RTNLGRP_LINK`), for the kernel's notifications about changes made by anyone.
    pub fn open_subscribed(groups: &[u32]) -> Result<Self> {
        let nl = Netlink::open()?;
        for g in groups {
            nl.sock.add_membership(*g).map_err(|e| NetlinkError::io("subscribe(netlink)", &g.to_string(), e))?;
        }
        Ok(nl)
    }

    pub fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.sock)
    }

    /// Receives one datagram of notifications (blocking) and returns the messages in it. ENOBUFS means
    /// the kernel dropped some (the socket's buffer overflowed): the caller must not rely on seeing one.
    pub fn notifications(&mut self) -> Result<Vec<RouteNetlinkMessage>> {
        self.buf.clear();
        self.sock.recv(&mut self.buf, 0).map_err(|e| NetlinkError::io("receive notifications", "", e))?;
        let mut out = Vec::new();
        let mut off = 0;
        while off + 16 <= self.buf.len() {
            let len = u32::from_ne_bytes([self.buf[off], self.buf[off + 1], self.buf[off + 2], self.buf[off + 3]]) as usize;
            if len < 16 || off + len > self.buf.len() {
                break;
            }
            if let Ok(m) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..off + len]) {
                if let NetlinkPayload::InnerMessage(inner) = m.payload {
                    out.push(inner);
                }
            }
            off += (len + 3) & !3;
        }
        Ok(out)
    }

    /// Discards notifications already queued (without blocking).
    pub fn drain_notifications(&mut self) {
        loop {
            self.buf.clear();
            if self.sock.recv(&mut self.buf, libc::MSG_DONTWAIT).is_err() {
                return;
            }
        }
    }

    /// Appends one request to `out` with the next sequence number; returns that number.
    fn encode(&mut self, msg: RouteNetlinkMessage, flags: u16, out: &mut Vec<u8>) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let start = out.len();
        // Messages in one datagram start on 4-byte boundaries (NLMSG_ALIGN).
        out.resize(start + ((packet.buffer_len() + 3) & !3), 0);
        packet.serialize(&mut out[start..start + packet.buffer_len()]);
        self.seq
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16, op: &str, target: &str) -> Result<u32> {
        let mut bytes = Vec::new();
        let seq = self.encode(msg, flags, &mut bytes);
        self.sock.send(&bytes, 0).map_err(|e| NetlinkError::io(op, target, e))?;
        Ok(seq)
    }

    /// Receives one datagram and splits it into messages, checking sequence numbers.
    fn recv_batch(&mut self, seq: u32, op: &str, target: &str) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        loop {
            self.buf.clear();
            let n = self.sock.recv(&mut self.buf, 0).map_err(|e| NetlinkError::io(op, target, e))?;
            if n > self.buf.len() {
                return Err(NetlinkError::Decode { op: op.into(), target: target.into(), detail: "truncated".into() });
            }
            let mut out = Vec::new();
            let mut off = 0;
            while off + 16 <= self.buf.len() {
                let len = u32::from_ne_bytes([self.buf[off], self.buf[off + 1], self.buf[off + 2], self.buf[off + 3]])
                    as usize;
                if len < 16 || off + len > self.buf.len() {
                    return Err(NetlinkError::Decode { op: op.into(), target: target.into(), detail: "bad length".into() });
                }
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..off + len]).map_err(|e| {
                    NetlinkError::Decode { op: op.into(), target: target.into(), detail: e.to_string() }
                })?;
                off += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    // A late reply to an earlier request that gave up: skip it, but never mistake it for ours.
                    if msg.header.sequence_number < seq && seq - msg.header.sequence_number < 1 << 16 {
                        continue;
                    }
                    return Err(NetlinkError::Sequence {
                        op: op.into(),
                        target: target.into(),
                        expected: seq,
                        got: msg.header.sequence_number,
                    });
                }
                out.push(msg);
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }

    /// Sends a request that changes something and waits for the kernel's acknowledgement.
    pub fn request(&mut self, msg: RouteNetlinkMessage, extra_flags: u16, op: &str, target: &str) -> Result<()> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | extra_flags, op, target)?;
        loop {
            for m in self.recv_batch(seq, op, target)? {
                match m.payload {
                    NetlinkPayload::Error(e) => return ack_result(e, op, target),
                    NetlinkPayload::Done(_) => return Ok(()),
                    _ => {}
                }
            }
        }
    }

    /// Sends change requests in one datagram and waits for every acknowledgement. The kernel runs
    /// them in order, each one also after an earlier one failed; the first failure is returned.
    pub fn request_all(&mut self, requests: Vec<Request<'_>>) -> Result<()> {
        let Some(first) = requests.first() else { return Ok(()) };
        let (op0, target0) = (first.op.to_string(), first.target.to_string());
        let mut bytes = Vec::new();
        let mut pending = Vec::new();
        for r in requests {
            let seq = self.encode(r.msg, NLM_F_REQUEST | NLM_F_ACK | r.flags, &mut bytes);
            pending.push((seq, r.op, r.target));
        }
        self.sock.send(&bytes, 0).map_err(|e| NetlinkError::io(&op0, &target0, e))?;
        let mut first_err = None;
        for (seq, op, target) in pending {
            let r = 'ack: loop {
                for m in self.recv_batch(seq, op, target)? {
                    match m.payload {
                        NetlinkPayload::Error(e) => break 'ack ack_result(e, op, target),
                        NetlinkPayload::Done(_) => break 'ack Ok(()),
                        _ => {}
                    }
                }
            };
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Sends a non-dump query (e.g. one link by name) and returns its replies.
    pub fn get(&mut self, msg: RouteNetlinkMessage, op: &str, target: &str) -> Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_REQUEST, op, target)?;
        let mut out = Vec::new();
        loop {
            for m in self.recv_batch(seq, op, target)? {
                let multi = m.header.flags & NLM_F_MULTIPART != 0;
                match m.payload {
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    NetlinkPayload::Error(e) => {
                        ack_result(e, op, target)?;
                        return Ok(out);
                    }
                    NetlinkPayload::Done(_) => return Ok(out),
                    _ => {}
                }
                if !multi && !out.is_empty() {
                    return Ok(out);
                }
            }
        }
    }

    /// Dumps a table, retrying from scratch when the kernel says the dump was interrupted by a change.
    pub fn dump(&mut self, msg: RouteNetlinkMessage, op: &str, target: &str) -> Result<Vec<RouteNetlinkMessage>> {
        for _ in 0..DUMP_RETRIES {
            let seq = self.send(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP, op, target)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            'recv: loop {
                for m in self.recv_batch(seq, op, target)? {
                    if m.header.flags & NLM_F_DUMP_INTR != 0 {
                        interrupted = true;
                    }
                    match m.payload {
                        NetlinkPayload::InnerMessage(inner) => out.push(inner),
                        NetlinkPayload::Done(_) => break 'recv,
                        NetlinkPayload::Error(e) => {
                            ack_result(e, op, target)?;
                            break 'recv;
                        }
                        _ => {}
                    }
                    if m.header.flags & NLM_F_MULTIPART == 0 {
                        break 'recv;
                    }
                }
            }
            if !interrupted {
                return Ok(out);
            }
        }
        Err(NetlinkError::DumpInterrupted { op: op.into(), target: target.into() })
    }
}

/// An error message with code 0 is an ACK; otherwise the code is the negated errno and, with extended
/// acks, an NLMSGERR_ATTR_MSG attribute may follow the echoed header.
fn ack_result(e: netlink_packet_core::ErrorMessage, op: &str, target: &str) -> Result<()> {
    let Some(code) = e.code else { return Ok(()) };
    let errno = Errno::from_raw(-code.get());
    let message = ext_ack_message(&e.header).unwrap_or_else(|| errno.desc().to_string());
    Err(NetlinkError::Kernel { op: op.into(), target: target.into(), errno, message })
}

/// With NETLINK_CAP_ACK the echoed request is only its 16-byte header; TLVs follow.
fn ext_ack_message(rest: &[u8]) -> Option<String> {
    let mut off = 16;
    while off + 4 <= rest.len() {
        let len = u16::from_ne_bytes([rest[off], rest[off + 1]]) as usize;
        let kind = u16::from_ne_bytes([rest[off + 2], rest[off + 3]]) & 0x3fff;
        if len < 4 || off + len > rest.len() {
            return None;
        }
        if kind == 1 {
            let text = &rest[off + 4..off + len];
            let text = text.split(|b| *b == 0).next().unwrap_or(&[]);
            return Some(String::from_utf8_lossy(text).into_owned());
        }
        off += (len + 3) & !3;
    }
    None
}
