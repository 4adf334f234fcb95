import pytest
from pydantic import ValidationError

from config.profile import load_profile
from config.settings import DEFAULT_PROFILE, SohoaSettings
from workers.app import celery_config


def test_time_limit_must_stay_below_the_visibility_timeout():
    with pytest.raises(ValidationError, match="visibility_timeout"):
        SohoaSettings(task_time_limit=4000, visibility_timeout=3600, _env_file=None)


def test_retry_backoff_must_stay_below_the_visibility_timeout():
    with pytest.raises(ValidationError, match="retry_backoff_max"):
        SohoaSettings(visibility_timeout=120, task_time_limit=60, task_soft_time_limit=50,
                      retry_backoff_max=120, _env_file=None)  # fmt: skip


def test_redis_url_is_taken_from_the_conventional_variable(monkeypatch):
    monkeypatch.delenv("SOHOA_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6390/3")
    assert SohoaSettings(_env_file=None).redis_url == "redis://example.invalid:6390/3"


def test_secrets_do_not_show_in_the_settings_repr():
    settings = SohoaSettings(s3_secret_key="hunter2-secret", _env_file=None)
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.model_dump())


def test_celery_is_configured_for_at_least_once_delivery():
    conf = celery_config(SohoaSettings(visibility_timeout=120, task_time_limit=60,
                                       task_soft_time_limit=50, retry_backoff_max=30,
                                       _env_file=None))  # fmt: skip
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_time_limit"] < conf["broker_transport_options"]["visibility_timeout"]
    assert conf["accept_content"] == ["json"]


def test_the_default_profile_file_is_valid():
    profile = load_profile(DEFAULT_PROFILE)
    assert profile.derivatives.sizes() == {"access": 3000, "preview": 1200, "thumb": 400}
    assert profile.limits.max_pixels == 300_000_000


def test_a_redis_broker_uses_the_transport_that_requeues_at_the_head():
    plain = celery_config(SohoaSettings(redis_url="redis://127.0.0.1:6379/0", _env_file=None))
    assert plain["broker_transport"] == "workers.redelivery:Transport"
    # TLS keeps kombu's own transport (and its certificate handling) as it is.
    secure = celery_config(SohoaSettings(redis_url="rediss://cache.example:6380/0", _env_file=None))
    assert "broker_transport" not in secure
