"""The health endpoint used by load balancers and the compose health check."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_healthz_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_plain_http_when_https_is_enforced(client, settings):
    """A container health check speaks plain HTTP even though users are sent to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


@pytest.mark.django_db
def test_healthz_hides_the_database_error_and_logs_it(client, caplog):
    """The database's error text names hosts and roles: logged, never shown (issue #13)."""
    from unittest import mock

    from django.db import OperationalError

    secret = 'connection to server at "db.internal" failed: role "leadloop_prod" denied'
    with mock.patch("pipeline.views.connection") as fake:
        fake.cursor.side_effect = OperationalError(secret)
        with caplog.at_level("ERROR", logger="pipeline.views"):
            response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error"}
    assert "db.internal" not in response.content.decode()
    assert any(secret in (r.exc_text or "") or secret in str(r.exc_info) for r in caplog.records)
