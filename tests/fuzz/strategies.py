"""Hypothesis strategies for hostile-but-plausible Eureka requests (bodies, queries, headers).

Built from Eureka's own shapes (protocol.md §3, §8.2): a valid registration in dialect A or XML,
then mutated the way broken or hostile clients send it — fields dropped, retyped, oversized,
nested, renamed; XML with entities, a DOCTYPE or another encoding; bodies truncated, gzipped or
labelled with the wrong type; replication batches of any action over a small pool of ids, so
that writes hit instances that exist. The OpenAPI document cannot express these (dialects,
XML attributes, the `$`/`@enabled` port objects, replication semantics), hence our own.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

APPS = ("APP", "ORDERS", "app", "Ünï")
IDS = ("i-1", "i-2", "10.0.0.1:orders:8080", "a/b", "")
STATUSES = ("UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN")
WEIRD = ("", " ", "up", "null", "-1", "9" * 30, "\x00", "é", "<x/>", "{}", "%2F", "true")
ACTIONS = ("Register", "Heartbeat", "Cancel", "StatusUpdate", "DeleteStatusOverride")


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


text = st.one_of(st.sampled_from(WEIRD), st.text(max_size=20))
huge = st.integers(min_value=4097, max_value=70_000).map(lambda n: "x" * n)
scalar = st.one_of(
    text, st.integers(min_value=-(2**70), max_value=2**70), st.booleans(), st.none(), st.floats()
)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def instance_obj(app: str, instance_id: str, status: str) -> dict[str, Any]:
    return {
        "instanceId": instance_id,
        "hostName": "10.0.0.1",
        "app": app,
        "ipAddr": "10.0.0.1",
        "status": status,
        "overriddenStatus": "UNKNOWN",
        "port": {"$": 8080, "@enabled": "true"},
        "securePort": {"$": 443, "@enabled": "false"},
        "countryId": 1,
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
        "metadata": {"zone": "a"},
        "vipAddress": app.lower(),
        "homePageUrl": "http://10.0.0.1:8080/",
        "lastDirtyTimestamp": "1754500000000",
    }


FIELDS = tuple(instance_obj("A", "i", "UP"))


# Strategies built once (building them inside the composites cost more than drawing).
NESTED = {depth: nested(depth) for depth in (5, 40, 1_000)}
_BYTES = st.binary(max_size=64)
_S0 = st.sampled_from(APPS)
_S1 = st.sampled_from(IDS)
_S2 = st.sampled_from(STATUSES)
_S3 = st.integers(0, 3)
_S4 = st.sampled_from(FIELDS)
_S5 = st.integers(0, 7)
_S6 = st.sampled_from([5, 40, 1_000])
_S7 = st.sampled_from([10, 300])
_S8 = st.sampled_from(["Amazon", "MyOwn", "x", ""])
_S9 = st.integers(0, 9)
_S10 = st.sampled_from(['{"instance":%s}', "%s", '{"instance":[%s]}'])
_S11 = st.booleans()
_S12 = st.sampled_from(["UTF-8", "ISO-8859-1", "UTF-16"])
_S14 = st.sampled_from(["application/json", "application/xml", "", "text/plain"])
_S15 = st.sampled_from((*ACTIONS, "Bogus", ""))
_S16 = st.sampled_from(STATUSES + WEIRD)
_S17 = st.integers(-(2**70), 2**70)
_S18 = st.integers(0, 5)
_S19 = st.integers(0, 1)
_S20 = st.sampled_from(["appName", "id", "action", "instanceInfo"])
_S21 = st.just(nested(1_000))
_S22 = st.sampled_from([40, 1_000, 5_000])
_S23 = st.sampled_from(["/eureka", "/eureka/v2", "/v2", "/eureka/v1"])
_S24 = st.integers(0, 13)
_S25 = st.sampled_from(["PUT", "DELETE"])
_S26 = st.sampled_from(["PUT", "PATCH", "OPTIONS", "DELETE", "POST", "GET"])
_S27 = st.sampled_from(["application/json", "application/xml", "*/*", "json, xml"])
_S28 = st.sampled_from(["gzip", "deflate", "x-gzip", "br", "identity"])
_S29 = st.integers(0, 4)


@st.composite
def mutated_instance(draw: st.DrawFn) -> dict[str, Any]:
    obj = instance_obj(draw(_S0), draw(_S1), draw(_S2))
    for _ in range(draw(_S3)):
        key = draw(_S4)
        kind = draw(_S5)
        if kind == 0:
            obj.pop(key, None)
        elif kind == 1:
            obj[key] = draw(json_value)
        elif kind == 2:
            obj[key] = draw(huge)
        elif kind == 3:
            obj[key] = NESTED[draw(_S6)]
        elif kind == 4:
            obj["metadata"] = {f"k{n}": "v" for n in range(draw(_S7))}
        elif kind == 5:
            obj["metadata"] = {"big": draw(huge)}
        elif kind == 6:
            obj[draw(text)] = draw(json_value)
        else:
            obj["dataCenterInfo"] = {
                "name": draw(_S8),
                "metadata": draw(json_value),
            }
    return obj


def _xml_text(value: Any) -> str:
    text_value = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return text_value.replace("&", "&amp;").replace("<", "&lt;")


def to_xml(obj: dict[str, Any], encoding: str) -> bytes:
    parts = [f'<?xml version="1.0" encoding="{encoding}"?><instance>']
    for key, value in obj.items():
        tag = "".join(c for c in str(key) if c.isalnum()) or "x"
        if key in ("port", "securePort") and isinstance(value, dict):
            enabled = _xml_text(value.get("@enabled", "true"))
            parts.append(f'<{tag} enabled="{enabled}">{_xml_text(value.get("$", ""))}</{tag}>')
        elif isinstance(value, dict):
            inner = "".join(
                f"<{''.join(c for c in str(k) if c.isalnum()) or 'x'}>{_xml_text(v)}"
                f"</{''.join(c for c in str(k) if c.isalnum()) or 'x'}>"
                for k, v in value.items()
            )
            cls = _xml_text(value.get("@class", "")) if key == "dataCenterInfo" else ""
            attr = f' class="{cls}"' if cls else ""
            parts.append(f"<{tag}{attr}>{inner}</{tag}>")
        else:
            parts.append(f"<{tag}>{_xml_text(value)}</{tag}>")
    parts.append("</instance>")
    try:
        return "".join(parts).encode(encoding)
    except UnicodeEncodeError:
        return "".join(parts).encode(encoding, "xmlcharrefreplace")


XML_ATTACKS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    b"<instance><app>&b;</app></instance>",
    b'<!DOCTYPE i [<!ENTITY x SYSTEM "file:///etc/passwd">]><instance><app>&x;</app></instance>',
    b'<!DOCTYPE instance SYSTEM "http://127.0.0.1:9/x.dtd"><instance/>',
    b"<instance><app>A</app>",
    b"<instance>" * 300,
    b"\xff\xfe<\x00i\x00",
)
_S13 = st.sampled_from(XML_ATTACKS)


@st.composite
def registration_body(draw: st.DrawFn) -> tuple[bytes, str]:
    """(body, content-type) of a registration, JSON or XML, possibly broken."""
    kind = draw(_S9)
    if kind <= 4:
        body = json.dumps(draw(mutated_instance()) if kind else instance_obj("APP", "i-1", "UP"))
        wrapped = draw(_S10)
        data = (wrapped % body).encode()
        if draw(_S11) and draw(_S11):
            data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
        return data, "application/json"
    if kind <= 7:
        encoding = draw(_S12)
        return to_xml(draw(mutated_instance()), encoding), "application/xml"
    if kind == 8:
        return draw(_S13), "application/xml"
    return draw(_BYTES), draw(_S14)


@st.composite
def batch_item(draw: st.DrawFn) -> Any:
    if draw(_S9) == 0:
        return draw(json_value)
    app, instance_id = draw(_S0), draw(_S1)
    item: dict[str, Any] = {
        "appName": app,
        "id": instance_id,
        "action": draw(_S15),
    }
    if draw(_S11):
        item["status"] = draw(_S16)
    if draw(_S11):
        item["overriddenStatus"] = draw(_S16)
    if draw(_S11):
        item["lastDirtyTimestamp"] = draw(_NUMBER_OR_TEXT)
    if item["action"] == "Register" or draw(_S11):
        # Mostly a well-formed instance (so that registrations apply), sometimes a broken one.
        choice = draw(_S18)
        if choice == 0:
            item["instanceInfo"] = draw(mutated_instance())
        elif choice == 1:
            item["instanceInfo"] = draw(json_value)
        else:
            item["instanceInfo"] = instance_obj(app, instance_id, draw(_S2))
    for _ in range(draw(_S19)):
        key = draw(_S20)
        item[key] = draw(_JUNK)
    return item


_NUMBER_OR_TEXT = st.one_of(st.integers(-(2**70), 2**70), text)
_JUNK = st.one_of(json_value, st.just(nested(1_000)))
_ITEMS = st.lists(batch_item(), max_size=4)


@st.composite
def batch_body(draw: st.DrawFn) -> bytes:
    kind = draw(_S9)
    if kind == 0:
        depth = draw(_S22)
        return b'{"replicationList":' + b"[" * depth + b"]" * depth + b"}"
    if kind == 1:
        return draw(_BYTES)
    if kind == 2:
        return json.dumps(draw(json_value)).encode()
    items = draw(_ITEMS)
    return json.dumps({"replicationList": items}).encode()


def _query(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


query_value = st.one_of(
    st.sampled_from(STATUSES + WEIRD), st.integers(-(2**70), 2**70).map(str), text
)


_PAIRS = st.lists(st.tuples(text, st.one_of(text, huge)), max_size=4)
_SEGMENTS = st.lists(text, max_size=5)


@st.composite
def eureka_request(draw: st.DrawFn) -> FuzzRequest:
    app = quote(draw(_S0), safe="")
    instance_id = quote(draw(_S1), safe=":")
    prefix = draw(_S23)
    headers: dict[str, str] = {}
    kind = draw(_S24)
    body = b""
    query = ""
    if kind <= 2:
        method, path = "POST", f"{prefix}/apps/{app}"
        body, content_type = draw(registration_body())
        if content_type:
            headers["content-type"] = content_type
    elif kind == 3:
        method, path = "PUT", f"{prefix}/apps/{app}/{instance_id}"
        keys = ["status", "lastDirtyTimestamp", "overriddenstatus"]
        query = _query([(k, draw(query_value)) for k in keys if draw(_S11)])
    elif kind == 4:
        method, path = "DELETE", f"{prefix}/apps/{app}/{instance_id}"
    elif kind == 5:
        method = draw(_S25)
        path = f"{prefix}/apps/{app}/{instance_id}/status"
        keys = ["value", "lastDirtyTimestamp"]
        query = _query([(k, draw(query_value)) for k in keys if draw(_S11)])
    elif kind == 6:
        method, path = "PUT", f"{prefix}/apps/{app}/{instance_id}/metadata"
        pairs = draw(_PAIRS)
        query = _query(pairs)
    elif kind <= 9:
        method, path = "POST", f"{prefix}/peerreplication/batch/"
        body = draw(batch_body())
        headers["content-type"] = "application/json"
    elif kind <= 11:
        method = "GET"
        path = draw(
            st.sampled_from(
                [
                    f"{prefix}/apps",
                    f"{prefix}/apps/delta",
                    f"{prefix}/apps/digests",
                    f"{prefix}/apps/{app}",
                    f"{prefix}/apps/{app}/{instance_id}",
                    f"{prefix}/instances/{instance_id}",
                    f"{prefix}/vips/{app}",
                    f"{prefix}/svips/{app}",
                    f"{prefix}/serverinfo/statusoverrides",
                    f"{prefix}/status",
                ]
            )
        )
        keys = ["regions", "apps", "since", "wait"]
        query = _query([(k, draw(query_value)) for k in keys if draw(_S11)])
    elif kind == 12:
        method = draw(_S26)
        path = prefix + "/" + "/".join(quote(s, safe="") for s in draw(_SEGMENTS))
    else:
        method = "PUT"
        path = f"{prefix}/asg/{app}/status"
        query = _query([("value", draw(query_value))])
    if draw(_S11):
        headers["accept"] = draw(_S27)
    if draw(_S3) == 0:
        headers["x-eureka-accept"] = "compact"
    if draw(_S18) == 0:
        headers["x-netflix-discovery-replication"] = "true"
    if body and draw(_S3) == 0:
        encoding = draw(_S28)
        headers["content-encoding"] = encoding
        if encoding in ("gzip", "x-gzip") and draw(_S29):
            body = gzip.compress(body)
        elif encoding == "deflate" and draw(_S11):
            body = zlib.compress(body)
    return FuzzRequest(method, path, query, headers, body)
