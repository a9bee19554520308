"""Saved views of the lead list over HTTP (``leads.saved_views``): list, read, create,
delete. A view is filters only; opening it applies them within the reader's own scope."""

from __future__ import annotations

from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from assignment.models import Team
from leads.choices import ViewScope
from leads.models import SavedView
from leads.saved_views import COLUMN_KEYS, saved_view_create, saved_view_delete, saved_views_for
from pipeline.api import BaseViewSet


class SavedViewSerializer(serializers.ModelSerializer):
    columns = serializers.ListField(
        child=serializers.ChoiceField(choices=COLUMN_KEYS), required=False, default=list
    )
    scope = serializers.ChoiceField(choices=ViewScope.choices, default=ViewScope.PRIVATE)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, default=None
    )
    query = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="The lead list's filters as a querystring, e.g. stage=mql&grade=A.",
    )

    class Meta:
        model = SavedView
        fields = ["id", "name", "query", "columns", "scope", "team", "owner", "created_at"]
        read_only_fields = ["id", "owner", "created_at"]


class SavedViewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    """The user's own views, their teams' and the company-wide ones; delete own only."""

    queryset = SavedView.objects.all()
    serializer_class = SavedViewSerializer
    pagination_class = None

    def get_queryset(self):
        return saved_views_for(self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = SavedViewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        view = saved_view_create(actor=request.user, **serializer.validated_data)
        return Response(SavedViewSerializer(view).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        saved_view_delete(actor=request.user, view=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
