from django.db import models
from django.utils.translation import gettext_lazy as _


class Strategy(models.TextChoices):
    USER = "user", _("A named user")
    ROUND_ROBIN = "round_robin", _("Round robin")
    WEIGHTED = "weighted", _("Weighted rotation")
    LEAST_LOADED = "least_loaded", _("Least loaded")


class DecisionKind(models.TextChoices):
    """How an owner was chosen: a rule strategy, or something else."""

    USER = "user", _("A named user")
    ROUND_ROBIN = "round_robin", _("Round robin")
    WEIGHTED = "weighted", _("Weighted rotation")
    LEAST_LOADED = "least_loaded", _("Least loaded")
    COMPANY_STICKINESS = "company_stickiness", _("Company stickiness")
    POOL = "pool", _("No eligible owner: pool")
    MANUAL = "manual", _("Manual assignment")
    CLAIM = "claim", _("Claimed from the pool")
