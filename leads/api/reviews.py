"""contact-reviews/: leads flagged by a conflicting arrival, and the desk's decisions."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from leads.choices import ReviewStatus
from leads.models import ContactReview
from leads.reviews import (
    review_different_person,
    review_keep,
    review_update_contact,
    reviews_visible_to,
    search_reviews,
)
from leads.selectors import contact_masked, mask_email, mask_phone
from pipeline.api import BaseViewSet, DisplayNameField
from pipeline.errors import ServiceError


class GivenSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    company = serializers.CharField()


class ContactReviewSerializer(serializers.ModelSerializer):
    """A review: the lead as on file and what the conflicting arrival gave (``given``)."""

    lead_name = serializers.CharField(source="lead.name", read_only=True)
    lead_phone = serializers.SerializerMethodField()
    lead_email = serializers.SerializerMethodField()
    given = serializers.SerializerMethodField()
    campaign = serializers.IntegerField(source="touch.campaign_id", read_only=True)
    occurred_at = serializers.DateTimeField(source="touch.occurred_at", read_only=True)
    decided_by_name = DisplayNameField(source="decided_by")

    class Meta:
        model = ContactReview
        fields = [
            "id",
            "lead",
            "lead_name",
            "lead_phone",
            "lead_email",
            "given",
            "campaign",
            "occurred_at",
            "job",
            "row",
            "status",
            "created_at",
            "decided_at",
            "decided_by",
            "decided_by_name",
            "new_lead",
        ]
        read_only_fields = fields

    def _masked(self, review: ContactReview) -> bool:
        return contact_masked(self.context["request"].user, review.lead)

    @extend_schema_field(serializers.CharField())
    def get_lead_phone(self, review: ContactReview) -> str:
        phone = review.lead.phone
        return mask_phone(phone) if phone and self._masked(review) else phone

    @extend_schema_field(serializers.CharField())
    def get_lead_email(self, review: ContactReview) -> str:
        email = review.lead.email
        return mask_email(email) if email and self._masked(review) else email

    @extend_schema_field(GivenSerializer)
    def get_given(self, review: ContactReview) -> dict[str, str]:
        given = {
            k: str(review.touch.given.get(k, "")) for k in ("name", "phone", "email", "company")
        }
        if self._masked(review):
            given["phone"] = mask_phone(given["phone"]) if given["phone"] else ""
            given["email"] = mask_email(given["email"]) if given["email"] else ""
        return given


class DifferentPersonSerializer(serializers.Serializer):
    # No limits here: the service checks the values (after the 403 and 409 refusals).
    phone = serializers.CharField(required=False, allow_blank=True)
    email = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The other person's name; the name the arrival gave when left out.",
    )


class ContactReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Leads flagged for the desk by a conflicting arrival; marketing and management read,
    the desk and administrators decide (``leads.reviews``)."""

    queryset = ContactReview.objects.all()
    serializer_class = ContactReviewSerializer

    def get_queryset(self):
        reviews = reviews_visible_to(self.request.user)
        if self.action != "list":
            return reviews
        status = self.request.query_params.get("status") or ""
        if status:
            if status not in ReviewStatus.values:
                raise ServiceError(
                    _("“%(value)s” is not a review status; use one of: %(statuses)s.")
                    % {"value": status, "statuses": ", ".join(ReviewStatus.values)},
                    field="status",
                )
            reviews = reviews.filter(status=status)
        return search_reviews(reviews, self.request.query_params.get("q") or "")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=ReviewStatus.values),
            OpenApiParameter("q", str, description="Lead name, or a name, phone or email given"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _answer(self, review: ContactReview) -> Response:
        review = self.get_queryset().get(pk=review.pk)
        return Response(ContactReviewSerializer(review, context={"request": self.request}).data)

    @extend_schema(request=None, responses={200: ContactReviewSerializer})
    @action(detail=True, methods=["post"])
    def keep(self, request, pk=None):
        """The same person: clear the flag."""
        return self._answer(review_keep(review=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: ContactReviewSerializer})
    @action(detail=True, methods=["post"])
    def update_contact(self, request, pk=None):
        """The same person with new details: apply the differing values to the lead."""
        review = review_update_contact(review=self.get_object(), actor=request.user)
        return self._answer(review)

    @extend_schema(request=DifferentPersonSerializer, responses={200: ContactReviewSerializer})
    @action(detail=True, methods=["post"])
    def different_person(self, request, pk=None):
        """Another person: a new lead with the contact entered here; the touch moves to it."""
        review = self.get_object()
        body = DifferentPersonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = review_different_person(review=review, actor=request.user, **body.validated_data)
        return self._answer(review)
