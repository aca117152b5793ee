//! What the continuous runner counts, rendered in the Prometheus text
//! exposition format (version 0.0.4) for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of the cycle duration histogram, in seconds.
const BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(Debug, Default)]
struct Inner {
    cycles: BTreeMap<String, u64>,
    duration_buckets: Vec<u64>,
    duration_sum: f64,
    duration_count: u64,
    actions: BTreeMap<(String, String), u64>,
    webhooks: BTreeMap<String, u64>,
    last_applied_commit_time: Option<i64>,
    last_cycle_time: Option<i64>,
    held_deletions: usize,
    drift: usize,
    ready: bool,
    mailboxes: BTreeMap<String, usize>,
    consecutive_failures: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn cycle(&self, result: &str, seconds: f64, now: i64) {
        self.with(|m| {
            *m.cycles.entry(result.to_string()).or_default() += 1;
            if m.duration_buckets.is_empty() {
                m.duration_buckets = vec![0; BUCKETS.len()];
            }
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    m.duration_buckets[i] += 1;
                }
            }
            m.duration_sum += seconds;
            m.duration_count += 1;
            m.last_cycle_time = Some(now);
        })
    }

    pub fn action(&self, action: &str, ok: bool) {
        self.with(|m| {
            *m.actions
                .entry((
                    action.to_string(),
                    if ok { "ok" } else { "failed" }.to_string(),
                ))
                .or_default() += 1;
        })
    }

    pub fn webhook(&self, result: &str) {
        self.with(|m| *m.webhooks.entry(result.to_string()).or_default() += 1)
    }

    pub fn set_last_applied_commit_time(&self, t: i64) {
        self.with(|m| m.last_applied_commit_time = Some(t))
    }

    pub fn set_held(&self, n: usize) {
        self.with(|m| m.held_deletions = n)
    }

    pub fn set_drift(&self, n: usize) {
        self.with(|m| m.drift = n)
    }

    pub fn set_ready(&self, ready: bool) {
        self.with(|m| m.ready = ready)
    }

    pub fn set_consecutive_failures(&self, n: u64) {
        self.with(|m| m.consecutive_failures = n)
    }

    pub fn set_mailboxes(&self, by_status: BTreeMap<String, usize>) {
        self.with(|m| m.mailboxes = by_status)
    }

    /// The cycles counted so far, by result.
    pub fn cycles(&self) -> BTreeMap<String, u64> {
        self.with(|m| m.cycles.clone())
    }

    pub fn render(&self) -> String {
        self.with(|m| {
            let mut o = String::new();
            let head = |o: &mut String, name: &str, kind: &str, help: &str| {
                let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
            };
            head(&mut o, "hopthu_cycles_total", "counter", "Reconcile cycles, by result.");
            for (r, n) in &m.cycles {
                let _ = writeln!(o, "hopthu_cycles_total{{result=\"{r}\"}} {n}");
            }
            head(
                &mut o,
                "hopthu_cycle_duration_seconds",
                "histogram",
                "How long reconcile cycles took.",
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let n = m.duration_buckets.get(i).copied().unwrap_or(0);
                let _ = writeln!(o, "hopthu_cycle_duration_seconds_bucket{{le=\"{b}\"}} {n}");
            }
            let _ = writeln!(
                o,
                "hopthu_cycle_duration_seconds_bucket{{le=\"+Inf\"}} {}\nhopthu_cycle_duration_seconds_sum {}\nhopthu_cycle_duration_seconds_count {}",
                m.duration_count, m.duration_sum, m.duration_count
            );
            head(
                &mut o,
                "hopthu_actions_total",
                "counter",
                "Actions carried out on mailboxes, by kind and result.",
            );
            for ((a, r), n) in &m.actions {
                let _ = writeln!(o, "hopthu_actions_total{{action=\"{a}\",result=\"{r}\"}} {n}");
            }
            head(
                &mut o,
                "hopthu_last_applied_commit_timestamp_seconds",
                "gauge",
                "Commit time of the last applied commit.",
            );
            let _ = writeln!(
                o,
                "hopthu_last_applied_commit_timestamp_seconds {}",
                m.last_applied_commit_time.unwrap_or(0)
            );
            head(
                &mut o,
                "hopthu_last_cycle_timestamp_seconds",
                "gauge",
                "When the last cycle ended.",
            );
            let _ = writeln!(
                o,
                "hopthu_last_cycle_timestamp_seconds {}",
                m.last_cycle_time.unwrap_or(0)
            );
            head(
                &mut o,
                "hopthu_held_deletions",
                "gauge",
                "Deletions waiting for a person's approval.",
            );
            let _ = writeln!(o, "hopthu_held_deletions {}", m.held_deletions);
            head(
                &mut o,
                "hopthu_drift_changes",
                "gauge",
                "Changes made by hand in the live directory, as last seen.",
            );
            let _ = writeln!(o, "hopthu_drift_changes {}", m.drift);
            head(
                &mut o,
                "hopthu_consecutive_failures",
                "gauge",
                "Cycles in a row that ended in an error.",
            );
            let _ = writeln!(o, "hopthu_consecutive_failures {}", m.consecutive_failures);
            head(&mut o, "hopthu_ready", "gauge", "1 once a cycle has succeeded.");
            let _ = writeln!(o, "hopthu_ready {}", u8::from(m.ready));
            head(
                &mut o,
                "hopthu_mailboxes",
                "gauge",
                "Mailboxes in the desired state, by status.",
            );
            for (s, n) in &m.mailboxes {
                let _ = writeln!(o, "hopthu_mailboxes{{status=\"{s}\"}} {n}");
            }
            head(
                &mut o,
                "hopthu_webhook_requests_total",
                "counter",
                "Webhook requests, by result.",
            );
            for (r, n) in &m.webhooks {
                let _ = writeln!(o, "hopthu_webhook_requests_total{{result=\"{r}\"}} {n}");
            }
            o
        })
    }
}
