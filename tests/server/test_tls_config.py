"""TLS settings: Spring Boot's `server.ssl.*` and Spring Cloud's `eureka.client.tls.trust-store`."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from eureka.client import load_config as load_client_config
from eureka.errors import BadInput
from eureka.server.config import load_config
from eureka.tls import client_verify, server_context


def test_the_server_reads_spring_boot_ssl_keys_and_the_trust_store_from_yaml_and_env(
    tmp_path: Path,
) -> None:
    yml = tmp_path / "eureka.yml"
    yml.write_text(
        "server:\n  ssl:\n    certificate: /etc/eureka/chain.pem\n"
        "    certificate-private-key: /etc/eureka/key.pem\n"
        "eureka:\n  client:\n    tls:\n      trust-store: /etc/eureka/ca.pem\n"
    )
    config = load_config(config_file=yml, environ={})
    assert config.ssl_certificate == "/etc/eureka/chain.pem"
    assert config.ssl_certificate_private_key == "/etc/eureka/key.pem"
    assert config.tls_trust_store == "/etc/eureka/ca.pem"
    env = load_config(
        environ={
            "SERVER_SSL_CERTIFICATE": "/c.pem",
            "SERVER_SSL_CERTIFICATE_PRIVATE_KEY": "/k.pem",
            "EUREKA_CLIENT_TLS_TRUST_STORE": "/ca.pem",
        }
    )
    assert (env.ssl_certificate, env.ssl_certificate_private_key, env.tls_trust_store) == (
        "/c.pem",
        "/k.pem",
        "/ca.pem",
    )


def test_a_java_key_store_setting_is_refused_rather_than_silently_serving_http() -> None:
    with pytest.raises(BadInput, match="PEM"):
        load_config(environ={}, overrides={"server.ssl.key-store": "classpath:keystore.p12"})


def test_the_client_reads_the_same_trust_store_key(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yml = tmp_path / "client.yml"
    yml.write_text(f"eureka:\n  client:\n    tls:\n      trust-store: {bundle}\n")
    config = load_client_config(yml, env={})
    assert config.client.tls_trust_store == str(bundle)
    verify = config.client.transport_settings().verify
    assert isinstance(verify, ssl.SSLContext)
    assert load_client_config(env={}).client.transport_settings().verify is True


def test_unreadable_bundles_and_keys_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="CA bundle"):
        client_verify(str(tmp_path / "nope.pem"))
    with pytest.raises(BadInput, match="does not exist"):
        server_context(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(BadInput, match="cannot load"):
        server_context(str(garbage), str(garbage))
