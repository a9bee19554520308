"""The lead's sortable copy of its company's name (``Lead.company_name``, issue #17 item 8)
stays equal to the company's name on every path that links a company — capture, import,
edit, a direct save, a rename — and the list's company sort orders as the join did."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.urls import reverse

from leads.imports import import_run, import_upload
from leads.lifecycle.arrival import lead_create
from leads.lifecycle.editing import lead_update
from leads.models import Company, Lead
from pipeline.people import text_order
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _out_of_sync() -> list[tuple]:
    linked = Lead.objects.exclude(company_name=F("company__name")).filter(company__isnull=False)
    unlinked = Lead.objects.filter(company__isnull=True, company_name__isnull=False)
    return list(linked.values_list("pk", "company_name")) + list(unlinked.values_list("pk"))


def test_every_company_link_keeps_the_name(desk, marketer, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    created = lead_create(
        actor=desk,
        fields={"name": "甲", "phone": "13900000001", "company_name": "华为技术有限公司"},
    ).lead
    assert created.company_name == "华为技术有限公司"
    plain = lead_create(actor=desk, fields={"name": "乙", "phone": "13900000002"}).lead
    assert Lead.objects.get(pk=plain.pk).company_name is None
    edited = lead_update(lead=plain, actor=desk, fields={"company_name": "阿里巴巴"})
    assert Lead.objects.get(pk=edited.pk).company_name == "阿里巴巴"
    unlinked = lead_update(lead=edited, actor=desk, fields={"company_name": ""})
    assert Lead.objects.get(pk=unlinked.pk).company_name is None
    factory = LeadFactory(company=CompanyFactory(name="Acme"))
    assert Lead.objects.get(pk=factory.pk).company_name == "Acme"
    # an import (the bulk writer)
    from django.core.files.uploadedfile import SimpleUploadedFile

    campaign = CampaignFactory(owner=marketer)
    body = "姓名,公司,手机\n丙,腾讯科技,13900000003\n丁,,13900000004\n".encode()
    job = import_upload(
        actor=marketer, campaign=campaign,
        upload=SimpleUploadedFile("a.csv", body, content_type="text/csv"),
        legal_basis="event_registration", legal_basis_date=dt.date(2026, 1, 1),
    )  # fmt: skip
    import_run(job_id=job.pk)
    assert Lead.objects.get(phone__endswith="13900000003").company_name == "腾讯科技"
    assert Lead.objects.get(phone__endswith="13900000004").company_name is None
    # a rename reaches every lead of the company
    company = Company.objects.get(name="华为技术有限公司")
    company.name = "华为"
    company.save()
    assert Lead.objects.get(pk=created.pk).company_name == "华为"
    assert _out_of_sync() == []


@pytest.mark.parametrize("sort", ["company", "-company"])
def test_company_sort_orders_as_the_join_did_with_no_company_last(client, manager, sort):
    for name in ("Beta", "alpha", "Gamma", "Beta"):
        LeadFactory(company=CompanyFactory(name=name, normalized_name=name.lower()))
    LeadFactory(company=None)
    client.force_login(manager)
    response = client.get(reverse("leads:list") + f"?sort={sort}")
    shown = [lead.pk for lead in response.context["page_obj"].object_list]
    descending = sort.startswith("-")
    joined = Lead.objects.order_by(
        text_order("company__name", descending=descending, nulls_last=True),
        "-pk" if descending else "pk",
    )
    assert shown == [lead.pk for lead in joined]
    assert Lead.objects.get(pk=shown[-1]).company_id is None
