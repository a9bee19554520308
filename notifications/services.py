"""The one notification service: who is told, in which language, through which channel.

``notify`` is the only way LeadLoop tells a person something (docs/architecture.md,
"Notifications"). Per recipient it stores an in-app ``Notification`` whose text is rendered
in *their* language (``UserSettings.language``), whatever language the actor's request or
the worker was using; it queues one task after the commit that emails the recipients whose
channel for the event includes email; and it publishes one ``Occurrence`` to the outlets
(``notifications.outlets``: the chat robots), naming the recipients who asked for their
team's robot in ``mention_user_ids``.

The text is stored rendered (not code + parameters) so the list, the badge and the API read
plain rows; a user who changes language later reads older rows in the language they had.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assignment.models import TeamMembership
from leads.models import Lead
from notifications import outlets
from notifications.choices import DEFAULT_CHANNEL, Channel, Event, Language
from notifications.messages import Message, render_in
from notifications.models import Notification, UserSettings, default_language
from pipeline.errors import ServiceError
from pipeline.queue import enqueue_on_commit
from pipeline.text import email_subject

User = get_user_model()

#: The task that sends a notify() call's emails after the commit (queued by name: the task
#: module imports this one).
EMAIL_TASK = "notifications.tasks.send_emails_task"


# --------------------------------------------------------------------------------------
# Settings: language and channels
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prefs:
    """A user's settings as read (the defaults for a user without a row)."""

    language: str
    channels: Mapping[str, str] = field(default_factory=dict)

    def channel(self, event: str) -> str:
        value = self.channels.get(event)
        return value if value in Channel.values else DEFAULT_CHANNEL.value

    def emails(self, event: str) -> bool:
        return self.channel(event) in (Channel.EMAIL, Channel.ROBOT)

    def robot(self, event: str) -> bool:
        return self.channel(event) == Channel.ROBOT


def _prefs(row: UserSettings | None) -> Prefs:
    if row is None:
        return Prefs(language=default_language())
    return Prefs(language=row.language, channels=dict(row.channels or {}))


def settings_for(user_ids: Iterable[int]) -> dict[int, Prefs]:
    """Every user's settings in one query; users without a row get the defaults."""
    ids = list(dict.fromkeys(user_ids))
    rows = UserSettings.objects.in_bulk(ids)
    return {pk: _prefs(rows.get(pk)) for pk in ids}


def prefs_of(user: Any) -> Prefs:
    return settings_for([user.pk])[user.pk]


def normalize_language(code: str | None) -> str | None:
    """``zh-Hans``, ``zh_hans`` → ``zh-hans``; ``None`` for a language users cannot choose."""
    value = (code or "").strip().lower().replace("_", "-")
    return value if value in Language.values else None


@transaction.atomic
def settings_save(
    *, user: Any, language: str | None = None, channels: Mapping[str, str] | None = None
) -> UserSettings:
    """Save the user's language and/or channels (``channels`` may name only some events;
    the others keep their value). Refuses an unknown language, event or channel."""
    row, _created = UserSettings.objects.select_for_update().get_or_create(user_id=user.pk)
    if language is not None:
        code = normalize_language(language)
        if code is None:
            raise ServiceError(
                _("Unknown language “%(code)s”: choose one of %(codes)s.")
                % {"code": language, "codes": ", ".join(Language.values)},
                field="language",
            )
        row.language = code
    if channels is not None:
        merged = dict(row.channels or {})
        for event, channel in channels.items():
            if event not in Event.values:
                raise ServiceError(
                    _("Unknown event “%(event)s”.") % {"event": event}, field="channels"
                )
            if channel not in Channel.values:
                raise ServiceError(
                    _("Unknown channel “%(channel)s” for %(event)s: choose one of %(codes)s.")
                    % {"channel": channel, "event": event, "codes": ", ".join(Channel.values)},
                    field="channels",
                )
            merged[event] = channel
        row.channels = merged
    row.save()
    return row


def remember_language(*, user: Any, language: str) -> str | None:
    """The language a signed-in user switched to becomes theirs (emails included)."""
    code = normalize_language(language)
    if code is not None:
        settings_save(user=user, language=code)
    return code


def language_at_login(*, user: Any, browsing: str | None) -> str | None:
    """The user's language for the session they start: their saved one; at their first
    login, the language they were browsing in (``browsing``, saved so their emails follow
    it too). ``None`` when neither is known: the browser's language keeps ruling."""
    row = UserSettings.objects.filter(user_id=user.pk).first()
    if row is not None:
        return row.language
    code = normalize_language(browsing)
    if code is None:
        return None
    UserSettings.objects.get_or_create(user_id=user.pk, defaults={"language": code})
    return code


# --------------------------------------------------------------------------------------
# notify
# --------------------------------------------------------------------------------------


def _lead_path(lead_id: int | None) -> str:
    return reverse("leads:detail", args=[lead_id]) if lead_id else ""


def _team_of(user_id: int | None) -> int | None:
    if user_id is None:
        return None
    return (
        TeamMembership.objects.filter(user_id=user_id)
        .order_by("team_id")
        .values_list("team_id", flat=True)
        .first()
    )


@transaction.atomic
def notify(
    *,
    event: Event | str,
    recipients: Iterable[int | None],
    lead: Lead | int | None = None,
    url: str = "",
    actor_id: int | None = None,
    team_id: int | None = None,
    **params: Any,
) -> list[Notification]:
    """Tell ``recipients`` (user ids) that ``event`` happened, each in their language.

    ``params`` are the event's plain values (``notifications.messages``); ``actor_id`` is
    who caused it, never told of what they did themselves; inactive users and ``None``
    are skipped. ``url`` defaults to the lead's page. ``team_id`` (for the outlets)
    defaults to the team of the lead's owner, else of the single recipient.

    Writes one row per recipient, queues one email task after the commit for those whose
    channel includes email, publishes one ``Occurrence``. Returns the rows.
    """
    event = Event(event)
    lead_id = lead.pk if isinstance(lead, Lead) else lead
    wanted = [pk for pk in dict.fromkeys(recipients) if pk is not None and pk != actor_id]
    # The recipients and their settings in one query.
    users = (
        {
            user.pk: user
            for user in User.objects.filter(pk__in=wanted, is_active=True).select_related(
                "notification_settings"
            )
        }
        if wanted
        else {}
    )
    ids = [pk for pk in wanted if pk in users]
    prefs = {pk: _prefs(getattr(users[pk], "notification_settings", None)) for pk in ids}
    by_language: dict[str, Message] = {}
    for pk in ids:
        language = prefs[pk].language
        if language not in by_language:
            by_language[language] = render_in(event, params, language)
    path = url or _lead_path(lead_id)
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(
            user_id=pk,
            event=event,
            lead_id=lead_id,
            text=by_language[prefs[pk].language].text,
            detail=by_language[prefs[pk].language].detail,
            url=path,
            created_at=now,
        )
        for pk in ids
    )
    mail = [row.pk for row in rows if prefs[row.user_id].emails(event)]
    if mail:
        enqueue_on_commit(EMAIL_TASK, mail)
    if team_id is None:
        owner_id = (
            Lead.objects.filter(pk=lead_id).values_list("owner_id", flat=True).first()
            if lead_id
            else None
        )
        team_id = _team_of(owner_id if owner_id else (ids[0] if len(ids) == 1 else None))
    frozen = dict(params)
    outlets.publish(
        outlets.Occurrence(
            event=event.value,
            at=now,
            render=lambda language: render_in(event, frozen, language).full(),
            lead_id=lead_id,
            team_id=team_id,
            mention_user_ids=tuple(pk for pk in ids if prefs[pk].robot(event)),
        )
    )
    return rows


# --------------------------------------------------------------------------------------
# Emails
# --------------------------------------------------------------------------------------


def send_emails(*, notification_ids: Iterable[int]) -> int:
    """Email these notifications, each in its recipient's language; returns how many went.

    A row is claimed (``emailed_at``) before its email is sent, so a task run twice (a
    redelivery, two workers) never sends one twice; a failed send releases its claim and
    raises, so the task's retry sends it.
    """
    rows = Notification.objects.filter(
        pk__in=list(notification_ids), emailed_at__isnull=True
    ).select_related("user")
    prefs = settings_for(row.user_id for row in rows)
    sent = 0
    for row in rows:
        user = row.user
        if not user.is_active or not user.email:
            continue
        if not Notification.objects.filter(pk=row.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        ):
            continue
        with translation.override(prefs[row.user_id].language):
            lines = [row.detail] if row.detail else []
            if row.url:
                lines.append(_("Open: %(url)s") % {"url": settings.SITE_URL + row.url})
            lines.append(
                _("Choose what you receive and in which language: %(url)s")
                % {"url": settings.SITE_URL + reverse("notifications:settings")}
            )
            try:
                send_mail(email_subject(row.text), "\n\n".join(lines), None, [user.email])
            except Exception:
                # Not sent: release the claim so the task's retry sends it.
                Notification.objects.filter(pk=row.pk).update(emailed_at=None)
                raise
        sent += 1
    return sent


# --------------------------------------------------------------------------------------
# Reading state
# --------------------------------------------------------------------------------------


def mark_read(*, user: Any, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (another user's: not found)."""
    row = Notification.objects.filter(pk=notification_id, user_id=user.pk).first()
    if row is None:
        raise ServiceError(_("No such notification."), code="not_found")
    if row.read_at is None:
        row.read_at = timezone.now()
        row.save(update_fields=["read_at"])
    return row


def mark_all_read(*, user: Any) -> int:
    """Mark all the user's unread notifications read; returns how many."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
