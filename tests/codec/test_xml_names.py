"""XStream's name coder (XmlFriendlyNameCoder of XStream 1.4.20/1.4.21, default replacements)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from eureka.codec._xml_names import decode_name, encode_name


@pytest.mark.parametrize(
    ("java_name", "element_name"),
    [
        ("management.port", "management.port"),
        ("instance-id", "instance-id"),
        ("versions_delta", "versions__delta"),  # the reason for <versions__delta>
        ("apps_hashcode", "apps__hashcode"),
        ("my_key", "my__key"),
        ("a$b", "a_-b"),
        ("_", "__"),
        ("$_$", "_-___-"),
        ("a/b", "a_.002fb"),  # not a name character: hex-escaped per UTF-16 unit
        ("a b", "a_.0020b"),
        ("1st", "_.0031st"),  # a digit may not start a name
        ("-x", "_.002dx"),
        ("über", "über"),  # Latin-1 letters are name characters in both XML editions
        ("a:b", "a_.003ab"),  # our one deviation: Java writes ':' raw (an undeclared prefix)
        ("k\U0001f600", "k_.d83d_.de00"),  # outside the BMP: two escaped surrogate units
        ("\u0e01x", "\u0e01x"),  # Thai letter: in both editions' name characters
        ("a\u2040", "a_.2040"),  # NameChar only in the 5th edition: XStream needs both
    ],
)
def test_encode_and_decode(java_name: str, element_name: str) -> None:
    assert encode_name(java_name) == element_name
    assert decode_name(element_name) == java_name


def test_decode_scans_left_to_right_dollar_before_escape() -> None:
    # "___-" is "__" then "_-", i.e. "_$"; scanning "_-" first at every position gives that.
    assert decode_name("___-") == "_$"
    assert decode_name("a__-b") == "a_-b"


def test_decode_keeps_malformed_hex_escape_literally() -> None:
    assert decode_name("a_.zz") == "a_.zz"
    assert decode_name("a_.00") == "a_.00"


def test_decode_lone_escaped_surrogate_becomes_replacement_character() -> None:
    assert decode_name("x_.d83d") == "x\ufffd"


@given(st.text(min_size=1, max_size=12))
def test_any_key_encodes_to_a_name_lxml_accepts_and_decodes_back(key: str) -> None:
    name = encode_name(key)
    element = etree.fromstring(f"<{name}/>".encode())
    assert decode_name(element.tag) == key
