"""Daily report rollups (docs/architecture.md "Report rollups"): the credit-weighted ROI
figures per cohort day × campaign × attribution model and the funnel counts per cohort day ×
source campaign, each day computed by the live report selectors restricted to that day, so
any period, model and filter answers from sums over days.

- ``models``: the rollup rows and the marks of days that changed since they were computed;
- ``marks``: marking days (by the subscribers) and asking for the debounced refresh;
- ``build``: recomputing marked days (the refresh job) or all of them (``rebuild_rollups``);
- ``read``: the sums the report selectors answer from (``reports.selectors``).
"""
