"""``docs/architecture.md`` tells the truth about the code it maps.

- The announcement table equals the live subscription registry, row for row, in both
  directions (a subscription without a row, or a row without a subscription, fails and is
  named).
- Every dotted name on the page (``leads.lifecycle.transitions.lead_qualify``) imports:
  the longest importable module prefix, then ``getattr`` for the rest.
- Every action of the registry, every lifecycle rule (with its *from* stages), every beat
  entry and every task of the apps has its row, so "where does the rule for X live" is
  answered in one look.
"""

from __future__ import annotations

import importlib
import pathlib
import re
from collections import Counter

import pytest
from django.conf import settings

from leads.actions import ACTIONS as REGISTRY
from leads.lifecycle.announcements import subscriptions
from leads.lifecycle.rules import ACTIONS as LIFECYCLE_RULES
from pipeline.celery import app as celery_app

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
#: Top-level packages of this project: a dotted name starting with one of them is ours.
PACKAGES = (
    "assignment",
    "campaigns",
    "leads",
    "notifications",
    "pipeline",
    "reports",
    "scoring",
    "targets",
    "tests",
)
DOTTED = re.compile(rf"^(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
BACKTICKED = re.compile(r"`([^`\n]+)`")


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table of ``text``: (header cells, body rows of cells)."""
    found: list[tuple[list[str], list[list[str]]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]):
            header = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            found.append((header, rows))
        else:
            i += 1
    return found


def table(text: str, *header: str) -> list[list[str]]:
    """The rows of the one table whose header is ``header``."""
    matches = [rows for head, rows in tables(text) if tuple(head) == header]
    assert len(matches) == 1, f"expected one table headed {header}, found {len(matches)}"
    return matches[0]


def unquote(cell: str) -> str:
    return cell.strip().strip("`")


def ticked(cell: str) -> list[str]:
    return BACKTICKED.findall(cell)


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted``, then get the remaining attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as error:
            if error.name is None or not ".".join(parts[:cut]).startswith(error.name):
                raise  # the module exists but imports something missing: a real error
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


# --------------------------------------------------------------------------------------
# The announcement table
# --------------------------------------------------------------------------------------


def documented_subscriptions() -> Counter[tuple[str, str, str]]:
    rows = table(doc_text(), "announcement", "payload", "moment", "subscriber")
    assert rows, "the announcement table is empty"
    return Counter((unquote(a), unquote(moment), unquote(sub)) for a, _payload, moment, sub in rows)


def live_subscriptions() -> Counter[tuple[str, str, str]]:
    return Counter(
        (announcement.value, subscription.moment, subscription.name)
        for announcement, subs in subscriptions().items()
        for subscription in subs
    )


def test_announcement_table_equals_the_live_registry():
    documented, live = documented_subscriptions(), live_subscriptions()
    missing = sorted((live - documented).elements())
    stale = sorted((documented - live).elements())
    assert not missing and not stale, (
        "docs/architecture.md §3 and the subscription registry differ.\n"
        f"  subscribed but not in the table: {missing}\n"
        f"  in the table but not subscribed: {stale}"
    )


def test_every_announcement_is_in_the_table():
    documented = {announcement for announcement, _moment, _sub in documented_subscriptions()}
    assert documented == {announcement.value for announcement in subscriptions()}


# --------------------------------------------------------------------------------------
# Dotted names
# --------------------------------------------------------------------------------------


def dotted_names() -> list[str]:
    names = {token for token in BACKTICKED.findall(doc_text()) if DOTTED.match(token)}
    return sorted(names)


def test_the_page_names_code():
    assert len(dotted_names()) > 100, "the dotted-name check would prove little"


@pytest.mark.parametrize("dotted", dotted_names())
def test_every_dotted_name_resolves(dotted):
    try:
        resolve(dotted)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"docs/architecture.md names `{dotted}`, which does not exist: {error}")


# --------------------------------------------------------------------------------------
# Coverage: every action, rule and job has its row
# --------------------------------------------------------------------------------------


def test_every_registered_action_has_a_rule_row():
    rows = table(doc_text(), "action", "check", "rule (service)", "announces / then")
    documented = {row[0] for row in rows}
    assert set(REGISTRY) <= documented, f"no row for {sorted(set(REGISTRY) - documented)}"


def test_lifecycle_table_states_the_from_stages_of_the_rules():
    rows = table(doc_text(), "action", "who", "from", "to", "must carry")
    documented = {row[0]: set(ticked(row[2])) for row in rows}
    assert set(documented) == set(LIFECYCLE_RULES)
    for name, rule in LIFECYCLE_RULES.items():
        assert documented[name] == {str(stage) for stage in rule.from_stages}, name


def test_every_beat_entry_has_a_row_with_its_task():
    rows = table(doc_text(), "beat entry", "schedule", "task", "rule (service)")
    documented = {unquote(row[0]): unquote(row[2]) for row in rows}
    live = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    assert documented == live


def test_every_task_of_the_apps_has_a_row():
    text = doc_text()
    jobs = table(text, "beat entry", "schedule", "task", "rule (service)")
    others = table(text, "task (not periodic)", "queued by", "rule (service)")
    documented = {unquote(row[2]) for row in jobs} | {unquote(row[0]) for row in others}
    ours = {name for name in celery_app.tasks if name.split(".")[0] in PACKAGES}
    assert ours, "no task registered: the check would prove nothing"
    assert ours <= documented, f"tasks without a row: {sorted(ours - documented)}"
