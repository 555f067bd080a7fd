"""A chart of live devices and the chance at least one is live, over time (matplotlib, Agg).

The top panel shows two ranges, labelled apart: the band of the expected count (the doubt
about the figures) and, as a dashed step band, the 90% range of the number actually live
(whole devices). Kept apart from the model so that the model imports no plotting library.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from landrelease.residual.montecarlo import Estimate, Timeline  # noqa: E402


def _percent(y: float, _pos: int) -> str:
    if y >= 0.01:
        return f"{y:.0%}"
    return f"{y * 100:.2g}%"


def plot_timeline(
    line: Timeline,
    est: Estimate,
    path: str | Path,
    *,
    title: str,
    emplaced: dt.date | None = None,
) -> Path:
    """Return `path`, a PNG written there: the expected live devices with the range of that
    expected count, the 90% range of the actual number live, and P(at least one live)."""
    path = Path(path)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 7.5), sharex=True, gridspec_kw={"height_ratios": [1, 1]}
    )
    dates = line.dates
    tops = np.concatenate([line.p95, line.actual_high.astype(np.float64)])
    positive = tops[tops > 0]
    log_top = positive.size > 0 and positive.max() / max(positive.min(), 1e-12) > 50
    floor = max(positive.min() / 3, 1e-6) if positive.size else 1e-6

    def shown(values: np.ndarray) -> np.ndarray:
        # A log axis has no 0: what is 0 (or below the floor) sits on the floor.
        return np.maximum(values, floor) if log_top else values

    top.fill_between(
        dates,
        shown(line.p05),
        shown(line.p95),
        color="tab:blue",
        alpha=0.25,
        label="range of the expected count (90%: 5th to 95th percentile)",
    )
    top.plot(dates, line.mean, color="tab:blue", lw=2, label="expected live devices")
    low, high = (
        shown(line.actual_low.astype(np.float64)),
        shown(line.actual_high.astype(np.float64)),
    )
    top.fill_between(dates, low, high, step="mid", color="tab:orange", alpha=0.12, lw=0)
    for edge, label in ((high, "actual number live, 90% range (whole devices)"), (low, None)):
        top.step(dates, edge, where="mid", color="tab:orange", lw=1.3, ls="--", label=label)
    if log_top:
        top.set_yscale("log")
        top.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: f"{y:g}"))
    top.set_ylabel("devices still able to function")
    top.set_title(title, fontsize=12, loc="left")

    p_floor = max(
        min(est.threshold / 10, float(np.min(line.p_any[line.p_any > 0], initial=1.0))), 1e-6
    )
    bottom.plot(
        dates,
        np.maximum(line.p_any, p_floor),
        color="tab:red",
        lw=2,
        label="chance at least one is still live",
    )
    bottom.set_yscale("log")
    bottom.set_ylim(p_floor / 1.5, 1.5)
    bottom.yaxis.set_major_formatter(FuncFormatter(_percent))
    bottom.axhline(
        est.threshold,
        color="black",
        ls="--",
        lw=1,
        label=f"threshold ({_percent(est.threshold, 0)})",
    )
    bottom.set_ylabel("chance at least one is live")

    for ax in (top, bottom):
        ax.axvline(est.at, color="grey", lw=1, ls=":")
        if emplaced is not None:
            ax.axvline(emplaced, color="grey", lw=0.8, alpha=0.6)
        if est.safe_date is not None:
            ax.axvline(est.safe_date, color="tab:green", lw=2)
        ax.grid(True, which="major", alpha=0.3)
    bottom.annotate(
        f"date asked: {est.at}",
        (mdates.date2num(est.at), 0.02),
        xycoords=("data", "axes fraction"),
        xytext=(3, 0),
        textcoords="offset points",
        fontsize=9,
        color="dimgrey",
    )
    if est.safe_date is not None:
        bottom.annotate(
            f"safe date: {est.safe_date}\n(chance below {_percent(est.threshold, 0)})",
            (mdates.date2num(est.safe_date), 0.5),
            xycoords=("data", "axes fraction"),
            xytext=(5, 0),
            textcoords="offset points",
            color="tab:green",
            fontsize=9,
        )
        verdict = f"Safe date (chance < {_percent(est.threshold, 0)}): {est.safe_date}"
    else:
        verdict = f"No safe date: the chance never falls below {_percent(est.threshold, 0)}"
        bottom.plot([], [], " ", label="no safe date: the chance never falls below it")
    top.legend(loc="best", fontsize=9)
    bottom.legend(loc="upper right", fontsize=9)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(bottom.xaxis.get_major_locator()))
    fig.text(
        0.01,
        0.01,
        f"{verdict}.\nOn {est.at}: {est.expected_live:.3g} live devices expected (range of "
        f"the expected count {est.expected_p05:.3g} to {est.expected_p95:.3g}); actual number "
        f"live {est.actual_low:,} to {est.actual_high:,} (90% range).\nChance at least one is "
        f"live: {_percent(est.p_any_live, 0)}. 'Non-persistent' never means zero: a "
        "self-deactivated device is still cleared as if live.",
        fontsize=8.5,
        va="bottom",
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
