"""Basic auth and the access policy (server/auth.py), through `EurekaApp.handle` on manual time."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from eureka.errors import BadInput
from eureka.server import app as app_module
from eureka.server.auth import POLICY, Refusal, encode_password, parse_password
from eureka.server.config import load_config
from tests.server.node_support import call, make_node, registration

# The encoded forms of "password" printed in the Spring Security reference (Password Storage).
SPRING_ENCODED_PASSWORD = {
    "bcrypt": "{bcrypt}$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG",
    "pbkdf2": "{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6"
    "bf3b508fbf17fa4ed4d6b99ca763d8dc",
    "scrypt": "{scrypt}$e0801$8bWJaSu2IKSn9Z9kM+TPXfOc/9bdYSrN1oD9qfVThWEwdRTnO7re7Ei+fUZRJ68k9l"
    "TyuTeUp4of4g24hHnazw==$OAOec05+bXxvuu/1qZ6NUR+xQYvYv7BeL1QxwRpY5Pc=",
    "sha256": "{sha256}97cde38028ad898ebc02e690819fa220e88c62e0699403e94"
    "fff291cfffaf8410849f27605abcbc0",
    "noop": "{noop}password",
}

# Cheap hashes for the request tests (bcrypt's real cost is 0.1 s a verification).
PEER_PW, ADMIN_PW, APP_PW = "peer-secret", "admin-secret", "app-secret"
SETTINGS = {
    "eureka.server.auth.users.peer.password": encode_password(PEER_PW, "sha256"),
    "eureka.server.auth.users.peer.roles": "PEER",
    "eureka.server.auth.users.admin.password": encode_password(ADMIN_PW, "sha256"),
    "eureka.server.auth.users.admin.roles": "ROLE_ADMIN",
    "eureka.server.auth.users.app.password": encode_password(APP_PW, "sha256"),
    "eureka.server.auth.users.app.roles": "client",
}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def test_the_policy_has_exactly_one_row_per_route() -> None:
    assert set(POLICY) == set(app_module._HANDLERS)


@pytest.mark.parametrize("scheme", sorted(SPRING_ENCODED_PASSWORD))
def test_spring_encoded_passwords_verify(scheme: str) -> None:
    stored = parse_password(SPRING_ENCODED_PASSWORD[scheme])
    assert stored.verify("password")
    assert not stored.verify("Password")
    assert "password" not in repr(stored)


@pytest.mark.parametrize("scheme", ["bcrypt", "pbkdf2", "sha256", "scrypt", "noop"])
def test_encoded_passwords_round_trip(scheme: str) -> None:
    stored = encode_password("s3cret:with colon", scheme)
    assert stored.startswith("{" + scheme + "}")
    assert parse_password(stored).verify("s3cret:with colon")
    assert not parse_password(stored).verify("s3cret")


def test_unknown_or_broken_encodings_refuse_the_configuration() -> None:
    with pytest.raises(BadInput, match="not one of"):
        parse_password("{md5}abc")
    with pytest.raises(BadInput, match="cannot be read"):
        parse_password("{bcrypt}not-a-hash")
    assert parse_password("plain").verify("plain")  # Spring Boot's rule: no prefix = plain text


def test_auth_enabled_without_users_fails_closed() -> None:
    with pytest.raises(BadInput, match="no user"):
        load_config(environ={}, overrides={"eureka.server.auth.enabled": "true"})
    with pytest.raises(BadInput, match="roles"):
        load_config(environ={}, overrides={"eureka.server.auth.users.x.password": "{noop}p"})
    with pytest.raises(BadInput, match="password"):
        load_config(environ={}, overrides={"eureka.server.auth.users.x.roles": "PEER"})
    with pytest.raises(BadInput, match="unknown role"):
        load_config(
            environ={},
            overrides={
                "eureka.server.auth.users.x.password": "{noop}p",
                "eureka.server.auth.users.x.roles": "ROOT",
            },
        )


def test_users_come_from_spring_boot_keys_files_and_environment(tmp_path: Path) -> None:
    secret = tmp_path / "peer-password"
    secret.write_text(encode_password("from-file", "sha256") + "\n")
    config = load_config(
        environ={
            "SPRING_SECURITY_USER_NAME": "eureka",
            "SPRING_SECURITY_USER_PASSWORD": "plain-from-env",
            "APP_PW": "from-env",
            "EUREKA_SERVER_AUTH_READ_ACCESS": "authenticated",
        },
        overrides={
            "eureka.server.auth.users.peer.password-file": str(secret),
            "eureka.server.auth.users.peer.roles": "PEER",
            "eureka.server.auth.users.app.password-env": "APP_PW",
            "eureka.server.auth.users.app.roles": "CLIENT",
        },
    )
    auth = config.auth
    assert auth.enabled and auth.read_access.value == "authenticated"
    users = {u.name: u for u in auth.users}
    assert users["eureka"].roles == {"CLIENT", "ADMIN", "PEER"}  # Spring Boot's user may do all
    assert users["eureka"].password.verify("plain-from-env")
    assert users["peer"].password.verify("from-file") and users["peer"].roles == {"PEER"}
    assert users["app"].password.verify("from-env")
    assert auth.plain_text_users == ()  # from the environment: not sitting in a file
    with pytest.raises(BadInput, match="not set"):
        load_config(
            environ={},
            overrides={
                "eureka.server.auth.users.a.password-env": "MISSING",
                "eureka.server.auth.users.a.roles": "PEER",
            },
        )


def _registered(settings: dict[str, str]):  # type: ignore[no-untyped-def]
    node, clock = make_node(settings)
    reply = call(
        node.app, "POST", "/eureka/apps/APP", headers=basic("app", APP_PW), body=registration()
    )
    assert reply.status == 204
    return node, clock


def _state(node) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    return node.registry.revision, call(node.app, "GET", "/eureka/apps").body


def test_reads_are_open_and_writes_need_credentials_with_a_challenge() -> None:
    node, _ = _registered(SETTINGS)
    app = node.app
    assert call(app, "GET", "/eureka/apps").status == 200
    before = _state(node)
    reply = call(app, "PUT", "/eureka/apps/APP/i-1")
    assert reply.status == 401
    assert ("www-authenticate", 'Basic realm="eureka", charset="UTF-8"') in reply.headers
    assert call(app, "DELETE", "/eureka/apps/APP/i-1", headers=basic("app", "wrong")).status == 401
    assert call(app, "DELETE", "/eureka/apps/APP/i-1", headers=basic("nobody", "x")).status == 401
    assert (
        call(app, "DELETE", "/eureka/apps/APP/i-1", headers={"authorization": "Basic %%"}).status
        == 401
    )
    assert _state(node) == before
    assert call(app, "PUT", "/eureka/apps/APP/i-1", headers=basic("app", APP_PW)).status == 200


def test_admin_writes_need_role_admin() -> None:
    node, _ = _registered(SETTINGS)
    app = node.app
    before = _state(node)
    for user, password in (("app", APP_PW), ("peer", PEER_PW)):
        headers = basic(user, password)
        for method, path, query in (
            ("PUT", "/eureka/apps/APP/i-1/status", "value=OUT_OF_SERVICE"),
            ("DELETE", "/eureka/apps/APP/i-1/status", ""),
            ("PUT", "/eureka/apps/APP/i-1/metadata", "k=v"),
        ):
            reply = call(app, method, path, query=query, headers=headers)
            assert reply.status == 403, (user, method, path)
            assert not any(name == "www-authenticate" for name, _ in reply.headers)
    assert _state(node) == before
    reply = call(
        app,
        "PUT",
        "/eureka/apps/APP/i-1/status",
        query="value=OUT_OF_SERVICE",
        headers=basic("admin", ADMIN_PW),
    )
    assert reply.status == 200
    assert _state(node) != before


def test_replication_needs_the_peer_credential_and_changes_nothing_without_it() -> None:
    node, _ = _registered(SETTINGS)
    app = node.app
    before = _state(node)
    batch = b'{"replicationList":[{"appName":"APP","id":"i-1","action":"Cancel"}]}'
    json_type = {"content-type": "application/json"}
    for headers in ({}, basic("app", APP_PW), basic("admin", ADMIN_PW)):
        reply = call(
            app,
            "POST",
            "/eureka/peerreplication/batch/",
            headers={**json_type, **headers},
            body=batch,
        )
        assert reply.status in (401, 403)
        # The replication header on a single write: the same refusal, even for a client user.
        replicated = {"x-netflix-discovery-replication": "true", **headers}
        assert call(app, "DELETE", "/eureka/apps/APP/i-1", headers=replicated).status in (401, 403)
        assert call(
            app,
            "POST",
            "/eureka/apps/APP",
            headers={**replicated, **json_type},
            body=registration("APP", "i-2"),
        ).status in (401, 403)
    assert _state(node) == before
    reply = call(
        app,
        "POST",
        "/eureka/peerreplication/batch/",
        headers={**json_type, **basic("peer", PEER_PW)},
        body=batch,
    )
    assert reply.status == 200 and b'"statusCode":200' in reply.body
    assert node.registry.get_instance("APP", "i-1") is None


def test_a_peer_replicated_write_is_not_sent_on_to_other_peers() -> None:
    node, _ = _registered(SETTINGS)
    sent: list[str] = []
    node.app.replicator.cancel = lambda app, iid: sent.append(iid)  # type: ignore[method-assign]
    replicated = {"x-netflix-discovery-replication": "true", **basic("peer", PEER_PW)}
    assert call(node.app, "DELETE", "/eureka/apps/APP/i-1", headers=replicated).status == 200
    assert sent == []


def test_authenticated_reads_and_the_refusal_counts_in_the_status() -> None:
    node, _ = make_node({**SETTINGS, "eureka.server.auth.read-access": "authenticated"})
    app = node.app
    assert call(app, "GET", "/eureka/apps").status == 401
    assert call(app, "GET", "/eureka/apps", headers=basic("app", "bad")).status == 401
    assert call(app, "GET", "/eureka/apps", headers=basic("peer", PEER_PW)).status == 200
    status = call(app, "GET", "/eureka/status", headers=basic("admin", ADMIN_PW))
    assert status.status == 200
    auth = json.loads(status.body)["auth"]
    assert auth["refused"] == {"missing_credentials": 1, "wrong_password": 1}
    assert PEER_PW not in status.body.decode() and "secret" not in status.body.decode()


def test_refusals_are_logged_with_the_reason_throttled_and_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    node, clock = _registered(SETTINGS)
    caplog.set_level(logging.WARNING, "eureka.server")
    for _ in range(5):
        call(node.app, "DELETE", "/eureka/apps/APP/i-1", headers=basic("app", "hunter2"))
    clock.advance(11)
    call(node.app, "DELETE", "/eureka/apps/APP/i-1", headers=basic("app", "hunter2"))
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 2
    assert "wrong_password" in lines[0] and "'app'" in lines[0]
    assert "4 more refused" in lines[1]
    assert all("hunter2" not in line and "Basic" not in line for line in lines)


def test_new_credentials_are_verified_at_a_bounded_rate() -> None:
    node, clock = make_node({**SETTINGS, "eureka.server.auth.max-verifications-per-second": "2"})
    app = node.app
    statuses = [
        call(app, "DELETE", "/eureka/apps/APP/x", headers=basic("app", f"guess-{n}")).status
        for n in range(4)
    ]
    assert statuses == [401] * 4
    assert node.app.auth is not None
    assert node.app.auth.refused[Refusal.TOO_MANY_VERIFICATIONS] == 2
    # Even the right password waits for a token while the bucket is empty…
    assert call(app, "PUT", "/eureka/apps/APP/x", headers=basic("app", APP_PW)).status == 401
    clock.advance(1)
    # …and once verified it is remembered: no more tokens needed.
    assert call(app, "PUT", "/eureka/apps/APP/x", headers=basic("app", APP_PW)).status == 404
    for _ in range(10):
        assert call(app, "PUT", "/eureka/apps/APP/x", headers=basic("app", APP_PW)).status == 404


def test_without_auth_the_replication_header_is_trusted_as_before() -> None:
    node, _ = make_node()
    reply = call(
        node.app,
        "POST",
        "/eureka/apps/APP",
        headers={"x-netflix-discovery-replication": "true", "content-type": "application/json"},
        body=registration(),
    )
    assert reply.status == 204
