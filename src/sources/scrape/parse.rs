//! Reads a `/metrics` page: the Prometheus text exposition format (0.0.4)
//! and OpenMetrics 1.0 text, into families of samples.
//!
//! Names outside the classic character set, which Prometheus 3 allows,
//! are read as its exporters write them: quoted, the metric's own inside
//! the braces (`{"http.server.requests","http.method"="GET"} 7`) and in
//! `# HELP "x.y" ...` and `# TYPE "x.y" counter`. Such a name may hold any
//! text, so it is data like a label value: kept as written here, made safe
//! to draw by [`convert`](super::convert).
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

use crate::core::model::Labels;
use crate::wire::sanitize;
use std::borrow::Cow;
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
        let (name, rest) = match declared_name(rest) {
            Ok(split) => split,
            Err(shown) => {
                self.error(n, format!("# {word} names no valid metric: {}", quote(&shown)));
                return Flow::Go;
            }
        };
        let name = name.as_ref();
        let kind = if word == "TYPE" {
            let (kind_word, extra) = split_word(rest);
            match FamilyKind::from_type(kind_word) {
                Some(kind) if extra.is_empty() => Some(kind),
                _ => {
                    self.error(n, format!("unknown metric type {} for {}", quote(rest), sanitize(name)));
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
                return Err(format!("{} is the name of a {kind} family, whose samples carry a suffix", sanitize(name)));
            }
            (None, None) => self.new_family(name),
        };
        self.current = Some(i);
        Ok(i)
    }

    /// A sample line: `name{labels} value [timestamp] [# exemplar]`, or
    /// `{"name",labels} value ...` for a name that must be quoted.
    fn sample(&mut self, line: &str) -> Result<(), String> {
        let name_end = line.bytes().position(|b| !is_name_byte(b)).unwrap_or(line.len());
        let (outside, mut rest) = line.split_at(name_end);
        if !rest.is_empty() && !rest.starts_with(['{', ' ', '\t']) {
            let bad = line.split([' ', '\t', '{']).next().unwrap_or(line);
            return Err(format!("invalid metric name {}", quote(bad)));
        }
        let mut labels = Labels::new();
        let mut inside = None;
        if let Some(after) = rest.strip_prefix('{') {
            rest = read_labels(after, &mut labels, &mut inside)?;
        }
        let name = match inside {
            Some(quoted) if outside.is_empty() => Cow::Owned(quoted),
            Some(quoted) => return Err(format!("{outside} is named again inside its braces, as {}", quote(&quoted))),
            None if valid_metric_name(outside) => Cow::Borrowed(outside),
            None => return Err(format!("invalid metric name {}", quote(outside))),
        };
        let name = name.as_ref();
        // An exemplar (OpenMetrics) follows a `#`; it is not a sample of
        // its own, so everything from there on is dropped.
        let (fields, _exemplar) = rest.split_once('#').unwrap_or((rest, ""));
        let mut fields = fields.split_ascii_whitespace();
        let value_text = fields.next().ok_or_else(|| format!("{} has no value", sanitize(name)))?;
        let value = parse_value(value_text)
            .ok_or_else(|| format!("{}: value {} is not a number", sanitize(name), quote(value_text)))?;
        let ts_ms = match fields.next() {
            None => None,
            Some(t) => Some(
                self.timestamp(t).ok_or_else(|| format!("{}: timestamp {} is not valid", sanitize(name), quote(t)))?,
            ),
        };
        if let Some(extra) = fields.next() {
            return Err(format!("{}: unexpected {} after the value", sanitize(name), quote(extra)));
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
        Some(v) => Err(format!("{}: {needed}={} is not a number", sanitize(name), quote(v))),
        None => Err(format!("{} has no {needed} label", sanitize(name))),
    }
}

/// Reads labels after the opening `{`, up to and including the closing
/// `}`, into `labels`; returns what follows. A quoted string standing alone
/// between the commas is the metric's name, which goes to `metric`: at most
/// one may be given, anywhere in the set, as Prometheus reads it.
fn read_labels<'a>(mut s: &'a str, labels: &mut Labels, metric: &mut Option<String>) -> Result<&'a str, String> {
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if let Some(after) = s.strip_prefix('}') {
            return Ok(after);
        }
        let (name, after) = if let Some(quoted) = s.strip_prefix('"') {
            let (name, after) = read_quoted(quoted).ok_or("a quoted name has no closing quote")?;
            let after = after.trim_start_matches([' ', '\t']);
            if !valid_quoted_name(&name) {
                return Err(format!("invalid quoted name {}", quote(&name)));
            }
            if after.starts_with([',', '}']) {
                if metric.is_some() {
                    return Err(format!("the metric is named twice, the second time {}", quote(&name)));
                }
                *metric = Some(name);
                s = after.strip_prefix(',').unwrap_or(after);
                continue;
            }
            (Cow::Owned(name), after)
        } else {
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
            (Cow::Borrowed(name), after)
        };
        // Quoted, the name may hold anything: errors quote it safely. Only
        // errors do, so a good label costs no copy of its name.
        let shown = || quote(&name);
        let after = after.trim_start_matches([' ', '\t']);
        let after = after.strip_prefix('=').ok_or_else(|| format!("label {} has no =", shown()))?;
        let after = after.trim_start_matches([' ', '\t']);
        let after = after.strip_prefix('"').ok_or_else(|| format!("label {}'s value is not quoted", shown()))?;
        let (value, after) =
            read_quoted(after).ok_or_else(|| format!("label {}'s value has no closing quote", shown()))?;
        if labels.contains_key(name.as_ref()) {
            return Err(format!("label {} appears twice", shown()));
        }
        if labels.len() >= MAX_LABELS {
            return Err(format!("more than {MAX_LABELS} labels"));
        }
        s = after.trim_start_matches([' ', '\t']);
        if let Some(after) = s.strip_prefix(',') {
            s = after;
        } else if !s.starts_with('}') {
            return Err(match s.chars().next() {
                None => "label set is not closed with }".to_string(),
                Some(c) => format!("expected , or }} after label {}, found {}", shown(), quote(&c.to_string())),
            });
        }
        labels.insert(name.into_owned(), value);
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

/// The metric a `# HELP`, `# TYPE` or `# UNIT` line is about, quoted or
/// not, and the rest of the line with the separating blanks removed; the
/// offending text when there is no valid name.
fn declared_name(s: &str) -> Result<(Cow<'_, str>, &str), String> {
    let Some(quoted) = s.strip_prefix('"') else {
        let (name, rest) = split_word(s);
        return if valid_metric_name(name) { Ok((Cow::Borrowed(name), rest)) } else { Err(name.to_string()) };
    };
    let (name, rest) = read_quoted(quoted).ok_or_else(|| s.to_string())?;
    if !valid_quoted_name(&name) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return Err(s.to_string());
    }
    Ok((Cow::Owned(name), rest.trim_start_matches([' ', '\t'])))
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

/// A name written in quotes may be any text but none at all, up to
/// [`MAX_NAME_BYTES`].
pub fn valid_quoted_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME_BYTES
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
mod tests;
