from django.db import models
from django.utils.translation import gettext_lazy as _


class Dimension(models.TextChoices):
    FIT = "fit", _("Fit")
    ENGAGEMENT = "engagement", _("Engagement")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    #: A newer rule set was published while it ran; the newer job rescores instead.
    SUPERSEDED = "superseded", _("Superseded")
