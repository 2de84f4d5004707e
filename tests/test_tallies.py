"""The dashboard's tallies: after every kind of change they equal a fresh count of the signatures."""

import datetime as dt
import functools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from app import stats, tallies
from app.clock import today
from app.demo import seed_demo_signatures
from app.extensions import db
from app.models import Signature, SignatureTally
from app.retention import anonymise_due
from app.signatures import erase_signature, hide_signature, purge_unconfirmed, stop_updates
from helpers import (
    ago,
    change_campaign,
    deliver,
    link_in,
    make_signature,
    press_button,
    sign,
    sign_and_confirm,
)

ACTOR = "organizer@example.org"


def fresh_count(app) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Every tally worked out from the signatures themselves, in Python."""
    tally: Counter = Counter()
    with app.app_context():
        rows = db.session.scalars(select(Signature)).all()
        for row in rows:
            confirmed = row.confirmed_at is not None
            letter = row.postal_code[:1].upper() if row.country == "CA" else ""
            facets = [
                ("all", "", 1, confirmed, confirmed and row.updates),
                ("signed_on", row.signed_at.date().isoformat(), 1, 0, 0),
                ("region", f"{row.country}-{letter}", 0, confirmed, 0),
                ("domain", row.email_domain, 1, confirmed, 0),
            ]
            if confirmed:
                facets.append(("confirmed_on", row.confirmed_at.date().isoformat(), 0, 1, 0))
            if row.source:
                facets.append(("source", row.source, 1, confirmed, 0))
            for facet, value, *sums in facets:
                for column, amount in zip(("signed", "confirmed", "consenting"), sums, strict=True):
                    tally[(facet, value, column)] += int(amount)
        db.session.remove()
    keys = {(facet, value) for facet, value, _column in tally}
    found = {
        key: tuple(tally[(*key, column)] for column in ("signed", "confirmed", "consenting")) for key in keys
    }
    return {key: sums for key, sums in found.items() if any(sums)}


def stored_tallies(app) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The tallies the database kept, summed over their shards."""
    with app.app_context():
        rows = db.session.execute(
            select(
                SignatureTally.facet,
                SignatureTally.value,
                func.sum(SignatureTally.signed),
                func.sum(SignatureTally.confirmed),
                func.sum(SignatureTally.consenting),
            ).group_by(SignatureTally.facet, SignatureTally.value)
        ).all()
        db.session.remove()
    return {(facet, value): tuple(map(int, sums)) for facet, value, *sums in rows if any(sums)}


def assert_tallies_match(app, step: str) -> None:
    expected = fresh_count(app)
    assert expected, f"after {step}: the test needs signatures to count"
    assert stored_tallies(app) == expected, f"after {step}"


def test_tallies_equal_a_fresh_count_after_every_kind_of_change(app, client, smtp):
    with app.app_context():
        assert seed_demo_signatures(40) == 40  # many rows in one statement
    assert_tallies_match(app, "a bulk insert")

    sign(client, "/?source=newsletter", name="Ana Tremblay", email="ana@example.ca", updates="y")
    sign(client, name="Jo Smith", email="jo@example.org", country="FR", postal_code="75011")
    sign(client, name="Pat Lee", email="pat@example.net", postal_code="H2X 1Y4", updates="y")
    sign(client, name="Ana Again", email=" ANA@example.ca ")  # the same address: no second row
    assert_tallies_match(app, "signing")

    deliver(app)
    for address in ("ana@example.ca", "jo@example.org"):
        message = next(m for m in smtp.messages if m["To"].endswith(address))
        assert press_button(client, link_in(message, "/confirm/")).status_code == 303
    assert_tallies_match(app, "confirming")
    withdraw_link = link_in(next(m for m in smtp.messages if m["To"].endswith("pat@example.net")), "/not-me/")
    assert press_button(client, withdraw_link).status_code == 200
    assert_tallies_match(app, "withdrawing")

    sign_and_confirm(client, app, smtp, name="Lou Roy", email="lou@example.com", updates="y", public="y")
    with app.app_context():
        ids = {row.email: row.id for row in db.session.scalars(select(Signature))}
        stop_updates(ids["lou@example.com"])
    assert_tallies_match(app, "stopping updates")
    with app.app_context():
        assert hide_signature(ids["lou@example.com"], ACTOR)
        assert erase_signature(ids["ana@example.ca"], ACTOR)  # confirmed, consenting, with a source
        assert erase_signature(min(ids.values()), ACTOR)  # one of the bulk-inserted rows
    assert_tallies_match(app, "hiding and erasing")

    with app.app_context():
        db.session.execute(update(Signature).values(postal_code="V5K 0A1", source="moved"))
        db.session.commit()
    assert_tallies_match(app, "changing many rows in one statement")

    old = ago(days=300)
    for number in range(3):
        make_signature(app, 900 + number, signed_at=old, confirmed_at=None, source="old")
    with app.app_context():
        assert purge_unconfirmed(30, ACTOR) >= 3
    assert_tallies_match(app, "purging")

    change_campaign(app, deadline=today() - dt.timedelta(days=40), retention_days=30)
    with app.app_context():
        assert anonymise_due(ACTOR) > 0
    assert_tallies_match(app, "anonymising")


def test_the_dashboard_reads_the_same_figures_a_fresh_count_gives(app, client, smtp):
    with app.test_request_context():  # region names are in the visitor's language
        seed_demo_signatures(60)
        signatures = db.session.scalars(select(Signature)).all()
        confirmed = [row for row in signatures if row.confirmed_at is not None]
        assert stats.totals() == stats.Totals(
            confirmed=len(confirmed),
            pending=len(signatures) - len(confirmed),
            consenting=sum(row.updates for row in confirmed),
        )
        domains = Counter(row.email_domain for row in signatures)
        assert {rate.domain: rate.signatures for rate in stats.domain_rates()} == dict(domains)
        sources = Counter(row.source for row in signatures if row.source)
        assert {source: count for source, count, _confirmed in stats.top_sources()} == dict(sources)
        assert sum(count for _region, count in stats.regions()) == len(confirmed)
        current = today()
        recent = [row for row in signatures if (current - row.signed_at.date()).days < 30]
        assert sum(day.signed for day in stats.per_day(30)) == len(recent)
        db.session.remove()


def _tallies_of(app, value: str) -> list[tuple]:
    """Every stored tally row of one value, shard by shard (zero rows included)."""
    with app.app_context():
        rows = db.session.execute(
            select(SignatureTally.facet, SignatureTally.shard).where(SignatureTally.value == value)
        ).all()
        db.session.remove()
    return rows


def _empty_tallies(app) -> list[tuple]:
    """The (facet, value) whose rows add up to nothing: what an erasure should not leave."""
    with app.app_context():
        empty = db.session.execute(
            select(SignatureTally.facet, SignatureTally.value)
            .group_by(SignatureTally.facet, SignatureTally.value)
            .having(
                (func.sum(SignatureTally.signed) == 0)
                & (func.sum(SignatureTally.confirmed) == 0)
                & (func.sum(SignatureTally.consenting) == 0)
            )
        ).all()
        db.session.remove()
    return empty


def test_an_erased_signers_own_email_domain_leaves_no_tally_and_the_other_figures_stay(app, client, smtp):
    sign_and_confirm(
        client, app, smtp, path="/?source=voisins", name="Ana Tremblay", email="ana@tremblay-famille.ca"
    )
    sign_and_confirm(client, app, smtp, name="Jo Smith", email="jo@example.org")
    sign(client, name="Pat Lee", email="pat@lee-maison.ca")  # never confirmed, purged later
    sign_and_confirm(client, app, smtp, name="Lou Roy", email="lou@roy-chez-nous.ca")  # anonymised
    assert _tallies_of(app, "tremblay-famille.ca") and _tallies_of(app, "voisins")
    with app.app_context():
        ids = {row.email: row.id for row in db.session.scalars(select(Signature))}
        db.session.remove()

    with app.app_context():
        assert erase_signature(ids["ana@tremblay-famille.ca"], ACTOR)
    assert _tallies_of(app, "tremblay-famille.ca") == [] and _tallies_of(app, "voisins") == []
    assert _empty_tallies(app) == []
    assert_tallies_match(app, "erasing")
    assert _tallies_of(app, "example.org"), "another signer's domain stays"

    with app.app_context():
        db.session.execute(
            update(Signature).where(Signature.id == ids["pat@lee-maison.ca"]).values(signed_at=ago(days=40))
        )
        db.session.commit()
        assert purge_unconfirmed(30, ACTOR) == 1
    assert _tallies_of(app, "lee-maison.ca") == [] and _empty_tallies(app) == []
    assert_tallies_match(app, "purging")

    change_campaign(app, deadline=today() - dt.timedelta(days=40), retention_days=30)
    with app.app_context():
        assert anonymise_due(ACTOR) == 2
    assert _tallies_of(app, "roy-chez-nous.ca") == [] and _tallies_of(app, "example.org") == []
    assert _empty_tallies(app) == []
    assert_tallies_match(app, "anonymising")
    with app.app_context():
        assert stats.totals() == stats.Totals(confirmed=2, pending=0, consenting=0), "the counts stay"
        db.session.remove()


def test_signers_counted_while_their_domain_is_being_emptied_keep_their_tally(app):
    """Erasures sweeping a domain's tallies while others sign from it: nothing counted is lost."""
    leaving = [
        make_signature(app, number, email=f"p{number}@famille.example", email_domain="famille.example").id
        for number in range(8)
    ]
    barrier = threading.Barrier(16)

    def run(job):
        with app.app_context():
            barrier.wait(timeout=30)
            for attempt in range(50):  # a writer that waited too long on SQLite's lock tries again
                try:
                    return job()
                except OperationalError:
                    db.session.rollback()
                    time.sleep(0.05 * attempt)
            raise AssertionError("the database stayed locked")

    jobs = [functools.partial(erase_signature, signature_id, ACTOR) for signature_id in leaving]
    jobs += [
        functools.partial(
            make_signature,
            app,
            100 + number,
            email=f"n{number}@famille.example",
            email_domain="famille.example",
        )
        for number in range(8)
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        list(pool.map(run, jobs))
    assert_tallies_match(app, "erasing and signing at once")
    assert stored_tallies(app)[("domain", "famille.example")][0] == 8
    with app.app_context():
        assert tallies.drop_empty_tallies() == 0, "each erasure swept what it emptied"
