"""Sending a day's digest to every list and recipient exactly once.

What a run does, for digest date D:

1. **Window.** D's window (:func:`feedbot.publish.digest.digest_window`) is recorded in
   ``digest_editions`` by the first run that sends D; later runs reuse it.
2. **Render and record.** Each list's items are chosen and each recipient's message rendered,
   then recorded in ``digest_deliveries`` (one row per day, list and recipient) with the whole
   message: state ``pending``, or ``skipped`` when the list has nothing new and skips empty
   days. A row already recorded is kept as it is, so a resend is the same message, Message-ID
   included, even if items changed meanwhile.
3. **Send.** Each row that is not sent is *claimed* (state ``sending``, attempt counted; only
   one run can claim a row), handed to the SMTP server, then marked ``sent`` once the server
   accepted it, or ``failed`` with the server's answer. A refused recipient fails alone; a
   connection that fails fails the recipient it was sending and is opened again once for the
   next; a server that cannot be reached fails every remaining row of the run. The next run of
   D sends exactly the rows that are not ``sent`` or ``skipped``.

The crash window: a process that dies after the server accepted a message but before ``sent``
was recorded leaves the row ``sending``. After :data:`SENDING_LEASE` a later run takes it as
failed and sends it again, with the same bytes and Message-ID, so this rare case gives at most
a duplicate (which mail systems that keep Message-IDs fold into one), never a lost digest.
Within the lease a row ``sending`` is left alone: another run may be sending it.

``--dry-run`` does the same choosing and rendering, records nothing and writes, per recipient,
the ``.eml`` and its HTML part for a browser. For rows already recorded it writes the recorded
message: what was (or will be) sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from feedbot.config import DigestListSettings, Settings, split_address
from feedbot.errors import ConfigError, PublishError
from feedbot.publish.digest import (
    DigestContent,
    Envelope,
    build_message,
    digest_content,
    digest_window,
    digest_zone,
    items_in_window,
    message_id,
)
from feedbot.publish.mail import MailError, MailServer, MailSession, RecipientRefused, connect
from feedbot.records import DeliveryRecord, Item, TopicRef
from feedbot.store import Store, slugify

SENDING_LEASE = timedelta(minutes=15)  # longer than any attempt: bounded SMTP timeouts


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one recipient's digest in one run."""

    list_name: str
    recipient: str
    state: str  # sent, already_sent, failed, skipped, busy (another run has it), written
    items: int
    error: str | None = None
    path: Path | None = None  # dry run: the .eml written


@dataclass(frozen=True)
class DigestReport:
    """One run of ``digest send`` for one day."""

    day: date
    window_start: datetime
    window_end: datetime
    dry_run: bool
    deliveries: tuple[DeliveryOutcome, ...] = field(default=())

    def count(self, state: str) -> int:
        return sum(1 for delivery in self.deliveries if delivery.state == state)

    @property
    def failed(self) -> list[DeliveryOutcome]:
        return [delivery for delivery in self.deliveries if delivery.state == "failed"]


@dataclass(frozen=True)
class _Planned:
    """One recipient of one list, with what would be sent if nothing is recorded yet."""

    digest_list: DigestListSettings
    to: str  # as configured ("Ada <ada@example.org>")
    address: str  # the addr-spec, lowercased: the delivery's key


def send_digest(
    store: Store,
    settings: Settings,
    env: Environment,
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    clock: Callable[[], datetime],
    *,
    day: date | None = None,
    dry_run: bool = False,
    out_dir: Path | None = None,
    server: MailServer | None = None,
    open_session: Callable[[MailServer], MailSession] = connect,
) -> DigestReport:
    """Send (or with ``dry_run`` write) the digest of ``day`` (default: today in the digest's
    time zone) to every recipient who has not had it. ``server`` is needed unless dry."""
    now = clock()
    today = now.astimezone(digest_zone(settings)).date()
    day = day or today
    if day > today:
        raise PublishError(f"the digest of {day} is not due yet (it is {today} in its time zone)")
    planned = _plan(settings)
    if not planned:
        raise ConfigError(
            "digest.to: the digest has no recipients; set digest.to or [[digest.lists]] recipients"
        )
    if not dry_run and server is None:
        raise PublishError("no SMTP server to send through")

    own, previous_end, next_start = store.digest_windows(day)
    start, end = own or digest_window(day, settings, now, previous_end, next_start)
    if own is None and not dry_run:
        start, end = store.open_digest_edition(day, start, end, now)

    recorded = {(d.list_name, d.recipient): d for d in store.digest_deliveries(day)}
    chosen = items_in_window(items, start, end)
    contents: dict[str, DigestContent] = {}
    rendered: dict[tuple[str, str], dict[str, Any]] = {}
    for plan in planned:
        key = (plan.digest_list.name, plan.address)
        if key in recorded:
            continue
        name = plan.digest_list.name
        if name not in contents:
            contents[name] = digest_content(chosen, topics, day, plan.digest_list, settings)
        rendered[key] = _row(contents[name], plan, settings, env, now)

    if dry_run:
        target = out_dir or settings.base_dir / f"digest-{day.isoformat()}"
        outcomes = [_write(plan, recorded, rendered, target) for plan in planned]
        return DigestReport(day, start, end, True, tuple(outcomes))

    store.add_digest_deliveries(list(rendered.values()))
    recorded = {(d.list_name, d.recipient): d for d in store.digest_deliveries(day)}
    assert server is not None
    sender = _Sender(
        store, clock, server, open_session, split_address(settings.digest.from_address)[1]
    )
    try:
        outcomes = [sender.deliver(recorded[(p.digest_list.name, p.address)]) for p in planned]
    finally:
        sender.close()
    return DigestReport(day, start, end, False, tuple(outcomes))


def _plan(settings: Settings) -> list[_Planned]:
    planned = []
    for digest_list in settings.digest.all_lists:
        seen = set()
        for value in digest_list.recipients:
            address = split_address(value)[1].lower()
            if address not in seen:
                seen.add(address)
                planned.append(_Planned(digest_list, value, address))
    return planned


def _row(
    content: DigestContent, plan: _Planned, settings: Settings, env: Environment, now: datetime
) -> dict[str, Any]:
    """The delivery row for one recipient: the rendered message, or none for a skipped day."""
    mid = message_id(content.day, plan.digest_list.name, plan.address, settings)
    row = {
        "day": content.day,
        "list_name": plan.digest_list.name,
        "recipient": plan.address,
        "message_id": mid,
        "message": "",
        "item_count": content.count,
        "state": "pending",
        "created_at": now,
    }
    if content.count == 0 and settings.digest.empty == "skip":
        return row | {"state": "skipped"}
    envelope = Envelope((plan.to,), plan.address, mid, now)
    message = build_message(content, envelope, settings, env)
    return row | {"message": bytes(message).decode("ascii")}


def _write(
    plan: _Planned,
    recorded: dict[tuple[str, str], DeliveryRecord],
    rendered: dict[tuple[str, str], dict[str, Any]],
    target: Path,
) -> DeliveryOutcome:
    key = (plan.digest_list.name, plan.address)
    known = recorded.get(key)
    text, count = (known.message, known.item_count) if known else (
        rendered[key]["message"], rendered[key]["item_count"]
    )  # fmt: skip
    if not text:
        return DeliveryOutcome(*key, "skipped", count)
    data = text.encode("ascii")
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    html = message.get_body(("html",))
    path = target / f"{plan.digest_list.name}-{slugify(plan.address)}.eml"
    try:
        target.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if html is not None:
            path.with_suffix(".html").write_text(html.get_content(), encoding="utf-8")
    except OSError as e:
        raise PublishError(f"cannot write the digest to {target}: {e.strerror or e}") from e
    return DeliveryOutcome(*key, "written", count, path=path)


class _Sender:
    """Sends recorded deliveries over one session, opened when first needed."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        server: MailServer,
        open_session: Callable[[MailServer], MailSession],
        envelope_from: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.server = server
        self.open_session = open_session
        self.envelope_from = envelope_from
        self.session: MailSession | None = None
        self.unreachable: str | None = None  # the server could not be reached: stop trying

    def deliver(self, delivery: DeliveryRecord) -> DeliveryOutcome:
        outcome = DeliveryOutcome(
            delivery.list_name, delivery.recipient, delivery.state, delivery.item_count
        )
        if delivery.state == "sent":
            return _replace(outcome, "already_sent")
        if delivery.state == "skipped":
            return outcome
        now = self.clock()
        if not self.store.claim_digest_delivery(delivery.id, now, now - SENDING_LEASE):
            return _replace(outcome, "busy", "being sent by another run")
        try:
            self._session().send(
                self.envelope_from, delivery.recipient, delivery.message.encode("ascii")
            )
        except RecipientRefused as e:
            return self._failed(delivery, outcome, str(e))
        except MailError as e:
            if self.session is not None:
                self.session.close()
                self.session = None
            return self._failed(delivery, outcome, str(e))
        self.store.finish_digest_delivery(delivery.id, "sent", self.clock())
        return _replace(outcome, "sent")

    def _session(self) -> MailSession:
        if self.unreachable is not None:
            raise MailError(self.unreachable)
        if self.session is None:
            try:
                self.session = self.open_session(self.server)
            except MailError as e:
                self.unreachable = str(e)
                raise
        return self.session

    def _failed(
        self, delivery: DeliveryRecord, outcome: DeliveryOutcome, error: str
    ) -> DeliveryOutcome:
        self.store.finish_digest_delivery(delivery.id, "failed", self.clock(), error)
        return _replace(outcome, "failed", error)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _replace(outcome: DeliveryOutcome, state: str, error: str | None = None) -> DeliveryOutcome:
    return DeliveryOutcome(outcome.list_name, outcome.recipient, state, outcome.items, error)


def local_hostname(settings: Settings) -> str:
    """The name feedbot gives in EHLO: the site's host (no reverse DNS lookup at send time)."""
    return urlsplit(settings.base_url).hostname or "localhost"
