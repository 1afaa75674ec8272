//! How a query that names a golden signal is read: the catalogue's forms
//! of the signal ([`crate::core::golden::Signal::forms`]) are tried in
//! order for each group of series, and the first form a group has answers
//! for it. So a table of services shows each service's errors from its
//! errors counter if it has one, and from its requests' status codes if
//! not, whatever the others do.
//!
//! A form with an outcome label (`status` is 5xx) belongs to a group as
//! soon as the group has series carrying that label, whatever their
//! values. Its value is that of the series whose outcome counts, and zero
//! where none of them has data while the others do. Client libraries
//! create a series at the first request of each status, so a service that
//! has answered only 200s has no 5xx series at all: its error ratio is 0,
//! not unknown.

use super::matcher::Matcher;
use crate::core::golden::Signal;
use crate::core::model::SeriesKey;
use std::sync::LazyLock;

/// One form of a signal, with its outcome's matcher made once.
pub(super) struct Form {
    pub metric: &'static str,
    pub outcome: Option<(&'static str, Matcher)>,
}

impl Form {
    /// Whether a series of the form's metric is of this form (`None` when
    /// it lacks the outcome label), and if so whether it counts.
    pub fn judge(&self, key: &SeriesKey) -> Option<bool> {
        match &self.outcome {
            None => Some(true),
            Some((label, m)) => {
                let v = key.label(label);
                (!v.is_empty()).then(|| m.matches(v, &[]))
            }
        }
    }
}

static ERRORS: LazyLock<Vec<Form>> = LazyLock::new(|| compile(Signal::Errors));

/// The forms of `signal`, in the order they are tried.
pub(super) fn forms(signal: Signal) -> &'static [Form] {
    match signal {
        Signal::Errors => &ERRORS,
    }
}

fn compile(signal: Signal) -> Vec<Form> {
    // The catalogue's patterns are constants a unit test parses; one that
    // did not would drop only its own form.
    let form = |f: crate::core::golden::Form| {
        let outcome = match f.outcome {
            None => None,
            Some((label, re)) => Some((label, Matcher::parse(&format!("=~{re}")).ok()?)),
        };
        Some(Form { metric: f.metric, outcome })
    };
    signal.forms().into_iter().filter_map(form).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_every_signal_compiles() {
        assert_eq!(forms(Signal::Errors).len(), Signal::Errors.forms().len());
        let five = SeriesKey::new("http_requests_total").with("status", "503");
        let ok = SeriesKey::new("http_requests_total").with("status", "200");
        let bare = SeriesKey::new("http_requests_total");
        let by_status = &forms(Signal::Errors)[1];
        assert_eq!(
            (by_status.judge(&five), by_status.judge(&ok), by_status.judge(&bare)),
            (Some(true), Some(false), None)
        );
    }
}
