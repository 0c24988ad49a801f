//! Published UDP ports (`-p H:C/udp`) of a container on a rootless user-defined network: watch.rs's
//! half for UDP. UDP has no connections to accept, so the watcher keeps a *flow* per client address,
//! as conntrack (and docker-proxy) do:
//! - the host's socket (bound before the watcher joined the holder's namespaces, so on the host's
//!   addresses) receives a client's datagram; the client's flow is a UDP socket made in this thread
//!   (which runs in the holder's network namespace, where the bridge is), connected to the
//!   container's address and port; the datagram goes out on it;
//! - what the container answers to that socket is sent from the host's socket to that client, so each
//!   client gets its own answers and the container sees one peer (the bridge's address, a port of
//!   its own) per client;
//! - a flow idle (no datagram either way) for [`IDLE`] is closed (60 s: the order of conntrack's UDP
//!   timeouts, 30 s unreplied, 120 s or more for a stream; docker-proxy uses 90 s);
//! - at most [`MAX_FLOWS`] flows per published port: a new client beyond that closes the idlest flow
//!   first (its late answers are lost, as on a full conntrack table), so memory and descriptors stay
//!   bounded whatever the clients do.
//!
//! The host's socket answers each client from the address it asked (host.rs). One thread per
//! published port polls its host socket and its flows (watch.rs gives each TCP
//! listener a thread too). Nothing here can report an error (the watcher's stdio is /dev/null once
//! it answered): a datagram that cannot be forwarded is dropped, as UDP allows.

mod flows;
mod host;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use flows::Flows;
use host::HostSocket;

/// How long a flow lives without a datagram either way.
pub(super) const IDLE: Duration = Duration::from_secs(60);
/// Flows per published port (one socket each).
pub(super) const MAX_FLOWS: usize = 256;
/// Datagrams read from one socket per wake-up, so one busy client cannot starve the others.
const BURST: usize = 64;

/// A client's flow: the socket inside, connected to the container, and which of the host's
/// addresses the client asked (the answers' source).
struct Flow {
    sock: UdpSocket,
    local: Option<IpAddr>,
}

/// Relays between `host` (bound on the host's side) and the container's `to`, until the process exits.
pub(super) fn relay(host: UdpSocket, to: SocketAddr) {
    relay_with(host, to, MAX_FLOWS, IDLE);
}

/// Room for the flows' descriptors: the soft RLIMIT_NOFILE (1024 by default) raised to the hard
/// one, as a few ports' full flow tables would pass 1024. Failing that, a flow that cannot open
/// drops its datagram (EMFILE), nothing worse.
pub(super) fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn relay_with(host: UdpSocket, to: SocketAddr, cap: usize, idle: Duration) {
    let Ok(host) = HostSocket::new(host) else { return };
    let mut flows: Flows<Flow> = Flows::new(cap, idle);
    // One buffer for the largest UDP payload: the relay's only allocation besides the flows.
    let mut buf = vec![0u8; 65536];
    loop {
        let now = Instant::now();
        flows.expire(now);
        let (host_ready, ready) = {
            let clients: Vec<(SocketAddr, &Flow)> = flows.iter().map(|(a, f)| (*a, f)).collect();
            let mut fds: Vec<PollFd<'_>> = std::iter::once(host.as_fd()).chain(clients.iter().map(|(_, f)| f.sock.as_fd())).map(|fd| PollFd::new(fd, PollFlags::POLLIN)).collect();
            // Wake up for the next expiry (1 ms late rather than early: no busy loop).
            let timeout = flows.next_expiry().map_or(PollTimeout::NONE, |t| {
                let ms = t.saturating_duration_since(now).as_millis().min(65_000) as u16;
                PollTimeout::from(ms.saturating_add(1))
            });
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                // ENOMEM passes; the port must not die of it (nothing else is possible here).
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
            let woke = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            let ready: Vec<SocketAddr> = clients.iter().zip(&fds[1..]).filter(|(_, f)| woke(f)).map(|(c, _)| c.0).collect();
            (woke(&fds[0]), ready)
        };
        let now = Instant::now();
        for client in ready {
            answers(&host, &mut flows, client, now, &mut buf);
        }
        if host_ready {
            requests(&host, &mut flows, to, now, &mut buf);
        }
    }
}

/// Client → container: each datagram on the host's socket goes out on its client's flow.
fn requests(host: &HostSocket, flows: &mut Flows<Flow>, to: SocketAddr, now: Instant, buf: &mut [u8]) {
    for _ in 0..BURST {
        let (n, client, local) = match host.recv(buf) {
            Ok(x) => x,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let Ok(flow) = flows.get_or_open(client, now, || open_flow(to)) else { continue };
        if local.is_some() {
            flow.local = local;
        }
        // ECONNREFUSED (nothing listened at the last datagram), a full buffer: dropped, as UDP may.
        let _ = flow.sock.send(&buf[..n]);
    }
}

/// Container → client: what arrived on `client`'s flow goes from the host's socket to the client.
fn answers(host: &HostSocket, flows: &mut Flows<Flow>, client: SocketAddr, now: Instant, buf: &mut [u8]) {
    let Some(flow) = flows.get(&client) else { return };
    let mut got = false;
    for _ in 0..BURST {
        match flow.sock.recv(buf) {
            Ok(n) => {
                got = true;
                let _ = host.send(&buf[..n], client, flow.local);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // WouldBlock: drained; ECONNREFUSED (an ICMP port unreachable): consumed, nothing to relay.
            Err(_) => break,
        }
    }
    if got {
        flows.touch(&client, now);
    }
}

/// A flow's socket: made in this thread, so in the holder's network namespace, connected to the container.
fn open_flow(to: SocketAddr) -> std::io::Result<Flow> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    sock.connect(to)?;
    sock.set_nonblocking(true)?;
    Ok(Flow { sock, local: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo "container" that prefixes the peer's port, the relay in front of it on `host`.
    fn echo_behind(host: UdpSocket) -> SocketAddr {
        echo_behind_with(host, MAX_FLOWS, IDLE)
    }

    fn echo_behind_with(host: UdpSocket, cap: usize, idle: Duration) -> SocketAddr {
        let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = echo.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 1500];
            while let Ok((n, from)) = echo.recv_from(&mut b) {
                let mut out = format!("{}:", from.port()).into_bytes();
                out.extend_from_slice(&b[..n]);
                let _ = echo.send_to(&out, from);
            }
        });
        let at = host.local_addr().unwrap();
        std::thread::spawn(move || relay_with(host, to, cap, idle));
        at
    }

    fn ask(c: &UdpSocket, at: SocketAddr, what: &str) -> (String, String, SocketAddr) {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.send_to(what.as_bytes(), at).unwrap();
        let mut b = [0u8; 1500];
        let (n, from) = c.recv_from(&mut b).unwrap();
        let (p, m) = String::from_utf8_lossy(&b[..n]).split_once(':').map(|(p, m)| (p.to_string(), m.to_string())).unwrap();
        (p, m, from)
    }

    #[test]
    fn relays_each_client_its_own_answers() {
        let at = echo_behind(UdpSocket::bind("127.0.0.1:0").unwrap());
        let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
        let (pa1, ma1, _) = ask(&a, at, "one");
        let (pb, mb, _) = ask(&b, at, "two");
        let (pa2, ma2, _) = ask(&a, at, "three");
        assert_eq!((ma1.as_str(), mb.as_str(), ma2.as_str()), ("one", "two", "three"));
        assert_eq!(pa1, pa2, "a client's datagrams share its flow");
        assert_ne!(pa1, pb, "each client has a flow of its own");
    }

    #[test]
    fn bound_on_all_addresses_answers_from_the_address_asked() {
        // 127.0.0.2 is loopback too, but the route's source for an answer to 127.0.0.1 is 127.0.0.1:
        // without IP_PKTINFO the answer would come from there, and a connected client would drop it.
        let port = echo_behind(UdpSocket::bind("0.0.0.0:0").unwrap()).port();
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        let asked = SocketAddr::from(([127, 0, 0, 2], port));
        let (_, m, from) = ask(&c, asked, "hi");
        assert_eq!((m.as_str(), from), ("hi", asked));
    }

    #[test]
    fn v4_clients_of_a_dual_stack_socket_are_answered_from_the_address_asked() {
        // [::] takes IPv4 too (v4-mapped): IPV6_PKTINFO carries ::ffff:127.0.0.2, and back.
        let port = echo_behind(UdpSocket::bind("[::]:0").unwrap()).port();
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        let asked = SocketAddr::from(([127, 0, 0, 2], port));
        let (_, m, from) = ask(&c, asked, "v4");
        assert_eq!((m.as_str(), from.ip().to_canonical(), from.port()), ("v4", asked.ip(), port));
        let c6 = UdpSocket::bind("[::1]:0").unwrap();
        let asked6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
        let (_, m, from) = ask(&c6, asked6, "v6");
        assert_eq!((m.as_str(), from), ("v6", asked6));
    }

    #[test]
    fn flows_close_when_idle_and_beyond_the_cap() {
        // A new flow is a new socket inside: the echo sees a new port.
        let at = echo_behind_with(UdpSocket::bind("127.0.0.1:0").unwrap(), 2, Duration::from_secs(1));
        let [a, b, c] = [(); 3].map(|_| UdpSocket::bind("127.0.0.1:0").unwrap());
        let (pa, _, _) = ask(&a, at, "a");
        assert_eq!(ask(&a, at, "a").0, pa, "within the idle time: the same flow");
        ask(&b, at, "b");
        ask(&c, at, "c"); // the third client: a's flow, the idlest, is closed
        let (pa2, _, _) = ask(&a, at, "a");
        assert_ne!(pa2, pa, "a's flow was closed at the cap");
        std::thread::sleep(Duration::from_secs(2));
        let (pa3, _, _) = ask(&a, at, "a");
        assert_ne!(pa3, pa2, "a's flow was closed when idle");
    }
}
