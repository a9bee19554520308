"""Settings come only from the environment, through helpers that fail loudly."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from pipeline.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]
_ENV_READ = re.compile(r"""env_(?:str|bool|int|float|list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def _variables_read_by(path: Path) -> set[str]:
    return set(_ENV_READ.findall(path.read_text(encoding="utf-8")))


SETTINGS_VARIABLES = _variables_read_by(ROOT / "pipeline" / "settings.py")
GUNICORN_VARIABLES = _variables_read_by(ROOT / "pipeline" / "gunicorn.conf.py")


def _run_django(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py (or django.setup() without args) with only ``extra_env`` configured."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra_env)
    command = (
        [sys.executable, "manage.py", *args]
        if args
        else [
            sys.executable,
            "-c",
            "import os, django; "
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'pipeline.settings'); "
            "django.setup()",
        ]
    )
    return subprocess.run(  # noqa: S603 - fixed command line, our own interpreter
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("raw", ["x", "maybe", "2"])
def test_env_bool_rejects_a_value_that_is_not_a_boolean(monkeypatch, raw):
    monkeypatch.setenv("LEADLOOP_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="LEADLOOP_TEST_FLAG"):
        env_bool("LEADLOOP_TEST_FLAG")


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("LEADLOOP_TEST_FLAG", raw)
    assert env_bool("LEADLOOP_TEST_FLAG") is expected


def test_env_bool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("LEADLOOP_TEST_FLAG", raising=False)
    assert env_bool("LEADLOOP_TEST_FLAG", default=True) is True


def test_env_int_rejects_a_value_that_is_not_an_integer(monkeypatch):
    monkeypatch.setenv("LEADLOOP_TEST_NUMBER", "abc")
    with pytest.raises(ImproperlyConfigured, match="LEADLOOP_TEST_NUMBER"):
        env_int("LEADLOOP_TEST_NUMBER", 1)


def test_env_int_rejects_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("LEADLOOP_TEST_NUMBER", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("LEADLOOP_TEST_NUMBER", 1, minimum=0)


def test_env_int_and_list_read_values_and_defaults(monkeypatch):
    monkeypatch.setenv("LEADLOOP_TEST_NUMBER", "42")
    monkeypatch.setenv("LEADLOOP_TEST_LIST", " a.example, ,b.example ")
    monkeypatch.delenv("LEADLOOP_TEST_UNSET", raising=False)
    assert env_int("LEADLOOP_TEST_NUMBER", 1) == 42
    assert env_int("LEADLOOP_TEST_UNSET", 7) == 7
    assert env_list("LEADLOOP_TEST_LIST") == ["a.example", "b.example"]
    assert env_str("LEADLOOP_TEST_UNSET", "fallback") == "fallback"


def test_production_without_secret_key_fails_loudly():
    result = _run_django({"DEBUG": "0", "DATABASE_URL": "postgres://leadloop@127.0.0.1:1/none"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_setting_value_stops_startup():
    result = _run_django({"SECURE_HSTS_SECONDS": "a year"})
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS='a year' is not an integer" in result.stderr


def test_embedded_mode_starts_without_any_setting():
    result = _run_django({})
    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deploy_check():
    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "example.com",
        "SECURE_COOKIES": "1",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        # Not connected to: the deploy check does not touch the database.
        "DATABASE_URL": "postgres://leadloop@127.0.0.1:1/none",
    }
    result = _run_django(production, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_every_environment_variable_is_documented():
    """.env.example and the README's configuration table list every variable we read."""
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented_in_example = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    variables = SETTINGS_VARIABLES | GUNICORN_VARIABLES
    assert variables, "no env_* call found: has the settings module moved?"
    assert variables - documented_in_example == set()
    assert {name for name in variables if f"`{name}`" not in readme} == set()


def test_docker_compose_passes_every_setting_and_runs_the_checked_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    workers = ("worker-realtime", "worker-bulk", "worker-reports", "worker-hooks")
    assert {"postgres", "redis", "migrate", "web", *workers, "beat"} <= set(services)
    # Embedded-mode switches make no sense in the compose deployment.
    not_for_compose = {
        "SQLITE_PATH",
        "STATIC_MANIFEST",
        "CELERY_TASK_ALWAYS_EAGER",
        "EMBEDDED_SCHEDULER",
    }
    for name in ("migrate", "web", *workers, "beat"):
        environment = services[name]["environment"]
        assert SETTINGS_VARIABLES - not_for_compose - set(environment) == set(), name
        assert environment["DEBUG"] == "0"
    assert services["web"]["command"][:3] == ["gunicorn", "--config", "pipeline/gunicorn.conf.py"]
    assert (ROOT / services["web"]["command"][2]).is_file()
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    for name in workers:  # one per queue (tests/pipeline/test_queues.py)
        assert services[name]["command"][:4] == ["celery", "-A", "pipeline", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "pipeline", "beat"]
