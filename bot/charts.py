"""Charts sent as PNG pictures: a chart spec (plain JSON) in, PNG bytes out.

A flow puts a spec in :attr:`bot.messages.Reply.chart`; its label values may be :class:`T`,
translated for the reader when the reply is queued. The picture is drawn only when the outbox
delivers the message, by the channel adapter, off the event loop (:func:`picture`).

Each kind of chart is one function in :data:`KINDS`. Kind ``"bp"`` (blood pressure)::

    {"kind": "bp", "title": "...",
     "points": [["2026-11-15", systolic, diastolic, pulse or None, weight_kg or None], ...],
     "labels": {"systolic": "...", "diastolic": "...", "weight": "...", "date": "..."},
     "limits": {"systolic": 140, "diastolic": 90}}

Points are oldest first. Pulse is carried but not drawn. :func:`bp_chart` builds such a spec
with the default (translatable) labels.

Kind ``"summary"`` (the board's month in one tall picture: fund, blood pressure, home visits
over twelve months) is described at :func:`_draw_summary`; ``bot.report_chart`` builds it.

Drawing uses matplotlib's object API on the Agg canvas (no pyplot, no GUI) with DejaVu Sans,
which has the Vietnamese letters; large type, as most readers are over 60.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.i18n import N_
from bot.messages import T

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 800, 500, 100  # pixels
MAX_POINTS = 120  # more are cut to the latest ones (a spec usually has up to ~60)
SYSTOLIC_COLOR = "#c0392b"
DIASTOLIC_COLOR = "#1f5fa8"
WEIGHT_COLOR = "#1e8449"
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 15,
    "axes.titlesize": 20,
    "axes.labelsize": 16,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 14,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

# matplotlib's text and font caches are not meant for several threads at once; charts are
# rare, so they are simply drawn one at a time.
_lock = threading.Lock()


def bp_chart(
    title: str | T,
    points: Sequence[Sequence[Any]],
    *,
    systolic_limit: int = 140,
    diastolic_limit: int = 90,
) -> dict[str, Any]:
    """A blood-pressure (and weight) chart spec with the standard labels.

    Args:
        title: The chart's title, e.g. ``T(N_("Blood pressure of {name}"), name=...)``.
        points: ``[day, systolic, diastolic, pulse, weight_kg]`` rows, oldest first; ``day``
            is a :class:`datetime.date` or ``YYYY-MM-DD`` text, pulse and weight may be
            ``None``.
        systolic_limit: Drawn as a dashed line (high above it).
        diastolic_limit: Drawn as a dashed line (high above it).

    Returns:
        The spec, plain JSON apart from the :class:`T` labels (translated when queued).
    """
    rows = [
        [row[0].isoformat() if isinstance(row[0], date) else str(row[0]), *row[1:5]]
        for row in points
    ]
    return {
        "kind": "bp",
        "title": title,
        "points": rows,
        "labels": {
            "systolic": T(N_("Systolic (upper)")),
            "diastolic": T(N_("Diastolic (lower)")),
            "weight": T(N_("Weight (kg)")),
            "date": T(N_("Day measured")),
        },
        "limits": {"systolic": systolic_limit, "diastolic": diastolic_limit},
    }


def draw(spec: dict[str, Any]) -> bytes:
    """Draw a chart spec as an 800x500 PNG (kind ``"summary"``: 800x1100).

    CPU work (tens of milliseconds): call it in a thread from async code (:func:`picture`).

    Args:
        spec: A chart spec whose labels are already translated (plain text).

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: Unknown kind or malformed spec.
    """
    kind = spec.get("kind")
    drawer = KINDS.get(kind) if isinstance(kind, str) else None
    if drawer is None:
        raise ValueError(f"unknown chart kind {kind!r}")
    import matplotlib

    with _lock, matplotlib.rc_context(STYLE):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        drawer(figure, spec)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


async def picture(spec: dict[str, Any] | None) -> bytes | None:
    """Draw ``spec`` in a worker thread; ``None`` (logged) if there is none or drawing fails.

    A chart that cannot be drawn must not stop its message: the caller sends the text alone.
    """
    if not spec:
        return None
    try:
        return await asyncio.to_thread(draw, spec)
    except Exception:
        log.exception("chart %r could not be drawn", spec.get("kind"))
        return None


def with_note(text: str, note: str | None) -> str:
    """``text`` followed by ``note`` (the "chart could not be attached" line), if any."""
    return "\n\n".join(part for part in (text, note) if part)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _bp_points(
    spec: dict[str, Any],
) -> list[tuple[date, float, float, float | None]]:
    points = spec.get("points")
    if not isinstance(points, list) or not points:
        raise ValueError("a chart needs at least one point")
    rows = []
    for point in points:
        if not isinstance(point, list | tuple) or len(point) < 3:
            raise ValueError(f"bad point {point!r}")
        day = date.fromisoformat(str(point[0]))
        systolic, diastolic = _number(point[1]), _number(point[2])
        if systolic is None or diastolic is None:
            raise ValueError(f"a point needs both pressures: {point!r}")
        weight = _number(point[4]) if len(point) > 4 else None
        rows.append((day, systolic, diastolic, weight))
    rows.sort(key=lambda row: row[0])  # oldest first, as promised (stable for one day)
    return rows[-MAX_POINTS:]


def _draw_bp(figure: Figure, spec: dict[str, Any]) -> None:
    """Blood pressure over time: two lines, the limits dashed, weight on a second axis."""
    from matplotlib import dates as mdates
    from matplotlib.ticker import MaxNLocator

    rows = _bp_points(spec)
    labels = spec.get("labels") or {}
    limits = spec.get("limits") or {}
    days = [row[0] for row in rows]
    systolic = [row[1] for row in rows]
    diastolic = [row[2] for row in rows]
    weights = [(row[0], row[3]) for row in rows if row[3] is not None]
    marker_size = 8 if len(rows) <= 20 else 5

    axes = figure.add_axes((0.1, 0.14, 0.8 if weights else 0.86, 0.68))
    title = figure.suptitle(_text(spec.get("title")), fontsize=STYLE["axes.titlesize"], y=0.975)
    lines = axes.plot(
        days, systolic, color=SYSTOLIC_COLOR, marker="o", markersize=marker_size,
        linewidth=2.5, label=_text(labels.get("systolic")),
    )
    lines += axes.plot(
        days, diastolic, color=DIASTOLIC_COLOR, marker="s", markersize=marker_size,
        linewidth=2.5, label=_text(labels.get("diastolic")),
    )
    values = systolic + diastolic
    for key, color in (("systolic", SYSTOLIC_COLOR), ("diastolic", DIASTOLIC_COLOR)):
        limit = _number(limits.get(key))
        if limit is not None:
            axes.axhline(limit, color=color, linestyle="--", linewidth=1.8, alpha=0.7)
            axes.annotate(
                f"{limit:g}", (0, limit), xycoords=("axes fraction", "data"),
                xytext=(4, 2), textcoords="offset points", va="bottom", color=color,
                fontsize=13,
            )
            values.append(limit)
    # The latest reading, written out: easier to read than a line's height.
    last = rows[-1]
    axes.annotate(
        f"{last[1]:g}/{last[2]:g}", (last[0], last[1]), xytext=(0 if len(rows) == 1 else -8, 10),
        textcoords="offset points", ha="center" if len(rows) == 1 else "right", va="bottom",
        fontsize=15, fontweight="bold", color=SYSTOLIC_COLOR,
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none",
              "alpha": 0.85},
    )
    low, high = min(values), max(values)
    axes.set_ylim(low - 10, high + 18)
    axes.set_ylabel("mmHg")
    axes.set_xlabel(_text(labels.get("date")))
    axes.grid(axis="y", alpha=0.3)

    first_day, last_day = days[0], days[-1]
    span = (last_day - first_day).days
    pad = max(1.0, span * 0.04)
    axes.set_xlim(mdates.date2num(first_day) - pad, mdates.date2num(last_day) + pad)
    if span <= 6:  # a few days: one tick per day measured
        axes.set_xticks([mdates.date2num(day) for day in sorted(set(days))])
    else:
        axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=6))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%m/%Y" if span > 300 else "%d/%m"))

    if weights:
        right = axes.twinx()
        right.spines["right"].set_visible(True)
        kilos = [w for _, w in weights]
        lines += right.plot(
            [d for d, _ in weights], kilos, color=WEIGHT_COLOR, marker="^",
            markersize=marker_size, linewidth=2, label=_text(labels.get("weight")),
        )
        right.set_ylim(min(kilos) - 5, max(kilos) + 5)
        right.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        right.set_ylabel(_text(labels.get("weight")), color=WEIGHT_COLOR)
        right.tick_params(axis="y", colors=WEIGHT_COLOR)
    _fit_top(figure, axes, title, lines)


def _fit_top(figure: Figure, axes: Any, title: Any, lines: list[Any]) -> None:
    """Fit the title and the legend (above the plot) into the picture's width.

    Long labels (Vietnamese ones are) go on two or three legend rows, the plot made shorter;
    a title too long for one line gets smaller type.
    """
    renderer = figure.canvas.get_renderer()
    room = figure.bbox.width * 0.98
    while title.get_window_extent(renderer).width > room and title.get_fontsize() > 12:
        title.set_fontsize(title.get_fontsize() - 1)
    left, bottom, width, height = axes.get_position().bounds
    for columns in sorted({len(lines), 2, 1}, reverse=True):
        rows = -(-len(lines) // columns)
        axes.set_position((left, bottom, width, height - 0.055 * (rows - 1)))
        legend = axes.legend(
            handles=lines, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=columns,
            frameon=False, handlelength=1.6, columnspacing=1.2, borderaxespad=0.3,
        )
        if legend.get_window_extent(renderer).width <= room:
            return


# --- kind "summary": the board's one-picture month (see bot/report_chart.py) ------------------

SUMMARY_HEIGHT = 1100  # pixels: a tall picture, three panels one above the other (phones)
CASH_COLOR = "#1e8449"
OWED_COLOR = "#d35400"
MEASURED_COLOR = "#1f5fa8"
HIGH_COLOR = "#c0392b"
VISITS_COLOR = "#7d3c98"
SUMMARY_SERIES = ("cash", "outstanding", "measured", "high", "visits")


def _millions(amount: float) -> str:
    """Đồng as millions the Vietnamese way: ``12,5`` (one decimal below 100 million)."""
    value = amount / 1_000_000
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}".replace(".", ",")
    return text.removesuffix(",0")


def _summary_series(spec: dict[str, Any]) -> tuple[list[str], dict[str, list[float]]]:
    months = spec.get("months")
    if not isinstance(months, list) or not months or len(months) > 36:
        raise ValueError("a summary needs 1 to 36 months")
    given = spec.get("series") or {}
    series = {}
    for key in SUMMARY_SERIES:
        values = given.get(key)
        if not isinstance(values, list) or len(values) != len(months):
            raise ValueError(f"series {key!r} needs one value per month")
        series[key] = [_number(v) or 0.0 for v in values]
    return [_text(m) for m in months], series


def _draw_summary(figure: Figure, spec: dict[str, Any]) -> None:
    """Twelve months of a club on one tall picture: fund, blood pressure, home visits.

    Spec::

        {"kind": "summary", "title": "CLB ...", "subtitle": "12 tháng, đến hết tháng 10/2026",
         "months": ["T11/25", ..., "T10/26"],
         "series": {"cash": [đồng, ...], "outstanding": [...], "measured": [people, ...],
                    "high": [...], "visits": [...]},
         "labels": {"money": ..., "cash": ..., "outstanding": ..., "health": ...,
                    "measured": ..., "high": ..., "visits": ...}}

    Money is drawn in millions of đồng. Few words: a title per panel, a legend where there
    are two series, every other month named (always the last, in bold), and the last
    month's values written out.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    months, series = _summary_series(spec)
    labels = spec.get("labels") or {}
    figure.set_size_inches(WIDTH / DPI, SUMMARY_HEIGHT / DPI)
    count = len(months)
    xs = list(range(count))
    last = count - 1
    title = figure.text(0.5, 0.985, _text(spec.get("title")), ha="center", va="top",
                        fontsize=22, fontweight="bold")
    subtitle = figure.text(0.5, 0.945, _text(spec.get("subtitle")), ha="center", va="top",
                           fontsize=17, color="#444444")
    renderer = figure.canvas.get_renderer()
    room = figure.bbox.width * 0.96
    for text in (title, subtitle):
        while text.get_window_extent(renderer).width > room and text.get_fontsize() > 12:
            text.set_fontsize(text.get_fontsize() - 1)

    panel, gap, left, width = 0.19, 0.095, 0.11, 0.85
    tops = [0.845 - k * (panel + gap + 0.02) for k in range(3)]

    def panel_axes(number: int, heading: str, pad: float = 34) -> Any:
        axes = figure.add_axes((left, tops[number] - panel, width, panel))
        axes.set_title(heading, loc="left", fontsize=17, fontweight="bold", pad=pad)
        axes.grid(axis="y", alpha=0.3)
        axes.set_xlim(-0.6, last + 0.6)
        shown = [x for x in xs if (last - x) % 2 == 0]
        axes.set_xticks(shown, [months[x] for x in shown], fontsize=15)
        axes.get_xticklabels()[-1].set_fontweight("bold")
        axes.yaxis.set_major_locator(MaxNLocator(4, integer=True, min_n_ticks=2))
        return axes

    def legend(axes: Any, handles: list[Any]) -> None:
        axes.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2,
                    frameon=False, handlelength=1.4, columnspacing=1.0, borderaxespad=0.2,
                    fontsize=14)

    def top(axes: Any, values: list[float]) -> None:
        axes.set_ylim(0, max(max(values, default=0) * 1.25, 1))

    def write(axes: Any, x: float, y: float, text: str, color: str) -> None:
        axes.annotate(text, (x, y), xytext=(0, 4), textcoords="offset points", ha="center",
                      va="bottom", fontsize=15, fontweight="bold", color=color)

    money = panel_axes(0, _text(labels.get("money")))
    handles = []
    for key, color, marker in (("cash", CASH_COLOR, "o"), ("outstanding", OWED_COLOR, "s")):
        handles += money.plot(xs, series[key], color=color, marker=marker, markersize=7,
                              linewidth=2.5, label=_text(labels.get(key)))
    top(money, series["cash"] + series["outstanding"])
    money.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _millions(value)))
    money.yaxis.set_major_locator(MaxNLocator(4, min_n_ticks=2))
    ends = sorted(((series[k][last], k) for k in ("cash", "outstanding")), reverse=True)
    for (value, key), offset in zip(ends, (6, -22), strict=True):  # the higher one above
        money.annotate(_millions(value), (last, value), xytext=(-10, offset),
                       textcoords="offset points", ha="right", va="bottom", fontsize=15,
                       fontweight="bold",
                       color=CASH_COLOR if key == "cash" else OWED_COLOR)
    legend(money, handles)

    health = panel_axes(1, _text(labels.get("health")))
    bar = 0.4
    handles = [
        health.bar([x - bar / 2 for x in xs], series["measured"], bar, color=MEASURED_COLOR,
                   label=_text(labels.get("measured"))),
        health.bar([x + bar / 2 for x in xs], series["high"], bar, color=HIGH_COLOR,
                   label=_text(labels.get("high"))),
    ]
    top(health, series["measured"] + series["high"])
    write(health, last - bar / 2, series["measured"][last], f"{series['measured'][last]:g}",
          MEASURED_COLOR)
    write(health, last + bar / 2, series["high"][last], f"{series['high'][last]:g}", HIGH_COLOR)
    legend(health, handles)

    visits = panel_axes(2, _text(labels.get("visits")), pad=12)
    visits.bar(xs, series["visits"], 0.6, color=VISITS_COLOR)
    top(visits, series["visits"])
    write(visits, last, series["visits"][last], f"{series['visits'][last]:g}", VISITS_COLOR)


KINDS: dict[str, Callable[[Figure, dict[str, Any]], None]] = {
    "bp": _draw_bp, "summary": _draw_summary,
}
