"""``class="{{ value|pct }}"``: the width of a bar without a ``style`` attribute.

The Content-Security-Policy (pipeline/security.py) has ``style-src 'self'``, so a browser
ignores ``style="width: 37%"``. Instead a bar gets the class ``pct-37``: app.css gives each
``pct-N`` (0 to 100) the custom property ``--pct: N``, and each kind of bar turns it into
its width (or, for the grade scale, its share of the row). Scripts that move a bar later
set ``element.style.width``, which the policy allows.
"""

from __future__ import annotations

import math

from django import template

register = template.Library()


@register.filter
def pct(value: object) -> str:
    """``pct-N``: ``value`` as a number, rounded and held within 0 to 100 (else ``pct-0``)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "pct-0"
    if not math.isfinite(number):
        return "pct-0"
    return f"pct-{round(min(100.0, max(0.0, number)))}"
