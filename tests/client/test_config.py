"""Configuration: defaults (§10.12), Spring-keyed YAML, environment, kwargs; own InstanceInfo."""

from __future__ import annotations

from pathlib import Path

import pytest

from eureka.client.config import (
    ClientConfig,
    InstanceConfig,
    build_instance_info,
    detect_ip_address,
    load_config,
)
from eureka.clock import ManualClock
from eureka.errors import BadInput
from eureka.model import InstanceStatus


def test_defaults_are_spring_clouds() -> None:
    config = load_config(env={})
    c, i = config.client, config.instance
    assert c.service_urls() == ["http://localhost:8761/eureka/"]
    assert (c.registry_fetch_interval_seconds, c.instance_info_replication_interval_seconds) == (
        30,
        30,
    )
    assert c.initial_instance_info_replication_interval_seconds == 40
    assert c.cache_refresh_executor_exponential_back_off_bound == 10
    assert c.heartbeat_executor_exponential_back_off_bound == 10
    assert not c.disable_delta and not c.log_delta_diff and c.filter_only_up_instances
    assert c.fetch_registry and c.register_with_eureka and c.should_unregister_on_shutdown
    assert not c.should_enforce_registration_at_init and not c.should_enforce_fetch_registry_at_init
    assert c.on_demand_update_status_change and c.region == "us-east-1"
    assert (c.eureka_server_connect_timeout_seconds, c.eureka_server_read_timeout_seconds) == (5, 8)
    assert c.client_data_accept == "full" and c.registry_refresh_single_vip_address is None
    assert (i.lease_renewal_interval_in_seconds, i.lease_expiration_duration_in_seconds) == (30, 90)
    assert i.initial_status == "UP" and i.appname == "unknown"
    assert (i.secure_port, i.secure_port_enabled) == (443, False)


def test_yaml_with_nested_dotted_kebab_and_camel_keys(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        """
spring:
  application:
    name: order-service
server:
  port: 9090
eureka:
  client:
    service-url:
      defaultZone: http://u:p@peer1:8761/eureka/,http://peer2:8761/eureka/
    registryFetchIntervalSeconds: 5
    disable-delta: true
    fetch_remote_regions_registry: us-west-2
  instance:
    prefer-ip-address: true
    metadata-map:
      zone: z1
      version: 2
eureka.instance.lease-renewal-interval-in-seconds: 10
""",
        encoding="utf-8",
    )
    config = load_config(path, env={})
    assert config.client.service_urls() == [
        "http://u:p@peer1:8761/eureka/",
        "http://peer2:8761/eureka/",
    ]
    assert config.client.registry_fetch_interval_seconds == 5
    assert config.client.disable_delta is True
    assert config.client.remote_regions() == ("us-west-2",)
    assert config.instance.appname == "order-service"
    assert config.instance.non_secure_port == 9090
    assert config.instance.prefer_ip_address is True
    assert config.instance.metadata_map == {"zone": "z1", "version": "2"}
    assert config.instance.lease_renewal_interval_in_seconds == 10


def test_environment_overrides_file_and_kwargs_override_environment(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text("eureka:\n  client:\n    registry-fetch-interval-seconds: 5\n", "utf-8")
    env = {
        "EUREKA_CLIENT_REGISTRY_FETCH_INTERVAL_SECONDS": "7",
        "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE": "http://env:8761/eureka/",
        "EUREKA_CLIENT_FILTERONLYUPINSTANCES": "false",
        "EUREKA_INSTANCE_APPNAME": "billing",
        "EUREKA_INSTANCE_METADATA_MAP_ZONE": "z9",
        "EUREKA_INSTANCE_NON_SECURE_PORT": "8181",
        "UNRELATED": "x",
    }
    config = load_config(path, env=env, instance={"nonSecurePort": 9999})
    assert config.client.registry_fetch_interval_seconds == 7
    assert config.client.service_urls() == ["http://env:8761/eureka/"]
    assert config.client.filter_only_up_instances is False
    assert config.instance.appname == "billing"
    assert config.instance.metadata_map == {"zone": "z9"}
    assert config.instance.non_secure_port == 9999


def test_service_url_env_without_zone_means_default_zone() -> None:
    config = load_config(env={"EUREKA_CLIENT_SERVICE_URL": "http://one/eureka"})
    assert config.client.service_urls() == ["http://one/eureka"]


@pytest.mark.parametrize(
    ("client", "message"),
    [
        ({"disable_delta": "maybe"}, "true or false"),
        ({"registry_fetch_interval_seconds": "soon"}, "number"),
        ({"no_such_setting": 1}, "unknown"),
        ({"service_url": "http://x"}, "mapping"),
    ],
)
def test_bad_settings_raise_bad_input(client: dict[str, object], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        load_config(env={}, client=client)


def test_unreadable_file_raises_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("eureka: [unclosed", "utf-8")
    with pytest.raises(BadInput):
        load_config(path, env={})
    with pytest.raises(BadInput):
        load_config(tmp_path / "missing.yml", env={})


def test_own_zone_urls_come_first() -> None:
    client = ClientConfig(
        service_url={"z1": "http://one/eureka/", "z2": "http://two/eureka/"},
        availability_zones={"us-east-1": "z1,z2"},
    )
    assert client.service_urls() == ["http://one/eureka/", "http://two/eureka/"]
    assert client.service_urls(zone="z2") == ["http://two/eureka/", "http://one/eureka/"]


def test_instance_info_from_config() -> None:
    config = InstanceConfig(
        appname="order-service",
        hostname="host-1",
        ip_address="10.0.0.7",
        non_secure_port=8080,
        metadata_map={"zone": "z1"},
        lease_renewal_interval_in_seconds=10,
    )
    clock = ManualClock()
    info = build_instance_info(config, clock)
    assert info.app == "ORDER-SERVICE"
    assert info.instance_id == "host-1:order-service:8080"
    assert (info.host_name, info.ip_addr, info.port, info.port_enabled) == (
        "host-1",
        "10.0.0.7",
        8080,
        True,
    )
    assert info.status is InstanceStatus.UP
    assert info.vip_address == info.secure_vip_address == "order-service"
    assert info.health_check_url == "http://host-1:8080/actuator/health"
    assert info.status_page_url == "http://host-1:8080/actuator/info"
    assert info.home_page_url == "http://host-1:8080/"
    assert info.secure_health_check_url is None
    assert info.metadata == {"zone": "z1"}
    assert info.lease_info is not None and info.lease_info.renewal_interval_in_secs == 10
    assert info.data_center_info is not None and info.data_center_info.name == "MyOwn"
    assert info.last_dirty_timestamp == clock.now_ms()


def test_prefer_ip_address_uses_the_ip_as_host() -> None:
    config = InstanceConfig(appname="a", ip_address="10.0.0.9", prefer_ip_address=True)
    info = build_instance_info(config, ManualClock(), detect_host=lambda: "ignored")
    assert info.host_name == "10.0.0.9" and info.instance_id == "10.0.0.9:a:8080"


def test_ip_detection_skips_loopback_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    # A container whose host name resolves to Debian's 127.0.1.1 alias and has no default route:
    # the routable address must come from the host's other addresses.
    import socket

    def no_route(*args: object, **kwargs: object) -> socket.socket:
        raise OSError("network unreachable")

    monkeypatch.setattr(socket, "socket", no_route)
    monkeypatch.setattr(socket, "gethostname", lambda: "c0ffee")
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "127.0.1.1")
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 0, "", ("172.17.0.2", 0))],
    )
    assert detect_ip_address() == "172.17.0.2"
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [])
    assert detect_ip_address() == "127.0.0.1"


def test_service_urls_are_shuffled_within_their_zone_only() -> None:
    import random

    client = ClientConfig(
        service_url={"z1": "http://a/e/,http://b/e/,http://c/e/", "defaultZone": "http://d/e/"},
        availability_zones={"us-east-1": "z1"},
    )
    orders = {tuple(client.service_urls("z1", rng=random.Random(seed))) for seed in range(20)}
    assert len(orders) > 1
    assert all(order[-1] == "http://d/e/" for order in orders)
    assert all(
        sorted(order[:3]) == ["http://a/e/", "http://b/e/", "http://c/e/"] for order in orders
    )


def test_invalid_initial_status_is_rejected() -> None:
    with pytest.raises(BadInput, match="initial_status"):
        build_instance_info(
            InstanceConfig(initial_status="READY", ip_address="10.0.0.1", hostname="h"),
            ManualClock(),
        )


def test_spring_boot_name_and_port_variables_fill_in_the_instance(tmp_path: Path) -> None:
    from eureka.client.config import load_config as load

    env = {"SPRING_APPLICATION_NAME": "billing", "SERVER_PORT": "9100"}
    instance = load(env=env).instance
    assert (instance.appname, instance.non_secure_port) == ("billing", 9100)
    path = tmp_path / "eureka.yaml"
    path.write_text("spring:\n  application:\n    name: orders\nserver:\n  port: 8000\n")
    # The environment beats the file's server.port ...
    assert load(path, env={"SERVER_PORT": "9200"}).instance.non_secure_port == 9200
    assert load(path, env={}).instance.non_secure_port == 8000
    # ... and the instance's own keys beat both, wherever they are written.
    explicit = {"SERVER_PORT": "9200", "EUREKA_INSTANCE_NON_SECURE_PORT": "7000"}
    assert load(path, env=explicit).instance.non_secure_port == 7000
    path.write_text("server:\n  port: 8000\neureka:\n  instance:\n    non-secure-port: 7001\n")
    assert load(path, env={"SERVER_PORT": "9200"}).instance.non_secure_port == 7001
