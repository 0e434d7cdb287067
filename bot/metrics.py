"""What the service counts, for ``/metrics`` (Prometheus text format, prometheus-client).

Every metric lives in one registry of our own (:data:`REGISTRY`), so nothing of the client
library's process defaults leaks in twice. Counters only ever go up; the outbox's backlog is
read from the database when ``/metrics`` is asked (see :func:`bot.web.web_app`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter(
    "ishc_updates", "Updates from people, by channel and outcome: handled, duplicate, "
    "transient (left unacknowledged to be retried), failed (an attempt raised), dead "
    "(moved to the dead letters), flood (over the per-chat limit), malformed.",
    ["channel", "outcome"], registry=REGISTRY,
)
UPDATE_SECONDS = Histogram(
    "ishc_update_seconds", "Time to handle one update (lock, transaction, commit).",
    ["channel"], registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEAD_LETTERS = Counter(
    "ishc_dead_letters", "Updates moved to the dead-letter table.", ["channel"],
    registry=REGISTRY,
)
TRANSACTION_SECONDS = Histogram(
    "ishc_transaction_seconds", "Time of each committed database transaction, BEGIN to COMMIT.",
    registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
BATCH_UPDATES = Histogram(
    "ishc_commit_batch_updates", "Updates made durable by each group commit (one COMMIT).",
    registry=REGISTRY, buckets=(1, 2, 4, 8, 16, 32, 64),
)
STORAGE_FAILURES = Counter(
    "ishc_storage_unavailable", "Transactions refused because the database could not be "
    "written just now (locked, I/O error, full disk, read-only).", registry=REGISTRY,
)
OUTBOX_PENDING = Gauge(
    "ishc_outbox_pending", "Replies waiting in the outbox (read when scraped).", ["channel"],
    registry=REGISTRY,
)
OUTBOX_OLDEST_DUE = Gauge(
    "ishc_outbox_oldest_due_seconds", "How long the oldest due reply has waited (read when "
    "scraped; 0 when none is due).", registry=REGISTRY,
)
SENT = Counter(
    "ishc_outbox_sent", "Messages delivered to the platform.", ["channel"], registry=REGISTRY,
)
SEND_FAILED = Counter(
    "ishc_outbox_failed", "Delivery attempts that failed, by reason: retry (temporary, tried "
    "again), slow_down (429), blocked, rejected.", ["channel", "reason"], registry=REGISTRY,
)
SEND_SECONDS = Histogram(
    "ishc_send_seconds", "Time of one delivery call to the platform.", ["channel"],
    registry=REGISTRY, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REMINDERS = Counter(
    "ishc_reminders", "Reminders by kind and what became of them: queued, sent, expired "
    "(past their moment or no longer true), postponed (quiet hours).", ["kind", "outcome"],
    registry=REGISTRY,
)
TASK_FAILURES = Counter(
    "ishc_task_failures", "Exceptions in background tasks (each was logged and retried).",
    ["task"], registry=REGISTRY,
)
TASK_AGE = Gauge(
    "ishc_task_last_ok_age_seconds", "Seconds since each background task last did its work.",
    ["task"], registry=REGISTRY,
)
