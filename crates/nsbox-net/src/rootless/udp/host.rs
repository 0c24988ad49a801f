//! The host's side of a published UDP port. A socket bound on all addresses (`-p H:C/udp`, no IP)
//! answers each client from the address that client sent to: the kernel would pick the route's
//! source instead (for a client at the host's 192.0.2.9 asking 192.0.2.1, 192.0.2.9), and a
//! connected client (socat's UDP:, most resolvers) drops a datagram from any other address. So the
//! socket asks for each datagram's destination (IP_PKTINFO / IPV6_RECVPKTINFO) and gives it as the
//! source of the answers (the same control message on sendmsg), as UDP servers on multihomed hosts
//! do. A socket bound to one address (`-p IP:H:C/udp`) answers from it anyway.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::sys::socket::{recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrStorage};

pub(super) struct HostSocket {
    sock: UdpSocket,
    pktinfo: bool,
}

impl HostSocket {
    pub(super) fn new(sock: UdpSocket) -> io::Result<Self> {
        sock.set_nonblocking(true)?;
        let local = sock.local_addr()?;
        let pktinfo = local.ip().is_unspecified();
        if pktinfo {
            match local {
                SocketAddr::V4(_) => setsockopt(&sock, sockopt::Ipv4PacketInfo, &true)?,
                SocketAddr::V6(_) => setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true)?,
            }
        }
        Ok(HostSocket { sock, pktinfo })
    }

    /// One datagram: its length, the client, and (bound on all addresses) the address it was sent to.
    pub(super) fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<IpAddr>)> {
        if !self.pktinfo {
            let (n, client) = self.sock.recv_from(buf)?;
            return Ok((n, client, None));
        }
        let mut iov = [IoSliceMut::new(buf)];
        let mut space = nix::cmsg_space!(libc::in_pktinfo, libc::in6_pktinfo);
        let msg = recvmsg::<SockaddrStorage>(self.sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty())?;
        let client = msg.address.as_ref().and_then(to_std).ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
        let mut local = None;
        for c in msg.cmsgs()? {
            match c {
                // The header's destination (ipi_addr): ipi_spec_dst is the route's source back to the
                // client, the very address the answer must not come from.
                ControlMessageOwned::Ipv4PacketInfo(i) => local = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(i.ipi_addr.s_addr)))),
                ControlMessageOwned::Ipv6PacketInfo(i) => local = Some(IpAddr::V6(Ipv6Addr::from(i.ipi6_addr.s6_addr))),
                _ => {}
            }
        }
        // A broadcast or multicast destination is no source: the kernel picks one.
        Ok((msg.bytes, client, local.filter(|a| !a.is_multicast() && a != &IpAddr::V4(Ipv4Addr::BROADCAST))))
    }

    /// Sends `buf` to `client`, from `local` when known.
    pub(super) fn send(&self, buf: &[u8], client: SocketAddr, local: Option<IpAddr>) -> io::Result<usize> {
        let Some(local) = local.filter(|_| self.pktinfo) else { return self.sock.send_to(buf, client) };
        let iov = [IoSlice::new(buf)];
        let to = SockaddrStorage::from(client);
        let fd = self.sock.as_raw_fd();
        let sent = match local {
            IpAddr::V4(a) => {
                let info = libc::in_pktinfo { ipi_ifindex: 0, ipi_spec_dst: libc::in_addr { s_addr: u32::from(a).to_be() }, ipi_addr: libc::in_addr { s_addr: 0 } };
                sendmsg(fd, &iov, &[ControlMessage::Ipv4PacketInfo(&info)], MsgFlags::empty(), Some(&to))
            }
            IpAddr::V6(a) => {
                let info = libc::in6_pktinfo { ipi6_addr: libc::in6_addr { s6_addr: a.octets() }, ipi6_ifindex: 0 };
                sendmsg(fd, &iov, &[ControlMessage::Ipv6PacketInfo(&info)], MsgFlags::empty(), Some(&to))
            }
        };
        // A source the kernel refuses (a subnet's broadcast address that was asked): its own choice.
        sent.or_else(|_| self.sock.send_to(buf, client))
    }
}

impl AsFd for HostSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

fn to_std(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}
