"""The app's look: one theme and a little CSS shared by every step."""

from __future__ import annotations

CSS = """
.coach-card {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 14px 16px;
             background: var(--block-background-fill);}
.coach-badge {color: white; border-radius: 999px; padding: 2px 10px; font-weight: 600; font-size: 0.85em;}
.coach-run-id {color: var(--body-text-color-subdued); font-size: 0.8em; margin-left: 8px;}
.coach-message {margin: 8px 0;}
.coach-bar {height: 8px; background: var(--border-color-primary); border-radius: 4px; overflow: hidden;}
.coach-bar > div {height: 100%; background: var(--color-accent); transition: width 0.5s;}
.coach-stats {width: 100%; margin-top: 10px; border-collapse: collapse;}
.coach-stats, .coach-stats tr, .coach-stats td {border: none !important; background: none !important;}
.coach-stats td {padding: 4px 8px 0 0; vertical-align: top;}
/* The stats wrap inside their card (a phone shows them in rows of three or four), never past its edge. */
.coach-stats, .coach-stats tbody {display: block;}
.coach-stats tr {display: flex; flex-wrap: wrap; row-gap: 6px;}
.coach-stats td {flex: 1 0 auto; min-width: 76px;}
.coach-columns {width: 100%; margin-top: 6px; border-collapse: collapse; font-size: 0.95em; border: none !important;}
.coach-columns th, .coach-columns td {padding: 3px 10px 3px 0; vertical-align: top; text-align: left;
                                      border: none; border-bottom: 1px solid var(--border-color-primary);}
.coach-stats small, .coach-muted {color: var(--body-text-color-subdued);}
.coach-samples {overflow-x: auto;}
.coach-samples table {border-collapse: collapse; width: 100%; font-size: 0.9em;}
.coach-samples th, .coach-samples td {border: 1px solid var(--border-color-primary); padding: 6px 8px;
                                      vertical-align: top; text-align: left; white-space: pre-wrap;}
.coach-samples thead th {background: var(--background-fill-secondary);}
.coach-expected td {background: var(--background-fill-secondary);}
.coach-verdict-line {padding: 4px 10px; margin: 0 0 4px 0;}
.coach-next {max-width: 320px; margin-left: auto;}
.coach-changed {background: rgba(99, 102, 241, 0.12);}
.coach-samples small {color: var(--body-text-color-subdued);}
.coach-settings-grid {display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 10px;}
.coach-setting-value {font-size: 1.6em; font-weight: 700; margin: 2px 0 4px 0;}
.coach-warning {color: #b45309; margin: 8px 0 0 0;}
.coach-gpu-warning {border: 1px solid #f59e0b; background: rgba(245, 158, 11, 0.12); border-radius: 8px;
                     padding: 10px 14px;}
.coach-qlora-off label:has(input[value="qlora"]) {opacity: 0.45; pointer-events: none;}
"""


def theme():
    import gradio as gr

    return gr.themes.Soft(primary_hue="indigo")


# Counts the seconds in the page itself: an element with ``data-coach-since="41.2"`` shows 41.2 s plus the time
# since it was drawn, every second, while the server redraws only when something changes (ui/train.py ``watch``).
# Same wording as core/runs/progress.py ``format_duration``.
TICKER_JS = """
() => {
  const fmt = (s) => {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60), r = s % 60;
    if (m < 60) return m + " min " + String(r).padStart(2, "0") + " s";
    return Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " min";
  };
  setInterval(() => {
    document.querySelectorAll("[data-coach-since]").forEach((el) => {
      if (!el.dataset.t0) el.dataset.t0 = String(Date.now());
      el.textContent = fmt(parseFloat(el.dataset.coachSince) + (Date.now() - parseFloat(el.dataset.t0)) / 1000);
    });
  }, 1000);
}
"""
