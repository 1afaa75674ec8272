//! Reads a `/metrics` page: the Prometheus text exposition format (0.0.4)
//! and OpenMetrics 1.0 text, into families of samples.
//!
//! A line that cannot be read is recorded and skipped; the rest of the page
//! is still used, since one exporter bug should not blank a dashboard. Label
//! values come back exactly as the server wrote them (escapes undone), as
//! data: anything here that quotes the input in an error reason is made safe
//! to print with [`sanitize`] first.
//!
//! # Limits
//!
//! The page comes from a server vigil does not control, so the work is
//! bounded whatever it sends:
//!
//! - a line longer than [`MAX_LINE_BYTES`] (64 KiB) is an error and skipped;
//! - after [`MAX_SAMPLES`] (1,000,000) samples the rest of the page is left
//!   unread and the result is marked `truncated`;
//! - a sample with more than [`MAX_LABELS`] labels, or a metric name longer
//!   than [`MAX_NAME_BYTES`], is an error and skipped;
//! - only the first [`MAX_ERRORS_KEPT`] errors are kept, the rest counted.
//!
//! - a page longer than [`MAX_PAGE_BYTES`] (64 MiB) is read up to the last
//!   whole line within that, and marked `truncated`.
//!
//! What is parsed out of a page is at most a few times its size. A scraper
//! should stop reading a response at [`MAX_PAGE_BYTES`] anyway, rather
//! than hold a larger one in memory only for it to be cut here.

use crate::model::Labels;
use crate::wire::sanitize;
use std::collections::HashMap;

/// Longest line read, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most samples taken from one page.
pub const MAX_SAMPLES: usize = 1_000_000;
/// Most labels one sample may carry: the same limit a gateway's points have.
pub const MAX_LABELS: usize = crate::wire::MAX_LABELS;
/// Longest metric name, in bytes: the same limit a gateway's points have.
pub const MAX_NAME_BYTES: usize = 256;
/// Errors kept with their line and reason; later ones are only counted.
pub const MAX_ERRORS_KEPT: usize = 20;
/// The most of a page that is read. Large exporters (kube-state-metrics on
/// a big cluster) reach tens of megabytes.
pub const MAX_PAGE_BYTES: usize = 64 << 20;
/// How much of an offending piece of input an error reason quotes.
const QUOTE_CHARS: usize = 60;

/// What a family's samples mean, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FamilyKind {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// No `# TYPE` line, or `untyped` / `unknown`.
    Unknown,
}

impl FamilyKind {
    /// The kind a `# TYPE` line names; `untyped` is the text format's word
    /// for what OpenMetrics calls `unknown`.
    pub fn from_type(word: &str) -> Option<FamilyKind> {
        Some(match word {
            "counter" => FamilyKind::Counter,
            "gauge" => FamilyKind::Gauge,
            "histogram" => FamilyKind::Histogram,
            "gaugehistogram" => FamilyKind::GaugeHistogram,
            "summary" => FamilyKind::Summary,
            "info" => FamilyKind::Info,
            "stateset" => FamilyKind::StateSet,
            "untyped" | "unknown" => FamilyKind::Unknown,
            _ => return None,
        })
    }

    /// The word a `# TYPE` line uses for the kind (OpenMetrics spelling).
    pub fn name(self) -> &'static str {
        match self {
            FamilyKind::Counter => "counter",
            FamilyKind::Gauge => "gauge",
            FamilyKind::Histogram => "histogram",
            FamilyKind::GaugeHistogram => "gaugehistogram",
            FamilyKind::Summary => "summary",
            FamilyKind::Info => "info",
            FamilyKind::StateSet => "stateset",
            FamilyKind::Unknown => "unknown",
        }
    }

    /// Whether a sample called `family` + `suffix` belongs to a family of
    /// this kind. Counters accept their bare name too: the text format's
    /// counters are typed under the sample's own name (`x_total`), and older
    /// clients expose counters without `_total` at all.
    pub fn takes_suffix(self, suffix: &str) -> bool {
        match self {
            FamilyKind::Counter => matches!(suffix, "" | "_total" | "_created"),
            FamilyKind::Gauge | FamilyKind::StateSet | FamilyKind::Unknown => suffix.is_empty(),
            FamilyKind::Histogram => matches!(suffix, "_bucket" | "_sum" | "_count" | "_created"),
            FamilyKind::GaugeHistogram => matches!(suffix, "_bucket" | "_gsum" | "_gcount"),
            FamilyKind::Summary => matches!(suffix, "" | "_sum" | "_count" | "_created"),
            FamilyKind::Info => suffix == "_info",
        }
    }
}

/// Every suffix a sample may add to its family's name, for finding the
/// family of a sample that does not follow its declaration.
const SUFFIXES: [&str; 8] = ["_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info"];

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSample {
    /// The name as exposed, suffix included (`http_requests_total`).
    pub name: String,
    pub labels: Labels,
    pub value: f64,
    /// The sample's own time, in milliseconds since the epoch, when the
    /// line carried one.
    pub ts_ms: Option<i64>,
}

/// A metric family: its declaration and its samples, in page order.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: FamilyKind,
    pub help: String,
    /// From an OpenMetrics `# UNIT` line; empty otherwise.
    pub unit: String,
    pub samples: Vec<RawSample>,
}

/// A line that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// From 1.
    pub line: usize,
    /// Safe to print: any input it quotes has been through [`sanitize`].
    pub reason: String,
}

/// A parsed page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub families: Vec<Family>,
    /// The first [`MAX_ERRORS_KEPT`] errors.
    pub errors: Vec<LineError>,
    /// Every error, kept or not.
    pub error_count: usize,
    /// Read as OpenMetrics (timestamps in seconds).
    pub openmetrics: bool,
    /// Samples read, over all families.
    pub samples: usize,
    /// The page held more than [`MAX_SAMPLES`] samples or
    /// [`MAX_PAGE_BYTES`] bytes; the rest was left unread.
    pub truncated: bool,
}

/// Parses a page, telling the two formats apart by its last line: an
/// OpenMetrics page must end with `# EOF`, which the text format has no
/// reason to write. When the scraper knows the format from the response's
/// content type, [`parse_as`] is the surer choice.
pub fn parse(text: &str) -> Parsed {
    parse_as(text, ends_with_eof(text))
}

/// Parses a page in the format given: OpenMetrics when `openmetrics` is
/// true (timestamps in seconds), else the Prometheus text format
/// (timestamps in milliseconds).
pub fn parse_as(text: &str, openmetrics: bool) -> Parsed {
    parse_capped(text, openmetrics, MAX_SAMPLES, MAX_PAGE_BYTES)
}

/// [`parse_as`] with caps of its own, so a test can reach them.
fn parse_capped(text: &str, openmetrics: bool, max_samples: usize, max_bytes: usize) -> Parsed {
    let whole = text.len() <= max_bytes;
    let text = if whole {
        text
    } else {
        // Up to the last line that ends within the cap.
        let mut cut = max_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text[..cut].rfind('\n').map_or("", |end| &text[..end + 1])
    };
    let mut p = Parser {
        om: openmetrics,
        families: Vec::new(),
        declared: Vec::new(),
        by_name: HashMap::new(),
        current: None,
        errors: Vec::new(),
        error_count: 0,
        samples: 0,
        truncated: false,
    };
    let mut lines = text.split('\n').enumerate();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        // Tolerate CRLF pages, as served from Windows hosts.
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Blanks before a comment or sample are tolerated, as Prometheus does.
        let line = line.trim_start_matches([' ', '\t']);
        if line.len() > MAX_LINE_BYTES {
            p.error(n, format!("line is longer than {} KiB", MAX_LINE_BYTES / 1024));
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            if p.comment(n, rest) == Flow::Stop {
                // Nothing may follow `# EOF`; say so once if something does.
                if let Some((m, _)) = lines.find(|(_, l)| !l.trim().is_empty()) {
                    p.error(m + 1, "text after # EOF".into());
                }
                break;
            }
            continue;
        }
        if p.samples >= max_samples {
            p.truncated = true;
            p.error(n, format!("more than {max_samples} samples; the rest of the page was not read"));
            break;
        }
        if let Err(reason) = p.sample(line) {
            p.error(n, reason);
        }
    }
    if !whole && !p.truncated {
        p.truncated = true;
        let line = text.split('\n').count();
        p.error(line, format!("page is longer than {} MiB; the rest was not read", max_bytes >> 20));
    }
    Parsed {
        families: p.families,
        errors: p.errors,
        error_count: p.error_count,
        openmetrics,
        samples: p.samples,
        truncated: p.truncated,
    }
}

/// Whether the last line that is not blank is `# EOF`.
fn ends_with_eof(text: &str) -> bool {
    let trimmed = text.trim_end_matches(['\n', '\r', ' ', '\t']);
    trimmed.rsplit('\n').next().is_some_and(|l| l.trim_end_matches('\r') == "# EOF")
}

#[derive(PartialEq)]
enum Flow {
    Go,
    Stop,
}

/// What the page has said about a family besides its samples, so a second
/// declaration can be told from the first.
#[derive(Default, Clone, Copy)]
struct Declared {
    typed: bool,
    helped: bool,
    united: bool,
}

struct Parser {
    om: bool,
    families: Vec<Family>,
    declared: Vec<Declared>,
    by_name: HashMap<String, usize>,
    /// The family the last line was about: the next sample almost always
    /// belongs to it, which saves a lookup.
    current: Option<usize>,
    errors: Vec<LineError>,
    error_count: usize,
    samples: usize,
    truncated: bool,
}

impl Parser {
    fn error(&mut self, line: usize, reason: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS_KEPT {
            self.errors.push(LineError { line, reason });
        }
    }

    /// A line starting with `#`, without it.
    fn comment(&mut self, n: usize, rest: &str) -> Flow {
        if rest == " EOF" {
            return Flow::Stop;
        }
        // `#HELP` (no blank) is an ordinary comment in the text format.
        if !rest.starts_with([' ', '\t']) {
            return Flow::Go;
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        let (word, rest) = split_word(rest);
        if !matches!(word, "HELP" | "TYPE" | "UNIT") {
            return Flow::Go;
        }
        let (name, rest) = split_word(rest);
        if !valid_metric_name(name) {
            self.error(n, format!("# {word} names no valid metric: {}", quote(name)));
            return Flow::Go;
        }
        let kind = if word == "TYPE" {
            let (kind_word, extra) = split_word(rest);
            match FamilyKind::from_type(kind_word) {
                Some(kind) if extra.is_empty() => Some(kind),
                _ => {
                    self.error(n, format!("unknown metric type {} for {name}", quote(rest)));
                    return Flow::Go;
                }
            }
        } else {
            None
        };
        let i = self.declare(name, word);
        let d = &mut self.declared[i];
        let f = &mut self.families[i];
        match (word, kind) {
            ("HELP", _) => {
                f.help = unescape(rest);
                d.helped = true;
            }
            (_, Some(kind)) => {
                f.kind = kind;
                d.typed = true;
            }
            _ => {
                f.unit = rest.to_string();
                d.united = true;
            }
        }
        Flow::Go
    }

    /// The family a declaration is about: the one of this name, unless it
    /// has had its samples or this declaration already; then a new one
    /// under the same name, which later samples go to. Prometheus reads a
    /// page as a stream in the same way, and real pages need it: a Go
    /// program's OpenMetrics page declares `go_memstats_alloc_bytes` twice,
    /// as a gauge and as the counter `go_memstats_alloc_bytes_total`.
    fn declare(&mut self, name: &str, word: &str) -> usize {
        let open = self.by_name.get(name).copied().filter(|&i| {
            let d = self.declared[i];
            let again = match word {
                "HELP" => d.helped,
                "TYPE" => d.typed,
                _ => d.united,
            };
            self.families[i].samples.is_empty() && !again
        });
        let i = open.unwrap_or_else(|| self.new_family(name));
        self.current = Some(i);
        i
    }

    fn new_family(&mut self, name: &str) -> usize {
        let i = self.families.len();
        self.families.push(Family {
            name: name.to_string(),
            kind: FamilyKind::Unknown,
            help: String::new(),
            unit: String::new(),
            samples: Vec::new(),
        });
        self.declared.push(Declared::default());
        self.by_name.insert(name.to_string(), i);
        i
    }

    /// The family a sample of this name belongs to: the current one, one
    /// declared under its name or its name less a suffix, or else a new
    /// untyped family of its own.
    fn family_for(&mut self, name: &str) -> Result<usize, String> {
        let fits = |f: &Family| name.strip_prefix(f.name.as_str()).is_some_and(|s| f.kind.takes_suffix(s));
        if let Some(c) = self.current
            && fits(&self.families[c])
        {
            return Ok(c);
        }
        let exact = self.by_name.get(name).copied();
        let found = exact.filter(|&i| fits(&self.families[i])).or_else(|| {
            SUFFIXES.iter().find_map(|s| {
                let base = name.strip_suffix(s)?;
                self.by_name.get(base).copied().filter(|&i| fits(&self.families[i]))
            })
        });
        let i = match (found, exact) {
            (Some(i), _) => i,
            (None, Some(i)) => {
                // A histogram's or info's own name is not a sample of it.
                let kind = self.families[i].kind.name();
                return Err(format!("{name} is the name of a {kind} family, whose samples carry a suffix"));
            }
            (None, None) => self.new_family(name),
        };
        self.current = Some(i);
        Ok(i)
    }

    /// A sample line: `name{labels} value [timestamp] [# exemplar]`.
    fn sample(&mut self, line: &str) -> Result<(), String> {
        let name_end = line.bytes().position(|b| !is_name_byte(b)).unwrap_or(line.len());
        let (name, mut rest) = line.split_at(name_end);
        if !rest.is_empty() && !rest.starts_with(['{', ' ', '\t']) {
            let bad = line.split([' ', '\t', '{']).next().unwrap_or(line);
            return Err(format!("invalid metric name {}", quote(bad)));
        }
        if !valid_metric_name(name) {
            return Err(format!("invalid metric name {}", quote(name)));
        }
        let mut labels = Labels::new();
        if let Some(after) = rest.strip_prefix('{') {
            rest = read_labels(after, &mut labels)?;
        }
        // An exemplar (OpenMetrics) follows a `#`; it is not a sample of
        // its own, so everything from there on is dropped.
        let (fields, _exemplar) = rest.split_once('#').unwrap_or((rest, ""));
        let mut fields = fields.split_ascii_whitespace();
        let value_text = fields.next().ok_or_else(|| format!("{name} has no value"))?;
        let value =
            parse_value(value_text).ok_or_else(|| format!("{name}: value {} is not a number", quote(value_text)))?;
        let ts_ms = match fields.next() {
            None => None,
            Some(t) => Some(self.timestamp(t).ok_or_else(|| format!("{name}: timestamp {} is not valid", quote(t)))?),
        };
        if let Some(extra) = fields.next() {
            return Err(format!("{name}: unexpected {} after the value", quote(extra)));
        }
        let i = self.family_for(name)?;
        check_special_labels(&self.families[i], name, &labels)?;
        self.families[i].samples.push(RawSample { name: name.to_string(), labels, value, ts_ms });
        self.samples += 1;
        Ok(())
    }

    /// A timestamp in milliseconds: the text format writes integer
    /// milliseconds, OpenMetrics seconds with an optional fraction.
    fn timestamp(&self, t: &str) -> Option<i64> {
        if !self.om {
            return t.parse::<i64>().ok();
        }
        seconds_to_ms(t)
    }
}

/// Histogram buckets need a numeric `le`, and summary quantiles a numeric
/// `quantile`: without one the sample cannot be placed.
fn check_special_labels(f: &Family, name: &str, labels: &Labels) -> Result<(), String> {
    let suffix = &name[f.name.len()..];
    let needed = match (f.kind, suffix) {
        (FamilyKind::Histogram | FamilyKind::GaugeHistogram, "_bucket") => "le",
        (FamilyKind::Summary, "") => "quantile",
        _ => return Ok(()),
    };
    match labels.get(needed) {
        Some(v) if parse_value(v).is_some() => Ok(()),
        Some(v) => Err(format!("{name}: {needed}={} is not a number", quote(v))),
        None => Err(format!("{name} has no {needed} label")),
    }
}

/// Reads labels after the opening `{`, up to and including the closing
/// `}`, into `labels`; returns what follows.
fn read_labels<'a>(mut s: &'a str, labels: &mut Labels) -> Result<&'a str, String> {
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if let Some(after) = s.strip_prefix('}') {
            return Ok(after);
        }
        let end = s.bytes().position(|b| !is_name_byte(b)).unwrap_or(s.len());
        let (name, after) = s.split_at(end);
        if !valid_label_name(name) {
            let shown =
                if name.is_empty() { s.chars().next().map(String::from).unwrap_or_default() } else { name.into() };
            return Err(if shown.is_empty() {
                "label set is not closed with }".to_string()
            } else {
                format!("invalid label name {}", quote(&shown))
            });
        }
        let after = after.trim_start_matches([' ', '\t']);
        let after = after.strip_prefix('=').ok_or_else(|| format!("label {name} has no ="))?;
        let after = after.trim_start_matches([' ', '\t']);
        let after = after.strip_prefix('"').ok_or_else(|| format!("label {name}'s value is not quoted"))?;
        let (value, after) = read_quoted(after).ok_or_else(|| format!("label {name}'s value has no closing quote"))?;
        if labels.contains_key(name) {
            return Err(format!("label {name} appears twice"));
        }
        if labels.len() >= MAX_LABELS {
            return Err(format!("more than {MAX_LABELS} labels"));
        }
        labels.insert(name.to_string(), value);
        s = after.trim_start_matches([' ', '\t']);
        if let Some(after) = s.strip_prefix(',') {
            s = after;
        } else if !s.starts_with('}') {
            return Err(match s.chars().next() {
                None => "label set is not closed with }".to_string(),
                Some(c) => format!("expected , or }} after label {name}, found {}", quote(&c.to_string())),
            });
        }
    }
}

/// A quoted label value after its opening quote: the value with escapes
/// undone, and what follows the closing quote; `None` when it never closes.
fn read_quoted(s: &str) -> Option<(String, &str)> {
    let bytes = s.as_bytes();
    // Most values have no escapes: find the closing quote first and copy
    // the slice whole.
    let close = bytes.iter().position(|&b| b == b'"' || b == b'\\')?;
    if bytes[close] == b'"' {
        return Some((s[..close].to_string(), &s[close + 1..]));
    }
    let mut out = String::with_capacity(s.len().min(64));
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()? {
                (_, 'n') => out.push('\n'),
                (_, '\\') => out.push('\\'),
                (_, '"') => out.push('"'),
                // Prometheus keeps any other escape as written.
                (_, other) => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
    None
}

/// Undoes the escapes of a `# HELP` text: `\\` and `\n`, and `\"`
/// (OpenMetrics).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A sample value. Rust's float syntax is what exporters write: integers,
/// decimals, exponents, and `NaN`, `+Inf`, `-Inf`, `Inf` in any case.
pub fn parse_value(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// OpenMetrics seconds (`1767323045.5`, `1.7e9`) as milliseconds. Plain
/// decimals are converted digit by digit, so a timestamp with a fraction
/// does not lose a millisecond to binary rounding.
fn seconds_to_ms(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !whole.is_empty() || !frac.is_empty();
    if plain && whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        let secs: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let mut ms = 0i64;
        for (k, b) in frac.bytes().chain(std::iter::repeat(b'0')).take(3).enumerate() {
            ms += i64::from(b - b'0') * [100, 10, 1][k];
        }
        let total = secs.checked_mul(1000)?.checked_add(ms)?;
        return Some(if neg { -total } else { total });
    }
    let secs: f64 = t.parse().ok()?;
    let ms = (secs * 1000.0).round();
    (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
}

/// The first whitespace-separated word, and what follows it with the
/// separating blanks removed.
fn split_word(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, at most [`MAX_NAME_BYTES`].
pub fn valid_metric_name(s: &str) -> bool {
    s.len() <= MAX_NAME_BYTES && s.bytes().next().is_some_and(|b| !b.is_ascii_digit()) && s.bytes().all(is_name_byte)
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(s: &str) -> bool {
    s.len() <= MAX_NAME_BYTES
        && s.bytes().next().is_some_and(|b| !b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A piece of input for an error reason: shortened, made safe to print,
/// and quoted.
fn quote(s: &str) -> String {
    let short: String = s.chars().take(QUOTE_CHARS).collect();
    let more = if short.len() < s.len() { "…" } else { "" };
    format!("{:?}{more}", sanitize(&short))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn clean(text: &str) -> Parsed {
        let p = parse(text);
        assert_eq!(p.errors, [], "{text}");
        p
    }

    fn only_sample(text: &str) -> RawSample {
        let p = clean(text);
        assert_eq!(p.samples, 1, "{p:?}");
        p.families[0].samples[0].clone()
    }

    #[test]
    fn declarations_make_families() {
        let p = clean(
            "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n\
             http_requests_total{code=\"200\"} 1027\n\n# a plain comment\n#HELP not a declaration\n\
             # TYPE temp gauge\ntemp 21.5\n",
        );
        assert!(!p.openmetrics);
        assert_eq!(p.families.len(), 2);
        let f = &p.families[0];
        assert_eq!(
            (f.name.as_str(), f.kind, f.help.as_str()),
            ("http_requests_total", FamilyKind::Counter, "Requests served.")
        );
        assert_eq!(f.samples[0].labels, labels(&[("code", "200")]));
        assert_eq!(f.samples[0].value, 1027.0);
        assert_eq!((p.families[1].kind, p.families[1].samples[0].value), (FamilyKind::Gauge, 21.5));
    }

    #[test]
    fn help_text_is_unescaped() {
        let p = clean("# HELP m Two\\nlines, a \\\\ and a \\\"quote\\\".\n# TYPE m gauge\nm 1\n");
        assert_eq!(p.families[0].help, "Two\nlines, a \\ and a \"quote\".");
        // A HELP line with no text at all.
        assert_eq!(clean("# HELP m\nm 1\n").families[0].help, "");
    }

    #[test]
    fn label_values_keep_what_the_escapes_stand_for() {
        let s = only_sample(r#"m{a="x\\y",b="say \"hi\"",c="two\nlines",d="a,b{c}=d",e="",f="\t"} 1"#);
        assert_eq!(
            s.labels,
            labels(&[
                ("a", "x\\y"),
                ("b", "say \"hi\""),
                ("c", "two\nlines"),
                ("d", "a,b{c}=d"),
                ("e", ""),
                ("f", "\\t")
            ])
        );
        let s = only_sample("m{path=\"/caf\u{e9} \u{1f600}\"} 1");
        assert_eq!(s.labels["path"], "/caf\u{e9} \u{1f600}");
    }

    #[test]
    fn label_sets_may_be_empty_have_a_trailing_comma_or_blanks() {
        assert_eq!(only_sample("m{} 1").labels, Labels::new());
        assert_eq!(only_sample("m{a=\"1\",} 1").labels, labels(&[("a", "1")]));
        assert_eq!(only_sample("m{ a = \"1\" , b=\"2\" } 1").labels, labels(&[("a", "1"), ("b", "2")]));
        assert_eq!(only_sample("m{a=\"1\"}2").value, 2.0);
        assert_eq!(only_sample("  m \t 3").value, 3.0);
    }

    #[test]
    fn names_may_hold_colons_and_underscores() {
        let s = only_sample("job:http_requests:rate5m{_hidden=\"x\"} 4");
        assert_eq!((s.name.as_str(), s.labels["_hidden"].as_str()), ("job:http_requests:rate5m", "x"));
        assert_eq!(only_sample("_m 1").name, "_m");
    }

    #[test]
    fn values_in_every_spelling() {
        let cases = [
            ("1", 1.0),
            ("-7", -7.0),
            ("3.25", 3.25),
            ("1e3", 1000.0),
            ("-1.5E-3", -0.0015),
            ("1.7958505430523198e+09", 1.7958505430523198e9),
            ("+Inf", f64::INFINITY),
            ("Inf", f64::INFINITY),
            ("-Inf", f64::NEG_INFINITY),
            (".5", 0.5),
        ];
        for (text, want) in cases {
            assert_eq!(only_sample(&format!("m {text}")).value, want, "{text}");
        }
        assert!(only_sample("m NaN").value.is_nan());
    }

    #[test]
    fn timestamps_become_milliseconds_in_both_formats() {
        assert_eq!(only_sample("m 1 1767323045500").ts_ms, Some(1_767_323_045_500));
        assert_eq!(only_sample("m 1 -1000").ts_ms, Some(-1000));
        assert_eq!(only_sample("m 1").ts_ms, None);
        let om = |ts: &str| {
            let p = parse(&format!("# TYPE m gauge\nm 1 {ts}\n# EOF\n"));
            assert!(p.openmetrics && p.errors.is_empty(), "{ts}: {p:?}");
            p.families[0].samples[0].ts_ms
        };
        assert_eq!(om("1767323045.5"), Some(1_767_323_045_500));
        assert_eq!(om("1767323045"), Some(1_767_323_045_000));
        assert_eq!(om("1767323045.123999"), Some(1_767_323_045_123));
        assert_eq!(om("1.5e9"), Some(1_500_000_000_000));
        assert_eq!(om("-0.25"), Some(-250));
        // The text format's timestamps are whole milliseconds.
        assert_eq!(parse("m 1 1.5").error_count, 1);
        assert_eq!(parse("# TYPE m gauge\nm 1 soon\n# EOF\n").error_count, 1);
    }

    #[test]
    fn exemplars_are_skipped() {
        let p = clean(
            "# TYPE foo counter\nfoo_total{a=\"1\"} 17 # {trace_id=\"oHg5SJ#YRHA0\"} 9.5 1520879607.789\n\
             # TYPE h histogram\nh_bucket{le=\"+Inf\"} 3 1520879607.7 # {id=\"x\"} 1\nh_count 3\n# EOF\n",
        );
        assert_eq!(p.families[0].samples[0].value, 17.0);
        assert_eq!(p.families[1].samples[0].ts_ms, Some(1_520_879_607_700));
    }

    #[test]
    fn samples_without_a_type_are_each_their_own_family() {
        let p = clean("a 1\na_bucket{le=\"1\"} 2\nb_total 3\nb_total{x=\"y\"} 4\n");
        let fams: Vec<(&str, FamilyKind, usize)> =
            p.families.iter().map(|f| (f.name.as_str(), f.kind, f.samples.len())).collect();
        assert_eq!(
            fams,
            [("a", FamilyKind::Unknown, 1), ("a_bucket", FamilyKind::Unknown, 1), ("b_total", FamilyKind::Unknown, 2)]
        );
        let p = clean("# TYPE u untyped\nu 1\n");
        assert_eq!(p.families[0].kind, FamilyKind::Unknown);
    }

    #[test]
    fn openmetrics_counters_own_their_total_and_created_samples() {
        let p = clean(
            "# TYPE req counter\n# UNIT req requests\n# HELP req Requests.\nreq_total{a=\"1\"} 5\nreq_created{a=\"1\"} 1.7e9\n\
             req_total{a=\"2\"} 6\n# EOF\n",
        );
        assert!(p.openmetrics);
        assert_eq!(p.families.len(), 1);
        let f = &p.families[0];
        assert_eq!((f.kind, f.unit.as_str(), f.help.as_str()), (FamilyKind::Counter, "requests", "Requests."));
        let names: Vec<&str> = f.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["req_total", "req_created", "req_total"]);
    }

    #[test]
    fn histogram_summary_and_gauge_histogram_samples_find_their_family() {
        let text = "# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 0.3\nlat_count 2\n\
                    lat_created 1.7e9\n# TYPE q summary\nq{quantile=\"0.5\"} 0.2\nq{quantile=\"0.99\"} 0.9\nq_sum 4\nq_count 9\n\
                    # TYPE g gaugehistogram\ng_bucket{le=\"1\"} 3\ng_bucket{le=\"+Inf\"} 4\ng_gcount 4\ng_gsum 2\n\
                    # TYPE i info\ni_info{version=\"1\"} 1\n# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n";
        let p = clean(text);
        let fams: Vec<(&str, FamilyKind, usize)> =
            p.families.iter().map(|f| (f.name.as_str(), f.kind, f.samples.len())).collect();
        assert_eq!(
            fams,
            [
                ("lat", FamilyKind::Histogram, 5),
                ("q", FamilyKind::Summary, 4),
                ("g", FamilyKind::GaugeHistogram, 4),
                ("i", FamilyKind::Info, 1),
                ("s", FamilyKind::StateSet, 2),
            ]
        );
    }

    #[test]
    fn samples_out_of_order_still_find_their_family() {
        let p = clean("# TYPE a counter\n# TYPE b gauge\nb 1\na_total 2\nb 3\na_created 4\n");
        assert_eq!(p.families[0].samples.iter().map(|s| s.value).collect::<Vec<_>>(), [2.0, 4.0]);
        assert_eq!(p.families[1].samples.iter().map(|s| s.value).collect::<Vec<_>>(), [1.0, 3.0]);
    }

    #[test]
    fn a_suffix_the_family_does_not_take_makes_a_family_of_its_own() {
        // A gauge has no `_sum`: this is another metric.
        let p = clean("# TYPE g gauge\ng 1\ng_sum 2\n");
        assert_eq!(p.families.len(), 2);
        assert_eq!((p.families[1].name.as_str(), p.families[1].kind), ("g_sum", FamilyKind::Unknown));
    }

    #[test]
    fn bad_lines_are_skipped_and_the_rest_kept() {
        let text = "# TYPE h histogram\n\
                    ok 1\n\
                    9bad 1\n\
                    bad-name 1\n\
                    m{a=\"unterminated} 1\n\
                    m{a=\"1\",a=\"2\"} 1\n\
                    m{a=\"1\" b=\"2\"} 1\n\
                    m{1a=\"x\"} 1\n\
                    m{a=x} 1\n\
                    m{a=\"1\" 1\n\
                    m one\n\
                    m\n\
                    m 1 2 3\n\
                    h_bucket 1\n\
                    h_bucket{le=\"high\"} 1\n\
                    h 1\n\
                    # TYPE x sometype\n\
                    also_ok{b=\"2\"} 2\n";
        let p = parse(text);
        let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, (3..=17).collect::<Vec<_>>(), "{:#?}", p.errors);
        assert_eq!(p.error_count, 15);
        assert_eq!(p.samples, 2);
        let names: Vec<&str> = p.families.iter().flat_map(|f| &f.samples).map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ok", "also_ok"]);
        let reasons: Vec<&str> = p.errors.iter().map(|e| e.reason.as_str()).collect();
        assert!(reasons[0].contains("invalid metric name \"9bad\""), "{reasons:?}");
        assert!(reasons[2].contains("no closing quote"), "{reasons:?}");
        assert!(reasons[3].contains("appears twice"), "{reasons:?}");
        assert!(reasons[8].contains("not a number"), "{reasons:?}");
        assert!(reasons[11].contains("no le label"), "{reasons:?}");
    }

    #[test]
    fn a_name_declared_again_starts_a_new_family() {
        // As a Go program's OpenMetrics page has it: a gauge, then a counter
        // whose family name is the same once `_total` is taken off.
        let p = clean(
            "# HELP mem Bytes in use.\n# TYPE mem gauge\nmem 5\n# HELP mem Bytes ever.\n# TYPE mem counter\n\
             mem_total 9\n# EOF\n",
        );
        let fams: Vec<(&str, FamilyKind, &str, &str)> =
            p.families.iter().map(|f| (f.name.as_str(), f.kind, f.help.as_str(), f.samples[0].name.as_str())).collect();
        assert_eq!(
            fams,
            [
                ("mem", FamilyKind::Gauge, "Bytes in use.", "mem"),
                ("mem", FamilyKind::Counter, "Bytes ever.", "mem_total")
            ]
        );
        // Declared after its samples: the samples that follow take the type.
        let p = clean("late 1\n# TYPE late counter\nlate 2\n");
        assert_eq!(p.families.iter().map(|f| f.kind).collect::<Vec<_>>(), [FamilyKind::Unknown, FamilyKind::Counter]);
        // The same declaration twice before any sample: the second wins.
        let p = clean("# TYPE m gauge\n# TYPE m counter\nm 1\n");
        assert_eq!(p.families.last().unwrap().kind, FamilyKind::Counter);
    }

    #[test]
    fn error_reasons_are_safe_to_print_and_short() {
        let hostile = "m\u{1b}]0;pwned\u{7}{a=\"1\"} 1\nm{a=\"1\"} \u{1b}[2J\n";
        let p = parse(hostile);
        assert_eq!(p.error_count, 2);
        for e in &p.errors {
            assert!(!e.reason.chars().any(|c| c.is_control()), "{:?}", e.reason);
        }
        let long = format!("{} 1", "x-".repeat(500));
        let reason = &parse(&long).errors[0].reason;
        assert!(reason.chars().count() < 120, "{reason}");
    }

    #[test]
    fn only_the_first_errors_are_kept_but_all_counted() {
        let text = "bad-line 1\n".repeat(50) + "good 1\n";
        let p = parse(&text);
        assert_eq!((p.errors.len(), p.error_count, p.samples), (MAX_ERRORS_KEPT, 50, 1));
    }

    #[test]
    fn long_lines_and_too_many_samples_are_bounded() {
        let long = format!("m{{a=\"{}\"}} 1\nok 1\n", "x".repeat(MAX_LINE_BYTES));
        let p = parse(&long);
        assert_eq!((p.error_count, p.samples), (1, 1));
        assert!(p.errors[0].reason.contains("64 KiB"));

        let many = "a 1\nb 2\nc 3\nd 4\n";
        let p = parse_capped(many, false, 2, MAX_PAGE_BYTES);
        assert!(p.truncated);
        assert_eq!((p.samples, p.error_count, p.errors[0].line), (2, 1, 3));

        // Cut in the middle of `c 3`: the whole lines before it are read.
        let p = parse_capped(many, false, MAX_SAMPLES, 10);
        assert!(p.truncated);
        assert_eq!((p.samples, p.error_count, p.errors[0].line), (2, 1, 3));
        assert_eq!(parse_capped(many, false, MAX_SAMPLES, many.len()).error_count, 0);
    }

    #[test]
    fn too_many_labels_are_refused() {
        let set: Vec<String> = (0..=MAX_LABELS).map(|i| format!("l{i}=\"v\"")).collect();
        let p = parse(&format!("m{{{}}} 1\n", set.join(",")));
        assert_eq!((p.samples, p.error_count), (0, 1));
    }

    #[test]
    fn nothing_may_follow_eof() {
        let p = parse("# TYPE m gauge\nm 1\n# EOF\nm 2\n");
        assert!(!p.openmetrics, "the last line is not # EOF");
        assert_eq!((p.samples, p.error_count, p.errors[0].line), (1, 1, 4));
        let p = parse("m 1\n# EOF\n\n");
        assert!(p.openmetrics && p.errors.is_empty());
    }

    #[test]
    fn windows_line_ends_are_read() {
        let p = clean("# TYPE m gauge\r\nm{a=\"1\"} 2\r\n# EOF\r\n");
        assert!(p.openmetrics);
        assert_eq!(p.families[0].samples[0].labels["a"], "1");
    }

    #[test]
    fn the_format_can_be_named_by_the_caller() {
        // Seconds when told it is OpenMetrics, even without `# EOF`.
        let p = parse_as("m 1 1700000000\n", true);
        assert_eq!(p.families[0].samples[0].ts_ms, Some(1_700_000_000_000));
        let p = parse_as("m 1 1700000000\n", false);
        assert_eq!(p.families[0].samples[0].ts_ms, Some(1_700_000_000));
    }
}
