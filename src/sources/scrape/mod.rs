//! Reading a service's own `/metrics` page: the Prometheus text format and
//! OpenMetrics, parsed ([`parse`]), turned into what the store keeps
//! ([`convert`]), and searched for the golden signals ([`golden`]). All of
//! it is pure: fetching the page on an interval is the source's job.

pub mod convert;
pub mod golden;
pub mod parse;
pub mod poll;

pub use convert::{EXPORTED_PREFIX, series_labels, to_observations};
pub use golden::{DerivedPoint, Golden, Saturation, derive, detect, page};
pub use parse::{Family, FamilyKind, LineError, Parsed, RawSample, parse, parse_as};

#[cfg(test)]
mod tests;
