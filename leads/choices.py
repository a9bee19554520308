from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Stage(models.TextChoices):
    NEW = "new", _("New")
    MQL = "mql", _("MQL")
    SQL = "sql", _("SQL")
    OPPORTUNITY = "opportunity", _("Opportunity")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    DISQUALIFIED = "disqualified", _("Disqualified")


CLOSED_STAGES = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED})
OPEN_STAGES = frozenset(set(Stage) - CLOSED_STAGES)


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


#: The grades, best first.
GRADES: tuple[str, ...] = tuple(Grade.values)


class GradeSource(models.TextChoices):
    RULE = "rule", _("Rule")
    MANUAL = "manual", _("Manual")


class Timeline(models.TextChoices):
    ONE_MONTH = "1m", _("Within 1 month")
    THREE_MONTHS = "3m", _("Within 3 months")
    SIX_MONTHS = "6m", _("Within 6 months")
    LATER = "later", _("Later")
    UNKNOWN = "unknown", _("Unknown")


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    UNKNOWN = "unknown", _("Unknown")


class CompanySize(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    MICRO = "1-49", _("1–49 employees")
    SMALL = "50-199", _("50–199 employees")
    MEDIUM = "200-999", _("200–999 employees")
    LARGE = "1000-4999", _("1,000–4,999 employees")
    ENTERPRISE = "5000+", _("5,000+ employees")


class TouchKind(models.TextChoices):
    FORM = "form", _("Web form")
    EVENT_CHECKIN = "event_checkin", _("Event check-in")
    WEBINAR = "webinar", _("Webinar attendance")
    IMPORT = "import", _("Imported list")
    MANUAL = "manual", _("Entered by hand")
    API = "api", _("API")


#: The touch kinds an imported list may add (what a list is): one list for the import page
#: and the API.
IMPORT_TOUCH_KINDS = (TouchKind.IMPORT, TouchKind.EVENT_CHECKIN, TouchKind.WEBINAR)


class LegalBasis(models.TextChoices):
    """The marketer's statement of why an imported list may be processed (PIPL, DESIGN §13)."""

    EVENT_REGISTRATION = "event_registration", _("Event registration")
    BOOTH_CONSENT = "booth_consent", _("Consent collected at a booth")
    FORM_CONSENT = "form_consent", _("Consent on a sign-up form")
    EXISTING_CUSTOMER = "existing_customer", _("Existing customer")
    OTHER = "other", _("Other (explained in the note)")


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    TOUCH = "touch", _("New touch")
    DUPLICATE = "duplicate", _("Duplicate arrival")
    UPDATED = "updated", _("Updated")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    ASSIGNED = "assigned", _("Assigned")
    REASSIGNED = "reassigned", _("Reassigned")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    RECYCLED = "recycled", _("Recycled to pool")
    POOLED = "pooled", _("Sent to pool")
    CLAIMED = "claimed", _("Claimed from pool")
    TO_OPPORTUNITY = "to_opportunity", _("Became an opportunity")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    GRADED = "graded", _("Grade changed")
    GRADE_RESET = "grade_reset", _("Manual grade reset")
    FOLLOW_UP = "follow_up", _("Follow-up logged")
    SLA_BREACH = "sla_breach", _("SLA breached")
    DATA_EXPORTED = "data_exported", _("Personal data exported")
    DATA_ERASED = "data_erased", _("Personal data erased")
    CONTACT_REVIEWED = "contact_reviewed", _("Conflicting contact reviewed")


class FollowUpMethod(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    EMAIL = "email", pgettext_lazy("follow-up method", "Email")
    WECHAT = "wechat", _("WeChat")
    MEETING = "meeting", _("Meeting")
    OTHER = "other", _("Other")


class DisqualifyReason(models.TextChoices):
    INVALID_CONTACT = "invalid_contact", _("Invalid contact")
    NO_NEED = "no_need", _("No need")
    COMPETITOR = "competitor", _("Competitor")
    DUPLICATE = "duplicate", _("Duplicate")
    SPAM = "spam", _("Spam")
    OTHER = "other", _("Other")


class RejectReason(models.TextChoices):
    NOT_REACHABLE = "not_reachable", _("Not reachable")
    NO_NEED = "no_need", _("No need")
    WRONG_CONTACT = "wrong_contact", _("Wrong contact")
    TOO_SMALL = "too_small", _("Too small")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class LoseReason(models.TextChoices):
    PRICE = "price", _("Price")
    COMPETITOR = "competitor", _("Chose a competitor")
    NO_BUDGET = "no_budget", _("No budget")
    NO_DECISION = "no_decision", _("No decision / stalled")
    TIMING = "timing", _("Timing")
    PRODUCT_FIT = "product_fit", _("Product does not fit")
    OTHER = "other", _("Other")


class RecycleReason(models.TextChoices):
    NO_FOLLOW_UP = "no_follow_up", _("No follow-up in time (SLA)")
    NOT_REACHABLE = "not_reachable", _("Not reachable")
    NOT_NOW = "not_now", _("Not buying now")
    CAPACITY = "capacity", _("No capacity")
    OTHER = "other", _("Other")


class ImportRowOutcome(models.TextChoices):
    """What became of one data row of an import."""

    CREATED = "created", _("New lead")
    TOUCH = "touch", _("Touch on a known lead")
    CONFLICT = "conflict", _("Conflict: touch, lead flagged for review")
    FAILED = "failed", _("Refused")


class ReviewStatus(models.TextChoices):
    """A conflicting arrival waiting for the desk, and how the desk decided it."""

    OPEN = "open", _("Waiting for review")
    KEPT = "kept", _("Same person, kept")
    UPDATED = "updated", _("Lead's contact updated")
    SPLIT = "split", _("Different person, new lead")
    DISMISSED = "dismissed", _("Closed: personal data erased")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ViewScope(models.TextChoices):
    """Who sees a saved view of the lead list (only its filters: never more leads)."""

    PRIVATE = "private", _("Only me")
    TEAM = "team", _("My team")
    COMPANY = "company", _("Everyone")
