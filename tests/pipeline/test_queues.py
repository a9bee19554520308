"""Every background task goes to one of the four queues (DESIGN §14), each of which a
docker-compose worker consumes."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

from pipeline.celery import app

ROOT = Path(__file__).resolve().parents[2]
QUEUES = {"realtime", "bulk", "reports", "hooks"}


def _queue_of(name: str) -> str | None:
    route = app.amqp.router.route({}, name)
    queue = route.get("queue")
    return getattr(queue, "name", queue)


def test_the_four_queues():
    assert set(settings.TASK_QUEUES) == QUEUES
    assert settings.CELERY_TASK_DEFAULT_QUEUE in QUEUES


def test_every_registered_task_is_routed_explicitly_to_one_of_the_four_queues():
    app.loader.import_default_modules()
    project_tasks = [name for name in app.tasks if not name.startswith("celery.")]
    assert len(project_tasks) >= 20  # the autodiscovered tasks are there
    routes = settings.CELERY_TASK_ROUTES
    missing = [name for name in project_tasks if name not in routes]
    assert not missing, f"tasks without a route in CELERY_TASK_ROUTES: {missing}"
    stale = [name for name in routes if "*" not in name and name not in app.tasks]
    assert not stale, f"routes of tasks that do not exist: {stale}"
    for name in app.tasks:
        assert _queue_of(name) in QUEUES, name


def test_bulk_and_realtime_work_are_apart():
    assert _queue_of("assignment.tasks.route_lead_task") == "realtime"
    assert _queue_of("notifications.tasks.tell_assigned_task") == "realtime"
    assert _queue_of("leads.tasks.import_run_task") == "bulk"
    assert _queue_of("scoring.tasks.rescore_job_task") == "bulk"
    assert _queue_of("reports.tasks.report_job_task") == "reports"
    assert _queue_of("webhooks.tasks.deliver_task") == "hooks"


def test_docker_compose_workers_consume_all_four_queues_one_task_at_a_time():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    consumed: set[str] = set()
    for service in compose["services"].values():
        command = service.get("command") or []
        if command[:4] != ["celery", "-A", "pipeline", "worker"]:
            continue
        assert "-Q" in command, command  # without -Q a worker reads only the default queue
        queues = set(command[command.index("-Q") + 1].split(","))
        assert queues <= QUEUES, command
        consumed |= queues
    assert consumed == QUEUES
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_ACKS_LATE is True


def test_readme_production_commands_start_a_worker_for_each_queue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for queue in QUEUES:
        assert f"celery -A pipeline worker -l info -Q {queue} " in readme
