//! The Server-Sent Events transport, for when a proxy refuses the WebSocket
//! upgrade: one long GET of the gateway-wide stream, resumed with
//! `Last-Event-ID`.

use crate::core::model::{ConnState, ErrorClass, Transport, Update};
use crate::sources::error_chain;
use crate::sources::gateway::link::{Ended, Endpoint};
use crate::sources::gateway::stream::{Next, Stream};
use crate::sources::gateway::websocket::{CONNECT_TIMEOUT, DEAD_AFTER};
use crate::wire;
use futures_util::StreamExt;
use tokio::time::{Instant, sleep_until, timeout};

/// Longest line accepted; a longer one is skipped and counted.
const MAX_LINE: usize = (1 << 20) + 1024;

/// One parsed event.
#[derive(Debug, Default, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub data: String,
}

/// Splits an event stream into events, line by line, across chunk borders.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    skipping: bool,
    current: Event,
    has_data: bool,
    /// The current event grew too large and is being skipped.
    dropping: bool,
    /// Lines or events dropped for being too long.
    pub oversized: u64,
}

impl Parser {
    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                if !std::mem::take(&mut self.skipping) {
                    let line = std::mem::take(&mut self.line);
                    self.on_line(&line, &mut out);
                }
                self.line.clear();
            } else if !self.skipping {
                self.line.push(b);
                if self.line.len() > MAX_LINE {
                    self.line.clear();
                    self.skipping = true;
                    self.oversized += 1;
                }
            }
        }
        out
    }

    fn on_line(&mut self, raw: &[u8], out: &mut Vec<Event>) {
        let line = String::from_utf8_lossy(raw);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.is_empty() {
            if self.has_data && !self.dropping {
                out.push(std::mem::take(&mut self.current));
            }
            self.current = Event::default();
            self.has_data = false;
            self.dropping = false;
            return;
        }
        if line.starts_with(':') {
            return; // a comment: keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.current.data.len() + value.len() > MAX_LINE {
                    // An event that never ends must not grow without bound:
                    // drop what it has and skip it up to its blank line.
                    self.current.data = String::new();
                    self.dropping = true;
                    self.oversized += 1;
                }
                if self.dropping {
                    return;
                }
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            "id" => self.current.id = Some(value.to_string()),
            _ => {}
        }
    }
}

/// Runs one SSE connection to `ep` until it ends.
pub async fn run(stream: &mut Stream, ep: &mut Endpoint) -> Ended {
    let stats = ep.stats.clone();
    let url = format!("{}{}", ep.base, wire::EVENTS_PATH);
    let mut req = stream.http().get(&url).header("accept", "text/event-stream");
    if let Some(t) = stream.token() {
        req = req.bearer_auth(t);
    }
    if let Some(id) = ep.sse_last_id {
        req = req.header("last-event-id", id.to_string());
    }
    let resp = match timeout(CONNECT_TIMEOUT, req.send()).await {
        Err(_) => return Ended::failed("SSE connect timed out".into(), ErrorClass::Network),
        Ok(Err(e)) => {
            let (class, why) = crate::sources::classify(&e);
            return Ended::failed(why, class);
        }
        Ok(Ok(r)) => r,
    };
    let code = resp.status().as_u16();
    if !resp.status().is_success() {
        return Ended::transport_refused("SSE", code);
    }
    if stream.last_data_ts.is_none() || ep.sse_last_id.is_none() {
        stream.backfill(&ep.base, &stats, stream.resume_from(), wire::now_ms());
    }
    stats.update_link(|l| {
        l.transport = Some(Transport::Sse);
        l.connected = true;
        l.note = None;
    });
    let connected = ConnState::Connected {
        since_ms: wire::now_ms(),
        server: String::new(),
        url: ep.url.clone(),
        transport: Transport::Sse,
    };
    stream.emit(Update::Conn(connected)).await;

    let mut ended = Ended::alive();
    let mut body = resp.bytes_stream();
    let mut parser = Parser::default();
    let mut last_rx = Instant::now();
    loop {
        let chunk = tokio::select! {
            c = body.next() => c,
            _ = sleep_until(last_rx + DEAD_AFTER) => {
                return ended.with("no data for 30 s; link presumed dead".into(), ErrorClass::Network);
            }
        };
        last_rx = Instant::now();
        let bytes = match chunk {
            None => return ended.with("the server ended the event stream".into(), ErrorClass::ServerClosed),
            Some(Err(e)) => return ended.with(error_chain(&e), ErrorClass::Network),
            Some(Ok(b)) => b,
        };
        let before = parser.oversized;
        for event in parser.feed(&bytes) {
            let mut last_seq = ep.sse_last_id;
            let newest = stream.last_data_ts;
            // A frame's seq is its event id; frames without one (the
            // greeting) leave the position alone.
            let next = stream.on_text(&event.data, &mut last_seq, &ep.base, &stats).await;
            let id = event.id.as_deref().and_then(|i| i.trim().parse::<u64>().ok());
            if let Some(id) = id {
                ep.sse_last_id = Some(id.max(last_seq.unwrap_or(0)));
            } else if next == Next::Resubscribe || last_seq > ep.sse_last_id {
                // A reset starts the numbering over, even when it names no seq.
                ep.sse_last_id = last_seq;
            }
            ended.saw_data(stream.last_data_ts != newest);
        }
        if parser.oversized > before {
            stream.malformed(&stats, "an event line over 1 MiB was skipped".into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_span_chunks_and_skip_comments() {
        let mut p = Parser::default();
        assert!(p.feed(b": keep-alive\n\nid: 7\nevent: metrics\nda").is_empty());
        let events = p.feed(b"ta: {\"a\":1}\n\nid: 8\r\ndata: x\r\ndata: y\r\n\r\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0], Event { id: Some("7".into()), data: "{\"a\":1}".into() });
        assert_eq!(events[1].data, "x\ny");
    }

    #[test]
    fn oversized_lines_are_skipped_not_buffered() {
        let mut p = Parser::default();
        let big = vec![b'x'; MAX_LINE + 10];
        assert!(p.feed(b"data: ").is_empty());
        assert!(p.feed(&big).is_empty());
        let events = p.feed(b"\n\ndata: ok\n\n");
        assert_eq!(p.oversized, 1);
        assert_eq!(events, vec![Event { id: None, data: "ok".into() }]);
    }

    #[test]
    fn an_event_that_never_ends_is_dropped_not_buffered() {
        let mut p = Parser::default();
        let line = format!("data: {}\n", "y".repeat(1000));
        for _ in 0..(MAX_LINE / 1000 + 10) {
            assert!(p.feed(line.as_bytes()).is_empty());
        }
        assert!(p.current.data.len() <= MAX_LINE);
        assert_eq!(p.oversized, 1);
        assert_eq!(p.feed(b"\ndata: next\n\n"), vec![Event { id: None, data: "next".into() }]);
    }
}
