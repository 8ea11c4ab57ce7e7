//! A command's output read as a stream: every byte is scanned for the strings the check looks
//! for, but only a bounded head and tail are kept, so memory stays flat whatever it prints.
//! The ends kept reach far past what a finding shows: `evaluate` masks the secrets in them
//! first, so a secret across the shown cut is masked whole, then cuts (`Cut::EvidenceEnds`).

use std::collections::VecDeque;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes kept from the start and from the end of each stream.
const KEPT_HEAD_BYTES: usize = crate::checks::params::KEPT_TEXT_BYTES / 2;
const KEPT_TAIL_BYTES: usize = crate::checks::params::KEPT_TEXT_BYTES / 2;

/// One output stream: its bounded head and tail, its exact size, and which needles it held.
pub struct Capture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    needles: Vec<Vec<u8>>,
    found: Vec<bool>,
    /// The last bytes seen, so a needle split across two reads is still found.
    carry: Vec<u8>,
}

impl Capture {
    pub fn new(needles: &[String]) -> Capture {
        Capture {
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
            needles: needles.iter().map(|n| n.as_bytes().to_vec()).collect(),
            found: vec![false; needles.len()],
            carry: Vec::new(),
        }
    }

    /// Reads the stream to its end; the caller bounds how long.
    pub async fn read_from(&mut self, mut stream: impl AsyncRead + Unpin) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            self.push(&buf[..n]);
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        self.scan(chunk);
        let room = KEPT_HEAD_BYTES.saturating_sub(self.head.len());
        let (to_head, rest) = chunk.split_at(room.min(chunk.len()));
        self.head.extend_from_slice(to_head);
        let rest = &rest[rest.len().saturating_sub(KEPT_TAIL_BYTES)..];
        self.tail.extend(rest);
        let excess = self.tail.len().saturating_sub(KEPT_TAIL_BYTES);
        self.tail.drain(..excess);
    }

    fn scan(&mut self, chunk: &[u8]) {
        let longest = self.needles.iter().map(Vec::len).max().unwrap_or(0);
        if longest == 0 {
            self.found.iter_mut().for_each(|f| *f = true);
            return;
        }
        let mut window = std::mem::take(&mut self.carry);
        window.extend_from_slice(chunk);
        for (needle, found) in self.needles.iter().zip(self.found.iter_mut()) {
            *found = *found || contains(&window, needle);
        }
        let keep = window.len().min(longest - 1);
        self.carry = window.split_off(window.len() - keep);
    }

    /// Whether the stream contained the needle at this index (as given to `new`).
    pub fn contains(&self, index: usize) -> bool {
        self.found[index]
    }

    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    /// The bytes between the head and the tail that were not kept.
    pub fn unread(&self) -> u64 {
        self.total - (self.head.len() + self.tail.len()) as u64
    }

    /// The kept text: the head, then the tail (`unread` bytes lay between them).
    pub fn text(&self) -> String {
        let (front, back) = self.tail.as_slices();
        if self.unread() == 0 {
            return String::from_utf8_lossy(&[&self.head, front, back].concat()).into_owned();
        }
        let tail = [front, back].concat();
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.head),
            String::from_utf8_lossy(&tail)
        )
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut c = Capture::new(&["up to date".into()]);
        c.push(b"migrations up ");
        c.push(b"to date\n");
        assert!(c.contains(0));
        assert_eq!(c.unread(), 0);
        assert_eq!(c.text(), "migrations up to date\n");
    }

    #[test]
    fn long_output_keeps_head_and_tail_and_counts_the_rest() {
        let mut c = Capture::new(&["needle".into(), "absent".into()]);
        for _ in 0..1000 {
            c.push(&[b'a'; 1000]);
        }
        c.push(b"nee");
        c.push(b"dle");
        assert_eq!(c.total_bytes(), 1_000_006);
        assert!(c.contains(0));
        assert!(!c.contains(1));
        assert_eq!(c.unread(), 1_000_006 - 64 * 1024);
        let text = c.text();
        assert!(text.ends_with("aaaneedle"));
        assert_eq!(text.len(), KEPT_HEAD_BYTES + KEPT_TAIL_BYTES);
    }
}
