"""The in-app notifications and the user's own settings over HTTP (DESIGN §12).

Every user reads and marks only their own notifications: another user's id is 404.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import services
from notifications.choices import Channel, Event, Language
from notifications.middleware import remember_in_session
from notifications.models import Notification
from notifications.selectors import notifications_of, unread_count
from notifications.views import today_sections
from pipeline.api import BaseViewSet
from pipeline.errors import ServiceError


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = ["id", "event", "lead", "text", "detail", "url", "created_at", "read_at"]
        read_only_fields = fields


_COUNT = inline_serializer("UnreadCount", {"unread": serializers.IntegerField()})
_MARKED = inline_serializer("MarkedRead", {"marked": serializers.IntegerField()})


class NotificationViewSet(mixins.ListModelMixin, BaseViewSet):
    """The user's own notifications, newest first (``?unread=true``: unread only)."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer

    def get_queryset(self) -> Any:
        unread = str(self.request.query_params.get("unread", "")).lower() in ("1", "true", "yes")
        return notifications_of(self.request.user, unread=unread)

    @extend_schema(
        parameters=[
            OpenApiParameter("unread", OpenApiTypes.BOOL, description=_("Only unread ones."))
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: _COUNT})
    @action(detail=False, url_path="unread-count", pagination_class=None)
    def unread_count(self, request: Request) -> Response:
        return Response({"unread": unread_count(request.user)})

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        row = services.mark_read(user=request.user, notification_id=int(pk or 0))
        return Response(NotificationSerializer(row).data)

    @extend_schema(request=None, responses={200: _MARKED})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        return Response({"marked": services.mark_all_read(user=request.user)})


class SettingsSerializer(serializers.Serializer[Any]):
    language = serializers.ChoiceField(choices=Language.choices, required=False)
    channels = serializers.DictField(
        child=serializers.ChoiceField(choices=Channel.choices),
        required=False,
        help_text=_("Event code → channel (in_app, email, robot); codes not sent keep theirs."),
    )

    def validate_channels(self, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(Event.values))
        if unknown:
            raise serializers.ValidationError(
                _("Unknown events: %(events)s. Known: %(known)s.")
                % {"events": ", ".join(unknown), "known": ", ".join(Event.values)}
            )
        return value


def settings_data(user: Any) -> dict[str, Any]:
    prefs = services.prefs_of(user)
    return {
        "language": prefs.language,
        "channels": {event: prefs.channel(event) for event in Event.values},
    }


class MySettingsView(APIView):
    """``GET``/``PUT me/settings/``: the signed-in user's language and, per event code, how
    far it reaches them (``in_app``, ``email`` = also by email, ``robot`` = also mentioned
    in their team's chat robot)."""

    serializer_class = SettingsSerializer

    @extend_schema(responses={200: SettingsSerializer})
    def get(self, request: Request) -> Response:
        return Response(settings_data(request.user))

    @extend_schema(request=SettingsSerializer, responses={200: SettingsSerializer})
    def put(self, request: Request) -> Response:
        serializer = SettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not serializer.validated_data:
            raise ServiceError(_("Send language and/or channels."), field="language")
        row = services.settings_save(user=request.user, **serializer.validated_data)
        if "language" in serializer.validated_data and hasattr(request._request, "session"):
            remember_in_session(request._request, row.language)
        return Response(settings_data(request.user))


class TodayRowSerializer(serializers.Serializer[Any]):
    lead = serializers.IntegerField(source="lead.pk")
    name = serializers.CharField(source="lead.name")
    stage = serializers.CharField(source="lead.stage")
    grade = serializers.CharField(source="lead.grade")
    sla = serializers.CharField(source="clock.text", help_text=_("The SLA clock, worded."))
    sla_state = serializers.CharField(source="clock.state", help_text="late, soon, ok, plain")
    response_due_at = serializers.DateTimeField(source="lead.response_due_at", allow_null=True)
    next_follow_up_at = serializers.DateTimeField(source="follow_up_due", allow_null=True)


class TodaySerializer(serializers.Serializer[Any]):
    follow_ups = TodayRowSerializer(many=True)
    clocks = TodayRowSerializer(many=True)
    waiting = TodayRowSerializer(many=True)


class TodayView(APIView):
    """``GET me/today/``: the signed-in user's tasks for today, as the "Today" page lists
    them (their own open leads only; empty for users who own none)."""

    serializer_class = TodaySerializer

    @extend_schema(responses={200: TodaySerializer})
    def get(self, request: Request) -> Response:
        return Response(TodaySerializer(today_sections(request.user, now=timezone.now())).data)
