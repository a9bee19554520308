"""Public web capture (docs/architecture.md §5; DESIGN §9 and §13): which campaigns accept a
submission, consent, the honeypot, idempotency, the lead, and what the answer reveals.

The public answer is the same for a new person and a known one — ``{"received": true,
"reference": …}`` — so the endpoint tells nobody whether a phone or an email is on file. The
reference is a random token drawn per submission (it is no function of the lead, the person
or the time) and is kept with the ``Idempotency-Key`` record, so a repeat gets the same one.
Only a caller who may see the lead (``leads.selectors.leads_visible_to``) also gets ``lead``
and ``duplicate`` (``CaptureAnswer.body_for``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, Channel
from leads.choices import TouchKind
from leads.lifecycle import lead_create
from leads.lifecycle.fields import WRITABLE_FIELDS, clean_lead_fields
from leads.models import IdempotencyKey
from leads.selectors import leads_visible_to
from pipeline.errors import ServiceError
from pipeline.text import clean_text

logger = logging.getLogger(__name__)

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
#: Campaigns in these states accept submissions; completed and cancelled ones do not.
ACCEPTING_STATUSES = (CampaignStatus.PLANNED, CampaignStatus.ACTIVE)
#: The hidden form field only bots fill.
HONEYPOT = "website"
#: The longest ``Idempotency-Key`` accepted; keys are compared whole, never cut.
IDEMPOTENCY_KEY_MAX_LENGTH = IdempotencyKey._meta.get_field("key").max_length or 255


@dataclass
class CaptureAnswer:
    """The answer to one submission. ``record`` is what is stored for repeats: the public
    body plus ``lead`` and ``duplicate`` (absent for a honeypot submission)."""

    status: int
    record: dict[str, Any]

    def body_for(self, viewer: User | AnonymousUser | None) -> dict[str, Any]:
        """The body ``viewer`` may read: ``lead`` and ``duplicate`` only for a caller who
        may see that lead."""
        body = {"received": True, "reference": self.record["reference"]}
        lead_id = self.record.get("lead")
        if (
            lead_id is not None
            and viewer is not None  # the public caller: nothing to look up
            and leads_visible_to(viewer).filter(pk=lead_id).exists()
        ):
            body.update(lead=lead_id, duplicate=bool(self.record.get("duplicate")))
        return body


def new_reference() -> str:
    """An opaque reference for one submission: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def _decoy_reference(idempotency_key: str) -> str:
    """What a honeypot submission gets: shaped like ``new_reference``, and the same for a
    repeat with one ``Idempotency-Key`` (as a real answer would be), without storing it."""
    if not idempotency_key:
        return new_reference()
    digest = hmac.new(
        settings.SECRET_KEY.encode(), b"capture-decoy:" + idempotency_key.encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@dataclass(frozen=True)
class PrivacyNotice:
    """The notice a consent refers to, in one language."""

    version: str
    text: str
    url: str


def privacy_notice() -> PrivacyNotice:
    """The privacy notice in the active language: the configured text for it
    (``PRIVACY_NOTICE_TEXT_EN`` / ``PRIVACY_NOTICE_TEXT_ZH_HANS``), else the built-in one."""
    chinese = (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh")
    configured = (
        settings.PRIVACY_NOTICE_TEXT_ZH_HANS if chinese else settings.PRIVACY_NOTICE_TEXT_EN
    )
    text = configured.strip() or _(
        "We use the details you give here only to answer your enquiry and follow it up, and "
        "keep them no longer than that needs. You may ask us at any time to show you or to "
        "erase what we hold about you."
    )
    return PrivacyNotice(
        version=settings.PRIVACY_NOTICE_VERSION, text=text, url=settings.PRIVACY_NOTICE_URL
    )


def accepting_campaigns() -> QuerySet[Campaign]:
    """The campaigns that accept submissions (``planned`` or ``active``)."""
    return Campaign.objects.select_related("channel").filter(status__in=ACCEPTING_STATUSES)


#: Every capture looks its campaign up: the accepting campaign (with its channel) is kept
#: in the shared cache by what the submission names it with, stamped with the cache's
#: campaign generation (``_GENERATION_KEY``), both read in one call. Saving or deleting
#: any campaign or channel starts a new generation (``forget_campaigns``, at once and
#: again after the commit), so an edited, closed or deleted campaign is seen by the next
#: capture in every process. An edit that sends no signal (a set-based ``update``) is seen
#: within ``CAMPAIGN_CACHE_SECONDS``.
CAMPAIGN_CACHE_SECONDS = 60
_GENERATION_KEY = "leadloop:capture-campaigns:generation"


def _campaign_key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"leadloop:capture-campaign:v1:{kind}:{digest}"


def _cached_campaign(kind: str, value: str, lookup: QuerySet[Campaign]) -> Campaign | None:
    """``lookup.first()`` through the cache (see ``CAMPAIGN_CACHE_SECONDS``); a campaign
    that does not accept submissions is never cached."""
    key = _campaign_key(kind, value)
    try:
        found = cache.get_many([_GENERATION_KEY, key])
    except Exception:  # a cache outage: the database answers
        logger.warning("Capture campaign cache unavailable", exc_info=True)
        return lookup.first()
    generation = found.get(_GENERATION_KEY)
    stored = found.get(key)
    if generation is not None and stored is not None and stored[0] == generation:
        return cast(Campaign, stored[1])
    campaign = lookup.first()
    if campaign is None:
        return None
    try:
        if generation is None:
            generation = secrets.token_hex(8)
            if not cache.add(_GENERATION_KEY, generation, timeout=None):
                return campaign  # another process started one meanwhile: cache next time
        cache.set(key, (generation, campaign), CAMPAIGN_CACHE_SECONDS)
    except Exception:
        logger.warning("Capture campaign cache unavailable", exc_info=True)
    return campaign


def forget_campaigns(**_: Any) -> None:
    """A campaign or channel changed: a new generation now (this transaction's later
    captures) and after the commit (what others cached from the old rows meanwhile)."""

    def new_generation() -> None:
        try:
            cache.set(_GENERATION_KEY, secrets.token_hex(8), timeout=None)
        except Exception:  # a cache outage: what it held expires (CAMPAIGN_CACHE_SECONDS)
            logger.warning("Capture campaign cache not reset", exc_info=True)

    new_generation()
    transaction.on_commit(new_generation)


def connect() -> None:
    """Forget the cached campaigns when a campaign or a channel is saved or deleted."""
    for model in (Campaign, Channel):
        for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(
                forget_campaigns,
                sender=model,
                dispatch_uid=f"capture-campaigns-{model._meta.model_name}-{name}",
            )


def find_campaign(*, campaign_key: str = "", utm_campaign: str = "") -> Campaign:
    """The campaign of a submission: by public key, or by ``utm_campaign`` alone when the
    campaign allows it (``accept_utm_only``). Unknown, closed and not-by-utm campaigns get
    the same answer, naming ``campaign_key``, so the refusal reveals nothing about them.
    Read through the cache (``CAMPAIGN_CACHE_SECONDS``)."""
    if campaign_key:
        campaign = _cached_campaign(
            "key", campaign_key, accepting_campaigns().filter(public_key=campaign_key)
        )
        if campaign is None:
            raise ServiceError(
                _("No campaign accepting submissions has this campaign_key."),
                field="campaign_key",
            )
        return campaign
    if utm_campaign:
        campaign = _cached_campaign(
            "utm",
            utm_campaign,
            accepting_campaigns().filter(utm_campaign=utm_campaign, accept_utm_only=True),
        )
        if campaign is None:
            raise ServiceError(
                _(
                    "Give the campaign_key of the form: no campaign accepting submissions is "
                    "identified by this utm_campaign alone."
                ),
                field="campaign_key",
            )
        return campaign
    raise ServiceError(_("Give the campaign_key of the form."), field="campaign_key")


def _submit(*, data: Mapping[str, Any], idempotency_key: str = "") -> CaptureAnswer:
    campaign = find_campaign(
        campaign_key=str(data.get("campaign_key") or "").strip(),
        utm_campaign=str(data.get("utm_campaign") or "").strip(),
    )
    if data.get("consent") is not True:
        raise ServiceError(
            _("Please agree to the privacy notice: we store your details only with consent."),
            field="consent",
        )
    fields = {k: data[k] for k in WRITABLE_FIELDS if k in data and data[k] not in (None, "")}
    clean_lead_fields(fields)  # the same refusals a real submission gets, before the honeypot
    if data.get(HONEYPOT):
        # A bot: answered exactly like a person, nothing stored (the throttle counted it).
        return CaptureAnswer(
            201, {"received": True, "reference": _decoy_reference(idempotency_key)}
        )
    utm = {k: clean_text(str(data.get(k) or "")) for k in UTM_FIELDS}
    utm["utm_campaign"] = utm["utm_campaign"] or campaign.utm_campaign
    # One transaction (``lead_create``'s): the lead, or the touch on the known person's
    # lead, with the consent to the notice in force.
    result = lead_create(
        actor=None,
        fields=fields,
        campaign=campaign,
        touch_kind=TouchKind.FORM,
        utm=utm,
        landing_page=clean_text(str(data.get("landing_page") or "")),
        consent_version=settings.PRIVACY_NOTICE_VERSION,
    )
    return CaptureAnswer(
        201,
        {
            "received": True,
            "reference": new_reference(),
            "lead": result.lead.pk,
            "duplicate": result.duplicate,
        },
    )


def _fingerprint(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def capture_submit(*, data: Mapping[str, Any], idempotency_key: str = "") -> CaptureAnswer:
    """Store one submission as a lead (or a touch on the person's open lead), with its
    consent; once per ``idempotency_key`` when one is given.

    Refusals (``ServiceError``, nothing stored): a campaign that does not accept it, no
    consent, a bad field, a key longer than ``IDEMPOTENCY_KEY_MAX_LENGTH``, a key reused
    for a different submission (409).
    """
    key = idempotency_key.strip()
    if not key:
        return _submit(data=data)
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ServiceError(
            _("The Idempotency-Key header may have at most %(limit)d characters.")
            % {"limit": IDEMPOTENCY_KEY_MAX_LENGTH},
            field="Idempotency-Key",
        )
    return _capture_idempotent(key=key, data=data)


def _capture_idempotent(*, key: str, data: Mapping[str, Any]) -> CaptureAnswer:
    """``_submit`` once per key: a repeat returns the first answer.

    The key row is inserted first, inside the same transaction as the lead, so two parallel
    requests with one key serialise on the unique index: the second waits, then reads the
    first one's answer. A key reused with a different body is refused. A honeypot
    submission stores nothing, not even its key.
    """
    fingerprint = _fingerprint(data)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record, created = IdempotencyKey.objects.select_for_update().get_or_create(
                    scope="capture", key=key, defaults={"request_hash": fingerprint}
                )
                if not created:
                    if record.request_hash != fingerprint:
                        raise ServiceError(
                            _("This Idempotency-Key was used for a different submission."),
                            code="conflict",
                        )
                    if record.status_code is not None and isinstance(record.response, dict):
                        # Answers stored before references existed get a stable one.
                        stored = {"received": True, "reference": _decoy_reference(key)}
                        return CaptureAnswer(record.status_code, {**stored, **record.response})
                answer = _submit(data=data, idempotency_key=key)
                if "lead" not in answer.record:
                    record.delete()
                    return answer
                record.status_code, record.response = answer.status, answer.record
                record.save(update_fields=["status_code", "response"])
                return answer
        except IntegrityError:
            continue  # lost the insert race: the winner's row is there now
    raise ServiceError(_("Please retry the submission."), code="conflict")
