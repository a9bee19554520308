"""Security headers Django does not send itself: Content-Security-Policy, Permissions-Policy.

Django's ``SecurityMiddleware`` already sends ``X-Content-Type-Options: nosniff``
(``SECURE_CONTENT_TYPE_NOSNIFF``), ``Referrer-Policy`` (``SECURE_REFERRER_POLICY``) and
``Cross-Origin-Opener-Policy``; ``XFrameOptionsMiddleware`` sends ``X-Frame-Options: DENY``.
Django 5.2 has no Content-Security-Policy, so ``SecurityHeadersMiddleware`` adds it to every
response, static files included (it sits above WhiteNoise).

The policy allows only the app's own files: no inline ``<script>``, no ``on*=`` attribute,
no ``style=`` attribute (bars get their width from a class, pipeline/templatetags/bars.py),
and no page may be framed by another site (``frame-ancestors 'none'``), except the views
marked ``@embeddable``: the public capture form, which customers put in an ``<iframe>`` on
their own website. Those may be framed by the origins of ``CAPTURE_FRAME_ANCESTORS``
(default ``*``) and get no ``X-Frame-Options``.

No nonce is needed: no page of the app, Django's admin or the API docs (served by
``SpectacularSwaggerSplitView``, which loads its start-up script as a file) has inline
script. ``tests/pipeline/test_security_headers.py`` renders every page to hold that. One
relaxation: DRF's browsable API (an API address opened in a browser) is DRF's template,
laid out with ``style`` attributes and a ``<style>`` for code highlighting, so its pages
get ``style-src 'self' 'unsafe-inline'``; scripts stay ``'self'`` there too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

CSP = "Content-Security-Policy"
CSP_REPORT_ONLY = "Content-Security-Policy-Report-Only"

#: The app's policy; ``frame-ancestors`` is added per response.
POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    # data: for the small SVG icons the Swagger UI of /api/docs/ inlines as data URLs.
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}
#: Browser features no page of the app uses, switched off for the page and its frames.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

#: One source expression of ``frame-ancestors``: ``*``, ``'self'``, ``'none'``, a scheme
#: (``https:``) or a host source such as ``https://www.example.com`` or
#: ``https://*.example.com:8443``.
_FRAME_SOURCE = re.compile(
    r"""^(
        \* | 'self' | 'none'
        | [a-z][a-z0-9+.-]*:                                  # a scheme: https:
        | ([a-z][a-z0-9+.-]*://)? (\*\.)? [a-z0-9.-]+         # [scheme://][*.]host
          (:(\d+|\*))? (/[^\s;,'"]*)?                          # [:port][/path]
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def frame_ancestors(sources: list[str] | tuple[str, ...]) -> str:
    """``sources`` as the value of ``frame-ancestors``; refused if one is not a source
    (a ``;`` or a space would smuggle another directive into the header)."""
    bad = [source for source in sources if not _FRAME_SOURCE.match(source)]
    if bad:
        raise ImproperlyConfigured(
            "CAPTURE_FRAME_ANCESTORS: not a frame-ancestors source: " + ", ".join(bad)
        )
    return " ".join(sources) or "*"


def policy(*, ancestors: str = "'none'", styles: str = POLICY["style-src"]) -> str:
    """The Content-Security-Policy header value, framed by ``ancestors``."""
    directives = {**POLICY, "style-src": styles, "frame-ancestors": ancestors}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def embeddable(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let other sites frame this view's pages: ``frame-ancestors`` from
    ``CAPTURE_FRAME_ANCESTORS`` and no ``X-Frame-Options`` (the rest of the policy stays)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        response.csp_embeddable = True  # type: ignore[attr-defined]
        return response

    return wrapped


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response.

    With ``DEBUG`` on, an error answer (Django's technical 404/500 pages use inline script
    and styles) gets the policy as ``Content-Security-Policy-Report-Only``: the page works
    and the browser console still names what would be refused.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.app_policy = policy()
        self.embeddable_policy = policy(
            ancestors=frame_ancestors(tuple(settings.CAPTURE_FRAME_ANCESTORS))
        )
        # DRF's browsable API (an API address opened in a browser) is DRF's own template,
        # laid out with style attributes; its scripts are files like ours.
        self.browsable_api_policy = policy(styles="'self' 'unsafe-inline'")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if CSP not in response and CSP_REPORT_ONLY not in response:
            value = self.app_policy
            if getattr(response, "csp_embeddable", False):
                value = self.embeddable_policy
            elif getattr(getattr(response, "accepted_renderer", None), "format", "") == "api":
                value = self.browsable_api_policy
            header = CSP_REPORT_ONLY if settings.DEBUG and response.status_code >= 400 else CSP
            response[header] = value
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
