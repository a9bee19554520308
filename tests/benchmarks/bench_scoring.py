"""Rescoring every open lead after a rule change (the job), and the pure scorer alone."""

from __future__ import annotations

import os
import resource
import time

import pytest

from leads.facts import lead_facts
from leads.models import Lead
from scoring.scorer import score_lead
from scoring.services import active_rules, current_thresholds, rescore_job_run, rescore_job_start
from tests.benchmarks import data

N = int(os.environ.get("BENCH_LEADS", "1000000"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rescore_all_leads(report):
    made = data.leads(
        N, campaigns_=data.campaigns(50), companies_=data.companies(5000), touches=False
    )
    assert len(made) == N
    rules, thresholds = active_rules(), current_thresholds()
    sample = list(Lead.objects.select_related("company", "source_campaign__channel")[:20_000])
    facts = [lead_facts(lead, touch_count=1, touch_kinds=["form"]) for lead in sample]
    start = time.perf_counter()
    for _ in range(5):
        for item in facts:
            score_lead(item, rules, thresholds)
    pure_rate = 5 * len(facts) / (time.perf_counter() - start)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    job = rescore_job_start(actor=None, reason="benchmark")  # eager: runs the job right here
    job = rescore_job_run(job_id=job.pk) or job  # a no-op when the queue already ran it
    seconds = time.perf_counter() - start
    job.refresh_from_db()
    assert job.status == "done" and job.processed == N
    report(
        "rescore",
        {
            "leads": N,
            "rules": len(rules),
            "seconds": round(seconds, 1),
            "leads_per_s": round(N / seconds),
            "changed": job.changed,
            "pure_scorer_decisions_per_s": round(pure_rate),
            "job_vs_pure_slower_by": round(pure_rate / (N / seconds), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_before_job_mb": round(rss_before / 1024),
        },
    )
