"""The app's one clock (app/clock.py): TEST_CLOCK_SHIFT_DAYS moves it for the app, the tests and
the processes they start, so CI's second pass really runs a year ahead."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from app.clock import SHIFT_VARIABLE, utcnow
from app.config import ROOT
from app.extensions import db
from app.models import Signature
from helpers import signature_values


def test_the_shift_moves_the_clock_of_a_process_the_tests_start():
    shown = subprocess.run(
        [sys.executable, "-c", "from app.clock import utcnow; print(utcnow().isoformat())"],
        env={**os.environ, SHIFT_VARIABLE: "365"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    ahead = datetime.fromisoformat(shown.stdout.strip()) - datetime.now(UTC)
    assert timedelta(days=364) < ahead < timedelta(days=366)


def test_this_run_and_the_rows_it_stores_follow_the_shift_it_was_given(app):
    expected = timedelta(days=float(os.environ.get(SHIFT_VARIABLE) or 0))
    assert abs(utcnow() - datetime.now(UTC) - expected) < timedelta(minutes=1)
    with app.app_context():
        values = signature_values(1)
        del values["signed_at"]  # the column's default, the app's clock
        signature = Signature(**values)
        db.session.add(signature)
        db.session.commit()
        stored = db.session.get(Signature, signature.id).signed_at
    assert abs(stored - datetime.now(UTC) - expected) < timedelta(minutes=1)
