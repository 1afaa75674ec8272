//! One record of the push log as it lies on disk, and reading a file of
//! them back.
//!
//! A record is a marker, the payload's length and a CRC-32 of length and
//! payload, then the payload: the time the points are for and the body as
//! the producer sent it. The body was judged whole before it was logged,
//! so reading it again gives the same points, and storing it as it came
//! costs no encoding on the push's path.
//!
//! A crash mid-append leaves a torn last record; a bad disk may spoil one
//! in the middle. Either fails its checksum. The marker lets the reader
//! find the next whole record after a spoilt one, so one bad record costs
//! that record and nothing after it.

use std::io::{Read, Seek, SeekFrom};

/// Starts every record.
const MARKER: [u8; 4] = *b"vWr1";
/// Marker, length, checksum.
const HEADER: usize = 12;
/// Longest payload read back: far above any body the gateway takes, so a
/// length over it can only be damage.
const MAX_PAYLOAD: usize = 1 << 30;

/// A record read back: the points' time and the body they came in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub at_ms: i64,
    pub body: Vec<u8>,
}

/// Bytes that held no whole record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Damage {
    pub offset: u64,
    pub bytes: u64,
    /// Nothing whole follows: the tail a crash tore, most likely.
    pub tail: bool,
}

/// The record of one accepted push, ready to append.
pub(super) fn encode(at_ms: i64, body: &[u8]) -> Vec<u8> {
    let len = (8 + body.len()) as u32;
    let mut out = Vec::with_capacity(HEADER + 8 + body.len());
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&at_ms.to_le_bytes());
    out.extend_from_slice(body);
    let crc = checksum(&out[4..8], &out[HEADER..]);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Reads a log file record by record, stepping over damage.
pub(crate) struct Reader<R> {
    file: R,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Reader<R> {
    pub fn new(mut file: R) -> std::io::Result<Reader<R>> {
        let len = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Reader { file, pos: 0, len })
    }

    /// The next whole record, or the damaged bytes before it; `None` at the end.
    pub fn next_item(&mut self) -> std::io::Result<Option<Result<Entry, Damage>>> {
        if self.pos >= self.len {
            return Ok(None);
        }
        if let Some(entry) = self.record_at(self.pos)? {
            return Ok(Some(Ok(entry)));
        }
        let start = self.pos;
        let next = self.next_whole_after(start)?;
        self.pos = next.unwrap_or(self.len);
        Ok(Some(Err(Damage { offset: start, bytes: self.pos - start, tail: next.is_none() })))
    }

    /// The record at `at` when one lies there whole; moves past it.
    fn record_at(&mut self, at: u64) -> std::io::Result<Option<Entry>> {
        if self.len - at < HEADER as u64 {
            return Ok(None);
        }
        self.file.seek(SeekFrom::Start(at))?;
        let mut head = [0u8; HEADER];
        self.file.read_exact(&mut head)?;
        let len = u32::from_le_bytes(head[4..8].try_into().unwrap_or_default()) as usize;
        if head[..4] != MARKER || !(8..=MAX_PAYLOAD).contains(&len) || self.len - at - (HEADER as u64) < len as u64 {
            return Ok(None);
        }
        let mut payload = vec![0u8; len];
        self.file.read_exact(&mut payload)?;
        let crc = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default());
        if checksum(&head[4..8], &payload) != crc {
            return Ok(None);
        }
        self.pos = at + (HEADER + len) as u64;
        let at_ms = i64::from_le_bytes(payload[..8].try_into().unwrap_or_default());
        payload.drain(..8);
        Ok(Some(Entry { at_ms, body: payload }))
    }

    /// Where the next whole record after `from` starts, if one does.
    fn next_whole_after(&mut self, from: u64) -> std::io::Result<Option<u64>> {
        const BLOCK: usize = 64 << 10;
        let mut at = from + 1;
        while at < self.len {
            self.file.seek(SeekFrom::Start(at))?;
            let want = BLOCK.min((self.len - at) as usize);
            let mut block = vec![0u8; want];
            self.file.read_exact(&mut block)?;
            // A marker cut by the block's end is found from the next block,
            // which starts three bytes early.
            let found = block.windows(MARKER.len()).position(|w| w == MARKER);
            match found {
                Some(i) => {
                    let candidate = at + i as u64;
                    if self.record_at(candidate)?.is_some() {
                        return Ok(Some(candidate));
                    }
                    at = candidate + 1;
                }
                None if want < BLOCK => break,
                None => at += (want - (MARKER.len() - 1)) as u64,
            }
        }
        Ok(None)
    }
}

/// CRC-32 (IEEE) of the length field and the payload: a length spoilt into
/// another plausible one fails too.
fn checksum(len: &[u8], payload: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in len.iter().chain(payload) {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

static CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read_all(bytes: Vec<u8>) -> Vec<Result<Entry, Damage>> {
        let mut r = Reader::new(Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        while let Some(item) = r.next_item().unwrap() {
            out.push(item);
        }
        out
    }

    fn entry(at_ms: i64, body: &str) -> Entry {
        Entry { at_ms, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn the_checksum_is_crc32() {
        assert_eq!(checksum(b"1234", b"56789"), 0xCBF4_3926);
    }

    #[test]
    fn records_come_back_as_written() {
        let mut file = encode(1, b"{\"a\":1}");
        file.extend(encode(-2, b""));
        assert_eq!(read_all(file), [Ok(entry(1, "{\"a\":1}")), Ok(entry(-2, ""))]);
        assert!(read_all(Vec::new()).is_empty());
    }

    #[test]
    fn a_torn_tail_is_damage_at_the_end() {
        let first = encode(1, b"first");
        let mut file = first.clone();
        file.extend(&encode(2, b"second")[..10]);
        let items = read_all(file);
        assert_eq!(items[0], Ok(entry(1, "first")));
        assert_eq!(items[1], Err(Damage { offset: first.len() as u64, bytes: 10, tail: true }));
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn a_spoilt_record_costs_only_itself() {
        let (a, b, c) = (encode(1, b"one"), encode(2, b"two"), encode(3, b"three"));
        for spoil in [a.len() + 5, a.len() + HEADER + 9, a.len()] {
            let mut file = [a.clone(), b.clone(), c.clone()].concat();
            file[spoil] ^= 0x40;
            let items = read_all(file);
            assert_eq!(items[0], Ok(entry(1, "one")), "spoilt at {spoil}");
            assert_eq!(items[1], Err(Damage { offset: a.len() as u64, bytes: b.len() as u64, tail: false }));
            assert_eq!(items[2], Ok(entry(3, "three")));
        }
    }

    #[test]
    fn a_marker_across_blocks_is_still_found() {
        let filler = vec![b'x'; (64 << 10) - 2];
        let mut file = filler.clone();
        file.extend(encode(7, b"after"));
        let items = read_all(file);
        assert_eq!(items, [Err(Damage { offset: 0, bytes: filler.len() as u64, tail: false }), Ok(entry(7, "after"))]);
    }
}
