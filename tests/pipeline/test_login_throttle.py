"""Login throttling and lockout (django-axes) on the login page and the token endpoint."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def test_page_login_locks_after_repeated_failures(client, rep):
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "rep", "password": "wrong"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    locked = client.post(reverse("login"), {"username": "rep", "password": "pw-test-123"})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_other_username_from_same_address_is_not_locked(client, rep, other_rep):
    for _ in range(3):
        client.post(reverse("login"), {"username": "rep", "password": "wrong"})
    ok = client.post(reverse("login"), {"username": "rep2", "password": "pw-test-123"})
    assert ok.status_code == 302


def test_token_endpoint_is_throttled_too(rep):
    api = APIClient()
    for _ in range(3):
        api.post("/api/v1/auth/token/", {"username": "rep", "password": "nope"}, format="json")
    locked = api.post(
        "/api/v1/auth/token/", {"username": "rep", "password": "pw-test-123"}, format="json"
    )
    assert locked.status_code == 429 and "token" not in locked.json()
    assert "locked" in locked.json()["detail"]


def test_token_endpoint_refuses_a_non_object_body():
    response = APIClient().post("/api/v1/auth/token/", [None, None], format="json")
    assert response.status_code == 400 and "detail" in response.json()
