"""SLA: the first-response clock, its configuration, the breach scan with its escalation
ladder, follow-up compliance, the overdue digest and the backfill of stored clocks.

Layers, low to high: ``config`` (business calendar and policies, cached) and ``clock``
(due times, working seconds) sit below the lead lifecycle, which starts a clock on every
new owner; ``compliance`` and ``digest`` read; ``scan`` writes breaches and recycles
through the lifecycle. See ``docs/architecture.md``.
"""
