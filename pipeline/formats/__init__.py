"""LeadLoop's date and number formats per language (``FORMAT_MODULE_PATH``).

Only what differs from Django's own locale formats is set here; everything else falls
through to ``django.conf.locale.<lang>.formats``. Templates format with the names
(``|date:"SHORT_DATE_FORMAT"``, ``|floatformat:"2g"``, ``|intcomma``), never with literal
patterns, so each language reads its own way.
"""
