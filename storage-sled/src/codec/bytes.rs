//! The primitives of the layouts (see [`crate::codec`]): an append-only writer, a strict
//! reader and the decode error.

use tessera_core::Timestamp;
use uuid::Uuid;

/// Why a record did not decode: what was wrong and at which byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// What was wrong.
    pub what: &'static str,
    /// Offset into the value.
    pub offset: usize,
}

pub(crate) type Result<T> = std::result::Result<T, DecodeError>;

/// Append-only encoder.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn time(&mut self, t: Timestamp) {
        self.0.extend_from_slice(&t.0.to_le_bytes());
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    pub(crate) fn uuid(&mut self, id: Uuid) {
        self.bytes(id.as_bytes());
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes(s.as_bytes());
    }
    pub(crate) fn len(&mut self, n: usize) {
        // Records are bounded far below 4 GiB by the engine (names, hashes, 4 KiB meta).
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    pub(crate) fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
}

/// Strict decoder over one value.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    pub(crate) const fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            offset: self.pos,
        }
    }
    /// An error about the byte just read.
    pub(crate) const fn bad_tag(&self, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            offset: self.pos.saturating_sub(1),
        }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| self.err("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }
    pub(crate) fn time(&mut self) -> Result<Timestamp> {
        self.array().map(|a| Timestamp(i64::from_le_bytes(a)))
    }
    pub(crate) fn uuid(&mut self) -> Result<Uuid> {
        self.array().map(Uuid::from_bytes)
    }
    pub(crate) fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let at = self.pos;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError {
                what: "invalid UTF-8",
                offset: at,
            })
    }
    pub(crate) fn count(&mut self) -> Result<usize> {
        let n = self.u32()? as usize;
        // Every element takes at least 4 bytes: refuse counts the value cannot hold, so a
        // corrupted count never drives a huge allocation.
        if n > (self.buf.len() - self.pos) / 4 {
            return Err(self.err("count larger than the record"));
        }
        Ok(n)
    }
    pub(crate) fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err(self.bad_tag("option tag is neither 0 nor 1")),
        }
    }
    pub(crate) fn end(&self) -> Result<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.err("trailing bytes"))
        }
    }
}

/// Decode a fixed-size value (an id, a key, a version).
pub(crate) fn decode_fixed<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
    let mut r = Reader::new(b);
    let a = r.array::<N>()?;
    r.end()?;
    Ok(a)
}
