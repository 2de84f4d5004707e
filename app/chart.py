"""A bar chart drawn on the server as SVG geometry: no JavaScript, no chart library."""

from dataclasses import dataclass

from .counter import next_milestone
from .stats import Day

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 44, 28, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything the SVG template needs; every number already computed."""

    width: int
    height: int
    signed: list[Bar]
    confirmed: list[Bar]
    ticks: list[tuple[float, int]]
    labels: list[tuple[float, str]]
    baseline: float


def day_chart(days: list[Day]) -> Chart:
    """Signed and confirmed per day as side-by-side bars with a labelled scale."""
    largest = max([1] + [max(day.signed, day.confirmed) for day in days])
    scale_top = next_milestone(largest - 1)  # the smallest of 1, 2, 5, 10, 20... that fits
    plot_width = WIDTH - PAD_LEFT
    plot_height = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.4, 1)
    baseline = HEIGHT - PAD_BOTTOM

    def bar(index: int, value: int, offset: float, label: str) -> Bar:
        height = plot_height * value / scale_top
        return Bar(
            x=round(PAD_LEFT + index * slot + offset, 1),
            y=round(baseline - height, 1),
            width=round(bar_width, 1),
            height=round(height, 1),
            value=value,
            label=label,
        )

    signed = [bar(i, day.signed, slot * 0.1, day.day.isoformat()) for i, day in enumerate(days)]
    confirmed = [bar(i, day.confirmed, slot * 0.5, day.day.isoformat()) for i, day in enumerate(days)]
    ticks = [(round(baseline - plot_height * share, 1), round(scale_top * share)) for share in (0, 0.5, 1)]
    every = max(len(days) // 6, 1)
    labels = [
        (round(PAD_LEFT + i * slot + slot / 2, 1), day.day.strftime("%m-%d"))
        for i, day in enumerate(days)
        if i % every == 0
    ]
    return Chart(WIDTH, HEIGHT, signed, confirmed, ticks, labels, baseline)
