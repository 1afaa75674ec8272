//! An Alertmanager source: polls its v2 API every interval and hands on
//! its alerts as the dashboard's own, marked as coming from it (their ids
//! name the source), with who silenced or inhibited each. An alert that
//! leaves Alertmanager's list resolves; while Alertmanager cannot be
//! reached its alerts stay as last seen and the sources page says why.

use crate::core::model::{Alert, AlertState, Muted, SourceId, Update};
use crate::sources::SourceStats;
use crate::sources::alertmanager::{self, Snapshot};
use crate::sources::auth::Auth;
use crate::sources::poller::{self, Pace, Polled};
use crate::wire::now_ms;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub struct Options {
    pub id: SourceId,
    pub name: String,
    pub url: String,
    pub http: reqwest::Client,
    pub auth: Option<Auth>,
    pub interval: Duration,
    pub timeout: Duration,
    pub stats: Arc<SourceStats>,
}

/// Runs until cancelled or until nobody listens.
pub async fn run(opts: Options, tx: mpsc::Sender<Update>, cancel: CancellationToken) {
    let pace = Pace { every: opts.interval, timeout: opts.timeout };
    let stats = opts.stats.clone();
    poller::run(Poll { opts, shown: BTreeMap::new(), muted: None }, pace, stats, tx, cancel).await;
}

/// An Alertmanager, and what was handed on from it before.
struct Poll {
    opts: Options,
    shown: BTreeMap<String, Alert>,
    muted: Option<Vec<Muted>>,
}

impl Polled for Poll {
    async fn read(&mut self) -> Result<Vec<Update>, String> {
        let opts = &self.opts;
        let snapshot =
            alertmanager::fetch(&opts.http, &opts.url, opts.auth.as_ref()).await.map_err(|e| e.to_string())?;
        let now = now_ms();
        SourceStats::bump(&opts.stats.frames, 1);
        SourceStats::bump(&opts.stats.points, snapshot.alerts.len() as u64);
        SourceStats::bump(&opts.stats.malformed, snapshot.malformed as u64);
        Ok(changes(&snapshot, &opts.name, opts.id, now, &mut self.shown, &mut self.muted))
    }
}

/// What a snapshot changes: alerts new or changed, alerts gone (resolved
/// now), and the muted set when it differs. `shown` and `muted` are what
/// was handed on before.
fn changes(
    snapshot: &Snapshot,
    name: &str,
    source: SourceId,
    now_ms: i64,
    shown: &mut BTreeMap<String, Alert>,
    muted: &mut Option<Vec<Muted>>,
) -> Vec<Update> {
    let mut out = Vec::new();
    let current: BTreeMap<String, Alert> =
        alertmanager::to_alerts(snapshot, name, now_ms).into_iter().map(|a| (a.id.clone(), a)).collect();
    for (id, a) in &current {
        let same = shown.get(id).is_some_and(|b| Alert { updated_ms: a.updated_ms, ..b.clone() } == *a);
        if !same {
            out.push(Update::Alert(a.clone()));
        }
    }
    for (id, a) in shown.iter() {
        if !current.contains_key(id) && a.state != AlertState::Resolved {
            let ended = Alert { state: AlertState::Resolved, ends_at: Some(now_ms), updated_ms: now_ms, ..a.clone() };
            out.push(Update::Alert(ended));
        }
    }
    *shown = current;
    let now_muted: Vec<Muted> = alertmanager::suppressions(snapshot, name)
        .into_iter()
        .map(|s| {
            let silence = s.silenced_by.iter().max_by_key(|b| b.ends_at_ms.unwrap_or(i64::MAX));
            let by = match silence {
                Some(b) if !b.created_by.is_empty() && !b.comment.is_empty() => {
                    format!("{} in {name}: {}", b.created_by, b.comment)
                }
                Some(b) if !b.created_by.is_empty() => format!("{} in {name}", b.created_by),
                Some(_) => format!("a silence in {name}"),
                None => format!("inhibited in {name}"),
            };
            Muted { alert_id: s.alert_id, until_ms: silence.and_then(|b| b.ends_at_ms), by }
        })
        .collect();
    if muted.as_ref() != Some(&now_muted) {
        out.push(Update::Muted { source, muted: now_muted.clone() });
        *muted = Some(now_muted);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::alertmanager::{AmAlert, AmAlertState, AmSilence, SilenceState};

    fn alert(fp: &str, silenced_by: &[&str]) -> AmAlert {
        AmAlert {
            fingerprint: fp.into(),
            labels: [("alertname".to_string(), "HighErrors".to_string())].into(),
            annotations: Default::default(),
            starts_at_ms: 1_000,
            ends_at_ms: None,
            updated_at_ms: None,
            state: if silenced_by.is_empty() { AmAlertState::Active } else { AmAlertState::Suppressed },
            silenced_by: silenced_by.iter().map(|s| s.to_string()).collect(),
            inhibited_by: Vec::new(),
            receivers: Vec::new(),
            generator_url: String::new(),
        }
    }

    #[test]
    fn alerts_are_handed_on_when_they_change_and_resolve_when_they_leave() {
        let (mut shown, mut muted) = (BTreeMap::new(), None);
        let snap = Snapshot { alerts: vec![alert("00000000000000a1", &[])], ..Snapshot::default() };
        let first = changes(&snap, "am", SourceId(2), 10, &mut shown, &mut muted);
        assert!(
            matches!(&first[0], Update::Alert(a) if a.id == "am:am:00000000000000a1" && a.state == AlertState::Firing)
        );
        assert!(matches!(&first[1], Update::Muted { muted, .. } if muted.is_empty()));
        // The same again, a poll later: nothing new.
        assert!(changes(&snap, "am", SourceId(2), 20, &mut shown, &mut muted).is_empty());
        // Gone from Alertmanager: resolved now.
        let gone = changes(&Snapshot::default(), "am", SourceId(2), 30, &mut shown, &mut muted);
        assert!(matches!(&gone[..], [Update::Alert(a)] if a.state == AlertState::Resolved && a.ends_at == Some(30)));
    }

    #[test]
    fn a_silence_says_who_why_and_until_when() {
        let (mut shown, mut muted) = (BTreeMap::new(), None);
        let silence = AmSilence {
            id: "s1".into(),
            matchers: Vec::new(),
            created_by: "ana".into(),
            comment: "deploying".into(),
            starts_at_ms: 0,
            ends_at_ms: 99_000,
            state: SilenceState::Active,
        };
        let snap = Snapshot { alerts: vec![alert("00000000000000b2", &["s1"])], silences: vec![silence], malformed: 0 };
        let out = changes(&snap, "am", SourceId(2), 10, &mut shown, &mut muted);
        let Some(Update::Muted { muted, .. }) = out.last() else { panic!("{out:?}") };
        assert_eq!(
            muted,
            &[Muted {
                alert_id: "am:am:00000000000000b2".into(),
                until_ms: Some(99_000),
                by: "ana in am: deploying".into()
            }]
        );
    }
}
