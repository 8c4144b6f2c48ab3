"""XML decoding: the tolerance of Java's XStream converters, and refusal of bad or unsafe input."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eureka.codec import xml
from eureka.errors import BadInput
from eureka.model import AMAZON_CLASS, ActionType, InstanceStatus
from tests.conftest import JAVA_FIXTURES


def _instance_xml(*children: str, app: str = "<app>demo</app>") -> bytes:
    return ("<instance>" + app + "".join(children) + "</instance>").encode()


# --- tolerance -------------------------------------------------------------------------------


def test_unknown_elements_are_ignored_even_with_children() -> None:
    instance = xml.decode_instance(
        _instance_xml("<future><deep>1</deep></future>", "<hostName>h</hostName>", "<x/>")
    )
    assert instance.host_name == "h"


def test_defaults_when_elements_are_missing() -> None:
    instance = xml.decode_instance(_instance_xml())
    assert instance.app == "DEMO"
    assert instance.instance_id is None
    assert instance.status is InstanceStatus.UP
    assert instance.overridden_status is InstanceStatus.UNKNOWN
    assert (instance.port, instance.port_enabled) == (7001, True)
    assert (instance.secure_port, instance.secure_port_enabled) == (7002, False)
    assert instance.sid == "na"
    assert instance.metadata == {}
    assert instance.data_center_info is None
    assert instance.lease_info is None


def test_missing_enabled_attribute_defaults_per_port() -> None:
    instance = xml.decode_instance(
        _instance_xml("<port>8080</port>", "<securePort>8443</securePort>")
    )
    assert (instance.port, instance.port_enabled) == (8080, True)
    assert (instance.secure_port, instance.secure_port_enabled) == (8443, False)


def test_enabled_attribute_is_compared_like_java() -> None:
    # port: anything but "false" enables; securePort: only "true" enables.
    instance = xml.decode_instance(
        _instance_xml('<port enabled="no">1</port>', '<securePort enabled="TRUE">2</securePort>')
    )
    assert instance.port_enabled is True
    assert instance.secure_port_enabled is False
    instance = xml.decode_instance(
        _instance_xml('<port enabled="false">1</port>', '<securePort enabled="true">2</securePort>')
    )
    assert (instance.port_enabled, instance.secure_port_enabled) == (False, True)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("UP", InstanceStatus.UP),
        ("up", InstanceStatus.UP),
        (" Out_Of_Service ", InstanceStatus.OUT_OF_SERVICE),
        ("sideways", InstanceStatus.UNKNOWN),
        ("", InstanceStatus.UNKNOWN),
    ],
)
def test_statuses_are_case_insensitive(text: str, status: InstanceStatus) -> None:
    document = _instance_xml(
        f"<status>{text}</status>", f"<overriddenStatus>{text}</overriddenStatus>"
    )
    instance = xml.decode_instance(document)
    assert instance.status is status
    assert instance.overridden_status is status


def test_both_overridden_status_spellings_are_read_and_the_later_wins() -> None:
    lower = xml.decode_instance(_instance_xml("<overriddenstatus>DOWN</overriddenstatus>"))
    assert lower.overridden_status is InstanceStatus.DOWN
    both = xml.decode_instance(
        _instance_xml(
            "<overriddenStatus>DOWN</overriddenStatus>", "<overriddenstatus>UP</overriddenstatus>"
        )
    )
    assert both.overridden_status is InstanceStatus.UP
    reversed_order = xml.decode_instance(
        _instance_xml(
            "<overriddenstatus>UP</overriddenstatus>", "<overriddenStatus>DOWN</overriddenStatus>"
        )
    )
    assert reversed_order.overridden_status is InstanceStatus.DOWN


def test_numbers_may_carry_whitespace() -> None:
    instance = xml.decode_instance(
        _instance_xml(
            '<port enabled="true"> 8080 </port>',
            "<countryId>\n  3\n</countryId>",
            "<lastDirtyTimestamp>\t1754500000000 </lastDirtyTimestamp>",
            "<leaseInfo><durationInSecs> 60 </durationInSecs></leaseInfo>",
        )
    )
    assert (instance.port, instance.country_id, instance.last_dirty_timestamp) == (
        8080,
        3,
        1754500000000,
    )
    assert instance.lease_info is not None
    assert instance.lease_info.duration_in_secs == 60


def test_non_positive_lease_interval_and_duration_mean_the_defaults() -> None:
    instance = xml.decode_instance(
        _instance_xml(
            "<leaseInfo><renewalIntervalInSecs>0</renewalIntervalInSecs>"
            "<durationInSecs>-5</durationInSecs><evictionTimestamp>9</evictionTimestamp></leaseInfo>"
        )
    )
    assert instance.lease_info is not None
    assert instance.lease_info.renewal_interval_in_secs == 30
    assert instance.lease_info.duration_in_secs == 90
    assert instance.lease_info.eviction_timestamp == 9


def test_app_and_app_group_are_upper_cased() -> None:
    instance = xml.decode_instance(_instance_xml("<appGroupName>payments</appGroupName>"))
    assert (instance.app, instance.app_group_name) == ("DEMO", "PAYMENTS")


def test_blank_host_name_is_ignored_and_id_falls_back_to_it() -> None:
    assert xml.decode_instance(_instance_xml("<hostName></hostName>")).host_name is None
    instance = xml.decode_instance(_instance_xml("<hostName>h1</hostName>"))
    assert instance.instance_id is None
    assert instance.id == "h1"


def test_empty_text_elements_are_empty_strings() -> None:
    instance = xml.decode_instance(
        _instance_xml("<vipAddress></vipAddress>", "<asgName/>", "<instanceId></instanceId>")
    )
    assert (instance.vip_address, instance.asg_name, instance.instance_id) == ("", "", "")


def test_amazon_is_recognised_by_name_in_any_case_and_keeps_its_metadata() -> None:
    instance = xml.decode_instance(
        _instance_xml(
            '<dataCenterInfo class="x.Y"><metadata><instance-id>i-7</instance-id>'
            "<my__key>v</my__key></metadata><name>amazon</name></dataCenterInfo>"
        )
    )
    dci = instance.data_center_info
    assert dci is not None
    assert (dci.name, dci.class_name, dci.metadata) == (
        "Amazon",
        "x.Y",
        {"instance-id": "i-7", "my_key": "v"},
    )
    assert instance.id == "i-7"


def test_non_amazon_data_center_keeps_name_and_class_and_ignores_metadata() -> None:
    instance = xml.decode_instance(
        _instance_xml(
            '<dataCenterInfo class="com.netflix.appinfo.MyDataCenterInfo"><name>Netflix</name>'
            "<metadata><k>v</k></metadata></dataCenterInfo>"
        )
    )
    dci = instance.data_center_info
    assert dci is not None
    assert (dci.name, dci.class_name, dci.metadata) == (
        "Netflix",
        "com.netflix.appinfo.MyDataCenterInfo",
        None,
    )


def test_data_center_without_name_is_none_like_java() -> None:
    assert xml.decode_instance(_instance_xml("<dataCenterInfo/>")).data_center_info is None


def test_amazon_without_metadata_has_an_empty_map() -> None:
    dci = xml.decode_instance(
        _instance_xml(
            f'<dataCenterInfo class="{AMAZON_CLASS}"><name>Amazon</name></dataCenterInfo>'
        )
    ).data_center_info
    assert dci is not None
    assert dci.metadata == {}


def test_metadata_names_are_decoded_and_the_empty_map_placeholder_is_empty() -> None:
    instance = xml.decode_instance(
        _instance_xml("<metadata><a__b>1</a__b><c_-d>2</c_-d><e_.002ff></e_.002ff></metadata>")
    )
    assert instance.metadata == {"a_b": "1", "c$d": "2", "e/f": ""}
    empty = xml.decode_instance(_instance_xml('<metadata class="java.util.Collections$EmptyMap"/>'))
    assert empty.metadata == {}


def test_metadata_key_with_a_raw_colon_as_java_writes_it() -> None:
    # XStream writes a key "a:b" as <a:b>: well-formed, but an undeclared namespace prefix.
    instance = xml.decode_instance(_instance_xml("<metadata><a:b>1</a:b></metadata>"))
    assert instance.metadata == {"a:b": "1"}


def test_booleans_and_action_types_are_lenient() -> None:
    instance = xml.decode_instance(
        _instance_xml(
            "<isCoordinatingDiscoveryServer>TRUE</isCoordinatingDiscoveryServer>",
            "<actionType>REBOOTED</actionType>",
        )
    )
    assert instance.is_coordinating_discovery_server is True
    assert instance.action_type is None
    instance = xml.decode_instance(
        _instance_xml(
            "<isCoordinatingDiscoveryServer>yes</isCoordinatingDiscoveryServer>",
            "<actionType>DELETED</actionType>",
        )
    )
    assert instance.is_coordinating_discovery_server is False
    assert instance.action_type is ActionType.DELETED


def test_comments_cdata_declaration_and_text_input_are_accepted() -> None:
    document = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<!-- hi --><instance><app>d</app>'
        "<hostName>a<!-- c -->b</hostName><vipAddress><![CDATA[x<y]]></vipAddress></instance>"
    )
    instance = xml.decode_instance(document)  # str: the declared encoding is moot
    assert (instance.host_name, instance.vip_address) == ("ab", "x<y")
    latin1 = xml.decode_instance(document.replace("x<y", "caf\u00e9").encode("latin-1"))
    assert latin1.vip_address == "caf\u00e9"
    bom = xml.decode_instance(b"\xef\xbb\xbf<instance><app>d</app></instance>")
    assert bom.app == "D"


def test_applications_defaults_when_version_and_hash_are_missing() -> None:
    applications = xml.decode_applications(b"<applications/>")
    assert (applications.version, applications.apps_hashcode) == (-1, None)
    assert applications.applications == []


def test_application_instances_are_keyed_by_id_and_a_repeat_replaces() -> None:
    application = xml.decode_application(
        b"<application><name>DEMO</name>"
        b"<instance><app>DEMO</app><instanceId>a</instanceId><status>UP</status></instance>"
        b"<instance><app>DEMO</app><instanceId>b</instanceId></instance>"
        b"<instance><app>DEMO</app><instanceId>a</instanceId><status>DOWN</status></instance>"
        b"</application>"
    )
    assert list(application.instances_by_id) == ["b", "a"]
    instance = application.get_instance("a")
    assert instance is not None
    assert instance.status is InstanceStatus.DOWN


def test_max_bytes_is_inclusive() -> None:
    document = _instance_xml()
    assert xml.decode_instance(document, max_bytes=len(document)).app == "DEMO"
    with pytest.raises(BadInput, match="larger than"):
        xml.decode_instance(document, max_bytes=len(document) - 1)


# --- bad and unsafe input --------------------------------------------------------------------

_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<instance><app>x</app><hostName>&lol9;</hostName></instance>"""

_EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<instance><app>x</app><hostName>&xxe;</hostName></instance>"
)

_BAD_DOCUMENTS: dict[str, bytes | str] = {
    "billion laughs": _BILLION_LAUGHS,
    "external entity": _EXTERNAL_ENTITY,
    "external DTD": b'<!DOCTYPE instance SYSTEM "http://127.0.0.1:1/x.dtd"><instance><app>x</app></instance>',
    "parameter entity": (
        b'<!DOCTYPE instance [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
        b"<instance><app>x</app></instance>"
    ),
    "plain DOCTYPE": b"<!DOCTYPE instance><instance><app>x</app></instance>",
    "DOCTYPE in UTF-16": _EXTERNAL_ENTITY.replace(b'<?xml version="1.0"?>', b"")
    .decode()
    .encode("utf-16"),
    "undefined entity": b"<instance><app>&foo;</app></instance>",
    "truncated": b"<instance><app>x</app><hostName>h",
    "empty": b"",
    "whitespace": b"  \n ",
    "not XML": b'{"instance": {}}',
    "two roots": b"<instance><app>x</app></instance><instance/>",
    "prefix and real error": b"<instance><app>x</app><a:b>1</a:b><open></instance>",
    "wrong root": b"<application><name>X</name></application>",
    "error document": b"<error><message>cannot parse request body</message></error>",
    "namespaced root": b'<instance xmlns="urn:x"><app>x</app></instance>',
    "missing app": b"<instance><hostName>h</hostName></instance>",
    "port not a number": _instance_xml('<port enabled="true">http</port>'),
    "port empty": _instance_xml("<port/>"),
    "port too large": _instance_xml("<port>2147483648</port>"),
    "port with underscores": _instance_xml("<port>8_080</port>"),
    "port in Arabic digits": _instance_xml("<port>\u0668\u0660</port>"),
    "timestamp too large": _instance_xml(
        "<lastDirtyTimestamp>9223372036854775808</lastDirtyTimestamp>"
    ),
    "lease not a number": _instance_xml(
        "<leaseInfo><durationInSecs>ninety</durationInSecs></leaseInfo>"
    ),
    "country not a number": _instance_xml("<countryId>1.0</countryId>"),
    "invalid UTF-8": b"<instance><app>\xff\xfe</app></instance>",
    "NUL reference": b"<instance><app>a&#x0;</app></instance>",
    "U+FFFF reference": b"<instance><app>a&#xffff;</app></instance>",
    "lone surrogate text": "<instance><app>\ud800</app></instance>",
    "too deep": b"<instance><app>x</app>" + b"<a>" * 300 + b"</a>" * 300 + b"</instance>",
}


@pytest.mark.parametrize("name", list(_BAD_DOCUMENTS))
def test_bad_instance_documents_raise_bad_input(name: str) -> None:
    with pytest.raises(BadInput) as caught:
        xml.decode_instance(_BAD_DOCUMENTS[name])
    assert caught.value.reason
    assert len(caught.value.reason) <= 200


def test_unsafe_documents_are_refused_as_such() -> None:
    for name in ("billion laughs", "external entity", "plain DOCTYPE", "DOCTYPE in UTF-16"):
        with pytest.raises(BadInput, match="DOCTYPE"):
            xml.decode_instance(_BAD_DOCUMENTS[name])


@pytest.mark.parametrize(
    ("decode", "document"),
    [
        (
            xml.decode_applications,
            b"<applications><versions__delta>one</versions__delta></applications>",
        ),
        (xml.decode_applications, b"<instance><app>x</app></instance>"),
        (xml.decode_application, b"<applications/>"),
        (
            xml.decode_application,
            b"<application><instance><hostName>h</hostName></instance></application>",
        ),
        (xml.decode_applications, _BILLION_LAUGHS.replace(b"instance>", b"applications>")),
    ],
)
def test_bad_application_documents_raise_bad_input(
    decode: Callable[[bytes], object], document: bytes
) -> None:
    with pytest.raises(BadInput):
        decode(document)


def test_non_document_argument_is_bad_input() -> None:
    with pytest.raises(BadInput):
        xml.decode_instance(12345)  # type: ignore[arg-type]


def _decoders() -> list[Callable[[bytes], object]]:
    return [xml.decode_instance, xml.decode_application, xml.decode_applications]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_raise_bad_input(data: bytes) -> None:
    for decode in _decoders():
        with contextlib.suppress(BadInput):
            decode(data)


_SEED = (JAVA_FIXTURES / "registry-full.xstream.xml").read_bytes()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SEED) - 1), st.sampled_from(b"<>/&;=\"' x0_-.\n")),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, len(_SEED)),
)
def test_mutated_registry_only_ever_raises_bad_input(
    edits: list[tuple[int, int]], cut: int
) -> None:
    mutated = bytearray(_SEED)
    for position, byte in edits:
        mutated[position] = byte
    for data in (bytes(mutated), bytes(mutated[:cut])):
        with contextlib.suppress(BadInput):
            xml.decode_applications(data)
