"""Mail: the outbox (queued inside the signer's transaction), its transports, and delivery (run
by app/jobs.py).

Delivery is at least once: a lost confirmation is a lost signature, while a rare second
copy is harmless (confirming is idempotent) and carries the same Message-ID. A refusal
of one message (5xx for its recipient or content, no SMTPUTF8 for its address) fails
that message only, a deferred recipient (4xx) is retried alone, and connection trouble
or other 4xx replies put the whole batch back with exponential back-off.
"""

from .deliverer import deliver_due, wake_deliverer
from .outbox import (
    EMAIL_WINDOW,
    LETTER,
    MAX_EMAILS_PER_SIGNATURE,
    NO_SMTPUTF8,
    cannot_reach,
    claim_due,
    has_due,
    queue_email,
    queue_first_email,
    queue_letters,
    retry_delay,
)
from .transports import can_deliver, open_kept_mailbox

__all__ = [
    "EMAIL_WINDOW",
    "LETTER",
    "MAX_EMAILS_PER_SIGNATURE",
    "NO_SMTPUTF8",
    "can_deliver",
    "cannot_reach",
    "claim_due",
    "deliver_due",
    "has_due",
    "open_kept_mailbox",
    "queue_email",
    "queue_first_email",
    "queue_letters",
    "retry_delay",
    "wake_deliverer",
]
