"""Celery application; tasks are discovered in each app's tasks.py."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "westgarden.settings")

app = Celery("westgarden")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task: Any = None, **kwargs: Any) -> None:
    # What Django does at the start and end of each request: close a
    # connection that failed or outlived CONN_MAX_AGE, keep the others. An
    # eager task runs inside its caller's transaction and must not touch it.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
