"""XStream's XML-friendly name coder (`XmlFriendlyNameCoder`, default replacements), both ways.

Eureka's XML writes map keys (instance metadata, Amazon metadata) as element names and passes every
element name through this coder (protocol.md §4.4):

* `$` → `_-` and `_` → `__` — hence `versions__delta`, `apps__hashcode` and `<my__key>`;
* since XStream 1.4 (the Java fixtures were written with 1.4.20, Eureka pins 1.4.21) any UTF-16
  code unit that is not a valid XML name character at its position becomes `_.` plus four lower-case
  hex digits, so `a/b` is written `<a_.002fb>`.

Decoding scans left to right, trying `_-`, then `_.xxxx`, then `__`, exactly like XStream.

One deliberate difference: `:` is a name character, so XStream writes `a:b` raw, which makes the
document invalid for namespace-aware parsers (lxml included — an undeclared prefix). We escape it as
`_.003a`, which Java decodes back to `:`, so the output stays readable by everyone.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from eureka.codec._xml_name_chars import NAME_RANGES, NAME_START_RANGES

__all__ = ["decode_name", "encode_name"]

_START_FIRSTS = NAME_START_RANGES[0::2]
_START_LASTS = NAME_START_RANGES[1::2]
_NAME_FIRSTS = NAME_RANGES[0::2]
_NAME_LASTS = NAME_RANGES[1::2]

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _in_ranges(code: int, firsts: tuple[int, ...], lasts: tuple[int, ...]) -> bool:
    index = bisect_right(firsts, code) - 1
    return index >= 0 and code <= lasts[index]


def _utf16_units(char: str) -> tuple[int, ...]:
    code = ord(char)
    if code < 0x10000:
        return (code,)
    code -= 0x10000
    return (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


@lru_cache(maxsize=4096)
def encode_name(name: str) -> str:
    """The element name XStream writes for the Java name `name` (see module docstring)."""
    if name[:1].isalpha() and name.isascii() and name.replace("-", "").replace(".", "").isalnum():
        return name  # the overwhelmingly common case: nothing to escape
    out: list[str] = []
    position = 0  # in UTF-16 code units, as Java counts
    for char in name:
        for unit in _utf16_units(char):
            if unit == 0x24:  # $
                out.append("_-")
            elif unit == 0x5F:  # _
                out.append("__")
            elif unit == 0x3A or not (
                _in_ranges(unit, _START_FIRSTS, _START_LASTS)
                if position == 0
                else _in_ranges(unit, _NAME_FIRSTS, _NAME_LASTS)
            ):
                out.append(f"_.{unit:04x}")
            else:
                out.append(chr(unit))
            position += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def decode_name(name: str) -> str:
    """The Java name behind the element name `name` (inverse of `encode_name`)."""
    if "_" not in name:
        return name
    out: list[str] = []
    has_surrogates = False
    index = 0
    length = len(name)
    while index < length:
        char = name[index]
        if char == "_" and index + 1 < length:
            following = name[index + 1]
            if following == "-":
                out.append("$")
                index += 2
                continue
            hex_digits = name[index + 2 : index + 6]
            if following == "." and len(hex_digits) == 4 and _HEX_DIGITS.issuperset(hex_digits):
                unit = int(hex_digits, 16)
                has_surrogates = has_surrogates or 0xD800 <= unit <= 0xDFFF
                out.append(chr(unit))
                index += 6
                continue
            if following == "_":
                out.append("_")
                index += 2
                continue
        # Anything else (including a malformed `_.` escape, on which Java would fail) is literal.
        out.append(char)
        index += 1
    result = "".join(out)
    if has_surrogates:
        # Escaped UTF-16 halves of one supplementary character join back into it; a lone half
        # cannot be represented and becomes U+FFFD.
        result = result.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return result
