from __future__ import annotations

from pathlib import Path

import pytest

from eureka.errors import BadInput
from eureka.server.config import load_config


def test_defaults_are_a_single_local_node() -> None:
    config = load_config(environ={})
    assert (config.host, config.port, config.prefix, config.peers) == (
        "127.0.0.1",
        8761,
        "/eureka",
        (),
    )
    assert config.registry.enable_self_preservation is True
    assert config.registry.retention_time_in_ms_in_delta_queue == 180_000


def test_spring_yaml_keys(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        """
server:
  port: 9999
eureka:
  server:
    enable-self-preservation: false
    renewal-percent-threshold: 0.5
    retention-time-in-m-s-in-delta-queue: 60000
    use-read-only-response-cache: true
  client:
    service-url:
      defaultZone: http://a:8761/eureka/,http://b:8761/eureka/
"""
    )
    config = load_config(config_file=path, environ={})
    assert config.port == 9999
    assert config.registry.enable_self_preservation is False
    assert config.registry.renewal_percent_threshold == 0.5
    assert config.registry.retention_time_in_ms_in_delta_queue == 60_000
    assert config.registry.use_read_only_response_cache is True
    assert config.peers == ("http://a:8761/eureka/", "http://b:8761/eureka/")


def test_netflix_keys_environment_and_flags_in_precedence_order(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text("eureka:\n  enableSelfPreservation: true\n  evictionIntervalTimerInMs: 1000\n")
    environ = {
        "EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS": "2000",
        "EUREKA_SERVER_ENABLE_SELF_PRESERVATION": "false",
    }
    config = load_config(
        config_file=path, environ=environ, overrides={"eviction-interval-timer-in-ms": "3000"}
    )
    assert config.registry.enable_self_preservation is False  # environment beats the file
    assert config.registry.eviction_interval_timer_in_ms == 3000  # flags beat the environment


def test_bad_values_are_reported_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="enable-self-preservation"):
        load_config(environ={}, overrides={"eureka.server.enable-self-preservation": "perhaps"})
    with pytest.raises(BadInput, match="cannot read"):
        load_config(config_file=tmp_path / "missing.yml", environ={})
