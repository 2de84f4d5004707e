"""The personal-data marks on the model's columns: each column says, and anonymisation, erasure
and the export follow what it says, for the columns of tomorrow too."""

import datetime as dt

import pytest
from sqlalchemy import JSON, Boolean, String, insert, select

from app import signatures
from app.campaign import current_campaign
from app.clock import today
from app.export import COLUMNS, csv_line
from app.extensions import db
from app.kinds import NAMES, kind_named
from app.manage import SELF_SERVICE
from app.models import ConsentWording, Personal, Signature, UTCDateTime
from app.personal import personal_columns, personal_rows, signer_tables, written_over_beside
from helpers import ago, change_campaign, signature_values

# Columns of these types may hold what a signer typed or chose: each must say whether it does.
CLASSIFIED_TYPES = (String, JSON, Boolean)
# A signature's column once anonymised, by its mark, from the row as it was.
ANONYMISED = {
    Personal.BLANK: lambda row, name: "",
    Personal.UNSET: lambda row, name: None,
    Personal.WITHDRAWN: lambda row, name: False,
    Personal.UNDELIVERABLE: lambda row, name: f"anonymised-{row['id']}@invalid",
    Personal.PROVINCE: lambda row, name: row[name][:1].upper() if row["country"] == "CA" else "",
}
WORDING = "test-wording"


def test_every_text_and_flag_column_of_the_signer_tables_says_whether_it_is_personal(app):
    """(`app`: the kinds, and their tables, are loaded.)"""
    tables = signer_tables()
    names = {"signatures", "submissions", "letters", "outbox", "resend_requests"}
    assert names | {"open_letter_signatories", "written_letters"} <= {t.name for t in tables}
    unclassified = [
        f"{table.name}.{column.name}"
        for table in tables
        for column in table.columns
        if isinstance(column.type, CLASSIFIED_TYPES) and "personal" not in column.info
    ]
    assert unclassified == [], 'mark each: info={"personal": Personal.<how it is anonymised>} or False'
    marks = [column.info.get("personal") for table in tables for column in table.columns]
    assert all(mark in (None, False) or isinstance(mark, Personal) for mark in marks)


def test_a_signature_is_anonymised_in_place_and_the_rest_of_its_personal_data_goes_with_it(app):
    """(`app`: the kinds, and their tables, are loaded.)"""
    signatures_table = Signature.__table__
    assert {column.info["personal"] for column in personal_columns(signatures_table)} <= ANONYMISED.keys()
    # Every other table with a signer's personal data holds it in rows that go with their
    # signature: anonymisation deletes them, and deleting the signature (erasure) cascades.
    # A kind's own table of answers is anonymised in place, as `signatures` is, by its marks.
    owned = {column.table.name for column in personal_rows()}
    beside = {column.table.name for column in written_over_beside()}
    assert {"open_letter_signatories", "written_letters"} <= beside
    for table in signer_tables():
        if table is signatures_table or not personal_columns(table):
            continue
        marks = {column.info["personal"] for column in personal_columns(table)}
        if table.name in beside:
            assert marks <= {Personal.BLANK, Personal.UNSET, Personal.WITHDRAWN}, table.name
        else:
            assert marks == {Personal.ROW}, table.name
            if table.name == "resend_requests":  # no signature: answered, then deleted, seconds later
                continue
            assert table.name in owned
        [key] = [key for key in table.foreign_keys if key.column.table is signatures_table]
        assert key.ondelete == "CASCADE", table.name


def _sample(column, number: int):
    """A value no default would give, fit for the column."""
    if column.foreign_keys:
        [key] = column.foreign_keys
        if key.target_fullname == "campaigns.id":  # the campaign in scope (the app's one)
            return current_campaign().id
        assert key.target_fullname == "consent_wordings.version", f"sample {column} in this test"
        return WORDING
    if isinstance(column.type, Boolean):
        return True
    if isinstance(column.type, UTCDateTime):
        return ago(minutes=5)
    if isinstance(column.type, JSON):
        return {"name": f"s{number} {column.name}"}
    return f"s{number} {column.name}"[: column.type.length]


def _filled(table, number: int, **given) -> dict:
    """`given`, and a value in every column marked personal and in every other one that needs it."""
    values = dict(given)
    for column in table.columns:
        needed = not (column.nullable or column.primary_key or column.default or column.server_default)
        if column.name not in values and (column.info.get("personal") or needed):
            values[column.name] = _sample(column, number)
    return values


def _make_signer(app, number: int, country: str) -> int:
    """A signature with every personal column filled, and one personal row of every kind beside it."""
    with app.app_context():
        if db.session.get(ConsentWording, WORDING) is None:
            db.session.add(ConsentWording(version=WORDING, language="en", text="Keep me posted."))
        row = _filled(Signature.__table__, number)
        row = signature_values(number, **row, country=country)
        signature_id = db.session.execute(insert(Signature).values(row).returning(Signature.id)).scalar_one()
        for signature_column in personal_rows() + written_over_beside():
            table = signature_column.table
            db.session.execute(
                insert(table).values(_filled(table, number, **{signature_column.name: signature_id}))
            )
        db.session.commit()
        return signature_id


def _rows(app, table, **where) -> list:
    with app.app_context():
        query = select(table).where(*(table.c[name] == value for name, value in where.items()))
        return list(db.session.execute(query).mappings())


def test_anonymising_writes_over_every_personal_column_by_its_mark_and_leaves_the_rest(app, runner):
    ids = [_make_signer(app, 1, "CA"), _make_signer(app, 2, "FR")]  # a province kept, and none
    before = {row["id"]: row for row in _rows(app, Signature.__table__)}
    change_campaign(app, deadline=today() - dt.timedelta(days=40), retention_days=30)
    assert "Anonymised 2 signatures" in runner.invoke(args=["signatures", "anonymise"]).output

    personal = {column.name: column.info["personal"] for column in personal_columns(Signature.__table__)}
    for after in _rows(app, Signature.__table__):
        old = before[after["id"]]
        for name in after:
            if name in personal:
                expected = ANONYMISED[personal[name]](old, name)
                assert after[name] == expected, name
                assert old[name] != expected, f"{name}: the test's value says nothing"
            elif name != "anonymised_at":
                assert after[name] == old[name], f"{name} is not personal: it stays"
    for signature_column in personal_rows():
        for signature_id in ids:
            assert _rows(app, signature_column.table, **{signature_column.name: signature_id}) == []
    for signature_column in written_over_beside():
        table = signature_column.table
        personal = {column.name: column.info["personal"] for column in personal_columns(table)}
        for signature_id in ids:
            [after] = _rows(app, table, **{signature_column.name: signature_id})
            for name, mark in personal.items():
                assert after[name] == ANONYMISED[mark](after, name), f"{table.name}.{name}"


def test_erasing_a_signature_takes_every_personal_row_with_it(app):
    erased, kept = _make_signer(app, 1, "CA"), _make_signer(app, 2, "CA")
    with app.app_context():
        assert signatures.erase_signature(erased, actor=SELF_SERVICE)
    assert _rows(app, Signature.__table__, id=erased) == []
    for signature_column in personal_rows() + written_over_beside():
        assert _rows(app, signature_column.table, **{signature_column.name: erased}) == []
        assert _rows(app, signature_column.table, **{signature_column.name: kept}) != []


@pytest.mark.parametrize("dangerous", ["=1+1", "@SUM(A1)"])
def test_every_personal_text_column_an_export_carries_is_guarded_against_formulas(app, dangerous):
    exported = set(COLUMNS).union(*(kind_named(name).export_columns for name in NAMES))
    tables = [Signature.__table__] + [column.table for column in written_over_beside()]
    text_columns = [
        column
        for table in tables
        for column in personal_columns(table)
        if isinstance(column.type, String) and column.name in exported
    ]
    assert {"name", "email", "comment", "contact_name", "message"} <= {column.name for column in text_columns}
    signature_id = _make_signer(app, 1, "CA")
    with app.app_context():
        for column in text_columns:
            table = column.table
            key = table.c.id if table is Signature.__table__ else table.c.signature_id
            db.session.execute(table.update().values({column.name: dangerous}))
            cell = db.session.scalar(
                select(csv_line((column.name,), {column.name: column})).where(key == signature_id)
            )
            assert cell == "'" + dangerous, f"{table.name}.{column.name}"
