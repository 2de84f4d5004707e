"""Journey 5: organizer login, throttling, sessions, the dashboard, finding and erasing signers."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from app import accounts
from app.addresses import normalize_email
from app.admin import DEVICE_COOKIE
from app.config import load_config
from app.extensions import db
from app.models import AuditEvent, OrganizerDevice, Signature, utcnow
from helpers import (
    ORGANIZER_EMAIL,
    add_organizer,
    csrf_token,
    deliver,
    link_in,
    log_in,
    press_button,
    sign,
    signature_rows,
)


def test_organizer_add_command_creates_an_account_that_can_log_in(app, runner):
    result = runner.invoke(
        args=["organizer", "add", "Lead@Example.org", "--password", "a long enough secret"]
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    response = log_in(client, email="lead@example.org", password="a long enough secret")
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 200


def test_organizer_add_prompts_for_a_hidden_password_when_none_is_given(app, runner):
    result = runner.invoke(
        args=["organizer", "add", "prompted@example.org"], input="typed secret words\ntyped secret words\n"
    )
    assert result.exit_code == 0, result.output
    assert "typed secret words" not in result.output
    assert log_in(app.test_client(), "prompted@example.org", "typed secret words").status_code == 303


def test_organizer_add_refuses_short_passwords_and_duplicates(app, runner, organizer):
    short = runner.invoke(args=["organizer", "add", "new@example.org", "--password", "short"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    again = runner.invoke(args=["organizer", "add", ORGANIZER_EMAIL, "--password", "another long secret"])
    assert again.exit_code != 0 and "exists already" in again.output


def test_passwords_are_stored_hashed_with_scrypt_by_default(make_app, tmp_path):
    defaults = load_config(str(tmp_path))
    app = make_app(PASSWORD_HASH_METHOD=defaults["PASSWORD_HASH_METHOD"])
    organizer = add_organizer(app)
    assert organizer.password_hash.startswith("scrypt:")
    assert "correct horse" not in organizer.password_hash
    assert log_in(app.test_client()).status_code == 303


def test_admin_pages_need_a_login_and_send_to_it_with_next(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login?next=" in response.headers["Location"]
    assert client.get("/admin/export.csv").status_code == 302


def test_unknown_account_and_wrong_password_get_the_same_answer(client, organizer):
    wrong_password = log_in(client, password="not the password at all")
    unknown = log_in(client, email="nobody@example.org")
    assert wrong_password.status_code == unknown.status_code == 401
    message = "That email address and password do not match an organizer account."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/admin/signers", "/admin/signers"),
        ("/admin/?x=1", "/admin/?x=1"),
        ("//evil.example/", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("https://evil.example/", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
        ("/%0d%0aLocation:%20https://evil.example", "/%0d%0aLocation:%20https://evil.example"),
        ("/\r\nLocation: https://evil.example", "/admin/"),
    ],
)
def test_next_only_leads_to_local_paths(client, organizer, target, expected):
    from urllib.parse import quote

    response = log_in(client, next_path=quote(target, safe=""))
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_login_starts_a_new_session_and_logout_ends_it_everywhere(app, client, organizer):
    client.get("/admin/login")
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    log_in(client)
    with client.session_transaction() as after:
        assert "planted" not in after
        stolen_copy = dict(after)
    assert client.get("/admin/").status_code == 200

    response = client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 302

    # A copy of the session cookie taken before logout no longer works either.
    thief = app.test_client()
    with thief.session_transaction() as session:
        session.update(stolen_copy)
    assert thief.get("/admin/").status_code == 302


def test_login_is_throttled_per_client_address(make_app):
    app = make_app()
    add_organizer(app)
    client = app.test_client()
    for _ in range(10):
        assert log_in(client, password="wrong password here").status_code == 401
    throttled = log_in(client)  # even the right password waits now, from this address
    assert throttled.status_code == 429
    assert 30 < int(throttled.headers["Retry-After"]) <= 61, "the rest of the minute's window"
    assert "Too many attempts" in throttled.get_data(as_text=True)


def throttle_the_account(app) -> None:
    """An attacker rotating addresses uses up the account's allowance for unknown browsers."""
    for number in range(25):
        attacker = app.test_client()
        response = attacker.post(
            "/admin/login",
            data={
                "email": ORGANIZER_EMAIL,
                "password": f"guess {number} password",
                "csrf_token": csrf_token(attacker, "/admin/login"),
            },
            environ_base={"REMOTE_ADDR": f"203.0.113.{number}"},
        )
        assert response.status_code in (401, 429)
    assert response.status_code == 429, "the account itself is throttled for unknown browsers"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_simultaneous_guesses_get_no_more_tries_than_the_limit(make_app, request, store):
    """Checking before counting let 39 of 60 guesses sent at once through a limit of 20."""
    storage = {"RATELIMIT_STORAGE_URI": request.getfixturevalue("shared_redis")} if store == "redis" else {}
    # A slower hash, as scrypt is in production: the window between a check and its count.
    app = make_app(PASSWORD_HASH_METHOD="pbkdf2:sha256:100000", **storage)
    add_organizer(app)
    attackers = [app.test_client() for _ in range(60)]
    tokens = [csrf_token(attacker, "/admin/login") for attacker in attackers]
    start = threading.Barrier(len(attackers))
    statuses = []

    def guess(number: int) -> None:
        start.wait()
        response = attackers[number].post(
            "/admin/login",
            data={"email": ORGANIZER_EMAIL, "password": f"guess {number}", "csrf_token": tokens[number]},
            environ_base={"REMOTE_ADDR": f"203.0.113.{number}"},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(len(attackers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) == accounts.FAILURES_PER_ACCOUNT.amount, "tried: exactly the limit"


def close_the_browser(client) -> None:
    """What a browser keeps after it is closed: its lasting cookies, not the session."""
    client.delete_cookie("session")


def test_guessing_an_account_from_many_addresses_does_not_lock_out_its_organizer(app, organizer):
    owner = app.test_client()
    assert log_in(owner).status_code == 303  # the organizer's browser has logged in before
    close_the_browser(owner)
    throttle_the_account(app)
    assert log_in(owner).status_code == 303, "the organizer's own browser still gets in"


def device_rows(app) -> list[OrganizerDevice]:
    with app.app_context():
        return list(db.session.scalars(select(OrganizerDevice)))


def test_the_device_cookie_is_a_random_stored_token_bounded_in_time_and_revoked_at_logout(app, organizer):
    owner = app.test_client()
    before = utcnow()
    assert log_in(owner).status_code == 303
    cookie = owner.get_cookie(DEVICE_COOKIE, path="/admin")
    assert cookie is not None and cookie.http_only
    # The browser's clock ends the cookie (Max-Age); the database's row ends by the app's clock.
    lifetime = timedelta(seconds=cookie.max_age)
    assert timedelta(days=1) < lifetime <= timedelta(days=91), "it expires, within months"
    [device] = device_rows(app)
    assert device.organizer_id == organizer.id
    assert cookie.value not in (device.token_hash, str(organizer.id)), "only a keyed hash is stored"
    assert timedelta(days=1) < device.expires_at - before <= timedelta(days=91)
    assert len(cookie.value) >= 32

    owner.post("/admin/logout", data={"csrf_token": csrf_token(owner, "/admin/")})
    assert owner.get_cookie(DEVICE_COOKIE, path="/admin") is None, "logging out clears it"
    assert device_rows(app) == [], "and revokes it"

    # A copy of the cookie taken before logout is worth nothing any more.
    copy = app.test_client()
    copy.set_cookie(DEVICE_COOKIE, cookie.value, path="/admin")
    throttle_the_account(app)
    assert log_in(copy).status_code == 429


def test_an_expired_or_forged_device_token_counts_as_no_device(app, organizer):
    owner = app.test_client()
    assert log_in(owner).status_code == 303
    close_the_browser(owner)
    with app.app_context():
        db.session.execute(update(OrganizerDevice).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    forger = app.test_client()
    forger.set_cookie(DEVICE_COOKIE, "x" * 43, path="/admin")
    throttle_the_account(app)
    assert log_in(owner).status_code == 429, "an expired device is an unknown browser"
    assert log_in(forger).status_code == 429


def test_a_second_login_from_the_same_browser_keeps_its_device(app, organizer):
    owner = app.test_client()
    log_in(owner)
    first = owner.get_cookie(DEVICE_COOKIE, path="/admin").value
    close_the_browser(owner)
    log_in(owner)
    assert owner.get_cookie(DEVICE_COOKIE, path="/admin").value == first
    assert len(device_rows(app)) == 1


@pytest.mark.parametrize("action", ["hide", "erase"])
def test_hiding_or_erasing_an_unknown_signature_is_a_404_and_is_not_audited(app, admin_client, action):
    token = csrf_token(admin_client, "/admin/signers")
    response = admin_client.post(f"/admin/signers/987654/{action}", data={"csrf_token": token})
    assert response.status_code == 404
    assert "no such signature" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(AuditEvent)).all() == []


def test_erased_and_purged_signers_leave_no_copy_in_the_sqlite_files(
    app, client, admin_client, runner, database_url
):
    if not database_url.startswith("sqlite:///"):
        pytest.skip("SQLite's own files")
    erased = ("Zebulon Quillfeather", "zebulon.quillfeather@example.ca")
    purged = ("Ysolde Marchbanks", "ysolde.marchbanks@example.ca")
    kept = [(f"Kept Signer {n}", f"kept{n}@example.ca") for n in range(2)]
    for name, email in (kept[0], erased, purged, kept[1]):  # the survivors keep the pages in use
        assert sign(client, name=name, email=email).status_code == 303
    with app.app_context():
        db.session.execute(
            update(Signature)
            .where(Signature.email == purged[1])
            .values(signed_at=utcnow() - timedelta(days=40))
        )
        db.session.commit()
    row = next(row for row in signature_rows(app) if row.email == erased[1])
    token = csrf_token(admin_client, "/admin/signers")
    assert admin_client.post(f"/admin/signers/{row.id}/erase", data={"csrf_token": token}).status_code == 200
    assert runner.invoke(args=["signatures", "purge-unconfirmed", "--older-than", "30"]).exit_code == 0
    assert [row.email for row in signature_rows(app)] == [email for _name, email in kept]

    with app.app_context():  # on by default in Debian's build, not in every one
        assert db.session.execute(text("PRAGMA secure_delete")).scalar() == 1
    database = Path(database_url.removeprefix("sqlite:///"))
    files = [path for path in database.parent.iterdir() if path.name.startswith(database.name)]
    assert database in files
    for path in files:
        data = path.read_bytes()
        for value in (*erased, *purged):
            assert value.encode() not in data, f"{value!r} is still in {path.name}"


def test_admin_responses_are_never_cached(admin_client):
    for path in ("/admin/", "/admin/signers", "/admin/export.csv"):
        assert admin_client.get(path).headers["Cache-Control"] == "no-store"
    assert "no-store" in admin_client.get("/admin/login").headers["Cache-Control"]


def test_dashboard_shows_totals_days_regions_sources_domains_latest_and_outbox(
    app, client, smtp, admin_client
):
    sign(client, "/?source=newsletter", email="ana@example.ca", postal_code="H2X 1Y4", updates="y")
    sign(client, "/?source=newsletter", email="bo@mail.example", postal_code="V5K 0A1")
    sign(client, email="cy@example.ca", postal_code="K1A 0B1", name="<b>Cy</b>")
    deliver(app)
    for message in smtp.messages[:2]:
        press_button(client, link_in(message, "/confirm/"))

    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "<dt>Confirmed</dt><dd>2</dd>" in page
    assert "<dt>Waiting for confirmation</dt><dd>1</dd>" in page
    assert "<dt>Confirmed and consenting to updates</dt><dd>1</dd>" in page
    assert "<svg" in page and 'class="signed"' in page
    assert "Quebec" in page and "British Columbia" in page
    assert '<td>newsletter</td><td class="num">2</td><td class="num">2</td>' in page
    assert '<td>example.ca</td><td class="num">2</td><td class="num">50%</td>' in page
    assert "&lt;b&gt;Cy&lt;/b&gt;" in page and "<b>Cy</b>" not in page
    assert "Email delivery" in page


def test_find_a_signer_hide_their_name_and_erase_them(app, client, smtp, admin_client):
    sign(client, email="ana@example.ca", public="y", name="Ana Public")
    deliver(app)
    confirm_path = link_in(smtp.messages[0], "/confirm/")
    press_button(client, confirm_path)
    assert "Ana Public" in client.get("/signers").get_data(as_text=True)

    found = admin_client.get("/admin/signers?email=ANA@example.ca").get_data(as_text=True)
    assert "Ana Public" in found
    [row] = signature_rows(app)
    token = csrf_token(admin_client, "/admin/signers?email=ana@example.ca")
    assert admin_client.post(f"/admin/signers/{row.id}/hide", data={"csrf_token": token}).status_code == 200
    assert "Ana Public" not in client.get("/signers").get_data(as_text=True)
    assert client.get("/api/count").get_json()["count"] == 1

    response = admin_client.post(f"/admin/signers/{row.id}/erase", data={"csrf_token": token})
    assert response.status_code == 200
    assert signature_rows(app) == []
    assert client.get("/api/count").get_json()["count"] == 0
    assert client.get(confirm_path).status_code == 404, "the erased signer's links stop working"
    assert admin_client.post(f"/admin/signers/{row.id}/erase", data={"csrf_token": token}).status_code == 404

    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert "erase: confirmed signature" in dashboard
    assert "ana@example.ca" not in dashboard and "Ana Public" not in dashboard


def test_erasing_a_pending_signature_leaves_the_count_alone(app, client, smtp, admin_client):
    sign(client, email="ana@example.ca")
    sign(client, email="bea@example.ca")
    deliver(app)
    press_button(client, link_in(next(m for m in smtp.messages if m["To"] == "bea@example.ca"), "/confirm/"))
    pending = next(row for row in signature_rows(app) if row.email == "ana@example.ca")
    token = csrf_token(admin_client, "/admin/signers?email=ana@example.ca")
    assert (
        admin_client.post(f"/admin/signers/{pending.id}/erase", data={"csrf_token": token}).status_code == 200
    )
    assert client.get("/api/count").get_json()["count"] == 1
    assert "erase: unconfirmed signature" in admin_client.get("/admin/").get_data(as_text=True)


def test_finding_an_unknown_or_malformed_address_says_so(admin_client):
    assert "No signature with that address." in admin_client.get(
        "/admin/signers?email=x@example.ca"
    ).get_data(as_text=True)
    response = admin_client.get("/admin/signers?email=nonsense")
    assert response.status_code == 422
    assert "Enter an email address like name@example.com." in response.get_data(as_text=True)


def test_normalised_addresses_accept_idn_domains_in_one_form():
    assert normalize_email("Ana@Exämple.CA") == normalize_email(" ana@xn--exmple-cua.ca")


def test_a_burst_from_one_small_domain_is_flagged_on_the_dashboard_but_nothing_is_blocked(make_app):
    app = make_app(DOMAIN_BURST_THRESHOLD=5)
    add_organizer(app)
    client = app.test_client()
    for number in range(6):
        assert sign(client, email=f"bot{number}@burst.example").status_code == 303
        assert sign(client, email=f"person{number}@gmail.com").status_code == 303
    sign(client, email="one@quiet.example")
    organizer = app.test_client()
    log_in(organizer)
    page = organizer.get("/admin/").get_data(as_text=True)
    assert "Unusual activity" in page
    assert "<strong>burst.example</strong>: 6 signatures in the last hour" in page
    assert "<strong>gmail.com</strong>" not in page and "<strong>quiet.example</strong>" not in page
    assert len(signature_rows(app)) == 13


def test_no_burst_no_warning(admin_client):
    assert "Unusual activity" not in admin_client.get("/admin/").get_data(as_text=True)


def test_an_id_beyond_any_signature_is_a_404_not_a_server_error(app, admin_client):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does, 500 page included
    token = csrf_token(admin_client, "/admin/")
    for path in ("signers/{}/hide", "signers/{}/erase", "reasons/{}/approve", "reasons/{}/reject"):
        for huge in ("2147483648", "99999999999999999999999"):
            response = admin_client.post("/admin/" + path.format(huge), data={"csrf_token": token})
            assert response.status_code == 404, (path, huge)


def test_an_id_in_other_digits_than_ascii_names_no_signature(app, client, admin_client):
    """Werkzeug's <int> matched \\d+: /signers/١/hide hid signature 1."""
    sign(client, email="digits@example.ca", public="y")
    row = signature_rows(app)[0]
    token = csrf_token(admin_client, "/admin/")
    for other in ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９"):  # Arabic-Indic, full-width
        digits = str(row.id).translate(str.maketrans("0123456789", other))
        response = admin_client.post(f"/admin/signers/{digits}/hide", data={"csrf_token": token})
        assert response.status_code == 404, digits
    assert signature_rows(app)[0].public is True
