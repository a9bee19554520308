"""django-axes (login lockouts) in our language: its admin section's name, and its own
strings, which it ships no Chinese for, listed here so our catalogue translates them.

``INSTALLED_APPS`` names ``pipeline.axes_app.AxesConfig`` instead of ``"axes"``; our
catalogue comes first in ``LOCALE_PATHS``, so these translations are the ones used.
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig  # type: ignore[import-untyped]  # no stubs
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class AxesConfig(AxesAppConfig):  # type: ignore[misc]  # untyped base
    verbose_name = _("Login lockouts")


#: django-axes's admin and model strings (axes/models.py, axes/admin.py), for makemessages.
AXES_TERMS = (
    gettext_noop("Access Attempt"),
    gettext_noop("Access lock out"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Attempt Time"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Expires At"),
    gettext_noop("Failed Logins"),
    gettext_noop("Form Data"),
    gettext_noop("GET Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"),
    gettext_noop("Locked Out"),
    gettext_noop("Logout Time"),
    gettext_noop("Meta Data"),
    gettext_noop("Not set"),
    gettext_noop("POST Data"),
    gettext_noop("Path"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
)
