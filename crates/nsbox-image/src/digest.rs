//! Content digests (`sha256:<64 hex>`), the only algorithm registries and image specs require, and a
//! hashing writer that checks one while bytes stream through.

use std::fmt;
use std::io::{self, Write};

use sha2::{Digest as _, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("parse digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    Parse(String),
    #[error("verify {what}: expected {expected}, got {actual}")]
    Mismatch { what: String, expected: Digest, actual: Digest },
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let hex = s.strip_prefix("sha256:").ok_or_else(|| DigestError::Parse(s.to_owned()))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(DigestError::Parse(s.to_owned()));
        }
        Ok(Self { hex: hex.to_owned() })
    }

    pub fn of(bytes: &[u8]) -> Self {
        Self { hex: hex(&Sha256::digest(bytes)) }
    }

    /// The 64 hex digits, as used for file names.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Fails naming `what` (a reference, a layer) when `actual` differs.
    pub fn expect(&self, actual: &Digest, what: &str) -> Result<(), DigestError> {
        if self == actual {
            Ok(())
        } else {
            Err(DigestError::Mismatch { what: what.to_owned(), expected: self.clone(), actual: actual.clone() })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Passes bytes to `inner` and hashes them on the way; `finish` gives the digest of all that passed.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new(), written: 0 }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn finish(self) -> (W, Digest) {
        (self.inner, Digest { hex: hex(&self.hasher.finalize()) })
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Passes reads through and hashes what was read; `finish` gives the digest of all that passed (a
/// layer blob's digest on the way into the decompressor, its diff id on the way out).
pub struct HashingReader<R> {
    inner: R,
    hash: HashingWriter<io::Sink>,
}

impl<R: io::Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, hash: HashingWriter::new(io::sink()) }
    }

    pub fn finish(self) -> Digest {
        self.hash.finish().1
    }
}

impl<R: io::Read> io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.write_all(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        let d = Digest::of(b"");
        assert_eq!(d.to_string(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert!(Digest::parse("sha256:E3B0").is_err());
        assert!(Digest::parse("md5:00").is_err());
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"abc").unwrap();
        let (buf, got) = w.finish();
        assert_eq!(buf, b"abc");
        assert!(Digest::of(b"abc").expect(&got, "x").is_ok());
        assert!(d.expect(&got, "layer").unwrap_err().to_string().contains("verify layer"));
    }
}
