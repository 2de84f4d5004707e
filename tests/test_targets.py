"""Targets: the campaign's CSV (its errors name the line), matching by postal code prefix, and
the Represent look-up against a local fake server that answers, fails and stalls."""

import logging
import threading
import time

import pytest

import represent_fake as fake
from app.campaign import CampaignError
from app.config import ConfigError, load_config
from app.targets import (
    AnswerCache,
    RepresentClient,
    RepresentUnavailable,
    TargetList,
    find_targets,
    load_targets,
    normalise_postal_code,
    represent_client,
)

HEADER = "id,name,role,email,area,postal_prefixes\n"
COUNCIL = (
    HEADER
    + "mayor,Rosa Lindqvist,Mayor,Mayor@Riverbend.example.org,Riverbend,*\n"
    + "ward-1,Omar Haddad,Councillor,ward1@riverbend.example.org,Ward 1 - Old Mill,K1A K1B\n"
    + "ward-2,Jeanne Tremblay,Councillor,,Ward 2 - Harbour,K2P0\n"
)
TIMEOUT = 0.5


class Clock:
    """Time the test moves forward by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(tmp_path, text: str, name: str = "targets.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def council(tmp_path) -> TargetList:
    return load_targets(write(tmp_path, COUNCIL))


def client(represent, **options) -> RepresentClient:
    return RepresentClient(represent.url, timeout=TIMEOUT, **options)


def ward_answer(represent, code: str = "K1A0B1") -> None:
    """Represent's answer for a code in Riverbend's ward 3: its councillor and the MP."""
    represent.add(
        code,
        concordance=[
            fake.representative(
                "Priya Raman", "Councillor", "Ward 3", "Riverbend City Council", "Priya.Raman@example.org"
            ),
        ],
        centroid=[
            fake.representative(
                "Louis Gagnon", "MP", "Riverbend-Centre", "House of Commons", "louis@example.org"
            ),
            fake.representative("Ada Okafor", "Mayor", "Riverbend", "Riverbend City Council"),  # no email
        ],
    )


def timed(function, *args):
    started = time.monotonic()
    try:
        return function(*args), time.monotonic() - started
    except RepresentUnavailable as error:
        return error, time.monotonic() - started


# --- the CSV ---------------------------------------------------------------------------------


def test_loads_targets_in_file_order_with_normalised_addresses(tmp_path):
    targets = council(tmp_path)

    assert [target.id for target in targets] == ["mayor", "ward-1", "ward-2"]
    mayor, ward_1, ward_2 = targets
    assert (mayor.name, mayor.role, mayor.area, mayor.source) == (
        "Rosa Lindqvist",
        "Mayor",
        "Riverbend",
        "csv",
    )
    assert mayor.email == "mayor@riverbend.example.org"
    assert ward_1.prefixes == ("K1A", "K1B")
    assert ward_2.email == ""  # kept: the page offers the letter to copy


def test_tolerates_a_byte_order_mark_blank_lines_and_spaces_around_cells(tmp_path):
    text = "\ufeff" + HEADER + "\n mayor , Rosa Lindqvist ,Mayor, ,Riverbend, * \n\n"

    (mayor,) = load_targets(write(tmp_path, text))

    assert (mayor.id, mayor.name, mayor.email, mayor.prefixes) == ("mayor", "Rosa Lindqvist", "", ("*",))


def test_a_header_only_file_has_no_targets(tmp_path):
    assert len(load_targets(write(tmp_path, HEADER))) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,name,role,email,area\n", "line 1: the header must be id,name,role,email,area,postal_prefixes"),
        ("name,id,role,email,area,postal_prefixes\n", "line 1: the header must be"),
        (HEADER + "a,Ana,Mayor,,Town,*\nb,Bo,Mayor,,Town\n", "line 3: 5 fields; each line needs 6"),
        (HEADER + "a,,Mayor,,Town,*\n", "line 2: name is empty"),
        (HEADER + ",Ana,Mayor,,Town,*\n", "line 2: id is empty"),
        (HEADER + "a b,Ana,Mayor,,Town,*\n", "line 2: id 'a b' may hold only"),
        (HEADER + '"<b>",Ana,Mayor,,Town,*\n', "line 2: id '<b>' may hold only"),
        (HEADER + "x" * 65 + ",Ana,Mayor,,Town,*\n", "at most 64"),
        (HEADER + "rep:1,Ana,Mayor,,Town,*\n", "line 2: id 'rep:1' starts with 'rep:'"),
        (
            HEADER + "a,Ana,Mayor,,Town,*\nb,Bo,Clerk,,Town,*\na,Cy,Clerk,,Town,*\n",
            "line 4: id 'a' is already on line 2",
        ),
        (
            HEADER + "a,Ana,Mayor,not-an-address,Town,*\n",
            "line 2: email 'not-an-address' is not a valid address",
        ),
        (
            HEADER + "a,Ana,Mayor,ana@example.org,Town,*\nb,Bo,Clerk,ANA@example.org,Town,*\n",
            "line 3: email 'ana@example.org' is already on line 2",
        ),
        (HEADER + "a,Ana,Mayor,,Town,\n", "line 2: postal_prefixes is empty"),
        (HEADER + "a,Ana,Mayor,,Town,k1a\n", "line 2: postal_prefixes has 'k1a'"),
        (HEADER + "a,Ana,Mayor,,Town,K1A0B1X\n", "line 2: postal_prefixes has 'K1A0B1X'"),
        (HEADER + "a,Ana,Mayor,,Town,K1A-\n", "line 2: postal_prefixes has 'K1A-'"),
        (HEADER + "a,Ana,Mayor,,Town,K1A ** \n", "line 2: postal_prefixes has '**'"),
        (HEADER + "a,Ana\tB,Mayor,,Town,*\n", "line 2: name must fit on one line"),
        (HEADER + 'a,Ana,Mayor,,"Town\nCentre",*\n', "line 2: area must fit on one line"),
        (
            HEADER + "a,Ana,Mayor,,Town,*\nb,Bo,Clerk,,Town,*\nc,Cy," + "r" * 201 + ",,Town,*\n",
            "line 4: role has 201 characters",
        ),
        (HEADER + 'a,"Ana,Mayor,,Town,*\n', "line 2: not valid CSV"),
        ("", "empty; the first line must be id,name,role,email,area,postal_prefixes"),
    ],
)
def test_refuses_a_bad_file_naming_the_file_the_line_and_the_field(tmp_path, text, expected):
    path = write(tmp_path, text)

    with pytest.raises(CampaignError) as error:
        load_targets(path)

    assert str(error.value).startswith(f"{path}: ")
    assert expected in str(error.value)


def test_refuses_a_file_that_is_not_utf8_naming_the_line(tmp_path):
    path = write(tmp_path, HEADER + "a,Ana,Mayor,,Town,*\nb,Hélène,Clerk,,Town,*\n", encoding="latin-1")

    with pytest.raises(CampaignError, match="line 3: not UTF-8"):
        load_targets(path)


def test_refuses_a_missing_file(tmp_path):
    with pytest.raises(CampaignError, match="no such targets file"):
        load_targets(tmp_path / "missing.csv")


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["K1A 0B1", "k1a0b1", " k1A 0b1 ", "K1A\t0B1"])
def test_a_prefix_matches_the_postal_code_however_it_is_written(tmp_path, written):
    assert [target.id for target in council(tmp_path).matching(written)] == ["mayor", "ward-1"]


def test_a_star_matches_every_postal_code_and_the_order_is_the_files(tmp_path):
    targets = council(tmp_path)

    assert [target.id for target in targets.matching("K2P 0A4")] == ["mayor", "ward-2"]
    assert [target.id for target in targets.matching("K2Q 0A4")] == ["mayor"]  # K2P0 is not K2Q
    assert [target.id for target in targets.matching("H2X 1Y4")] == ["mayor"]
    assert [target.id for target in targets.matching("")] == ["mayor"]


def test_a_prefix_longer_than_the_code_written_does_not_match(tmp_path):
    assert [target.id for target in council(tmp_path).matching("K2P")] == ["mayor"]


def test_normalise_postal_code_drops_spaces_and_capitalises():
    assert normalise_postal_code(" h2x  1y4\n") == "H2X1Y4"


# --- Represent: answers ---------------------------------------------------------------------------


def test_lookup_maps_representatives_concordance_first(represent):
    ward_answer(represent)

    targets = client(represent).lookup("k1a 0b1")

    assert represent.requests == ["/postcodes/K1A0B1/"]
    assert [(t.name, t.role, t.area, t.email) for t in targets] == [
        ("Priya Raman", "Councillor", "Ward 3", "priya.raman@example.org"),
        ("Louis Gagnon", "MP", "Riverbend-Centre", "louis@example.org"),
        ("Ada Okafor", "Mayor", "Riverbend", ""),
    ]
    assert all(t.source == "represent" and t.id.startswith("rep:") for t in targets)


def test_the_same_answer_gives_the_same_ids_in_another_process(represent):
    ward_answer(represent)

    first = [target.id for target in client(represent).lookup("K1A0B1")]
    second = [target.id for target in client(represent).lookup("K1A 0B1")]  # a new client, a new cache

    assert first == second
    assert len(set(first)) == 3
    assert len(represent.requests) == 2


def test_levels_keep_the_offices_or_sets_the_campaign_writes_to(represent):
    ward_answer(represent)

    by_office = client(represent, levels=["mayor", "Councillor"]).lookup("K1A0B1")
    by_set = client(represent, levels=["House of Commons"]).lookup("K1A0B1")

    assert [target.name for target in by_office] == ["Priya Raman", "Ada Okafor"]
    assert [target.name for target in by_set] == ["Louis Gagnon"]


def test_text_from_the_api_is_one_line_and_bad_addresses_are_dropped(represent):
    represent.add(
        "K1A0B1",
        concordance=[
            fake.representative(
                "Eve\r\nBcc: all@example.org", "Councillor", "Ward\t4", "Council", "eve@@example"
            ),
            fake.representative("", "Councillor", "Ward 5", "Council", "nameless@example.org"),
            {"name": 42},
            "not a person",
        ],
    )

    (eve,) = client(represent).lookup("K1A0B1")

    assert (eve.name, eve.area, eve.email) == ("Eve Bcc: all@example.org", "Ward 4", "")


def test_an_api_under_a_path_is_asked_under_that_path(represent):
    ward_answer(represent)

    RepresentClient(represent.url + "/represent/", timeout=TIMEOUT).lookup("K1A0B1")

    assert represent.requests == ["/represent/postcodes/K1A0B1/"]


def test_a_code_that_is_not_canadian_is_not_looked_up(represent):
    assert client(represent).lookup("90210") == []
    assert client(represent).lookup("K1A") == []
    assert represent.requests == []


def test_an_unknown_postal_code_finds_no_one_and_is_remembered(represent):
    represent_client = client(represent)

    assert represent_client.lookup("K1A0B1") == []
    assert represent_client.lookup("K1A0B1") == []
    assert len(represent.requests) == 1


# --- Represent: the cache -----------------------------------------------------------------------------


def test_the_cache_answers_the_second_time_without_a_request(represent):
    ward_answer(represent)
    represent_client = client(represent)

    first = represent_client.lookup("K1A 0B1")
    second = represent_client.lookup("k1a0b1")

    assert first == second
    assert len(represent.requests) == 1


def test_an_answer_is_asked_again_once_it_is_a_day_old(represent):
    ward_answer(represent)
    clock = Clock()
    represent_client = client(represent, cache=AnswerCache(clock=clock))

    represent_client.lookup("K1A0B1")
    clock.now += 23 * 3600
    represent_client.lookup("K1A0B1")
    clock.now += 2 * 3600
    represent_client.lookup("K1A0B1")

    assert len(represent.requests) == 2


def test_the_cache_keeps_a_bounded_number_of_codes(represent):
    for code in ("K1A0B1", "K1A0B2", "K1A0B3"):
        ward_answer(represent, code)
    represent_client = client(represent, cache=AnswerCache(size=2))

    for code in ("K1A0B1", "K1A0B2", "K1A0B3", "K1A0B3", "K1A0B1"):
        represent_client.lookup(code)

    assert represent.requests == [f"/postcodes/{code}/" for code in ("K1A0B1", "K1A0B2", "K1A0B3", "K1A0B1")]


# --- Represent: failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [fake.ERROR, fake.UNAVAILABLE, fake.BAD_JSON])
def test_a_failing_api_leaves_the_campaigns_own_targets(tmp_path, represent, behaviour):
    ward_answer(represent)
    represent.behaviour = behaviour
    represent_client = client(represent)

    with pytest.raises(RepresentUnavailable):
        represent_client.lookup("K1A0B1")
    found = find_targets("K1A 0B1", council(tmp_path), client(represent))

    assert [target.id for target in found] == ["mayor", "ward-1"]


@pytest.mark.parametrize("behaviour", [fake.STALL, fake.TRICKLE, fake.TRICKLE_HEADERS])
def test_a_stalling_api_is_given_up_within_the_timeout(tmp_path, represent, behaviour):
    ward_answer(represent)
    represent.behaviour = behaviour

    error, elapsed = timed(client(represent).lookup, "K1A0B1")
    found, elapsed_with_csv = timed(find_targets, "K1A0B1", council(tmp_path), client(represent))

    assert isinstance(error, RepresentUnavailable)
    assert [target.id for target in found] == ["mayor", "ward-1"]
    assert elapsed < 3 * TIMEOUT  # generous: a busy machine is slow, yet far below the stall
    assert elapsed_with_csv < 3 * TIMEOUT
    assert len(represent.requests) == 2  # each really asked, then gave up


def test_a_given_up_request_does_not_leave_a_thread_behind(represent):
    ward_answer(represent)
    represent.behaviour = fake.TRICKLE

    with pytest.raises(RepresentUnavailable):
        client(represent).lookup("K1A0B1")

    deadline = time.monotonic() + 5
    while any(thread.name == "represent" for thread in threading.enumerate()):
        assert time.monotonic() < deadline, "the look-up's thread still talks to the stalled server"
        time.sleep(0.01)


def test_an_api_that_is_down_is_not_asked_again_for_a_while(represent):
    ward_answer(represent)
    ward_answer(represent, "K2P0A4")
    clock = Clock()
    represent_client = client(represent, cache=AnswerCache(clock=clock), retry_after=30)
    represent.behaviour = fake.STALL

    with pytest.raises(RepresentUnavailable):
        represent_client.lookup("K1A0B1")
    represent.behaviour = fake.ANSWER
    _, elapsed = timed(represent_client.lookup, "K2P0A4")  # another signer, moments later
    assert elapsed < TIMEOUT
    assert len(represent.requests) == 1

    clock.now += 20
    with pytest.raises(RepresentUnavailable):  # still resting: asking does not prolong the rest
        represent_client.lookup("K2P0A4")
    clock.now += 11
    assert [target.name for target in represent_client.lookup("K2P0A4")][0] == "Priya Raman"
    assert len(represent.requests) == 2


def test_an_old_answer_stands_in_while_the_api_is_down(represent):
    ward_answer(represent)
    clock = Clock()
    represent_client = client(represent, cache=AnswerCache(clock=clock))
    before = represent_client.lookup("K1A0B1")

    clock.now += 2 * 24 * 3600
    represent.behaviour = fake.ERROR

    assert represent_client.lookup("K1A0B1") == before
    assert len(represent.requests) == 2


def test_a_server_that_is_not_there_fails_fast(tmp_path, represent_server):
    server = fake.RepresentFake().start()
    url = server.url
    server.stop()  # nothing listens on that port any more

    found, elapsed = timed(find_targets, "K1A0B1", council(tmp_path), RepresentClient(url, timeout=TIMEOUT))

    assert [target.id for target in found] == ["mayor", "ward-1"]
    assert elapsed < 3 * TIMEOUT


def test_a_failure_is_logged_without_the_postal_code(represent, caplog):
    represent.behaviour = fake.ERROR

    with caplog.at_level(logging.WARNING), pytest.raises(RepresentUnavailable):
        client(represent).lookup("K1A 0B1")

    assert "Represent look-up failed (HTTP status 500)" in caplog.text
    assert "K1A" not in caplog.text and "0B1" not in caplog.text


# --- find_targets -----------------------------------------------------------------------------------------


def test_find_targets_adds_representatives_not_already_in_the_csv(tmp_path, represent):
    represent.add(
        "K1A0B1",
        concordance=[
            fake.representative(
                "Omar Haddad", "Councillor", "Ward 1", "Riverbend City Council", "WARD1@riverbend.example.org"
            ),  # the CSV's ward-1, by address
            fake.representative("Priya Raman", "Councillor", "Ward 3", "Riverbend City Council"),
        ],
    )

    found = find_targets("K1A 0B1", council(tmp_path), client(represent))

    assert [(target.name, target.source) for target in found] == [
        ("Rosa Lindqvist", "csv"),
        ("Omar Haddad", "csv"),
        ("Priya Raman", "represent"),
    ]


def test_find_targets_without_represent_is_the_csv_alone(tmp_path):
    assert [target.id for target in find_targets("K1B 2C3", council(tmp_path), None)] == ["mayor", "ward-1"]


def test_find_targets_without_a_csv_is_represent_alone(represent):
    ward_answer(represent)

    found = find_targets("K1A 0B1", None, client(represent, levels=["Mayor"]))

    assert [(target.name, target.email) for target in found] == [("Ada Okafor", "")]


# --- configuration --------------------------------------------------------------------------------------


def test_represent_client_comes_from_the_configuration(represent):
    assert represent_client({"REPRESENT_URL": ""}, ["Mayor"]) is None
    made = represent_client({"REPRESENT_URL": represent.url, "REPRESENT_TIMEOUT": 0.7}, ["Mayor"])
    assert (made.timeout, made.levels) == (0.7, frozenset({"mayor"}))
    with pytest.raises(ValueError, match="REPRESENT_URL"):
        represent_client({"REPRESENT_URL": "represent.opennorth.ca"}, [])


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "600"])
def test_represent_timeout_must_be_a_short_number_of_seconds(monkeypatch, tmp_path, value):
    monkeypatch.setenv("REPRESENT_TIMEOUT", value)

    with pytest.raises(ConfigError, match="REPRESENT_TIMEOUT"):
        load_config(str(tmp_path))


def test_represent_settings_default_to_off_and_one_and_a_half_seconds(monkeypatch, tmp_path):
    monkeypatch.delenv("REPRESENT_URL", raising=False)
    monkeypatch.delenv("REPRESENT_TIMEOUT", raising=False)

    config = load_config(str(tmp_path))

    assert (config["REPRESENT_URL"], config["REPRESENT_TIMEOUT"]) == ("", 1.5)


def test_codes_no_request_can_carry_are_never_sent_nor_counted_as_an_outage(represent):
    """Arabic-Indic digits once passed the pattern, broke the request line, and switched
    Represent off for 30 s: twenty-four of them turned it off for every worker."""
    ward_answer(represent)
    represent_client = client(represent)
    for number in range(24):
        assert represent_client.lookup(f"K1A ٠B{number % 10}") == []
        assert represent_client.lookup(f"Ｋ１Ａ０Ｂ{number % 10}") == []
    assert represent.requests == []
    assert "Priya Raman" in [target.name for target in represent_client.lookup("K1A 0B1")], "still on"
