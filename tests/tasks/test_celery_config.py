"""The Celery configuration the reliability notes ask for: never eager, late acks with reject on
worker loss, prefetch 1, ordered time limits, bounded retry countdowns honouring Retry-After."""

from __future__ import annotations

import pytest

from investigator.config import Settings
from investigator.errors import RateLimitedError, TransientError
from tasks.app import WorkerSettings, celery_app, limits, make_celery
from tasks.investigation import retry_countdown

TASKS = [
    "investigator.start",
    "investigator.source",
    "investigator.assemble",
    "investigator.watchdog",
    "investigator.deliver",
]


def test_eager_mode_is_off() -> None:
    assert celery_app.conf.task_always_eager is False
    assert make_celery(Settings()).conf.task_always_eager is False


@pytest.mark.parametrize("name", TASKS)
def test_every_task_acks_late_rejects_on_worker_loss_and_keeps_its_result(name: str) -> None:
    task = celery_app.tasks[name]
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert task.ignore_result is False  # chord header results must be stored (celery #5237)


def test_the_broker_is_configured_to_reconnect_forever_with_keepalive_and_prefetch_one() -> None:
    conf = make_celery(Settings(redis_url="redis://redis:6379/0")).conf
    assert conf.broker_url == conf.result_backend == "redis://redis:6379/0"
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_retry_on_startup is True
    assert conf.broker_connection_max_retries is None
    transport = conf.broker_transport_options
    assert transport["visibility_timeout"] == 3600.0
    assert transport["socket_keepalive"] is True and transport["health_check_interval"] == 10


def test_default_time_limits_are_ordered_below_the_visibility_timeout() -> None:
    settings, worker = Settings(), WorkerSettings()
    found = limits(settings, worker)

    assert settings.source_deadline_s < found.source_soft_s < found.source_hard_s < found.visibility_timeout_s
    assert found.deliver_soft_s < found.deliver_hard_s < found.visibility_timeout_s
    assert settings.investigation_deadline_s + found.source_hard_s < found.visibility_timeout_s
    assert worker.result_expires_s > settings.investigation_deadline_s + found.deliver_hard_s
    source = celery_app.tasks["investigator.source"]
    assert source.soft_time_limit < source.time_limit


def test_a_visibility_timeout_shorter_than_the_watchdog_deadline_is_refused() -> None:
    with pytest.raises(ValueError, match="visibility timeout"):
        limits(Settings(investigation_deadline_s=600), WorkerSettings(visibility_timeout_s=300))


def test_result_expiry_shorter_than_an_investigation_is_refused() -> None:
    with pytest.raises(ValueError, match="result_expires"):
        limits(Settings(investigation_deadline_s=120), WorkerSettings(result_expires_s=60))


def test_a_rate_limited_delivery_waits_the_upstreams_retry_after_capped() -> None:
    assert retry_countdown(0, RateLimitedError("429", retry_after=7), 60) == 7
    assert retry_countdown(0, RateLimitedError("429", retry_after=900), 60) == 60


def test_other_transient_delivery_errors_back_off_exponentially_with_jitter_and_a_cap() -> None:
    waits = [retry_countdown(n, TransientError("503"), 60) for n in range(8)]
    assert 1.5 <= waits[0] <= 2.5
    assert 3.0 <= waits[1] <= 5.0
    assert all(w <= 60 * 1.25 for w in waits)
