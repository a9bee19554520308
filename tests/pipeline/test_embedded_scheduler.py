"""The beat schedule runs in the embedded default (DESIGN §14): pipeline.scheduler."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from celery import Celery
from celery.schedules import crontab

from pipeline import scheduler
from pipeline.celery import app
from pipeline.scheduler import EmbeddedScheduler, should_start

calls: list[str] = []

#: Tasks of these tests only, on an app of their own: the project's app lists real tasks.
local = Celery("embedded-scheduler-tests", set_as_current=False)
local.conf.timezone = "Asia/Shanghai"
local.conf.task_always_eager = True


@local.task(name="tests.pipeline.test_embedded_scheduler.record_task", shared=False)
def record_task() -> None:
    calls.append("record")


@local.task(name="tests.pipeline.test_embedded_scheduler.failing_task", shared=False)
def failing_task() -> None:
    calls.append("fail")
    raise RuntimeError("boom")


RECORD = "tests.pipeline.test_embedded_scheduler.record_task"
FAILING = "tests.pipeline.test_embedded_scheduler.failing_task"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def errors(caplog):
    """What pipeline.scheduler logs (the project's LOGGING may not propagate it)."""
    logger = logging.getLogger("pipeline.scheduler")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()
    yield
    calls.clear()


def test_an_interval_entry_runs_at_start_then_once_per_interval():
    with time_machine.travel(START, tick=False) as clock:
        beat = EmbeddedScheduler(local, {"every-2-min": {"task": RECORD, "schedule": 120.0}})
        assert beat.tick() == ["every-2-min"]
        assert beat.tick() == []  # not due again at once
        clock.shift(dt.timedelta(seconds=60))
        assert beat.tick() == []
        clock.shift(dt.timedelta(seconds=61))
        assert beat.tick() == ["every-2-min"]
    assert calls == ["record", "record"]


def test_a_crontab_entry_waits_for_its_time_and_runs_once():
    # 09:00 UTC is 17:00 in Asia/Shanghai (CELERY_TIMEZONE); the entry says 17:30 there.
    with time_machine.travel(START, tick=False) as clock:
        beat = EmbeddedScheduler(
            local, {"daily": {"task": RECORD, "schedule": crontab(hour=17, minute=30, app=local)}}
        )
        assert beat.tick() == []
        clock.shift(dt.timedelta(minutes=29))
        assert beat.tick() == []
        clock.shift(dt.timedelta(minutes=2))
        assert beat.tick() == ["daily"]
        assert beat.tick() == []
        clock.shift(dt.timedelta(hours=1))
        assert beat.tick() == []
    assert calls == ["record"]


def test_a_failing_task_is_logged_and_the_others_still_run(errors):
    with time_machine.travel(START, tick=False) as clock:
        beat = EmbeddedScheduler(
            local,
            {
                "bad": {"task": FAILING, "schedule": 60.0},
                "good": {"task": RECORD, "schedule": 60.0},
            },
        )
        assert beat.tick() == ["bad", "good"]
        clock.shift(dt.timedelta(seconds=61))
        assert beat.tick() == ["bad", "good"]
    assert calls == ["fail", "record", "fail", "record"]
    assert "Periodic job bad" in errors.text


def test_an_unknown_task_is_logged_not_raised(errors):
    beat = EmbeddedScheduler(local, {"gone": {"task": "no.such.task", "schedule": 60.0}})
    assert beat.tick() == ["gone"]
    assert "Periodic job gone" in errors.text


@pytest.mark.django_db
def test_the_real_schedule_runs_its_interval_jobs_at_start(settings, errors):
    """Every entry of CELERY_BEAT_SCHEDULE is read; the interval ones run here, cleanly."""
    beat = EmbeddedScheduler(app, settings.CELERY_BEAT_SCHEDULE)
    assert {e.name for e in beat.entries} == set(settings.CELERY_BEAT_SCHEDULE)
    intervals = {
        name
        for name, spec in settings.CELERY_BEAT_SCHEDULE.items()
        if not isinstance(spec["schedule"], crontab)
    }
    assert "sla-scan" in intervals
    assert set(beat.tick()) == intervals
    assert errors.text == ""


@pytest.mark.parametrize(
    ("argv", "environ", "enabled", "expected"),
    [
        (["manage.py", "runserver", "127.0.0.1:8000"], {"RUN_MAIN": "true"}, True, True),
        (["manage.py", "runserver", "--noreload"], {}, True, True),
        # The autoreloader's parent only watches files.
        (["manage.py", "runserver", "127.0.0.1:8000"], {}, True, False),
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}, False, False),
        (["gunicorn", "pipeline.wsgi"], {"RUN_MAIN": "true"}, True, False),
        (["manage.py", "migrate"], {}, True, False),
        (["pytest", "-q"], {}, True, False),
    ],
)
def test_started_only_in_the_serving_runserver_process(settings, argv, environ, enabled, expected):
    settings.EMBEDDED_SCHEDULER = enabled
    assert should_start(argv, environ) is expected


def test_not_started_in_tests():
    """Django set up for this test run: no scheduler thread, none started by ready()."""
    assert scheduler._started is None
    assert scheduler.start() is False


def test_off_by_default_with_a_broker(settings):
    """Production (REDIS_URL set, not eager) leaves the schedule to `celery beat`."""
    from tests.pipeline.test_settings import _run_django

    done = _run_django(
        {"REDIS_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": "x" * 50, "DEBUG": "0"},
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMBEDDED_SCHEDULER)",
    )
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
