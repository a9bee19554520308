"""The leads API: leads and their lifecycle actions, public capture, imports."""

from leads.api.capture import CaptureView
from leads.api.exports import ExportJobViewSet
from leads.api.imports import ImportViewSet
from leads.api.leads import LeadSerializer, LeadViewSet
from leads.api.reviews import ContactReviewViewSet
from leads.api.saved_views import SavedViewViewSet

__all__ = [
    "CaptureView",
    "ContactReviewViewSet",
    "ExportJobViewSet",
    "ImportViewSet",
    "LeadSerializer",
    "LeadViewSet",
    "SavedViewViewSet",
]
