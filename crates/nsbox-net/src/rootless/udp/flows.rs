//! The flows of one published UDP port, by client address: opened at a client's first datagram,
//! closed after [`super::IDLE`] without a datagram either way, at most a cap of them (a new client
//! beyond it closes the idlest flow first). Generic over what a flow holds, so it is tested alone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub(super) struct Flows<S> {
    map: HashMap<SocketAddr, (S, Instant)>,
    cap: usize,
    idle: Duration,
}

impl<S> Flows<S> {
    pub(super) fn new(cap: usize, idle: Duration) -> Self {
        Flows { map: HashMap::new(), cap, idle }
    }

    /// The flow of `client`, opened by `open` when it has none (at the cap, the idlest flow is closed
    /// first, once the new one could open); either way it counts as used at `now`.
    pub(super) fn get_or_open(&mut self, client: SocketAddr, now: Instant, open: impl FnOnce() -> std::io::Result<S>) -> std::io::Result<&mut S> {
        if !self.map.contains_key(&client) {
            let flow = open()?;
            if self.map.len() >= self.cap {
                // O(cap) at most once per new client: the cap is small.
                if let Some(idlest) = self.map.iter().min_by_key(|(_, (_, last))| *last).map(|(a, _)| *a) {
                    self.map.remove(&idlest);
                }
            }
            self.map.insert(client, (flow, now));
        }
        let Some(entry) = self.map.get_mut(&client) else { return Err(std::io::Error::from(std::io::ErrorKind::NotFound)) };
        entry.1 = now;
        Ok(&mut entry.0)
    }

    pub(super) fn get(&self, client: &SocketAddr) -> Option<&S> {
        self.map.get(client).map(|(s, _)| s)
    }

    pub(super) fn touch(&mut self, client: &SocketAddr, now: Instant) {
        if let Some(e) = self.map.get_mut(client) {
            e.1 = now;
        }
    }

    /// Closes (drops) the flows idle for the timeout or longer.
    pub(super) fn expire(&mut self, now: Instant) {
        let idle = self.idle;
        self.map.retain(|_, (_, last)| now.saturating_duration_since(*last) < idle);
    }

    /// When the next flow expires (None without flows: nothing to wait for but datagrams).
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.map.values().map(|(_, last)| *last + self.idle).min()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&SocketAddr, &S)> {
        self.map.iter().map(|(a, (s, _))| (a, s))
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_client_keeps_its_flow_until_idle() {
        let t0 = Instant::now();
        let mut f: Flows<u32> = Flows::new(4, Duration::from_secs(60));
        let mut opened = 0;
        for s in [0, 10, 50] {
            f.get_or_open(addr(1), t0 + Duration::from_secs(s), || {
                opened += 1;
                Ok(opened)
            })
            .unwrap();
        }
        assert_eq!(opened, 1, "one flow per client");
        assert_eq!(f.next_expiry(), Some(t0 + Duration::from_secs(110)));
        f.expire(t0 + Duration::from_secs(109));
        assert_eq!(f.len(), 1);
        f.expire(t0 + Duration::from_secs(110));
        assert_eq!(f.len(), 0, "idle for the timeout: closed");
        assert_eq!(f.next_expiry(), None);
    }

    #[test]
    fn answers_keep_a_flow_alive() {
        let t0 = Instant::now();
        let mut f: Flows<()> = Flows::new(4, Duration::from_secs(60));
        f.get_or_open(addr(1), t0, || Ok(())).unwrap();
        f.touch(&addr(1), t0 + Duration::from_secs(50));
        f.expire(t0 + Duration::from_secs(100));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn beyond_the_cap_the_idlest_flow_goes() {
        let t0 = Instant::now();
        let mut f: Flows<u16> = Flows::new(3, Duration::from_secs(60));
        for (i, p) in [5u16, 6, 7].into_iter().enumerate() {
            f.get_or_open(addr(p), t0 + Duration::from_secs(i as u64), || Ok(p)).unwrap();
        }
        f.touch(&addr(5), t0 + Duration::from_secs(10)); // 6 is now the idlest
        f.get_or_open(addr(8), t0 + Duration::from_secs(11), || Ok(8)).unwrap();
        assert_eq!(f.len(), 3);
        let mut left: Vec<u16> = f.iter().map(|(_, s)| *s).collect();
        left.sort();
        assert_eq!(left, vec![5, 7, 8]);
    }

    #[test]
    fn a_flow_that_cannot_open_changes_nothing() {
        let t0 = Instant::now();
        let mut f: Flows<u8> = Flows::new(1, Duration::from_secs(60));
        f.get_or_open(addr(1), t0, || Ok(1)).unwrap();
        assert!(f.get_or_open(addr(2), t0, || Err(std::io::Error::from_raw_os_error(libc::EMFILE))).is_err());
        assert_eq!(f.iter().map(|(a, _)| *a).collect::<Vec<_>>(), vec![addr(1)]);
    }
}
