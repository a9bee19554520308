"""The signed-in user's language for their pages: saved on the user, kept in the session.

At login (``use_language_at_login``, connected to ``user_logged_in``) the user's saved
language (``UserSettings.language``; first login: the language they were browsing in) is
put in the session; ``UserLanguageMiddleware`` (after ``LocaleMiddleware``) activates it on
every request without a query of its own. The language switcher saves the choice on the
user too (``notifications.views.set_language``). Anonymous pages keep Django's cookie and
``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from notifications.services import language_at_login, normalize_language

#: The session key holding the signed-in user's language.
SESSION_KEY = "leadloop_language"


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        code = normalize_language(session.get(SESSION_KEY)) if session is not None else None
        if code is not None:
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)


def use_language_at_login(
    sender: object, request: HttpRequest | None, user: Any, **kwargs: object
) -> None:
    """``user_logged_in``: the user's language becomes the session's. ``LANGUAGE_CODE`` is
    what ``LocaleMiddleware`` read from the cookie or ``Accept-Language`` (a login made
    without a request through the middleware, such as a test's ``force_login``, has none)."""
    if request is None or getattr(request, "session", None) is None:
        return
    code = language_at_login(user=user, browsing=getattr(request, "LANGUAGE_CODE", None))
    if code is None:
        return
    request.session[SESSION_KEY] = code
    translation.activate(code)
    request.LANGUAGE_CODE = code


def remember_in_session(request: HttpRequest, code: str) -> None:
    request.session[SESSION_KEY] = code
