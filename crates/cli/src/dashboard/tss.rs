//! What the dashboard knows of each TSS it watches: its `/v1/status` (account, slots, the attempt
//! it runs, whether it halted) and, from `/metrics`, the sign requests it answered. The TSS APIs
//! are asked by the dashboard's server, never by the browser, so no TSS needs to allow other
//! origins.

use std::collections::VecDeque;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_tss::api::TssStatus;
use serde::Serialize;

/// How often every TSS is asked.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long one TSS may take to answer one call.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest answer read from a TSS (its status and metrics are a few KiB).
const MAX_ANSWER: usize = 1024 * 1024;
/// Signing samples kept: ten minutes at one every [`POLL_EVERY`].
pub const MAX_POINTS: usize = 300;
/// A TSS whose last answer is older than this is shown as not answering.
const STALE_MS: u64 = 5 * POLL_EVERY.as_millis() as u64;
/// The longest text kept from a TSS (an error or a halt reason); the rest is cut.
pub const MAX_TEXT: usize = 300;

/// `text`, cut to [`MAX_TEXT`] characters.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// One watched TSS, as last seen.
#[derive(Debug, Clone, Serialize)]
pub struct TssView {
    /// Its API.
    pub url: String,
    /// The TSS account it must answer as: given (the devnet knows it) or learnt from its first
    /// answer. An API that later answers as another account is reported, not believed.
    pub account: Option<AccountId>,
    /// Its last status, if it ever answered.
    pub status: Option<TssStatus>,
    /// Why the last call failed, if it did (the status above is then older).
    pub error: Option<String>,
    /// Wall time of the last answer, in Unix milliseconds.
    pub answered_ms: Option<u64>,
    /// The signing totals of its metrics at the last answer.
    #[serde(skip)]
    totals: Option<SigningTotals>,
}

impl TssView {
    /// A TSS not asked yet, expected to answer as `account` if that is known.
    pub fn new(url: String, account: Option<AccountId>) -> Self {
        Self {
            url,
            account,
            status: None,
            error: None,
            answered_ms: None,
            totals: None,
        }
    }

    /// Whether its last call succeeded, and was recent at wall time `now_ms`.
    pub fn reachable_at(&self, now_ms: u64) -> bool {
        self.error.is_none()
            && self.status.is_some()
            && self.answered_ms.is_some_and(|at| now_ms.saturating_sub(at) <= STALE_MS)
    }
}

/// Sign requests a TSS answered and the seconds they took, from its metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigningTotals {
    /// `keywheel_tss_signing_seconds_count`.
    pub count: u64,
    /// `keywheel_tss_signing_seconds_sum`.
    pub seconds: f64,
}

/// Reads the signing histogram's count and sum out of a TSS's Prometheus text.
pub fn signing_totals(metrics: &str) -> Option<SigningTotals> {
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
    };
    let count = value("keywheel_tss_signing_seconds_count")?;
    let seconds = value("keywheel_tss_signing_seconds_sum")?;
    (count >= 0.0 && count.fract() == 0.0 && seconds >= 0.0).then_some(SigningTotals {
        count: count as u64,
        seconds,
    })
}

/// One sample of signing over every watched TSS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Wall time of the sample, in Unix milliseconds.
    pub at_ms: u64,
    /// Sign requests answered per second since the sample before.
    pub per_second: f64,
    /// Their mean latency in seconds (none answered: none).
    pub mean_latency_s: Option<f64>,
}

/// Signing throughput and latency over time, from the TSSs' counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SigningSeries {
    /// Samples, oldest first, at most [`MAX_POINTS`].
    pub points: VecDeque<Point>,
    /// Sign requests answered since the dashboard started watching.
    pub answered: u64,
    /// When the previous sample was taken.
    #[serde(skip)]
    last_ms: Option<u64>,
}

impl SigningSeries {
    /// Adds a sample: `answers` are, per TSS that answered this time, its totals before (if
    /// known) and now. A TSS whose count went down restarted: all of its count is new.
    pub fn sample(&mut self, at_ms: u64, answers: &[(Option<SigningTotals>, SigningTotals)]) {
        let (mut count, mut seconds) = (0u64, 0.0f64);
        for (before, now) in answers {
            match before {
                Some(b) if now.count >= b.count => {
                    count = count.saturating_add(now.count - b.count);
                    seconds += (now.seconds - b.seconds).max(0.0);
                }
                Some(_) => {
                    count = count.saturating_add(now.count);
                    seconds += now.seconds;
                }
                // First seen: its past is not in this window.
                None => {}
            }
        }
        let Some(last_ms) = self.last_ms.replace(at_ms) else {
            return;
        };
        let elapsed_s = at_ms.saturating_sub(last_ms).max(1) as f64 / 1000.0;
        self.answered = self.answered.saturating_add(count);
        if self.points.len() == MAX_POINTS {
            self.points.pop_front();
        }
        self.points.push_back(Point {
            at_ms,
            per_second: count as f64 / elapsed_s,
            mean_latency_s: (count > 0).then(|| seconds / count as f64),
        });
    }
}

/// Asks every TSS in `views` for its status and metrics, updates each view and adds a sample
/// to `series`.
pub async fn poll(http: &reqwest::Client, views: &mut [TssView], series: &mut SigningSeries, now_ms: u64) {
    let answers = ask_all(http, views.iter().map(|v| v.url.clone()).collect()).await;
    let mut samples = Vec::new();
    for (view, answer) in views.iter_mut().zip(answers) {
        match answer {
            Ok((status, _)) if view.account.is_some_and(|a| a != status.account) => {
                view.error = Some(format!(
                    "{} answers as TSS {}, not as {}",
                    view.url,
                    status.account,
                    view.account.expect("checked just above")
                ));
            }
            Ok((mut status, totals)) => {
                status.halted = status.halted.as_deref().map(clip);
                view.account = Some(status.account);
                view.status = Some(status);
                view.error = None;
                view.answered_ms = Some(now_ms);
                if let Some(now) = totals {
                    samples.push((view.totals, now));
                    view.totals = Some(now);
                }
            }
            Err(e) => view.error = Some(clip(&e)),
        }
    }
    distrust_shared_accounts(views);
    series.sample(now_ms, &samples);
}

/// Marks as failed every API that answers as the same account as another: neither is believed.
fn distrust_shared_accounts(views: &mut [TssView]) {
    let mut claims: std::collections::BTreeMap<AccountId, usize> = std::collections::BTreeMap::new();
    for view in views.iter().filter(|v| v.error.is_none()) {
        if let Some(account) = view.account {
            *claims.entry(account).or_default() += 1;
        }
    }
    for view in views.iter_mut() {
        if let Some(account) = view.account.filter(|a| claims.get(a).is_some_and(|n| *n > 1)) {
            view.error = Some(format!("more than one TSS API answers as {account}"));
        }
    }
}

/// Asks each URL at once; answers in the order given.
async fn ask_all(http: &reqwest::Client, urls: Vec<String>) -> Vec<Result<(TssStatus, Option<SigningTotals>), String>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, url) in urls.into_iter().enumerate() {
        let http = http.clone();
        tasks.spawn(async move { (i, ask(&http, &url).await) });
    }
    let mut answers: Vec<Option<Result<_, String>>> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, answer)) = joined {
            if answers.len() <= i {
                answers.resize_with(i + 1, || None);
            }
            answers[i] = Some(answer);
        }
    }
    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err("the call did not finish".into())))
        .collect()
}

/// One TSS's status and signing totals.
async fn ask(http: &reqwest::Client, url: &str) -> Result<(TssStatus, Option<SigningTotals>), String> {
    let base = url.trim_end_matches('/');
    let status = get(http, &format!("{base}/v1/status")).await?;
    let status: TssStatus =
        serde_json::from_slice(&status).map_err(|e| format!("{base}/v1/status answered something else: {e}"))?;
    let metrics = get(http, &format!("{base}/metrics")).await?;
    let totals = signing_totals(&String::from_utf8_lossy(&metrics));
    Ok((status, totals))
}

/// The body of a GET, at most [`MAX_ANSWER`] bytes, within [`CALL_TIMEOUT`].
async fn get(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let call = async {
        let mut response = http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {}", without_url(e)))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("{url}: {}", without_url(e)))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(format!("{url} answered more than {MAX_ANSWER} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| Err(format!("{url} did not answer within {CALL_TIMEOUT:?}")))
}

/// reqwest's error text, without the URL it repeats.
fn without_url(e: reqwest::Error) -> String {
    let source = std::error::Error::source(&e).map(|s| s.to_string());
    let text = e.without_url().to_string();
    match source {
        Some(source) => format!("{text}: {source}"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "# HELP keywheel_tss_signing_seconds Time to answer a sign request.\n\
        # TYPE keywheel_tss_signing_seconds histogram\n\
        keywheel_tss_signing_seconds_bucket{le=\"+Inf\"} 4\n\
        keywheel_tss_signing_seconds_sum 10.5\n\
        keywheel_tss_signing_seconds_count 4\n";

    #[test]
    fn the_signing_totals_are_read_from_the_metrics_text() {
        assert_eq!(
            signing_totals(METRICS),
            Some(SigningTotals {
                count: 4,
                seconds: 10.5
            })
        );
        assert_eq!(signing_totals("keywheel_tss_signing_seconds_count 4\n"), None, "no sum");
        assert_eq!(
            signing_totals("keywheel_tss_signing_seconds_sum 1\nkeywheel_tss_signing_seconds_count -3\n"),
            None,
            "a negative count is not a count"
        );
        assert_eq!(
            signing_totals("keywheel_tss_signing_seconds_sum_x 1\nkeywheel_tss_signing_seconds_count 1\n"),
            None,
            "another metric's name is not taken for the sum"
        );
    }

    #[test]
    fn two_apis_that_answer_as_one_account_are_both_distrusted() {
        let answered = |url: &str, account: u8| {
            let mut view = TssView::new(url.into(), None);
            view.account = Some(AccountId([account; 32]));
            view
        };
        let mut views = vec![
            answered("http://a", 1),
            answered("http://b", 1),
            answered("http://c", 2),
        ];
        distrust_shared_accounts(&mut views);
        assert!(views[0].error.as_deref().unwrap().contains("more than one TSS API"));
        assert!(views[1].error.is_some());
        assert!(
            views[2].error.is_none(),
            "a TSS that is alone on its account stays believed"
        );
    }

    #[test]
    fn long_texts_are_cut() {
        let long = "x".repeat(10 * MAX_TEXT);
        assert_eq!(clip(&long).chars().count(), MAX_TEXT + 1);
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn the_series_counts_what_was_answered_between_samples_and_survives_a_restart() {
        let mut series = SigningSeries::default();
        let at = |count, seconds| SigningTotals { count, seconds };
        series.sample(0, &[]);
        assert!(series.points.is_empty(), "the first sample only starts the clock");
        series.sample(2000, &[(None, at(10, 20.0))]);
        assert_eq!(series.points[0].per_second, 0.0, "a TSS first seen brings no past");
        series.sample(4000, &[(Some(at(10, 20.0)), at(14, 28.0)), (None, at(3, 3.0))]);
        assert_eq!(series.points[1].per_second, 2.0);
        assert_eq!(series.points[1].mean_latency_s, Some(2.0));
        // The TSS restarted: its count went down, and all of it is new.
        series.sample(6000, &[(Some(at(14, 28.0)), at(2, 1.0))]);
        assert_eq!((series.points[2].per_second, series.answered), (1.0, 6));
        assert_eq!(series.points[2].mean_latency_s, Some(0.5));
        for i in 0..(MAX_POINTS as u64 + 10) {
            series.sample(8000 + i * 2000, &[]);
        }
        assert_eq!(series.points.len(), MAX_POINTS, "bounded");
        assert_eq!(series.points.back().unwrap().mean_latency_s, None);
    }
}
