"""``GET /api/v1/leads/export/`` is the only way in: every other method answers 405 JSON.

schemathesis once reported ``PATCH /api/v1/leads/export/?file_format=csv`` → 500 on a busy
machine. The action itself has always been GET-only; the 500 was the token lookup failing
with ``database is locked`` while another request wrote (SQLite in rollback-journal mode
blocks readers during a commit). WAL mode fixed that (``pipeline/settings.py``,
``tests/pipeline/test_sqlite_concurrency.py``); this pins the method contract.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/export/?file_format=csv"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_export_refuses_every_method_but_get_with_a_json_405(api, manager, method):
    response = getattr(api(manager), method)(URL, {"name": "x"}, format="json")

    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert method.upper() in response.json()["detail"]
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


def test_export_answers_get_with_csv(api, manager):
    response = api(manager).get(URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_export_refuses_an_anonymous_patch_before_anything_else(api):
    response = api().patch(URL, {}, format="json")

    assert response.status_code in (401, 403)
    assert "detail" in response.json()
