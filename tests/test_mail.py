"""The outbox and its deliverers, against a real SMTP server that can fail."""

import threading
from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from app.mail import LEASE, Deliverer, claim_due, deliver_due, retry_delay
from app.models import OutboxMessage, utcnow
from conftest import deliver, html_part, outbox_rows, sign, text_part


def _sign_many(client, count: int, prefix: str = "signer"):
    for number in range(count):
        assert sign(client, email=f"{prefix}{number}@example.ca").status_code == 303


def test_emails_have_text_and_html_parts_and_the_campaigns_sender(client, app, smtp):
    sign(client, email="ana@example.ca")
    deliver(app)
    [message] = smtp.messages
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"].startswith("Coalition for Faces Without Files <")
    assert message["Reply-To"] == "hello@example.org"
    assert message["Message-ID"].endswith("@petition.test>")
    assert "100 Example Street" in text_part(message)
    assert "Confirm my signature" in html_part(message)


def test_signers_get_mail_in_the_language_they_signed_in(client, app, smtp):
    sign(client, "/?lang=fr", email="luc@example.ca")
    deliver(app)
    assert smtp.messages[0]["Content-Language"] == "fr"


def test_signing_never_waits_for_smtp_it_only_queues(client, app, smtp):
    smtp.stop()
    try:
        assert sign(client, email="ana@example.ca").status_code == 303
        [message] = outbox_rows(app)
        assert message.status == OutboxMessage.QUEUED
    finally:
        smtp.start()


def test_smtp_down_then_up_loses_nothing_and_sends_nothing_twice(client, app, smtp):
    _sign_many(client, 12)
    smtp.stop()
    try:
        for _ in range(3):  # a batch at a time, as the deliverer's loop does
            assert deliver(app) == 0
        rows = outbox_rows(app)
        assert {row.status for row in rows} == {OutboxMessage.QUEUED}
        assert all(row.attempts == 1 and row.next_attempt_at > utcnow() for row in rows)
        assert deliver(app) == 0, "nothing is retried before its back-off has passed"
    finally:
        smtp.start()
    assert deliver(app, now=utcnow() + retry_delay(1) + timedelta(seconds=1)) == 12
    received = sorted(message["To"] for message in smtp.wait_for(12))
    assert received == sorted(f"signer{n}@example.ca" for n in range(12))
    assert {row.status for row in outbox_rows(app)} == {OutboxMessage.SENT}
    assert deliver(app, now=utcnow() + timedelta(days=1)) == 0


def test_two_deliverers_on_one_outbox_send_each_mail_once(client, app, smtp):
    _sign_many(client, 40)
    first, second = Deliverer(app, poll_seconds=0.05), Deliverer(app, poll_seconds=0.05)
    first.start(), second.start()
    try:
        messages = smtp.wait_for(40)
    finally:
        first.stop(), second.stop()
    recipients = [message["To"] for message in messages]
    assert len(recipients) == len(set(recipients)) == 40
    assert {row.status for row in outbox_rows(app)} == {OutboxMessage.SENT}


def test_concurrent_claims_never_hand_out_the_same_message(client, app):
    _sign_many(client, 30)
    claimed: list[list[int]] = []
    barrier = threading.Barrier(3)

    def claim():
        with app.app_context():
            barrier.wait()
            ids = []
            while batch := claim_due(utcnow()):
                ids.extend(batch)
            claimed.append(ids)
            db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [message_id for ids in claimed for message_id in ids]
    assert len(everything) == len(set(everything)) == 30


def test_a_5xx_reply_marks_the_message_failed_for_good(client, app, smtp):
    sign(client, email="ana@example.ca")
    smtp.sink.reply = "554 5.7.1 Message rejected"
    assert deliver(app) == 0
    [row] = outbox_rows(app)
    assert row.status == OutboxMessage.FAILED
    assert row.last_error.startswith("554")
    smtp.sink.reply = None
    assert deliver(app, now=utcnow() + timedelta(days=1)) == 0
    assert smtp.messages == []


def test_a_4xx_reply_is_retried_with_growing_back_off_then_given_up(make_app, smtp):
    app = make_app(MAIL_MAX_ATTEMPTS=3)
    sign(app.test_client(), email="ana@example.ca")
    smtp.sink.reply = "451 4.3.0 Try again later"
    now = utcnow()
    waits = []
    for _ in range(3):
        deliver(app, now=now)
        [row] = outbox_rows(app)
        if row.status == OutboxMessage.QUEUED:
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert row.status == OutboxMessage.FAILED
    assert row.attempts == 3
    assert len(waits) == 2 and waits[1] > waits[0]
    assert smtp.messages == []


def test_a_message_left_sending_by_a_dead_deliverer_is_taken_over_after_its_lease(client, app, smtp):
    sign(client, email="ana@example.ca")
    with app.app_context():
        assert claim_due(utcnow()) != []  # a deliverer claims it, then dies
    assert deliver(app) == 0, "still leased to the dead deliverer"
    assert deliver(app, now=utcnow() + LEASE + timedelta(seconds=1)) == 1
    assert len(smtp.messages) == 1


def test_a_message_handed_to_smtp_by_a_deliverer_that_died_is_never_sent_twice(client, app, smtp):
    sign(client, email="ana@example.ca")
    with app.app_context():
        [message_id] = claim_due(utcnow())
        # The deliverer handed it over, then died before recording what the server said.
        db.session.execute(update(OutboxMessage).values(handed_at=utcnow()))
        db.session.commit()
    assert deliver(app, now=utcnow() + LEASE + timedelta(seconds=1)) == 0
    [row] = outbox_rows(app)
    assert row.status == OutboxMessage.FAILED
    assert "not sent again" in row.last_error
    assert smtp.messages == []


def test_a_message_claimed_too_often_without_outcome_is_given_up(make_app, smtp):
    app = make_app(MAIL_MAX_ATTEMPTS=2)
    sign(app.test_client(), email="ana@example.ca")
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(attempts=2))
        db.session.commit()
        assert deliver_due() == 0
    [row] = outbox_rows(app)
    assert row.status == OutboxMessage.FAILED
    assert smtp.messages == []


def test_withdrawn_signatures_take_their_queued_mail_with_them(client, app, smtp):
    sign(client, email="ana@example.ca")
    with app.app_context():
        from app.models import Signature
        db.session.execute(db.delete(Signature))
        db.session.commit()
    assert outbox_rows(app) == []
    assert deliver(app) == 0


def test_retry_delay_doubles_and_is_capped():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(50) == timedelta(hours=1)
