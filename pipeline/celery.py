"""The Celery application.

Run workers with ``celery -A pipeline worker`` and the scheduler with ``celery -A pipeline beat``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline.settings")

app = Celery("pipeline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
