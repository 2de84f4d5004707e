"""The counter: /api/count's contract, its caching headers, shards and milestones."""

from datetime import datetime

from sqlalchemy import func, select

from app.counter import goal_for, next_milestone
from app.extensions import db
from app.models import CountShard, Signature
from helpers import count_cache_of, sign, sign_and_confirm


def test_count_follows_the_contract(client):
    response = client.get("/api/count")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"count", "goal", "updated_at"}
    assert body["count"] == 0 and body["goal"] == 50000
    assert datetime.fromisoformat(body["updated_at"]).utcoffset().total_seconds() == 0
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    cache = response.headers["Cache-Control"]
    assert "public" in cache and "max-age=5" in cache and "stale-while-revalidate=30" in cache


def test_count_answers_304_to_a_matching_etag_and_200_once_it_changes(client, app, smtp):
    first = client.get("/api/count")
    etag = first.headers["ETag"]
    assert client.get("/api/count", headers={"If-None-Match": etag}).status_code == 304
    sign_and_confirm(client, app, smtp, email="ana@example.ca")
    changed = client.get("/api/count", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["count"] == 1


def test_count_equals_confirmed_rows_and_is_spread_over_shards(client, app, smtp):
    for number in range(6):
        sign_and_confirm(client, app, smtp, email=f"s{number}@example.ca")
    sign(client, email="pending@example.ca")
    assert client.get("/api/count").get_json()["count"] == 6
    with app.app_context():
        confirmed = db.session.scalar(select(func.count()).where(Signature.confirmed_at.is_not(None)))
        shards = db.session.scalars(select(CountShard.count)).all()
    assert confirmed == sum(shards) == 6
    assert len(shards) == CountShard.SHARDS


def test_the_campaign_page_shows_the_count_as_a_progress_bar_with_a_polite_live_region(client):
    page = client.get("/").get_data(as_text=True)
    assert '<progress data-progress max="50000" value="0"' in page
    assert 'role="status"' in page
    assert 'src="/static/counter.js"' in page


def test_goal_raises_itself_to_the_next_milestone_when_reached():
    assert goal_for(49_999, 50_000) == 50_000
    assert goal_for(50_000, 50_000) == 100_000
    assert goal_for(100_000, 50_000) == 200_000
    assert goal_for(730_000, 50_000) == 1_000_000
    assert [next_milestone(n) for n in (0, 1, 2, 7, 10, 150)] == [1, 2, 5, 10, 20, 200]


def test_the_fast_path_and_the_flask_view_answer_alike(app, client):
    cache = count_cache_of(app)
    cache.forget()
    from_flask = client.get("/api/count")  # stale cache: Flask reads the database
    assert cache.fresh() is not None
    from_fast_path = client.get("/api/count")  # fresh: answered in front of Flask
    assert from_fast_path.data == from_flask.data
    skip = {"Date", "Server"}
    assert {k: v for k, v in from_fast_path.headers.items() if k not in skip} == {
        k: v for k, v in from_flask.headers.items() if k not in skip
    }
    etag = from_fast_path.headers["ETag"]
    assert client.get("/api/count", headers={"If-None-Match": etag}).status_code == 304
    head = client.head("/api/count")
    assert head.status_code == 200 and head.data == b""


def test_the_fast_path_steps_aside_once_the_tally_is_stale(app, client):
    cache = count_cache_of(app)
    client.get("/api/count")
    cache.forget()
    assert cache.fresh() is None
    assert client.get("/api/count").status_code == 200
    assert cache.fresh() is not None, "the Flask view refreshed it"


def test_cacheable_responses_do_not_vary_by_cookie(app, client):
    count_cache_of(app).forget()
    for path in ("/api/count", "/embed", "/healthz"):
        assert "Vary" not in client.get(path).headers, path
