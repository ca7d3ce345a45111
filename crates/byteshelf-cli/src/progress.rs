//! Progress bars for long work (pack, verify, unpack, build), drawn on stderr only when stderr is a terminal,
//! so pipes, logs and tests see nothing but the results.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::output::{count_rate, rate, size};

/// `style` with a `{rate}` key: items per second for people (`812/s`, `5.1 M/s`), where indicatif's own
/// `{per_sec}` prints `5,055,721.585/s`.
fn with_rate(style: ProgressStyle) -> ProgressStyle {
    style.with_key(
        "rate",
        |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            // A failed write to the bar's buffer only loses this field of one frame.
            let _ = out.write_str(&count_rate(state.per_sec()));
        },
    )
}

/// A progress bar counting items (records, keys) and the bytes they hold, or nothing when stderr is not a
/// terminal.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `what` (e.g. `"packing"`), over `total` items when known.
    pub(crate) fn new(what: &str, total: Option<u64>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(
                    with_rate(
                        ProgressStyle::with_template(
                            "{prefix} [{bar:30}] {human_pos}/{human_len} ({rate}) {msg} {elapsed_precise}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    )
                    .progress_chars("=> "),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                with_rate(
                    ProgressStyle::with_template(
                        "{prefix} {spinner} {human_pos} ({rate}) {msg} {elapsed_precise}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                ),
            ),
        };
        bar.set_prefix(what.to_owned());
        Self { bar: Some(bar) }
    }

    /// Counts `items` more items, holding `bytes` more bytes in all.
    pub(crate) fn advance(&self, items: u64, bytes_total: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(items);
            // Refreshing the message costs a format; do it only as often as the bar redraws anyway.
            if bar.position().is_multiple_of(1024) || bar.length() == Some(bar.position()) {
                bar.set_message(format!(
                    "{} done, {}",
                    size(bytes_total),
                    rate(bytes_total, bar.elapsed())
                ));
            }
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
