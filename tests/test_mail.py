"""The outbox and its deliverers, against a real SMTP server that can fail."""

import threading
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from email.utils import getaddresses

import pytest
from sqlalchemy import update

from app.emails import build_message
from app.extensions import db
from app.jobs import Jobs
from app.mail import claim_due, deliver_due, retry_delay
from app.models import OutboxMessage, utcnow
from helpers import (
    assert_finished_one_and_released_the_rest,
    deliver,
    html_part,
    outbox_rows,
    sign,
    text_part,
    wait_until,
    wait_until_a_message_is_in_hand,
)


def _sign_many(client, count: int, prefix: str = "signer"):
    for number in range(count):
        assert sign(client, email=f"{prefix}{number}@example.ca").status_code == 303


def test_emails_have_text_and_html_parts_and_the_campaigns_sender(client, app, smtp):
    sign(client, email="ana@example.ca")
    deliver(app)
    [message] = smtp.messages
    # The text and HTML alternatives (the message itself: see test_deliverability).
    [alternative] = [part for part in message.walk() if part.get_content_type() == "multipart/alternative"]
    assert [part.get_content_type() for part in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"].startswith("Coalition for Faces Without Files <")
    assert message["Reply-To"] == "hello@example.org"
    assert message["Message-ID"].endswith("@petition.test>")
    assert "100 Example Street" in text_part(message)
    assert "Confirm my signature" in html_part(message)


def test_the_deliverer_greets_the_server_with_the_sites_own_name_without_asking_dns(client, app, smtp):
    # smtplib would otherwise look this machine's name up in DNS for every connection: a slow
    # resolver held each connection for its 5 s timeout on a fresh Debian machine.
    sign(client, email="ana@example.ca")
    sign(client, email="ben@example.ca")
    deliver(app)
    assert smtp.sink.greetings == ["petition.test", "petition.test"]


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
    first, second = Jobs(app, poll_seconds=0.05), Jobs(app, poll_seconds=0.05)
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
    assert deliver(app, now=utcnow() + timedelta(seconds=app.config["MAIL_LEASE"] + 1)) == 1
    assert len(smtp.messages) == 1


def test_a_message_whose_fate_is_unknown_is_sent_again_with_the_same_message_id(client, app, smtp):
    sign(client, email="ana@example.ca")
    sign(client, email="bea@example.ca")
    assert deliver(app) == 2
    with app.app_context():
        first = min(db.session.scalars(db.select(OutboxMessage.id)))
        # Ana's deliverer handed her message over, then died before recording the answer.
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == first)
            .values(status=OutboxMessage.SENDING, lease_until=utcnow(), handed_at=utcnow(), sent_at=None)
        )
        db.session.commit()
    assert deliver(app, now=utcnow() + timedelta(seconds=1)) == 1, (
        "sent again: a lost email is a lost signature"
    )
    messages = smtp.wait_for(3)
    ana = [message["Message-ID"] for message in messages if message["To"] == "ana@example.ca"]
    [bea] = [message["Message-ID"] for message in messages if message["To"] == "bea@example.ca"]
    assert len(ana) == 2 and ana[0] == ana[1], "one Message-ID, so mail systems can fold the copy"
    assert bea != ana[0]
    assert {row.status for row in outbox_rows(app)} == {OutboxMessage.SENT}


def test_a_deliverer_renews_the_lease_of_its_whole_batch_before_each_message(client, app, smtp):
    _sign_many(client, 3)
    smtp.sink.delay = 1.5
    worker = threading.Thread(target=deliver, args=(app,))
    worker.start()
    try:
        first_lease = wait_until(
            lambda: max(
                (row.lease_until for row in outbox_rows(app) if row.status == OutboxMessage.SENDING),
                default=None,
            )
        )
        wait_until(lambda: outbox_rows(app)[1].handed_at is not None)  # the second message is in hand
        with app.app_context():
            assert claim_due(first_lease + timedelta(seconds=1)) == [], "the rest of the batch is still held"
    finally:
        worker.join()
    assert len(smtp.messages) == 3
    assert {row.status for row in outbox_rows(app)} == {OutboxMessage.SENT}


def test_a_stopping_deliverer_finishes_the_message_in_hand_and_releases_the_rest_at_once(client, app, smtp):
    _sign_many(client, 5)
    smtp.sink.delay = 1
    deliverer = Jobs(app, poll_seconds=0.05).start()
    wait_until_a_message_is_in_hand(app)
    deliverer.stop()
    sent, released = assert_finished_one_and_released_the_rest(app)
    assert len(smtp.messages) == len(sent)
    smtp.sink.delay = 0
    assert deliver(app) == len(released), "another deliverer takes them over at once"


def test_a_relay_without_smtputf8_fails_only_the_message_to_a_non_ascii_address(make_app, ascii_relay):
    app = make_app(MAIL_PORT=ascii_relay.port)
    client = app.test_client()
    for email in ("ana@example.ca", "josé@example.ca", "bea@example.ca"):
        assert sign(client, email=email).status_code == 303
    assert deliver(app) == 2
    assert sorted(message["To"] for message in ascii_relay.messages) == ["ana@example.ca", "bea@example.ca"]
    statuses = [row.status for row in outbox_rows(app)]
    assert statuses == [OutboxMessage.SENT, OutboxMessage.FAILED, OutboxMessage.SENT]
    assert "SMTPUTF8" in outbox_rows(app)[1].last_error
    assert deliver(app, now=utcnow() + timedelta(days=1)) == 0


def test_a_non_ascii_address_gets_its_mail_from_a_server_with_smtputf8(client, app, smtp):
    assert sign(client, email="josé@example.ca").status_code == 303
    assert deliver(app) == 1
    [message] = smtp.messages
    assert message["To"] == "josé@example.ca"
    assert "Confirm my signature" in html_part(message)
    assert outbox_rows(app)[0].status == OutboxMessage.SENT


@pytest.mark.parametrize(
    "reply, status",
    [
        ("550 5.1.1 No such mailbox", OutboxMessage.FAILED),
        ("450 4.2.0 Greylisted, come back later", OutboxMessage.QUEUED),
    ],
)
def test_one_refused_recipient_never_holds_up_the_rest_of_the_batch(client, app, smtp, reply, status):
    smtp.sink.refuse = {"gone@example.ca": reply}
    for email in ("ana@example.ca", "gone@example.ca", "bea@example.ca"):
        sign(client, email=email)
    assert deliver(app) == 2
    assert sorted(message["To"] for message in smtp.messages) == ["ana@example.ca", "bea@example.ca"]
    ana, gone, bea = outbox_rows(app)
    assert (ana.status, gone.status, bea.status) == (OutboxMessage.SENT, status, OutboxMessage.SENT)
    assert gone.last_error.startswith(reply[:3])
    if status == OutboxMessage.QUEUED:
        assert gone.attempts == 1 and gone.next_attempt_at > utcnow()


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


def test_a_message_that_cannot_be_rendered_is_retried_alone_and_holds_nothing_back(make_app, smtp):
    # A row of a kind this version cannot render (left by a newer release during a rolling deploy).
    app = make_app(MAIL_MAX_ATTEMPTS=2)
    client = app.test_client()
    _sign_many(client, 3)
    with app.app_context():
        first = min(row.id for row in outbox_rows(app))
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == first).values(kind="retired_kind"))
        db.session.commit()
    assert deliver(app) == 2, "the rest of the batch is sent at once"
    assert sorted(message["To"] for message in smtp.wait_for(2)) == [
        "signer1@example.ca",
        "signer2@example.ca",
    ]
    [stuck] = [row for row in outbox_rows(app) if row.id == first]
    assert (stuck.status, stuck.handed_at) == (OutboxMessage.QUEUED, None)
    assert deliver(app, now=utcnow() + timedelta(days=1)) == 0
    [stuck] = [row for row in outbox_rows(app) if row.id == first]
    assert stuck.status == OutboxMessage.FAILED, "given up after MAIL_MAX_ATTEMPTS, alone"
    assert {row.status for row in outbox_rows(app) if row.id != first} == {OutboxMessage.SENT}


def test_an_international_message_keeps_one_sender_whatever_the_organization_is_called(app):
    # A non-ASCII recipient switches the message to SMTPUTF8; the sender's name must stay quoted.
    with app.app_context():
        message = build_message(
            "josé@example.ca", "Sujet", "texte", "<p>texte</p>", "fr", "Réseau québécois, section Montréal"
        )
        parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    [(name, address)] = getaddresses([str(parsed["From"])])
    assert name == "Réseau québécois, section Montréal"
    assert address.startswith("no-reply@")
