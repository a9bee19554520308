"""Reads of the in-app notifications: always one user's own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from notifications.models import Notification


def notifications_of(user: Any, *, unread: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first (``unread``: only those not read yet)."""
    rows = Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-id")
    return rows.filter(read_at__isnull=True) if unread else rows


def unread_count(user: Any) -> int:
    """One ``COUNT`` on the partial index of unread rows (the navigation badge)."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()
