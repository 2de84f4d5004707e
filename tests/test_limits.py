"""Rate limits per client address: friendly 429s, proxies trusted exactly, Redis down never a 500."""

import time
import uuid

import pytest
import redis

from helpers import ORGANIZER_EMAIL, add_organizer, csrf_token, log_in, sign, signature_rows

LOW = {
    "RATELIMIT_SIGN": "3 per minute",
    "RATELIMIT_RESEND": "2 per minute",
    "RATELIMIT_CONFIRM": "3 per minute",
    "RATELIMIT_LOGIN": "3 per minute",
}


@pytest.fixture
def limited(make_app):
    return make_app(**LOW)


def test_signing_over_the_limit_gets_a_friendly_translated_429_with_retry_after(limited):
    client = limited.test_client()
    for number in range(3):
        assert sign(client, email=f"s{number}@example.ca").status_code == 303
    response = sign(client, "/?lang=fr", email="s3@example.ca")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page and "Vous avez fait de nombreux essais" in page
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert len(signature_rows(limited)) == 3, "the refused request stored nothing"


def test_resend_confirm_and_login_are_limited_too(limited):
    client = limited.test_client()
    token = csrf_token(client, "/check-inbox")
    statuses = [
        client.post("/resend", data={"email": "a@example.ca", "csrf_token": token}).status_code
        for _ in range(3)
    ]
    assert statuses == [303, 303, 429]
    assert [client.get("/confirm/not-a-token").status_code for _ in range(4)] == [404, 404, 404, 429]
    add_organizer(limited)
    other = limited.test_client()
    token = csrf_token(other, "/admin/login")
    statuses = [
        other.post(
            "/admin/login", data={"email": ORGANIZER_EMAIL, "password": "wrong password", "csrf_token": token}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_limits_are_per_client_address(limited):
    first, second = limited.test_client(), limited.test_client()
    for number in range(3):
        sign(first, email=f"a{number}@example.ca", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    response = second.post(
        "/sign",
        data={
            "name": "B",
            "email": "b@example.ca",
            "postal_code": "K1A 0B1",
            "country": "CA",
            "csrf_token": csrf_token(second),
        },
        environ_base={"REMOTE_ADDR": "198.51.100.2"},
    )
    assert response.status_code == 303


def _sign_from(client, email, remote, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/sign",
        data={
            "name": "P",
            "email": email,
            "postal_code": "K1A 0B1",
            "country": "CA",
            "csrf_token": csrf_token(client),
        },
        environ_base={"REMOTE_ADDR": remote},
        headers=headers,
    )


def test_behind_one_trusted_proxy_the_client_is_the_address_the_proxy_saw(make_app):
    app = make_app(TRUSTED_PROXIES=1, **LOW)
    client = app.test_client()
    # A client forging extra X-Forwarded-For entries cannot pose as new addresses:
    # only the last hop, the one our proxy appended, counts.
    statuses = [
        _sign_from(client, f"x{n}@example.ca", "10.0.0.1", f"203.0.113.{n}, 192.0.2.7").status_code
        for n in range(4)
    ]
    assert statuses == [303, 303, 303, 429]
    assert _sign_from(client, "y@example.ca", "10.0.0.1", "192.0.2.8").status_code == 303


def test_without_trusted_proxies_forwarded_headers_are_ignored(limited):
    client = limited.test_client()
    statuses = [
        _sign_from(client, f"z{n}@example.ca", "192.0.2.9", f"203.0.113.{n}").status_code for n in range(4)
    ]
    assert statuses == [303, 303, 303, 429]


def test_with_redis_down_signing_and_login_still_work_and_limits_fall_back_to_memory(make_app, caplog):
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", **LOW)
    client = app.test_client()
    statuses = [sign(client, email=f"r{n}@example.ca").status_code for n in range(4)]
    assert 500 not in statuses
    assert statuses[:3] == [303, 303, 303]
    assert len(signature_rows(app)) >= 3
    add_organizer(app)
    assert log_in(app.test_client()).status_code == 303
    assert log_in(app.test_client(), password="not it at all").status_code == 401


def test_limits_can_be_switched_off_for_benchmarks(make_app):
    app = make_app(RATELIMIT_ENABLED=False, **LOW)
    client = app.test_client()
    assert [sign(client, email=f"b{n}@example.ca").status_code for n in range(5)] == [303] * 5


def test_addresses_typed_at_the_login_form_are_hashed_in_redis_keys_like_client_addresses(
    make_app, shared_redis
):
    store = redis.Redis.from_url(shared_redis)
    app = make_app(RATELIMIT_STORAGE_URI=shared_redis)
    add_organizer(app)
    typed, keys = [ORGANIZER_EMAIL], []
    # The limiter is shared by every app in this process: after a test with Redis down it
    # counts in memory until its next look at Redis, a second or two later.
    deadline = time.monotonic() + 15
    while not any("login-account" in key for key in keys):
        assert time.monotonic() < deadline, "the failures were never counted in Redis"
        client = app.test_client()
        response = client.post(
            "/admin/login",
            data={
                "email": typed[-1],
                "password": "not the password",
                "csrf_token": csrf_token(client, "/admin/login"),
            },
            environ_base={"REMOTE_ADDR": f"198.51.100.{len(typed)}"},
        )
        assert response.status_code == 401
        keys = [key.decode(errors="replace").lower() for key in store.scan_iter(match="*login-*")]
        typed.append(f"Leaky.Typist.{uuid.uuid4().hex[:8]}@Example.org")
        time.sleep(0.05)
    for email in typed:
        local, domain = email.lower().split("@")
        assert not [key for key in keys if local in key or domain in key], "no address in any key"
    assert not [key for key in keys if "198.51.100." in key]


def _login_from(client, remote):
    return client.post(
        "/admin/login",
        data={
            "email": ORGANIZER_EMAIL,
            "password": "wrong password",
            "csrf_token": csrf_token(client, "/admin/login"),
        },
        environ_base={"REMOTE_ADDR": remote},
    ).status_code


def test_ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_the_ipv4(limited):
    """One subscriber picks from a whole /64: counted by /128, it would get 2^64 buckets."""
    client = limited.test_client()
    statuses = [
        _sign_from(client, f"v{n}@example.ca", f"2001:db8:1:2:{n}::{n + 1}").status_code for n in range(4)
    ]
    assert statuses == [303, 303, 303, 429], "four addresses in one /64 share one bucket"
    assert _sign_from(client, "w@example.ca", "2001:db8:1:3::1").status_code == 303, "another /64"
    statuses = [_sign_from(client, f"m{n}@example.ca", "192.0.2.44").status_code for n in range(3)]
    assert statuses == [303, 303, 303]
    assert _sign_from(client, "m3@example.ca", "::ffff:192.0.2.44").status_code == 429, "the same IPv4"


def test_the_login_throttle_counts_an_ipv6_client_by_its_64_too(make_app):
    app = make_app()  # the route's own limit out of the way: only the throttle's 10 a minute
    add_organizer(app)
    client = app.test_client()
    statuses = [_login_from(client, f"2001:db8:5:6::{n:x}") for n in range(1, 12)]
    assert statuses == [401] * 10 + [429]
    assert _login_from(client, "2001:db8:5:7::1") == 401, "another /64 is another client"


def test_the_ipv6_prefix_is_configurable(make_app):
    app = make_app(RATELIMIT_IPV6_PREFIX=128, **LOW)
    client = app.test_client()
    statuses = [
        _sign_from(client, f"p{n}@example.ca", f"2001:db8:1:2::{n + 1}").status_code for n in range(4)
    ]
    assert statuses == [303] * 4, "counted by /128, each address is a client"
