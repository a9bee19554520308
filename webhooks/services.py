"""Webhook rules: who configures them, which events become deliveries, and sending one.

Locking: a delivery is *claimed* by a conditional UPDATE (``status`` sendable, due, and no
live claim in ``claimed_until``) before its request is made, so two workers (a Celery retry
and the periodic sweep, or a redelivered task) never send it twice; a worker that died
mid-send leaves a claim that expires after ``claim_seconds`` and the sweep retries it. The
HTTP request itself runs outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assignment.models import Team
from leads.choices import Grade, Stage
from leads.models import Lead
from notifications.outlets import Occurrence
from pipeline.errors import ServiceError
from pipeline.people import display_name
from pipeline.queue import enqueue_on_commit
from webhooks import formats, guard, transport
from webhooks.choices import SENDABLE, TEST_EVENT, DeliveryStatus, Event, WebhookKind
from webhooks.models import Delivery, DeliveryAttempt, Webhook

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.tasks.deliver_task"
#: Retry delays: BASE · 2^(attempt-1), ±20 % jitter, at most MAX.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 6 * 3600
_random = secrets.SystemRandom()


def can_manage_webhooks(user: User | AnonymousUser | None) -> bool:
    """Webhooks are configuration: administrators only (DESIGN §12)."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def check_admin(user: User | AnonymousUser | None) -> None:
    if not can_manage_webhooks(user):
        raise ServiceError(_("Only administrators manage webhooks."), code="forbidden")


def allow_private() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)


def claim_seconds() -> int:
    """How long a claim holds: longer than one request can take."""
    return int(settings.WEBHOOK_TIMEOUT_SECONDS) * 3 + 30


# --- configuration ---------------------------------------------------------------------------


def _clean_events(events: Iterable[object]) -> list[str]:
    if isinstance(events, str | bytes) or not isinstance(events, Iterable):
        raise ServiceError(_("Give the events as a list of event codes."), field="events")
    chosen = [str(event) for event in events]
    unknown = sorted(set(chosen) - set(Event.values))
    if unknown:
        raise ServiceError(
            _("Unknown events: %(unknown)s. Choose from: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(Event.values)},
            field="events",
        )
    if not chosen:
        raise ServiceError(_("Choose at least one event."), field="events")
    return [code for code in Event.values if code in chosen]  # one order, no repeats


@transaction.atomic
def webhook_save(
    *,
    actor: User | AnonymousUser | None,
    webhook: Webhook | None = None,
    name: str,
    kind: str,
    url: str,
    events: Iterable[object],
    secret: str | None = None,
    team: Team | None = None,
    language: str | None = None,
    active: bool = True,
) -> Webhook:
    """Create or change a webhook. ``secret=None`` keeps the stored one (it is write-only).

    The URL is checked without DNS here (scheme, literal addresses, local names) and again
    after resolution at each delivery (``webhooks.guard``).
    """
    check_admin(actor)
    name = formats.one_line(name)[:100]
    if not name:
        raise ServiceError(_("Give the webhook a name."), field="name")
    if kind not in WebhookKind.values:
        raise ServiceError(
            _("Unknown kind. Choose from: %(known)s.") % {"known": ", ".join(WebhookKind.values)},
            field="kind",
        )
    url = url.strip()
    try:
        guard.check_url(url, allow_private=allow_private())
    except guard.UnsafeUrl as exc:
        raise ServiceError(exc.message, field="url") from exc
    if len(url) > 1000:
        raise ServiceError(_("The URL is too long."), field="url")
    clean_events = _clean_events(events)
    language = language or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        raise ServiceError(_("Unknown language."), field="language")
    new_secret = (webhook.secret if webhook else "") if secret is None else secret.strip()
    if kind == WebhookKind.WECOM and new_secret:
        raise ServiceError(
            _("WeCom robots have no signing secret: the key in the URL is the credential."),
            field="secret",
        )
    if kind == WebhookKind.GENERIC and not new_secret:
        raise ServiceError(
            _("A generic webhook needs a secret to sign its requests."), field="secret"
        )
    if len(new_secret) > 200:
        raise ServiceError(_("The secret is too long."), field="secret")
    webhook = webhook or Webhook()
    webhook.name, webhook.kind, webhook.url = name, kind, url
    webhook.secret, webhook.events, webhook.team = new_secret, clean_events, team
    webhook.language, webhook.active = language, active
    webhook.save()
    return webhook


def webhook_delete(*, actor: User | AnonymousUser | None, webhook: Webhook) -> None:
    """Delete a webhook with its delivery log."""
    check_admin(actor)
    webhook.delete()


def masked_secret(secret: str) -> str:
    """How a stored secret is shown: never whole ("SEC1••••••2f" or "••••••")."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "••••••"
    return f"{secret[:4]}••••••{secret[-2:]}"


# --- from an event to deliveries -------------------------------------------------------------


def _lead_info(lead_id: int | None) -> formats.LeadInfo | None:
    if lead_id is None:
        return None
    row = Lead.objects.filter(pk=lead_id).values("pk", "name", "stage", "grade", "owner_id").first()
    if row is None:
        return None
    return formats.LeadInfo(
        id=row["pk"],
        name=row["name"] or "",
        stage=row["stage"] or "",
        grade=row["grade"] or "",
        owner=row["owner_id"],
    )


def _lead_line(lead: formats.LeadInfo | None) -> str:
    if lead is None:
        return ""
    parts = [lead.name or f"#{lead.id}", str(Stage(lead.stage).label) if lead.stage else ""]
    if lead.grade in Grade.values:
        parts.append(_("grade %(grade)s") % {"grade": lead.grade})
    return _("Lead: %(lead)s") % {"lead": " · ".join(part for part in parts if part)}


def _message(
    *,
    delivery: Delivery,
    language: str,
    at: dt.datetime,
    text: str,
    lead: formats.LeadInfo | None,
    mentions: tuple[str, ...],
) -> formats.Message:
    with translation.override(language):
        title = (
            _("LeadLoop test message")
            if delivery.event == TEST_EVENT
            else f"LeadLoop · {Event(delivery.event).label}"
        )
        link = f"{settings.SITE_URL}/leads/{lead.id}/" if lead else ""
        return formats.Message(
            delivery_id=delivery.pk,
            event=delivery.event,
            at=at,
            language=language,
            title=title,
            text=text,
            lead=lead,
            lead_line=_lead_line(lead),
            link=link,
            link_label=_("Open the lead") if lead else "",
            mentions=mentions,
        )


def _create_delivery(
    *,
    webhook: Webhook,
    event: str,
    at: dt.datetime,
    text: str,
    lead: formats.LeadInfo | None,
    mentions: tuple[str, ...] = (),
) -> Delivery:
    now = timezone.now()
    delivery = Delivery.objects.create(
        webhook=webhook,
        event=event,
        lead_id=lead.id if lead else None,
        text=text,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    message = _message(
        delivery=delivery, language=webhook.language, at=at, text=text, lead=lead,
        mentions=mentions,
    )  # fmt: skip
    delivery.payload = formats.body(webhook.kind, message)
    delivery.save(update_fields=["payload"])
    enqueue_on_commit(DELIVER_TASK, delivery.pk)
    return delivery


def hooks_for(occurrence: Occurrence) -> list[Webhook]:
    """Active hooks subscribed to the event: team-less ones, and those of its team."""
    teams = Q(team__isnull=True)
    if occurrence.team_id is not None:
        teams |= Q(team_id=occurrence.team_id)
    hooks = Webhook.objects.filter(teams, active=True).order_by("pk")
    return [hook for hook in hooks if occurrence.event in (hook.events or [])]


def occurrence_record(occurrence: Occurrence) -> list[Delivery]:
    """One delivery per subscribed hook, in the hook's language; sending is queued after
    the commit. Runs inside the transaction that recorded the event (the outlet contract of
    ``notifications.outlets``): a rollback drops the deliveries with the event."""
    hooks = hooks_for(occurrence)
    if not hooks:
        return []
    lead = _lead_info(occurrence.lead_id)
    mentions: tuple[str, ...] = ()
    if occurrence.mention_user_ids:
        users = User.objects.filter(pk__in=occurrence.mention_user_ids).order_by("pk")
        mentions = tuple(display_name(user) for user in users)
    texts: dict[str, str] = {}
    deliveries = []
    for hook in hooks:
        if hook.language not in texts:
            with translation.override(hook.language):
                texts[hook.language] = str(occurrence.render(hook.language))
        deliveries.append(
            _create_delivery(
                webhook=hook,
                event=occurrence.event,
                at=occurrence.at,
                text=texts[hook.language],
                lead=lead,
                mentions=mentions,
            )
        )
    return deliveries


@transaction.atomic
def delivery_test(*, actor: User | AnonymousUser | None, webhook: Webhook) -> Delivery:
    """Queue a test message to ``webhook`` (active or not); the delivery shows how it went."""
    check_admin(actor)
    with translation.override(webhook.language):
        text = _("This is a test message from LeadLoop. If you can read it, the webhook works.")
    return _create_delivery(
        webhook=webhook, event=TEST_EVENT, at=timezone.now(), text=text, lead=None
    )


# --- sending ---------------------------------------------------------------------------------


def retry_delay(attempt: int) -> float:
    """Seconds before the next try after failed try number ``attempt`` (1-based)."""
    base = min(RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), RETRY_MAX_SECONDS)
    return float(base * _random.uniform(0.8, 1.2))


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status__in=SENDABLE, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            claimed_until=now + dt.timedelta(seconds=claim_seconds()),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    return claimed == 1


@dataclass(frozen=True)
class AttemptResult:
    delivery_id: int
    status: str
    retry_in: float | None  # seconds until the next try, when one is planned


def delivery_attempt(*, delivery_id: int) -> AttemptResult | None:
    """Try to send one delivery once; ``None`` if it is not due, done, or claimed by
    another worker. Logs the attempt (status code, latency, error) and plans the next one
    with backoff, or gives up after ``WEBHOOK_MAX_ATTEMPTS``."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    hook = delivery.webhook
    status_code: int | None = None
    latency: int | None = None
    permanent = False
    if not hook.active and delivery.event != TEST_EVENT:
        error, permanent = _("The webhook is switched off."), True
    else:
        request = formats.signed_request(
            kind=hook.kind,
            url=hook.url,
            payload=delivery.payload,
            secret=hook.secret,
            idempotency_key=str(delivery.idempotency_key),
            event=delivery.event,
            delivery_id=delivery.pk,
            now=now,
        )
        try:
            answer = transport.post(
                request.url,
                request.body,
                request.headers,
                timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS),
                allow_private=allow_private(),
            )
        except guard.UnsafeUrl as exc:
            error, permanent = exc.message, True
        except transport.TransportError as exc:
            error, latency = exc.message, exc.latency_ms
        else:
            status_code, latency = answer.status, answer.latency_ms
            error = formats.outcome(hook.kind, answer.status, answer.body)
    return _record(delivery, now=now, error=error, status_code=status_code, latency=latency,
                   permanent=permanent)  # fmt: skip


@transaction.atomic
def _record(
    delivery: Delivery,
    *,
    now: dt.datetime,
    error: str,
    status_code: int | None,
    latency: int | None,
    permanent: bool,
) -> AttemptResult:
    attempt = delivery.attempts
    DeliveryAttempt.objects.create(
        delivery=delivery, number=attempt, at=now, ok=not error, status_code=status_code,
        latency_ms=latency, error=error[:2000],
    )  # fmt: skip
    finished = timezone.now()
    retry_in = None
    if not error:
        status, next_at = DeliveryStatus.SENT, delivery.next_attempt_at
    elif permanent or attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        status, next_at = DeliveryStatus.GAVE_UP, delivery.next_attempt_at
    else:
        retry_in = retry_delay(attempt)
        status, next_at = DeliveryStatus.FAILED, now + dt.timedelta(seconds=retry_in)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        next_attempt_at=next_at,
        claimed_until=None,
        last_status_code=status_code,
        last_latency_ms=latency,
        last_error=error[:2000],
        updated_at=finished,
        sent_at=finished if status == DeliveryStatus.SENT else None,
    )
    log = logger.info if not error else logger.warning
    log(
        "Webhook %s delivery %s attempt %s: %s (HTTP %s, %s ms) %s",
        delivery.webhook_id, delivery.pk, attempt, status, status_code, latency, error,
    )  # fmt: skip
    return AttemptResult(delivery_id=delivery.pk, status=status, retry_in=retry_in)


def deliveries_due(*, limit: int = 500) -> list[int]:
    """Ids of deliveries to try now: never tried or failed and due, with no live claim
    (a dead worker's claim has expired). The sweep queues them; the claim dedups."""
    now = timezone.now()
    due = (
        Delivery.objects.filter(status__in=SENDABLE, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return list(due)
