"""The CSV export: the contract's columns and filters, safe cells, streaming, CLI = web, audit."""

import csv
import io
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from app.export import COLUMNS, csv_line
from app.extensions import db
from app.models import AuditEvent, Signature, utcnow
from helpers import ORGANIZER_EMAIL, LockHolder, add_organizer, ago, log_in, make_signature, signature_values

HEADER = "id,name,email,postal_code,country,comment,public,updates,language,source,signed_at,confirmed_at"


def rows_of(response_or_text) -> list[dict]:
    text = response_or_text if isinstance(response_or_text, str) else response_or_text.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def test_export_has_the_contracts_header_type_and_a_server_chosen_filename(app, admin_client):
    signed_at, confirmed_at = ago(days=3), ago(days=3, minutes=-5)
    make_signature(app, signed_at=signed_at, confirmed_at=confirmed_at)
    response = admin_client.get("/admin/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="signatures-confirmed-') and disposition.endswith(
        '.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.split("\r\n")[0] == HEADER
    assert ",".join(COLUMNS) == HEADER
    [row] = rows_of(text)
    assert row["signed_at"] == signed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["confirmed_at"] == confirmed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["public"] == "false" and row["updates"] == "false"


def test_status_filter_defaults_to_confirmed(app, admin_client):
    make_signature(app, number=1)
    make_signature(app, number=2, confirmed_at=None)
    emails = lambda query: [r["email"] for r in rows_of(admin_client.get(f"/admin/export.csv{query}"))]  # noqa: E731
    assert emails("") == ["signer1@example.ca"]
    assert emails("?status=unconfirmed") == ["signer2@example.ca"]
    assert emails("?status=all") == ["signer1@example.ca", "signer2@example.ca"]


def test_since_until_and_updates_filters(app, admin_client):
    first = utcnow().date() - timedelta(days=10)
    day = lambda n: datetime.combine(first + timedelta(days=n - 1), time(23, 30), UTC)  # noqa: E731
    make_signature(app, number=1, signed_at=day(1))
    make_signature(app, number=2, signed_at=day(2), updates=True)
    make_signature(app, number=3, signed_at=day(3), updates=True)
    names = lambda query: [r["name"] for r in rows_of(admin_client.get(f"/admin/export.csv{query}"))]  # noqa: E731
    second = day(2).date().isoformat()
    assert names(f"?since={second}") == ["Signer 2", "Signer 3"]
    assert names(f"?until={second}") == ["Signer 1", "Signer 2"], "until includes its whole day"
    assert names(f"?since={second}&until={second}") == ["Signer 2"]
    assert names("?updates=1") == ["Signer 2", "Signer 3"]


@pytest.mark.parametrize(
    "query, message",
    [
        ("?status=everyone", "status must be confirmed, unconfirmed or all"),
        ("?since=yesterday", "since must be a date like 2026-01-31"),
        ("?until=2026-13-01", "until must be a date like 2026-01-31"),
        ("?since=2026-11-05&until=2026-11-01", "since must not be after until"),
        ("?updates=yes", "updates must be 1 or 0"),
        ("?until=9999-12-31", "until must be a date before 9999-12-31"),
    ],
)
def test_bad_filters_get_a_400_saying_what_is_wrong(app, admin_client, query, message):
    response = admin_client.get(f"/admin/export.csv{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert audit_rows(app) == [], "a refused export is not recorded as one"


def audit_rows(app) -> list[tuple[str, str, int | None]]:
    with app.app_context():
        return [(event.action, event.details, event.rows) for event in db.session.scalars(select(AuditEvent))]


def test_an_export_that_cannot_run_fails_before_it_starts_with_a_page_and_no_audit_row(
    make_app, database_url
):
    app = make_app(DATABASE_LOCK_TIMEOUT_MS=100)
    make_signature(app)
    add_organizer(app)
    client = app.test_client()
    assert log_in(client).status_code == 303
    with LockHolder(database_url):
        response = client.get("/admin/export.csv")
        assert response.status_code == 503, "a clean error page, never a truncated CSV"
        assert "text/html" in response.headers["Content-Type"]
    assert audit_rows(app) == []
    complete = client.get("/admin/export.csv")
    assert complete.status_code == 200 and len(rows_of(complete)) == 1
    assert audit_rows(app) == [("export", "status=confirmed", 1)]


def test_excel_flag_adds_a_utf8_bom(app, admin_client):
    make_signature(app, name="Zoé")
    plain = admin_client.get("/admin/export.csv").data
    excel = admin_client.get("/admin/export.csv?excel=1").data
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel == b"\xef\xbb\xbf" + plain


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"])
def test_cells_that_spreadsheets_would_run_as_formulas_are_neutralised(app, admin_client, dangerous):
    make_signature(app, name=dangerous, comment=dangerous, source="x")
    [row] = rows_of(admin_client.get("/admin/export.csv"))
    assert row["name"] == "'" + dangerous
    assert row["comment"] == "'" + dangerous


def test_a_text_column_the_contract_does_not_list_is_quoted_and_guarded_by_default(app):
    # A kind's extra column gets its cell from its type: text unless it is a flag, a time or a number.
    make_signature(app, email_domain='=cmd|" /C calc",x')
    with app.app_context():
        cell = db.session.scalar(select(csv_line(("email_domain",))))
    assert cell == '"\'=cmd|"" /C calc"",x"'


def test_commas_quotes_newlines_accents_and_cjk_round_trip_through_the_csv_module(app, admin_client):
    tricky = {
        "name": 'Zoë "Zed", O\'Brien',
        "comment": 'line one,\nline "two"\r\nthree — ça va? 北京 😀',
        "postal_code": "H2X 1Y4",
        "source": "news,letter",
    }
    make_signature(app, **tricky)
    [row] = rows_of(admin_client.get("/admin/export.csv"))
    for key, value in tricky.items():
        assert row[key] == value


def test_cli_export_writes_the_same_bytes_as_the_web_export(app, runner, admin_client, tmp_path):
    make_signature(app, number=1, name='Zoë, "quoted"', updates=True)
    make_signature(app, number=2, confirmed_at=None, comment="=1+1")
    for query, options in [
        ("", []),
        ("?status=all&excel=1", ["--status", "all", "--excel"]),
        (
            "?updates=1&since=2026-10-01&until=2026-12-01",
            ["--updates", "--since", "2026-10-01", "--until", "2026-12-01"],
        ),
    ]:
        path = tmp_path / "export.csv"
        result = runner.invoke(args=["signatures", "export", str(path), *options])
        assert result.exit_code == 0, result.output
        assert path.read_bytes() == admin_client.get(f"/admin/export.csv{query}").data


def test_cli_export_rejects_bad_dates(runner, tmp_path):
    result = runner.invoke(args=["signatures", "export", str(tmp_path / "x.csv"), "--since", "soon"])
    assert result.exit_code != 0
    assert "since must be a date" in result.output


def test_every_export_is_audited_with_who_filters_and_rows(app, admin_client, runner, tmp_path):
    for number in range(3):
        make_signature(app, number)
    admin_client.get("/admin/export.csv?updates=0&excel=1").get_data()
    runner.invoke(args=["signatures", "export", str(tmp_path / "out.csv"), "--status", "all"])
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert (
        f'<td>{ORGANIZER_EMAIL}</td><td>export: status=confirmed excel=1</td><td class="num">3</td>' in page
    )
    assert '<td>command line</td><td>export: status=all</td><td class="num">3</td>' in page


def test_export_streams_in_batches(app, admin_client):
    with app.app_context():
        db.session.execute(
            Signature.__table__.insert(),
            [signature_values(number, signed_at=utcnow(), confirmed_at=utcnow()) for number in range(4500)],
        )
        db.session.commit()
    response = admin_client.get("/admin/export.csv", buffered=False)
    chunks = list(response.response)
    assert len(chunks) >= 3, "rows arrive batch by batch, not as one body"
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == 4501


def test_purge_unconfirmed_deletes_only_old_pending_signatures_and_is_audited(app, runner, admin_client):
    old = utcnow() - timedelta(days=40)
    make_signature(app, number=1, confirmed_at=None, signed_at=old)
    make_signature(app, number=2, confirmed_at=None)
    make_signature(app, number=3, signed_at=old)
    result = runner.invoke(args=["signatures", "purge-unconfirmed", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 unconfirmed signature older than 30 days." in result.output
    with app.app_context():
        emails = sorted(db.session.scalars(db.select(Signature.email)))
    assert emails == ["signer2@example.ca", "signer3@example.ca"]
    assert "purge: unconfirmed for more than 30 days" in admin_client.get("/admin/").get_data(as_text=True)
    assert runner.invoke(args=["signatures", "purge-unconfirmed"]).exit_code != 0


def test_hiding_or_stopping_updates_leaves_the_count_alone(app, admin_client):
    make_signature(app, public=True)
    with app.app_context():
        db.session.execute(update(Signature).values(updates=True))
        db.session.commit()
    [row] = rows_of(admin_client.get("/admin/export.csv?updates=1"))
    assert row["updates"] == "true"
