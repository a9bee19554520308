"""Simplified Chinese: 2026年9月5日 dates; amounts grouped by thousands, 1,234,567.89.

Django's zh_Hans formats group by four digits with no separator (12345678.9), which is not
how Chinese finance and business tables print amounts: they use the thousands comma.
Date inputs render ISO first, the only value an ``<input type="date">`` accepts.
"""

DATE_FORMAT = "Y年n月j日"  # 2026年9月5日
DATETIME_FORMAT = "Y年n月j日 H:i"  # 2026年9月5日 20:45
SHORT_DATE_FORMAT = "Y年n月j日"
SHORT_DATETIME_FORMAT = "Y年n月j日 H:i"
MONTH_DAY_FORMAT = "n月j日"  # 9月5日
YEAR_MONTH_FORMAT = "Y年n月"  # 2026年9月
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2026-09-05'
    "%Y/%m/%d",  # '2026/09/05'
]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",  # '2026-09-05 20:45:29'
    "%Y-%m-%d %H:%M:%S.%f",  # '2026-09-05 20:45:29.000200'
    "%Y-%m-%d %H:%M",  # '2026-09-05 20:45'
    "%Y/%m/%d %H:%M:%S",  # '2026/09/05 20:45:29'
    "%Y/%m/%d %H:%M",  # '2026/09/05 20:45'
]
