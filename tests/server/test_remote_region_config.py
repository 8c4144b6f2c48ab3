"""Remote-region configuration keys (protocol.md §9.1, §11.3): Spring Cloud and Netflix forms,
including the maps whose region name sits in the middle of the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from eureka.errors import BadInput
from eureka.server.config import load_config


def test_defaults() -> None:
    config = load_config(environ={})
    assert config.remote_region_urls_with_name == ()
    assert config.remote_region_app_whitelist == ()
    assert config.remote_region_registry_fetch_interval == 30
    assert (config.remote_region_connect_timeout_ms, config.remote_region_read_timeout_ms) == (
        2000,
        5000,
    )
    assert config.disable_transparent_fallback_to_other_region is False
    assert config.disable_delta_for_remote_regions is False


def test_spring_cloud_yaml(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        """
eureka:
  server:
    remote-region-urls-with-name:
      us-west-2: http://west:8761/eureka/
      eu-west-1: http://eu:8761/eureka/
    remote-region-app-whitelist:
      us-west-2: ORDER-SERVICE,PAYMENT-SERVICE
      port: SHOULD-NOT-BE-A-PORT
    remote-region-registry-fetch-interval: 5
    remote-region-connect-timeout-ms: 1000
    remote-region-read-timeout-ms: 1000
    disable-transparent-fallback-to-other-region: true
    disable-delta-for-remote-regions: true
"""
    )
    config = load_config(config_file=path, environ={})
    assert config.remote_region_urls_with_name == (
        ("us-west-2", "http://west:8761/eureka/"),
        ("eu-west-1", "http://eu:8761/eureka/"),
    )
    assert dict(config.remote_region_app_whitelist) == {
        "us-west-2": ("ORDER-SERVICE", "PAYMENT-SERVICE"),
        "port": ("SHOULD-NOT-BE-A-PORT",),
    }
    # A region named like a field does not set that field.
    assert config.port == 8761
    assert config.remote_region_registry_fetch_interval == 5
    assert (config.remote_region_connect_timeout_ms, config.remote_region_read_timeout_ms) == (
        1000,
        1000,
    )
    assert config.disable_transparent_fallback_to_other_region is True
    assert config.disable_delta_for_remote_regions is True


def test_netflix_keys() -> None:
    config = load_config(
        environ={},
        overrides={
            "eureka.remoteRegionUrlsWithName": "us-west-2;http://west/eureka/v2/,eu;http://eu/",
            "eureka.remoteRegion.us-west-2.appWhiteList": "A,B",
            "eureka.remoteRegion.global.appWhiteList": "C",
            "eureka.remoteRegion.registryFetchIntervalInSeconds": "7",
            "eureka.remoteRegion.disable.transparent.fallback": "true",
            "eureka.remoteRegionConnectTimeoutMs": "300",
            "eureka.disableDeltaForRemoteRegions": "true",
        },
    )
    assert config.remote_region_urls_with_name == (
        ("us-west-2", "http://west/eureka/v2/"),
        ("eu", "http://eu/"),
    )
    assert dict(config.remote_region_app_whitelist) == {"us-west-2": ("A", "B"), "global": ("C",)}
    assert config.remote_region_registry_fetch_interval == 7
    assert config.disable_transparent_fallback_to_other_region is True
    assert config.remote_region_connect_timeout_ms == 300
    assert config.disable_delta_for_remote_regions is True


def test_flags_override_file_per_region(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        "eureka:\n  server:\n    remote-region-app-whitelist:\n      a: X\n      b: Y\n"
    )
    config = load_config(
        config_file=path,
        environ={},
        overrides={"eureka.server.remote-region-app-whitelist.B": "Z"},
    )
    assert dict(config.remote_region_app_whitelist) == {"a": ("X",), "b": ("Z",)}


@pytest.mark.parametrize(
    "overrides",
    [
        {"eureka.server.remote-region-app-whitelist": "A,B"},
        {"eureka.server.remote-region-urls-with-name.us-west-2": " "},
        {"eureka.server.remote-region-urls-with-name": "no-url-here"},
    ],
)
def test_malformed_region_settings_are_refused(overrides: dict[str, str]) -> None:
    with pytest.raises(BadInput):
        load_config(environ={}, overrides=overrides)
