//! Little-endian primitives of the layouts: a growing writer and a bounds-checked reader.

use std::fmt;

/// A record that does not match its layout: what is wrong and at which byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// What is wrong.
    pub what: &'static str,
    /// Byte offset in the record.
    pub offset: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

/// Appends fields to a record.
pub(super) struct Writer(Vec<u8>);

impl Writer {
    pub(super) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    pub(super) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(super) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(super) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(super) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(super) fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }

    /// A `u32` byte length, then the UTF-8 bytes.
    pub(super) fn str(&mut self, v: &str) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v.as_bytes());
    }

    /// A `u32` count, then that many `str`.
    pub(super) fn strs(&mut self, v: &[String]) {
        self.u32(v.len() as u32);
        for s in v {
            self.str(s);
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads fields of a record; every read is bounds-checked.
pub(super) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) const fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(super) const fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// An error about the field of `len` bytes just read.
    pub(super) const fn error_before(&self, len: usize, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            offset: self.pos.saturating_sub(len),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError {
                what: "record is truncated",
                offset: self.pos,
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(super) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// A byte that must be 0 or 1.
    pub(super) fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.error_before(1, "flag byte is neither 0 nor 1")),
        }
    }

    pub(super) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_le_bytes)
    }

    pub(super) fn i64(&mut self) -> Result<i64, DecodeError> {
        self.array().map(i64::from_le_bytes)
    }

    pub(super) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.u32()? as usize;
        let at = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError {
            what: "string is not UTF-8",
            offset: at,
        })
    }

    /// A `u32` count, then that many `str` (an absurd count fails when the record ends,
    /// without reserving more than could follow: each string takes at least 4 bytes).
    pub(super) fn strs(&mut self) -> Result<Vec<String>, DecodeError> {
        let n = self.u32()? as usize;
        let mut out = Vec::with_capacity(n.min(self.remaining() / 4));
        for _ in 0..n {
            out.push(self.str()?.to_owned());
        }
        Ok(out)
    }

    /// The record must end here.
    pub(super) const fn end(&self) -> Result<(), DecodeError> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(DecodeError {
                what: "trailing bytes after the record",
                offset: self.pos,
            })
        }
    }
}

/// Decode a fixed-size `meta` value (format version, device sequence, server key).
pub(crate) fn decode_fixed<const N: usize>(data: &[u8]) -> Result<[u8; N], DecodeError> {
    let mut r = Reader::new(data);
    let v = r.array()?;
    r.end()?;
    Ok(v)
}
