"""Decoding registry responses: JSON by default (what we ask for), XML when the server says so.

The XML codec (and with it lxml) is imported only when a server answers XML: a client that
speaks JSON never loads it (`tests/test_layering.py`).
"""

from __future__ import annotations

from eureka.client.messages import Response
from eureka.codec import json as json_codec
from eureka.model import Application, Applications

__all__ = ["decode_application", "decode_registry", "is_xml"]


def is_xml(response: Response) -> bool:
    content_type = response.content_type.lower()
    if content_type:
        return "xml" in content_type and "json" not in content_type
    return response.body.lstrip()[:1] == b"<"


def decode_registry(response: Response) -> Applications:
    """Decode an Applications payload; the codecs raise BadInput for anything undecodable."""
    if is_xml(response):
        from eureka.codec import xml as xml_codec  # noqa: PLC0415

        return xml_codec.decode_applications(response.body)
    return json_codec.decode_applications(response.body)


def decode_application(response: Response) -> Application:
    """Decode one application (`GET apps/{app}`), JSON or XML as the server answered."""
    if is_xml(response):
        from eureka.codec import xml as xml_codec  # noqa: PLC0415

        return xml_codec.decode_application(response.body)
    return json_codec.decode_application(response.body)
