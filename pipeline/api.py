"""API plumbing shared by every app: pagination, errors, the base viewset."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pipeline.errors import ServiceError
from pipeline.people import display_name


def exception_handler(exc, context):
    """DRF's handler, plus ``ServiceError`` → its status, and a readable ``detail`` always."""
    if isinstance(exc, ServiceError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(messages)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, list):
        response.data = {"detail": " ".join(str(item) for item in response.data)}
    elif isinstance(response.data, dict) and "detail" not in response.data:
        first = next(iter(response.data.items()), None)
        if first is not None:
            field, errors = first
            message = errors[0] if isinstance(errors, list) and errors else errors
            if isinstance(message, dict):
                message = next(iter(message.values()), "")
                message = message[0] if isinstance(message, list) and message else message
            response.data["detail"] = f"{field}: {message}"
    return response


class BaseViewSet(viewsets.GenericViewSet):
    """Base of every resource viewset: numeric ids, the user's scope, errors as JSON.

    Subclasses implement ``scope(queryset)`` to restrict what the user can see; objects
    outside it answer 404, never 403, so their existence does not leak.
    """

    lookup_value_regex = r"\d+"
    filterset_class = None

    def scope(self, queryset):
        return queryset

    def get_queryset(self):
        return self.scope(super().get_queryset())


class ServiceSaveMixin:
    """Create and update through the app's save service instead of ``serializer.save()``.

    The viewset implements ``_save(serializer, instance=None)``: it merges the validated
    data over the instance's current values and calls the service that holds the rules;
    create answers 201 with the saved object, update (PUT and PATCH) 200.
    """

    def _save(self, serializer, instance=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = self._save(serializer)
        return Response(self.get_serializer(saved).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(
            instance, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return Response(self.get_serializer(self._save(serializer, instance)).data)


def service_response(data, *, created: bool = False) -> Response:
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TokenView(ObtainAuthToken):
    """``POST auth/token/``: a token for username/password; locked out like the login page
    after repeated failures (django-axes), answered 429 with a readable message."""

    def post(self, request, *args, **kwargs):
        from axes.handlers.proxy import AxesProxyHandler
        from django.utils.translation import gettext as _

        if not hasattr(request.data, "get"):
            raise exceptions.ValidationError({"detail": _("Send username and password.")})
        credentials = {"username": str(request.data.get("username", ""))}
        if AxesProxyHandler.is_locked(request._request, credentials):
            return Response(
                {"detail": _("Too many failed logins: this account is locked for a while.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        return super().post(request, *args, **kwargs)


class DisplayNameField(serializers.CharField):
    """A user as pages name them ("张伟", "Cindy Lin", else the username); read only,
    ``null`` without a user. The user's id stays in its own field."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value) -> str:
        return display_name(value)
