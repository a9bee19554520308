"""The public capture form ``/f/<public_key>/``: a page a marketer embeds on the website.

No login. It stores a submission through ``leads.capture.capture_submit`` — the same
service as ``POST /api/v1/capture/``, with the same rules (open campaigns only, consent to
the privacy notice, the honeypot) — and is throttled per client IP with the API's
``CaptureThrottle`` (the same counter: a visitor cannot double their quota by switching
between the form and the API). A known person is thanked exactly like a new one, and so is
a bot that filled the honeypot (nothing is stored for it).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.models import Campaign
from leads.capture import HONEYPOT, UTM_FIELDS, accepting_campaigns, capture_submit, privacy_notice
from leads.forms import lead_form_field
from leads.lifecycle.fields import lead_fields
from pipeline.errors import ServiceError
from pipeline.security import embeddable
from pipeline.throttles import CaptureThrottle

#: The visible fields, in page order: a subset of the lead write fields (checked on import).
VISIBLE_FIELDS = tuple(
    field.name
    for field in lead_fields(
        ("name", "title", "company_name", "phone", "email", "product_interest", "need")
    )
)
#: Fields that take a whole row of the two-column form.
WIDE_FIELDS = frozenset({"company_name", "product_interest", "need"})
HIDDEN_FIELDS = (*UTM_FIELDS, "landing_page")
CONSENT = "consent"


def _text_input(autocomplete: str, **attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": autocomplete, **attrs})


class CaptureForm(forms.Form):
    """What a visitor types; the spec's lengths, worded for visitors, every rule in the
    capture service."""

    name = lead_form_field("name", widget=_text_input("name"))
    company_name = lead_form_field("company_name", widget=_text_input("organization"))
    title = lead_form_field("title", widget=_text_input("organization-title"))
    phone = lead_form_field("phone", help_text="", widget=_text_input("tel", inputmode="tel"))
    email = lead_form_field("email", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    product_interest = lead_form_field(
        "product_interest", label=gettext_lazy("Product of interest")
    )
    need = lead_form_field("need", label=gettext_lazy("What do you need?"))
    # Not required here: the capture service refuses a submission without consent and
    # names this field, so the rule and its message live in one place.
    consent = forms.BooleanField(
        label=gettext_lazy(
            "I agree to the privacy notice and to being contacted about my enquiry."
        ),
        required=False,
    )
    # Honeypot: hidden from people by CSS, so only bots fill it.
    website = forms.CharField(
        label=gettext_lazy("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    # Attribution, filled from the query string or the embedding page. No max_length:
    # a visitor cannot fix a hidden field, so long values are cut, never refused.
    utm_source = forms.CharField(required=False, widget=forms.HiddenInput)
    utm_medium = forms.CharField(required=False, widget=forms.HiddenInput)
    utm_campaign = forms.CharField(required=False, widget=forms.HiddenInput)
    utm_term = forms.CharField(required=False, widget=forms.HiddenInput)
    utm_content = forms.CharField(required=False, widget=forms.HiddenInput)
    landing_page = forms.CharField(required=False, widget=forms.HiddenInput)

    def submission(self, campaign: Campaign) -> dict[str, str | bool]:
        """The body ``capture_submit`` takes, as the API would receive it."""
        data = self.cleaned_data
        body = {"campaign_key": campaign.public_key}
        body.update({name: data[name] for name in VISIBLE_FIELDS if data.get(name)})
        body.update({name: (data.get(name) or "")[:100] for name in UTM_FIELDS})
        body["landing_page"] = _clean_url(data.get("landing_page") or "")
        body[CONSENT] = bool(data.get(CONSENT))
        body[HONEYPOT] = data.get(HONEYPOT) or ""
        return body


def _clean_url(value: str) -> str:
    value = value.strip()
    return value[:500] if value.startswith(("http://", "https://")) else ""


def _language(request: HttpRequest) -> str:
    """``?lang=zh-hans`` / ``?lang=en`` wins; otherwise what LocaleMiddleware chose."""
    wanted = request.GET.get("lang", "")
    if wanted:
        try:
            return translation.get_supported_language_variant(wanted)
        except LookupError:
            pass
    return translation.get_language()


def _attribution(request: HttpRequest) -> dict[str, str]:
    """UTM fields and landing page from the query string, else from the embedding page."""
    referrer = request.META.get("HTTP_REFERER", "")
    from_referrer = parse_qs(urlsplit(referrer).query) if referrer else {}
    values = {
        name: (request.GET.get(name) or (from_referrer.get(name) or [""])[0])[:100]
        for name in UTM_FIELDS
    }
    values["landing_page"] = _clean_url(request.GET.get("landing_page") or referrer)
    return values


def _render(request, campaign, form, *, status: int = 200, sent: bool = False, error: str = ""):
    fields = [form[name] for name in VISIBLE_FIELDS]
    return render(
        request,
        "capture/capture_form.html",
        {
            "campaign": campaign,
            "form": form,
            "fields": fields,
            "wide_fields": WIDE_FIELDS,
            "hidden_fields": [form[name] for name in HIDDEN_FIELDS],
            "honeypot": form[HONEYPOT],
            "consent": form[CONSENT],
            "notice": privacy_notice(),
            "sent": sent,
            "error": error,
        },
        status=status,
    )


# Embedded in an <iframe> on the company website, i.e. another site: browsers do not send
# our SameSite=Lax CSRF cookie there, so a CSRF check would refuse every real visitor.
# Nothing is at stake: the form needs no login and does exactly what the public capture
# API does without CSRF; the honeypot and the per-IP throttle guard it instead.
# @embeddable: framed by the sites of CAPTURE_FRAME_ANCESTORS (pipeline/security.py).
@csrf_exempt
@embeddable
@require_http_methods(["GET", "HEAD", "POST"])
def capture_form(request: HttpRequest, public_key: str) -> HttpResponse:
    # A completed or cancelled campaign's form is gone (404), like an unknown one.
    campaign = get_object_or_404(accepting_campaigns(), public_key=public_key)
    language = _language(request)
    translation.activate(language)
    request.LANGUAGE_CODE = language

    if request.method != "POST":
        form = CaptureForm(initial=_attribution(request))
        return _render(request, campaign, form, sent=request.GET.get("sent") == "1")

    form = CaptureForm(request.POST)
    throttle = CaptureThrottle()
    if not throttle.allow_request(request, None):
        message = _("Too many submissions from your network. Please try again in a minute.")
        return _render(request, campaign, form, status=429, error=message)
    if not form.is_valid():
        return _render(request, campaign, form, status=400)
    try:
        capture_submit(data=form.submission(campaign))
    except ServiceError as error:
        shown = (*VISIBLE_FIELDS, CONSENT)
        form.add_error(error.field if error.field in shown else None, error.message)
        return _render(request, campaign, form, status=400)
    # Post/redirect/get: a reload shows the thanks again instead of submitting twice.
    # New or already known, the visitor sees the same thanks.
    query = {"sent": "1", "lang": language}
    return redirect(f"{request.path}?{urlencode(query)}")
