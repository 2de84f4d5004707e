"""Property-based tests: whatever arrives at the forms or in a link, the answer is never a 5xx
and no row is ever half written."""

import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app import campaigns
from app.campaign import current_campaign
from app.campaigns import campaign_scope
from app.counter import count_cache
from app.extensions import db
from app.kinds import kind_for
from app.kinds.letter.models import WrittenLetter
from app.models import Letter, Signature
from app.tokens import CONFIRM, MANAGE, WITHDRAW, make_token
from helpers import (
    INDIVIDUAL,
    LETTER_CAMPAIGN,
    OPEN_LETTER,
    add_organizer,
    assert_no_half_written_rows,
    build_pdfs,
    csrf_token,
    deliver,
    home_campaign,
    link_in,
    log_in,
    review,
    sign,
    sign_and_confirm_as,
    write_letter,
)

EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

anything = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\r\n",
        "=1+1",
        "<script>",
        "a" * 5000,
        "ana@example.ca",
        "ANA@Example.CA ",
        "ana@exämple.ca",
        "\u202e",
        "\u200b",
        "\u3164",
        "K1A 0B1",
        "CA",
        "FR",
        "XX",
        "y",
        "on",
    ]
)
emailish = st.one_of(
    anything,
    st.emails().map(str),
    st.builds(lambda local, raw: f"{local}@{raw}", st.text(max_size=20), st.text(max_size=20)),
)


@pytest.fixture
def fuzz_client(app):
    client = app.test_client()
    return client, csrf_token(client), csrf_token(client, "/check-inbox")


def mostly(valid, rest=anything):
    """Two draws in three from `valid`: enough whole valid forms reach the success path."""
    return st.one_of(valid, valid, rest)


names = mostly(
    st.text(alphabet=st.characters(categories=["L", "Zs", "Pd"]), min_size=1, max_size=120).filter(str.strip)
)
valid_emails = mostly(st.emails().map(str), emailish)
postal_codes = mostly(st.sampled_from(["K1A 0B1", "h2x1y4", " v5k 0a1 "]))
countries = mostly(st.just("CA"))


def test_sign_form_never_fails_and_never_half_writes(app, fuzz_client):
    client, token, _ = fuzz_client

    @FUZZ
    @given(
        name=names,
        email=valid_emails,
        postal_code=postal_codes,
        country=countries,
        comment=anything,
        public=anything,
        updates=anything,
        homepage=st.sampled_from(["", "", "x"]),
        source=anything,
        lang=st.sampled_from(["", "en", "fr", "xx"]),
    )
    def sign_anything(name, email, postal_code, country, comment, public, updates, homepage, source, lang):
        response = client.post(
            f"/sign?source={quote(source)}&lang={lang}",
            data={
                "name": name,
                "email": email,
                "postal_code": postal_code,
                "country": country,
                "comment": comment,
                "public": public,
                "updates": updates,
                "homepage": homepage,
                "csrf_token": token,
            },
        )
        assert response.status_code in (303, 413, 422), response.status_code
        assert_no_half_written_rows(app)

    sign_anything()
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(Signature))
    assert stored > 0, "some examples were valid signatures, so the success path was fuzzed too"


@FUZZ
@given(email=emailish)
def test_resend_form_never_fails(app, fuzz_client, email):
    client, _, token = fuzz_client
    assert client.post("/resend", data={"email": email, "csrf_token": token}).status_code in (303, 422)
    assert_no_half_written_rows(app)


@FUZZ
@given(
    token=anything,
    path=st.sampled_from(["/confirm/", "/not-me/", "/manage/"]),
    method=st.sampled_from(["GET", "POST"]),
)
def test_any_token_in_any_link_gets_a_4xx_or_a_page(app, fuzz_client, token, path, method):
    client, csrf, _ = fuzz_client
    url = path + quote(token, safe="")
    response = client.open(url, method=method, data={"csrf_token": csrf} if method == "POST" else None)
    assert response.status_code < 500, (url, response.status_code)
    assert response.status_code in (200, 303, 308, 404, 405, 410)  # 308: Werkzeug merging "//"
    assert_no_half_written_rows(app)


@FUZZ
@given(email=emailish, password=anything, next_path=anything)
def test_login_form_never_fails(app, email, password, next_path):
    client = app.test_client()
    if not getattr(app, "_fuzz_organizer", False):
        add_organizer(app)
        app._fuzz_organizer = True
    response = client.post(
        f"/admin/login?next={quote(next_path, safe='')}",
        data={"email": email, "password": password, "csrf_token": csrf_token(client, "/admin/login")},
    )
    assert response.status_code in (303, 401, 413, 422, 429), response.status_code
    if response.status_code == 303:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//")


ROOT = Path(__file__).resolve().parent.parent
# Values that have given 500s, and their neighbours: digits that are not ASCII, dates at the
# calendar's edges, huge numbers.
EDGE_VALUES = [
    "²",
    "١٢",
    "１",
    "𝟐",
    "0",
    "1",
    "2",
    "-1",
    "99999999999999999999999",
    "1e3",
    "9999-12-31",
    "9999-12-30",
    "0001-01-01",
    "2026-02-30",
    "2026-13-01",
    "20261101",
    "2026-W01-1",
    "all",
    "confirmed",
    "unconfirmed",
    "en",
    "fr",
    "updates",
    "hidden",
    "/admin/",
    "//evil.example",
    "k1a0b1",
    " K1A  0B1 ",
    "90210",
    "K1A 0B1 0B1",
]
query_values = st.one_of(anything, st.sampled_from(EDGE_VALUES), st.dates().map(str), st.integers().map(str))


def query_parameters() -> list[str]:
    """Every query parameter the code or the templates read, found in the source itself."""
    # request.args.get("name"), or the open letter's _cursor(args, "name").
    reads = re.compile(r"""(?:args\.get\(|_cursor\(args,)\s*["']([A-Za-z_]+)["']""")
    sources = [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("templates").rglob("*.html")]
    names = {name for path in sources for name in reads.findall(path.read_text())}
    names |= {"email"}  # the find-a-signer form reads request.args whole
    assert {"lang", "page", "since", "until", "status", "next", "source"} <= names
    return sorted(names)


# The route fuzzers are split in parts, each a test of its own, so that pytest-xdist's workers
# share them; together the parts send every request one test would.
PARTS = 6
ROUTE_PARTS = pytest.mark.parametrize("part", range(PARTS))


def get_routes(app, signature_id: int) -> list[str]:
    """A URL for every GET route of the app; links carry a valid token for a real signature."""
    tokens = {
        "public.confirm": CONFIRM,
        "public.withdraw": WITHDRAW,
        "manage.show": MANAGE,
        "manage.confirm_unsubscribe": MANAGE,
    }
    urls = []
    slug = home_campaign(app).slug
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            assert rule.arguments <= {"token", "campaign_slug"}, f"give the fuzzer a value for {rule.rule}"
            values = (
                {"token": make_token(tokens[rule.endpoint], signature_id)}
                if "token" in rule.arguments
                else {}
            )
            if "campaign_slug" in rule.arguments:  # each route at the campaign's own address too
                values["campaign_slug"] = slug
            urls.append(app.url_map.bind("localhost").build(rule.endpoint, values))
    assert len(urls) >= 12 and "/admin/export.csv" in urls
    return urls


@ROUTE_PARTS
def test_no_query_parameter_on_any_get_route_gives_a_5xx(part, app, smtp):
    client = app.test_client()
    add_organizer(app)
    assert log_in(client).status_code == 303, "organizer pages are fuzzed logged in"
    assert sign(client, name="Fuzzy Signer", email="fuzzy@example.ca").status_code == 303
    assert_no_query_parameter_gives_a_5xx(app, client, part)


@ROUTE_PARTS
def test_no_query_parameter_on_any_get_route_of_an_open_letter_gives_a_5xx(part, make_app, smtp):
    """The open letter's own GET routes (/letter, /letter.pdf, its grouped /signers) too."""
    app = make_app(CAMPAIGN_FILE=str(OPEN_LETTER))
    client = app.test_client()
    add_organizer(app)
    assert log_in(client).status_code == 303, "organizer pages are fuzzed logged in"
    signature_id = sign_and_confirm_as(client, app, smtp, INDIVIDUAL)
    assert review(client, signature_id, "approve").status_code == 303
    assert {"org_after", "ind_after"} <= set(query_parameters())
    assert {"/letter", "/letter.pdf"} <= set(get_routes(app, signature_id))
    # Built, as the background builder does within seconds: until then /letter.pdf answers 503
    # "being prepared" (Retry-After) whatever the query, which is not what is fuzzed here.
    assert build_pdfs(app) == 2
    assert_no_query_parameter_gives_a_5xx(app, client, part)


@ROUTE_PARTS
def test_no_query_parameter_on_any_get_route_of_a_letter_campaign_gives_a_5xx(
    part, make_app, represent, smtp
):
    """The letter's own GET routes (/write and its postal code) too, with Represent answering."""
    represent.add("K1A0B1")
    app = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN), REPRESENT_URL=represent.url, REPRESENT_TIMEOUT=0.5)
    client = app.test_client()
    add_organizer(app)
    assert log_in(client).status_code == 303, "organizer pages are fuzzed logged in"
    assert write_letter(client, email="fuzzy@example.ca").status_code == 303
    assert "/write" in get_routes(app, 1)
    assert_no_query_parameter_gives_a_5xx(app, client, part)


def assert_no_query_parameter_gives_a_5xx(app, client, part: int) -> None:
    """Fuzz this part's share of the GET routes: every PARTS-th one from `part` on."""
    with app.app_context():
        signature_id = db.session.scalar(select(Signature.id))
    routes, names = get_routes(app, signature_id)[part::PARTS], query_parameters()
    assert "postal_code" in names

    def get(url):
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        response.get_data()  # a streamed body must not fail half-way either

    # Every known edge value in every parameter, one at a time, so no other parameter's error hides
    # it, at each route's root address; its /<slug>/ twin, the same view, is in the random draws.
    slug = home_campaign(app).slug
    twins = (f"/{slug}/", f"/admin/{slug}/")
    for route in [route for route in routes if not route.startswith(twins)]:
        for name in names:
            for value in EDGE_VALUES:
                get(f"{route}?{urlencode({name: value})}")

    @settings(
        max_examples=EXAMPLES * 3 // PARTS,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        route=st.sampled_from(routes),
        parameters=st.fixed_dictionaries({}, optional=dict.fromkeys(names, query_values)),
        extra=st.dictionaries(anything, query_values, max_size=2),
        raw=st.sampled_from(["", "", "&%FF=%FF", "&page=%C2%B2", "&lang=%00", "&&=&"]),
    )
    def get_anything(route, parameters, extra, raw):
        get(f"{route}?{urlencode({**extra, **parameters})}{raw}")
        assert_no_half_written_rows(app)

    get_anything()


def test_letter_form_never_fails_and_writes_only_to_whom_the_postal_code_finds(make_app):
    app = make_app(CAMPAIGN_FILE=str(LETTER_CAMPAIGN))
    client = app.test_client()
    token = csrf_token(client, "/write?postal_code=K1A+0B1")
    targets = st.lists(
        mostly(st.sampled_from(["mayor", "ward-1", "ward-2", "ward-4", "mayor@example.org", "rep:0", ""])),
        max_size=8,
    )

    # One valid letter always runs (random forms are valid only now and then), so the success
    # path is fuzzed in every run.
    valid = {"name": "Ana Tremblay", "email": "ana@example.ca", "postal_code": "K1A 0B1"}

    @FUZZ
    @example(form={**valid, "targets": ["mayor"], "subject": "Objet", "message": "Ma lettre.", "offered": ""})
    @given(
        form=st.fixed_dictionaries(
            {
                "name": names,
                "email": valid_emails,
                "postal_code": mostly(st.sampled_from(["K1A 0B1", "k1a0b1", "K2P 1L4", "K1J 1A1", "90210"])),
                "targets": targets,
                "subject": mostly(st.just("Objet"), anything),
                "message": mostly(st.just("Ma lettre."), anything),
                "offered": st.sampled_from(["", "x", "eyJjb2RlIjoiSzFBMEIxIn0.AAAA.AAAA"]),
            }
        )
    )
    def write_anything(form):
        response = client.post("/sign", data={**form, "country": "CA", "csrf_token": token})
        assert response.status_code in (303, 413, 422), response.status_code
        assert_no_half_written_rows(app)

    write_anything()
    with app.app_context():
        campaign_targets = current_campaign().settings.targets
        writers = db.session.execute(select(Signature, WrittenLetter).join(WrittenLetter)).all()
        assert writers, "some examples were valid letters, so the success path was fuzzed too"
        for writer, written in writers:
            found = {target.id for target in campaign_targets.matching(writer.postal_code) if target.email}
            letters = db.session.scalars(
                select(Letter.target_id).where(Letter.signature_id == writer.id)
            ).all()
            assert letters and set(letters) <= found and sorted(letters) == sorted(written.targets.split())
            assert 0 < len(written.subject) <= 200 and 0 < len(written.message) <= 5000


def test_two_campaigns_signed_in_any_order_keep_their_rows_counts_and_links_apart(app, smtp):
    """A petition and an open letter in one deployment, signed by a few people in any order,
    each confirming or not: every row, count and emailed link stays with its own campaign."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["campaign", "import", str(OPEN_LETTER), "--slug", "letter-two"]).exit_code == 0
    client = app.test_client()
    slugs = {"petition": home_campaign(app).slug, "letter": "letter-two"}
    tokens = {kind: csrf_token(client, f"/{slug}/") for kind, slug in slugs.items()}

    @settings(FUZZ, max_examples=40)
    @given(
        steps=st.lists(
            st.tuples(st.sampled_from(["petition", "letter"]), st.integers(0, 3), st.booleans()),
            min_size=1,
            max_size=5,
        )
    )
    def sign_both_at_random(steps):
        for kind, person, confirms in steps:
            email = f"person{person}@example.ca"
            fields = {"name": f"Person {person}", "email": email, "postal_code": "K1A 0B1", "country": "CA"}
            if kind == "letter":
                fields = {**INDIVIDUAL, **fields}
            slug = slugs[kind]
            response = client.post(f"/{slug}/sign", data={**fields, "csrf_token": tokens[kind]})
            assert response.status_code == 303
            if confirms:
                deliver(app)
                mailed = [m for m in smtp.messages if m["To"] == email and f"/{slug}/confirm/" in str(m)]
                if mailed:  # its newest link (older ones may be dropped, or confirmed already)
                    link = link_in(mailed[-1], f"/{slug}/confirm/")
                    pressed = client.post(link, data={"csrf_token": tokens[kind]})
                    assert pressed.status_code in (303, 404), pressed.status_code
        with app.app_context():
            registry = campaigns.registry()
            for slug in slugs.values():
                campaign = registry.by_slug[slug]
                with campaign_scope(campaign):
                    counted = db.session.scalar(
                        select(func.count())
                        .select_from(Signature)
                        .where(kind_for(campaign).counted(campaign.id))
                    )
                    count_cache(campaign).forget()
                assert client.get(f"/{slug}/api/count").get_json()["count"] == counted, slug
            addresses = db.session.execute(select(Signature.campaign_id, Signature.email)).all()
        assert len(addresses) == len(set(addresses)), "one signature per address and campaign"
        for message in smtp.messages:
            text = str(message)
            assert not ("/letter-two/confirm/" in text and f"/{slugs['petition']}/confirm/" in text)
        assert_no_half_written_rows(app, confirmed_over_submissions=True)

    sign_both_at_random()
