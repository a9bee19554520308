"""Forms of the report pages, by page group: ``reports`` (period, model and filters of
the dashboards, channel pages, scoreboard, scorecards and calibration) and ``sla`` (the
SLA policies, the business calendar and the compliance period)."""
