"""Text escaping as XStream's PrettyPrintWriter (quirks mode) does it, with our one deviation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from eureka.codec._xml_escape import escape_text


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a&b", "a&amp;b"),
        ("<x>", "&lt;x&gt;"),
        ('say "hi" it\'s', "say &quot;hi&quot; it&apos;s"),
        ("&amp;", "&amp;amp;"),  # 1.4.20/1.4.21 escape every '&' (no entity pass-through)
        ("line\r\nnext", "line&#xd;\nnext"),
        ("tab\there", "tab\there"),
        ("caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c"),  # defined characters: raw
        ("\U0001f600", "\U0001f600"),  # outside the BMP: raw (Java sees two defined units)
        ("\x7f\x85", "&#x7f;&#x85;"),  # ISO controls that XML allows: hex references
        ("\u0378", "&#x378;"),  # unassigned BMP code point: hex reference
        ("a\x00b", "a&#xfffd;b"),  # deviation: XStream writes &#x0;, which no parser reads
        ("\x01\x1f", "&#xfffd;&#xfffd;"),
        ("\ufffe\uffff", "&#xfffd;&#xfffd;"),
        ("x\ud800y", "x&#xfffd;y"),  # a lone surrogate (only a Python str can hold one)
    ],
)
def test_escape(text: str, written: str) -> None:
    assert escape_text(text) == written


_xml_chars = st.characters(
    codec="utf-8", exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"
).filter(lambda char: char in "\t\n\r" or ord(char) >= 0x20)


@given(st.text(_xml_chars, max_size=30))
def test_text_xml_can_carry_reads_back_unchanged(text: str) -> None:
    element = etree.fromstring(f"<v>{escape_text(text)}</v>".encode())
    assert (element.text or "") == text
