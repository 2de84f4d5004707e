"""The app's one clock: every time it stores, compares or prints comes from here.

The test suite runs a second time with TEST_CLOCK_SHIFT_DAYS set (365 in CI), which moves this
clock, for the app, its tests and every process they start, that many days ahead: a date fixed in
test data or a campaign file then shows up as a failure before the calendar reaches it. Nothing
sets it in a deployment. Link lifetimes and rate limits keep the real clock (itsdangerous and
Flask-Limiter read it themselves); they measure durations, not dates, so the shift can't matter.
"""

import datetime as dt
import os

SHIFT_VARIABLE = "TEST_CLOCK_SHIFT_DAYS"


def _shift() -> dt.timedelta:
    value = os.environ.get(SHIFT_VARIABLE, "").strip()
    try:
        return dt.timedelta(days=float(value or 0))
    except (ValueError, OverflowError):
        raise RuntimeError(f"{SHIFT_VARIABLE} must be a number of days, got {value!r}") from None


SHIFT = _shift()


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC) + SHIFT


def today() -> dt.date:
    """Today's date in UTC."""
    return utcnow().date()
