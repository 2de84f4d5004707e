"""The dashboard's running tallies (models.SignatureTally, kept by database triggers): what is
left of them after an erasure."""

from collections import defaultdict

from sqlalchemy import delete, func, select, tuple_

from .database import write_transaction
from .extensions import db
from .models import SignatureTally

TALLY = SignatureTally


def _sum(column):
    return func.coalesce(func.sum(column), 0)


def drop_empty_tallies() -> int:
    """After an erasure: delete the tallies whose signatures are all gone (every sum zero over
    the shards), so nothing keeps an erased signer's own email domain or source tag; how many
    rows went.

    Every tally of this kind goes, left by this erasure or by an earlier one. Its shards are
    locked first, in key order as the triggers lock them, and only those whose locked sums
    still add up to zero are deleted: a signer counted meanwhile on one of them keeps the row,
    one counted on a new shard adds a row that is not touched.
    """
    zero = (_sum(TALLY.signed) == 0) & (_sum(TALLY.confirmed) == 0) & (_sum(TALLY.consenting) == 0)
    with write_transaction():
        empty = db.session.execute(
            select(TALLY.facet, TALLY.value).group_by(TALLY.facet, TALLY.value).having(zero)
        ).all()
        if not empty:
            return 0
        shards = db.session.execute(
            select(TALLY.facet, TALLY.value, TALLY.shard, TALLY.signed, TALLY.confirmed, TALLY.consenting)
            .where(tuple_(TALLY.facet, TALLY.value).in_([tuple(row) for row in empty]))
            .order_by(TALLY.facet, TALLY.value, TALLY.shard)
            .with_for_update()
        ).all()
        sums: defaultdict = defaultdict(lambda: [0, 0, 0])
        for row in shards:
            for column, amount in enumerate((row.signed, row.confirmed, row.consenting)):
                sums[(row.facet, row.value)][column] += amount
        gone = [(row.facet, row.value, row.shard) for row in shards if not any(sums[(row.facet, row.value)])]
        if gone:
            db.session.execute(delete(TALLY).where(tuple_(TALLY.facet, TALLY.value, TALLY.shard).in_(gone)))
    return len(gone)
