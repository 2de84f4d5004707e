"""Site-wide rules: health check, error pages, security headers, the development mail viewer."""

from helpers import deliver, sign


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_unknown_pages_get_a_friendly_404_with_security_headers(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_wrong_method_is_a_405_not_a_500(client):
    response = client.get("/sign")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_campaign_page_has_the_contracts_form_and_no_third_party_resources(client):
    page = client.get("/").get_data(as_text=True)
    for name in ("name", "email", "postal_code", "country", "comment", "public", "updates", "csrf_token"):
        assert f'name="{name}"' in page
    assert 'method="post"' in page
    assert '<option selected value="CA">Canada</option>' in page
    import re

    # What a browser fetches by itself: src attributes and <link> elements other than
    # canonical/alternate (those are only addresses, like the share links).
    fetched = re.findall(r'src="([^"]+)"', page) + [
        href
        for rel, href in re.findall(r'<link rel="([^"]+)" href="([^"]+)"', page)
        if rel not in ("canonical", "alternate")
    ]
    assert fetched and all(url.startswith("/static/") for url in fetched), fetched
    assert "<details" in page and "Sources" in page


def test_the_mail_viewer_exists_only_in_development_without_a_mail_server(make_app, tmp_path):
    production = make_app()
    assert production.test_client().get("/_dev/mail/").status_code == 404

    development = make_app(DEVELOPMENT=True, MAIL_SERVER=None)
    client = development.test_client()
    sign(client, email="ana@example.ca")
    deliver(development)
    inbox = client.get("/_dev/mail/").get_data(as_text=True)
    assert "Please confirm your signature" in inbox
    import re

    key = re.search(r'href="/_dev/mail/([^"?]+)"', inbox).group(1)
    message = client.get(f"/_dev/mail/{key}").get_data(as_text=True)
    assert 'href="https://petition.test/confirm/' in message
    assert client.get("/_dev/mail/no-such-key").status_code == 404


def test_the_campaign_page_with_its_css_and_js_stays_under_the_60_kb_budget(client):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from page_weight import BUDGET_BYTES, page_weight

    for language in ("en", "fr"):
        weight = page_weight(client, language)
        assert {"/static/site.css", "/static/counter.js", "/static/share.js"} <= set(weight["files"])
        assert weight["raw"] < BUDGET_BYTES, weight  # even uncompressed, as the dev server sends it


def test_hsts_is_sent_only_over_https_as_the_trusted_proxy_reports_it(make_app):
    proxied = make_app(TRUSTED_PROXIES=1).test_client()
    over_https = proxied.get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in proxied.get("/").headers
    direct = make_app().test_client()
    spoofed = direct.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers, "no proxy is trusted: the header is ignored"


def test_session_cookies_are_httponly_samesite_lax_and_secure_for_an_https_site(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)  # what an https:// PUBLIC_URL sets
    response = app.test_client().get("/", base_url="https://petition.test")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_security_headers_are_on_error_pages_and_json_too(client):
    for response in (client.get("/nowhere"), client.get("/api/count"), client.post("/sign")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


def test_only_the_embed_widget_may_be_framed(client):
    embed = client.get("/embed")
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    assert "script-src 'self'" in embed.headers["Content-Security-Policy"]


def test_the_cached_campaign_page_gives_each_visitor_their_own_working_form_token(app, smtp):
    from helpers import CSRF, link_in, press_button

    first, second = app.test_client(), app.test_client()
    token_first = CSRF.search(first.get("/").get_data(as_text=True)).group(1)
    token_second = CSRF.search(second.get("/").get_data(as_text=True)).group(1)
    assert token_first != token_second
    for client, token, email in (
        (first, token_first, "one@example.ca"),
        (second, token_second, "two@example.ca"),
    ):
        response = client.post(
            "/sign",
            data={
                "name": "N",
                "email": email,
                "postal_code": "K1A 0B1",
                "country": "CA",
                "csrf_token": token,
            },
        )
        assert response.status_code == 303
    assert '<strong class="count" data-count>0</strong>' in first.get("/").get_data(as_text=True)
    deliver(app)
    press_button(first, link_in(smtp.messages[0], "/confirm/"))
    assert '<strong class="count" data-count>1</strong>' in second.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in second.get("/?lang=fr").get_data(as_text=True)
    assert 'action="/sign?source=flyer"' in second.get("/?source=flyer").get_data(as_text=True)


POISON = {
    "X-Forwarded-Prefix": "//evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "6666",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
}


def test_forwarded_prefix_and_host_never_reach_the_cached_campaign_page(make_app):
    client = make_app(TRUSTED_PROXIES=1).test_client()
    poisoned = client.get("/?source=poison", headers=POISON).get_data(as_text=True)  # a miss: rendered afresh
    later = client.get("/?source=poison").get_data(as_text=True)  # a hit: what every later visitor gets
    for page in (poisoned, later):
        assert "evil" not in page and "6666" not in page
        assert 'src="/static/counter.js"' in page and 'action="/sign?source=poison"' in page
        assert 'href="https://petition.test/?lang=en"' in page  # absolute links come from PUBLIC_URL alone


def test_redirects_never_take_a_host_from_the_request(make_app):
    for hops in (0, 1):
        client = make_app(TRUSTED_PROXIES=hops).test_client()
        slash = client.get("/admin", headers={"Host": "evil.example", **POISON})
        assert slash.status_code == 308
        assert slash.headers["Location"] == "/admin/"
        login = client.get("/admin/", headers={"Host": "evil.example", **POISON})
        assert login.status_code == 302 and "evil" not in login.headers["Location"]
        assert login.headers["Location"].startswith("/admin/login")
