"""English: ISO dates (unambiguous for a team that also reads Chinese), 1,234,567.89."""

SHORT_DATE_FORMAT = "Y-m-d"  # 2026-09-05
SHORT_DATETIME_FORMAT = "Y-m-d H:i"  # 2026-09-05 20:45
MONTH_DAY_FORMAT = "m-d"  # 09-05
YEAR_MONTH_FORMAT = "Y-m"  # 2026-09
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
