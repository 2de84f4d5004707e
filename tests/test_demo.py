"""The development demo data: consistent with the count, added once, never in production."""

from sqlalchemy import func, select

from app.extensions import db
from app.models import Signature


def test_demo_seed_adds_signatures_once_and_keeps_the_count_true(make_app):
    app = make_app(DEVELOPMENT=True)
    runner = app.test_cli_runner()
    assert "Added 120 demo signatures." in runner.invoke(args=["demo", "seed", "--count", "120"]).output
    assert "nothing added" in runner.invoke(args=["demo", "seed"]).output
    with app.app_context():
        confirmed = db.session.scalar(select(func.count()).where(Signature.confirmed_at.is_not(None)))
        total = db.session.scalar(select(func.count()).select_from(Signature))
    assert total == 120
    assert app.test_client().get("/api/count").get_json()["count"] == confirmed > 0


def test_demo_seed_refuses_to_run_in_production(app, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code != 0
    assert "only runs in development" in result.output
