"""The Chinese side of the app: rules in words, the catalogue's punctuation and glossary,
the admin and the lockout page, one date style per page.

The page-by-page check for untranslated words is tests/pipeline/test_zh_pages.py.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from assignment.services import rule_save
from leads.choices import Stage
from reports.exports import export_cell
from reports.views.common import fmt
from scoring.forms import condition_display
from scoring.models import ScoringRule
from scoring.services import lead_score
from tests.factories import UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _in(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


# -- rule conditions in words ----------------------------------------------------------

WORDED = [
    (("decision_role", "eq", "decision_maker"),
     "Decision role is Decision maker", "决策角色 是 决策者"),
    (("budget", "gte", 500000), "Budget ≥ 500,000", "预算 ≥ 500,000"),
    (("budget", "lte", 1000.0), "Budget ≤ 1,000", "预算 ≤ 1,000"),
    (("timeline", "in", ["1m", "3m"]),
     "Timeline is one of [Within 1 month, Within 3 months]", "采购时间 在 [1 个月内、3 个月内] 中"),
    (("wechat", "is_set", True), "WeChat is filled in", "微信 已填写"),
    (("phone", "is_set", False), "Phone is empty", "手机 未填写"),
    (("title", "contains", "总"), "Job title contains “总”", "职位 包含“总”"),
    (("touch_kinds", "in", ["webinar"]), "Kinds of touches is one of [Webinar attendance]",
     "触点类型 在 [参加网络研讨会] 中"),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "english", "chinese"), WORDED)
def test_a_condition_reads_as_words_in_both_languages(condition, english, chinese):
    with translation.override("en"):
        assert condition_display(*condition) == english
    with translation.override("zh-hans"):
        assert condition_display(*condition) == chinese


def test_scoring_page_shows_rules_in_words_not_codes(client, desk):
    _in(client, "zh-hans").force_login(desk)
    html = client.get(reverse("scoring:index")).content.decode()
    assert "决策角色 是 决策者" in html  # the seeded "Decision maker" rule
    assert "采购时间 是 1 个月内" in html
    for code in (">eq<", ">gte<", ">is_set<", "decision_maker", ">1m<", "(is_set)"):
        assert code not in html


def test_assignment_pages_show_conditions_in_words(client, desk, team, rep):
    conditions = [
        {"field": "budget", "operator": "gte", "value": 500000},
        {"field": "timeline", "operator": "in", "value": ["1m", "3m"]},
    ]
    rule_save(actor=desk, name="大客户", strategy="round_robin", team=team, conditions=conditions)
    _in(client, "zh-hans").force_login(desk)
    html = client.get(reverse("assignment:index")).content.decode()
    assert "预算 ≥ 500,000" in html
    assert "采购时间 在 [1 个月内、3 个月内] 中" in html
    simulate = client.get(reverse("assignment:simulate")).content.decode()
    assert "预算 ≥ 500,000" in simulate


def test_lead_score_detail_names_each_rule_condition(client, desk):
    lead = lead_in_stage(Stage.NEW, decision_role="decision_maker", timeline="1m")
    lead_score(lead=lead)
    _in(client, "zh-hans").force_login(desk)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "决策角色 是 决策者" in html and "采购时间 是 1 个月内" in html


def test_the_api_describes_rules_in_the_request_language(api, desk, team, rep):
    rule_save(actor=desk, name="大客户", strategy="round_robin", team=team,
              conditions=[{"field": "industry", "operator": "eq", "value": "制造业"}])  # fmt: skip
    client = api(desk)
    rules = client.get("/api/v1/scoring-rules/?page_size=100", HTTP_ACCEPT_LANGUAGE="zh-hans")
    rule = next(r for r in rules.json()["results"] if r["name"] == "Decision maker")
    assert rule["description"] == "决策角色 是 决策者"
    assert rule["value"] == "decision_maker"  # the contract's fields are unchanged
    english = client.get(f"/api/v1/scoring-rules/{rule['id']}/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["description"] == "Decision role is Decision maker"
    assigned = client.get("/api/v1/assignment-rules/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    condition = assigned["results"][0]["conditions"][0]
    assert condition == {"field": "industry", "operator": "eq", "value": "制造业",
                         "description": "行业 是 制造业"}  # fmt: skip


def test_the_description_is_read_only(api, desk):
    response = api(desk).post("/api/v1/scoring-rules/", {
        "name": "CIO", "dimension": "fit", "field": "title", "operator": "contains",
        "value": "CIO", "points": 10, "description": "ignored"}, format="json")  # fmt: skip
    assert response.status_code == 201
    assert response.json()["description"] == "Job title contains “CIO”"
    assert ScoringRule.objects.get(name="CIO").value == "CIO"


# -- the catalogue: punctuation and one word per concept -------------------------------

#: Chinese entries that may hold a half-width colon: code and protocol text.
CODE_LIKE_COLON = re.compile(r"https?:|\w+://|\d:\d|%\(\w+\)s:\d")
CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”"


def _entries() -> list[tuple[str, str]]:
    """(msgid, msgstr) of the catalogue, read with the standard library."""
    text = CATALOGUE.read_text(encoding="utf-8")
    entries = []
    for block in text.split("\n\n"):
        if block.lstrip().startswith("#~"):
            continue
        parts: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                key = match.group(1)
                parts[key] = match.group(2)
            elif line.startswith('"') and key:
                parts[key] += line[1:-1]
        if parts.get("msgid"):
            entries.append((parts["msgid"], parts.get("msgstr", parts.get("msgstr[0]", ""))))
    return entries


def test_the_catalogue_is_read():
    assert len(_entries()) > 1500


def test_chinese_colons_are_full_width_with_no_space_after():
    wrong = []
    for msgid, msgstr in _entries():
        without_code = CODE_LIKE_COLON.sub("", msgstr)
        half_width = re.search(f"[{CJK}] ?:|:[ ]?[{CJK}]", without_code)
        if "： " in msgstr or half_width:
            wrong.append((msgid, msgstr))
    assert wrong == []


#: Words the glossary (docs/glossary.md) replaced: each concept has one Chinese word.
RETIRED = {
    "线索台": "线索运营 (the lead desk) / 线索工作台 (its workspace)",
    "来访": "留资 (an arrival)",
    "Webinar": "网络研讨会",
    "老客户": "已有联系人 (a known person is not a customer)",
}


def test_retired_words_are_not_used():
    used = [(word, msgid) for msgid, msgstr in _entries() for word in RETIRED if word in msgstr]
    assert used == []


# -- the admin and the lockout page ----------------------------------------------------


def test_admin_is_in_chinese(client):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    _in(client, "zh-hans").force_login(admin)
    html = client.get("/admin/").content.decode()
    assert "站点管理" in html  # Django's own catalogue (zh_Hans)
    for section in ("线索", "市场活动", "分配", "Webhook", "登录锁定", "认证和授权"):
        assert f">{section}<" in html, section
    assert ">Axes<" not in html and ">Leads<" not in html
    attempts = client.get("/admin/axes/accessattempt/").content.decode()
    assert "登录尝试" in attempts


def test_lockout_page_is_in_chinese(client, rep, settings):
    settings.AXES_FAILURE_LIMIT = 2
    _in(client, "zh-hans")
    for _ in range(2):
        response = client.post(reverse("login"), {"username": "rep", "password": "wrong"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "登录失败次数过多" in html and "Too many failed logins" not in html


# -- one date style per page -----------------------------------------------------------


def test_timeline_dates_follow_the_page_style(client, desk):
    owner = UserFactory(roles=["sales_rep"])
    lead = lead_in_stage(Stage.WON, owner=owner, desk=desk)
    signed = timezone.localdate()
    iso = signed.isoformat()
    _in(client, "zh-hans").force_login(desk)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert f"{signed.year}年{signed.month}月{signed.day}日" in html
    assert f">{iso}<" not in html and f" {iso}" not in html.replace(f'value="{iso}"', "")
    _in(client, "en")
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert iso in html and "年" not in html.split("<main", 1)[-1]


def test_money_on_the_timeline_is_grouped(client, desk):
    owner = UserFactory(roles=["sales_rep"])
    lead = lead_in_stage(Stage.OPPORTUNITY, owner=owner, desk=desk, budget=Decimal("1234567"))
    _in(client, "zh-hans").force_login(desk)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "5,000.00" in html  # the expected amount of the opportunity event


@pytest.mark.parametrize(
    ("language", "shown"), [("zh-hans", "时区：Asia/Shanghai"), ("en", "Time zone: Asia/Shanghai")]
)
def test_a_label_and_its_value_use_the_language_colon(client, desk, language, shown):
    _in(client, language).force_login(desk)
    html = client.get(reverse("sla:policies")).content.decode()
    assert shown in html


def test_months_follow_the_page_style_and_exports_stay_iso():
    month = dt.date(2026, 1, 1)
    with translation.override("zh-hans"):
        assert fmt(month, "month") == "2026年1月"
    with translation.override("en"):
        assert fmt(month, "month") == "2026-01"
    assert export_cell(month, "month") == "2026-01"
