"""TLS for every HTTP hop of eureka-py: the server's certificate, and the CA bundle clients trust.

Neutral and pure (the stdlib `ssl` module only): the server builds its `ssl.SSLContext` here and
hands it to the HTTP layer; our discovery client, the peers' replication client, the start-up
sync and the remote-region fetchers all verify with `client_verify(trust_store)`, so one setting
(`eureka.client.tls.trust-store`, a PEM bundle) decides what every outgoing connection trusts.
No crypto of our own: certificates and handshakes are OpenSSL's, through `ssl`.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from eureka.errors import BadInput

__all__ = ["client_verify", "server_context"]


def client_verify(trust_store: str | None) -> ssl.SSLContext | bool:
    """httpx's `verify`: the system's trusted CAs (True), or only those of a PEM bundle."""
    if not trust_store:
        return True
    try:
        return ssl.create_default_context(cafile=trust_store)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"cannot read the CA bundle {trust_store}: {exc}") from None


def server_context(
    certificate: str, private_key: str, key_password: str | None = None
) -> ssl.SSLContext:
    """A server context from PEM files (Spring Boot's `server.ssl.certificate` and
    `server.ssl.certificate-private-key`): TLS 1.2 or later, the library's default ciphers."""
    for what, path in (("certificate", certificate), ("private key", private_key)):
        if not Path(path).is_file():
            raise BadInput(f"server.ssl: the {what} file {path} does not exist")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certificate, private_key, password=key_password)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"server.ssl: cannot load {certificate} / {private_key}: {exc}") from None
    return context
