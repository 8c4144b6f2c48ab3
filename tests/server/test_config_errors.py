"""Mistakes in settings get one clear line naming the key and where it was written; keys the
Java server knows but we do not implement, and other programs' keys, are reported, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from eureka.errors import BadInput
from eureka.server.config import env_name, load_config, load_config_report, setting_key


def test_a_misspelt_flag_key_names_the_nearest_setting() -> None:
    with pytest.raises(BadInput) as info:
        load_config(environ={}, overrides={"eureka.server.enable-self-preservaton": "false"})
    assert info.value.reason == (
        "--set eureka.server.enable-self-preservaton: unknown setting; "
        "did you mean eureka.server.enable-self-preservation?"
    )


def test_a_bare_misspelt_key_is_answered_in_the_same_spelling() -> None:
    with pytest.raises(BadInput, match=r"did you mean enable-self-preservation\?$"):
        load_config(environ={}, overrides={"enable-self-preservaton": "false"})


def test_a_misspelt_yaml_key_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        "eureka:\n  server:\n    renewal-percent-threshold: 0.5\n"
        "    enable-self-preservaton: false\n"
    )
    with pytest.raises(BadInput) as info:
        load_config(config_file=path, environ={})
    assert info.value.reason == (
        f"{path}, line 4: eureka.server.enable-self-preservaton: unknown setting; "
        "did you mean eureka.server.enable-self-preservation?"
    )


def test_a_misspelt_environment_variable_is_answered_as_a_variable() -> None:
    with pytest.raises(BadInput) as info:
        load_config(environ={"EUREKA_SERVER_ENABLE_SELF_PRESERVATON": "false"})
    assert info.value.reason == (
        "EUREKA_SERVER_ENABLE_SELF_PRESERVATON: unknown setting; "
        "did you mean EUREKA_SERVER_ENABLE_SELF_PRESERVATION?"
    )


def test_a_key_far_from_every_setting_gets_no_guess() -> None:
    with pytest.raises(BadInput) as info:
        load_config(environ={}, overrides={"eureka.server.colour-of-the-sky": "blue"})
    assert info.value.reason == "--set eureka.server.colour-of-the-sky: unknown setting"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"port": "99999"}, "--port: 99999 is not a port number (0–65535)"),
        ({"port": "eighty"}, "--port: 'eighty' is not a whole number"),
        ({"log_level": "verbose"}, "--log-level: 'verbose' is not one of debug, info, warning"),
        ({"log_format": "xml"}, "--log-format: 'xml' is not one of text, json"),
        ({"my_url": "ftp://x/"}, "--my-url: 'ftp://x/' is not an http:// or https:// URL"),
        (
            {"eureka.server.renewal-percent-threshold": "1.5"},
            "renewal-percent-threshold: 1.5 is not a fraction between 0 and 1",
        ),
        (
            {"eureka.server.eviction-interval-timer-in-ms": "0"},
            "eviction-interval-timer-in-ms: 0 is less than 1",
        ),
        ({"eureka.server.batch-size": "-3"}, "batch-size: -3 is less than 1"),
        ({"eureka.server.port": "9000"}, "unknown setting; did you mean server.port?"),
    ],
)
def test_invalid_values_are_refused_with_the_key_named(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(BadInput) as info:
        load_config(environ={}, overrides=overrides)
    assert message in info.value.reason


def test_zero_is_refused_for_timer_intervals_only() -> None:
    with pytest.raises(BadInput, match="is less than 1"):
        load_config(environ={}, overrides={"eureka.server.delta-retention-timer-interval-in-ms": 0})
    # 0 means "off" for the anti-entropy rounds, and "none" for counts.
    config = load_config(
        environ={},
        overrides={"eureka.server.anti-entropy-interval-ms": 0, "eureka.server.gzip-level": 0},
    )
    assert (config.anti_entropy_interval_ms, config.gzip_level) == (0, 0)


def test_invalid_peer_urls_are_refused() -> None:
    with pytest.raises(BadInput) as info:
        load_config(environ={}, peers=["http://a:8761/eureka/", "peer-b:8761"])
    assert info.value.reason == "--peer peer-b:8761 is not an http:// or https:// URL"
    with pytest.raises(
        BadInput, match="EUREKA_CLIENT_SERVICEURL_DEFAULTZONE: 'http://:80/' has no host"
    ):
        load_config(environ={"EUREKA_CLIENT_SERVICEURL_DEFAULTZONE": "http://:80/"})
    with pytest.raises(BadInput, match="is not a URL"):
        load_config(environ={}, peers=["http://a:99999/eureka/"])


def test_bad_yaml_names_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text("eureka:\n  server:\n    enable-self-preservation: false\n   oops: [1\n")
    with pytest.raises(BadInput) as info:
        load_config(config_file=path, environ={})
    assert info.value.reason.startswith(f"{path}: line 4, column ")
    assert "\n" not in info.value.reason


def test_a_yaml_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(BadInput, match="expected a mapping of settings, found list"):
        load_config(config_file=path, environ={})


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as info:
        load_config(config_file=tmp_path / "nope.yml", environ={})
    assert (
        info.value.reason
        == f"cannot read configuration file {tmp_path / 'nope.yml'}: No such file or directory"
    )


def test_spring_boot_server_port_works_in_yaml_environment_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text("server:\n  port: 9001\n  address: 0.0.0.0\n")
    assert load_config(config_file=path, environ={}).port == 9001
    assert load_config(config_file=path, environ={}).host == "0.0.0.0"
    assert load_config(environ={"SERVER_PORT": "9002"}).port == 9002
    assert load_config(environ={"SERVER_ADDRESS": "10.1.2.3"}).host == "10.1.2.3"
    assert load_config(environ={}, overrides={"server.port": "9003"}).port == 9003
    # The environment beats the file, as everywhere else.
    assert load_config(config_file=path, environ={"SERVER_PORT": "9004"}).port == 9004


def test_a_spring_cloud_server_file_loads_as_is(tmp_path: Path) -> None:
    path = tmp_path / "application.yml"
    path.write_text(
        """
spring:
  application:
    name: eureka-server
server:
  port: 8761
  servlet:
    context-path: /
management:
  endpoints:
    web:
      exposure:
        include: health,info
eureka:
  instance:
    hostname: localhost
    prefer-ip-address: true
  client:
    register-with-eureka: false
    fetch-registry: false
    service-url:
      defaultZone: http://peer1:8761/eureka/
  server:
    enable-self-preservation: false
    peer-node-total-connections: 500
    rate-limiter-burst-size: 10
"""
    )
    report = load_config_report(config_file=path, environ={})
    assert report.config.registry.enable_self_preservation is False
    assert report.config.peers == ("http://peer1:8761/eureka/",)
    ignored = {item.key: item.reason for item in report.ignored}
    assert "Java Eureka setting" in ignored["eureka.server.peer-node-total-connections"]
    assert "client setting" in ignored["eureka.client.register-with-eureka"]
    assert "instance setting" in ignored["eureka.instance.prefer-ip-address"]
    assert "Spring Boot" in ignored["server.servlet.context-path"]
    assert "spring.application.name" in ignored


def test_a_misspelt_client_key_in_a_server_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "application.yml"
    path.write_text("eureka:\n  client:\n    register-with-eureke: false\n")
    with pytest.raises(
        BadInput, match=r"line 3: .*did you mean the client setting registerwitheureka"
    ):
        load_config(config_file=path, environ={})


def test_kubernetes_service_links_and_client_variables_are_not_settings() -> None:
    environ = {
        "EUREKA_SERVER_PORT": "tcp://10.0.0.7:8761",
        "EUREKA_SERVER_SERVICE_HOST": "10.0.0.7",
        "EUREKA_SERVER_PORT_8761_TCP_ADDR": "10.0.0.7",
        "EUREKA_PORT": "tcp://10.0.0.8:8761",
        "EUREKA_INSTANCE_HOSTNAME": "me",
        "EUREKA_CLIENT_REGISTER_WITH_EUREKA": "false",
    }
    report = load_config_report(environ=environ)
    assert report.config.port == 8761
    assert {i.key for i in report.ignored} >= {"EUREKA_SERVER_PORT", "EUREKA_SERVER_SERVICE_HOST"}


def test_a_bare_eureka_variable_is_not_read_and_names_springs_form() -> None:
    environ = {
        "EUREKA_ENABLE_SELF_PRESERVATION": "false",
        "EUREKA_RENEWAL_PERCENT_THRESHOLD": "0.5",
    }
    report = load_config_report(environ=environ)
    assert report.config.registry.enable_self_preservation is True  # not read
    reasons = {i.key: i.reason for i in report.ignored}
    assert reasons == {
        "EUREKA_ENABLE_SELF_PRESERVATION": (
            "not read: Spring's form is EUREKA_SERVER_ENABLE_SELF_PRESERVATION"
        ),
        "EUREKA_RENEWAL_PERCENT_THRESHOLD": (
            "not read: Spring's form is EUREKA_SERVER_RENEWAL_PERCENT_THRESHOLD"
        ),
    }


def test_every_value_records_its_source(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        "eureka:\n  server:\n    eviction-interval-timer-in-ms: 1000\n    batch-size: 10\n"
    )
    report = load_config_report(
        config_file=path,
        environ={"EUREKA_SERVER_BATCH_SIZE": "20", "SERVER_PORT": "9000"},
        overrides={"log_level": "debug", "eureka.server.gzip-level": "3"},
        peers=["http://a:8761/eureka/"],
    )
    assert report.source_of("registry.eviction_interval_timer_in_ms").kind == "file"
    assert str(report.source_of("registry.eviction_interval_timer_in_ms")) == (
        f"{path}, line 3: eureka.server.eviction-interval-timer-in-ms"
    )
    assert (report.source_of("batch_size").kind, str(report.source_of("batch_size"))) == (
        "environment",
        "EUREKA_SERVER_BATCH_SIZE",
    )
    assert str(report.source_of("port")) == "SERVER_PORT"
    assert str(report.source_of("log_level")) == "--log-level"
    assert str(report.source_of("gzip_level")) == "--set eureka.server.gzip-level"
    assert str(report.source_of("peers")) == "--peer"
    assert report.source_of("registry.enable_self_preservation").kind == "default"
    assert (report.config.batch_size, report.config.log_level) == (20, "debug")


def test_spring_keys_and_variables_of_settings() -> None:
    assert setting_key("port") == "server.port"
    assert (
        setting_key("registry.enable_self_preservation") == "eureka.server.enable-self-preservation"
    )
    assert setting_key("registry.retention_time_in_ms_in_delta_queue") == (
        "eureka.server.retention-time-in-m-s-in-delta-queue"
    )
    assert setting_key("registry.default_open_for_traffic_count") == (
        "eureka.instance.registry.default-open-for-traffic-count"
    )
    assert env_name("registry.enable_self_preservation") == "EUREKA_SERVER_ENABLE_SELF_PRESERVATION"
    assert env_name("port") == "SERVER_PORT"
    # Every documented spelling loads back into the same setting.
    for path, value in [("registry.disable_delta", "true"), ("batch_size", "7")]:
        by_key = load_config(environ={}, overrides={setting_key(path): value})
        by_env = load_config(environ={env_name(path): value})
        assert by_key == by_env != load_config(environ={})


def test_every_documented_key_and_variable_is_accepted() -> None:
    from eureka.server.config import ServerConfig, setting_paths, setting_value

    defaults = ServerConfig()
    for path in setting_paths():
        value = setting_value(defaults, path)
        if isinstance(value, tuple) or value is None:
            continue
        for report in (
            load_config_report(environ={}, overrides={setting_key(path): str(value)}),
            load_config_report(environ={env_name(path): str(value)}),
        ):
            assert report.source_of(path).kind != "default", path
            assert setting_value(report.config, path) == value, path
