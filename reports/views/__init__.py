"""Report pages: the manager dashboard with drill-down, the marketing–sales scoreboard,
scorecards, grade calibration and the pipeline forecast (see ``docs/architecture.md``).

Views are thin: a filter form (the API's period rules), the report selectors, tables
(``reports.exports.Table``, shown and exported alike) and SVG charts
(``reports.charts``). Who may read what mirrors the report endpoints in ``reports.api``
(the same role sets, from ``pipeline.roles``).
Invalid filters show the form's errors and compute nothing.

The dashboard and the channel drill-down read stored snapshots when fresh ones exist,
compute cheap periods live, and otherwise show the progress of the job computing them
(``reports.snapshots``); managers can ask for a recompute with the "refresh" button.

One module per page or page group; shared helpers live in ``common``. The page views
``reports/urls.py`` routes to are re-exported here.
"""

from reports.views.calibration import grade_calibration_page
from reports.views.channels import channel_detail
from reports.views.dashboard import dashboard
from reports.views.forecast import forecast_page
from reports.views.jobs import refresh
from reports.views.scoreboard import scoreboard
from reports.views.scorecards import scorecards_page

__all__ = [
    "channel_detail",
    "dashboard",
    "forecast_page",
    "grade_calibration_page",
    "refresh",
    "scoreboard",
    "scorecards_page",
]
