"""Text escaping as XStream's `PrettyPrintWriter` does it (quirks mode, used by Eureka's DomDriver).

* `&`, `<`, `>`, `"`, `'` → `&amp;` `&lt;` `&gt;` `&quot;` `&apos;`; CR → `&#xd;`; tab and LF raw.
* A UTF-16 code unit that Java does not consider defined, or that is an ISO control character, is
  written as a hex character reference (`&#x85;`, `&#x378;`). Java decides per code unit, so
  characters outside the BMP (two defined surrogate units) are written raw.
* Deliberate difference: characters that XML 1.0 cannot carry at all — NUL and the other C0
  controls except tab/LF/CR, U+FFFE, U+FFFF — XStream still writes as references (`&#x0;`,
  `&#x1;`, `&#xffff;`), producing a document no parser accepts, Java's included; one such value
  would make a whole registry payload unreadable. We write `&#xfffd;` (the replacement character,
  as XStream's own XML_1_0_REPLACEMENT mode does) instead. Lone surrogates, which a Python string
  can hold but UTF-8 cannot encode, are replaced the same way.

"Defined" follows Python's Unicode database rather than Java 17's (Unicode 14 vs 13): a character
assigned in between is written raw by us and as a reference by Java; both parse to the same text.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ASCII_SPECIAL", "escape_text"]

# ASCII characters that escaping would change (tab and LF are written raw).
ASCII_SPECIAL = re.compile("[&<>\"'\x00-\x08\x0b-\x1f\x7f]")

_REPLACEMENT = "&#xfffd;"

_FIXED: dict[str, str] = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&apos;",
    "\r": "&#xd;",
    "\t": "\t",
    "\n": "\n",
}


def escape_text(text: str) -> str:
    """`text` as XStream writes it between tags (see module docstring)."""
    if text.isascii() and ASCII_SPECIAL.search(text) is None:
        return text  # the common case, decided without a per-character loop
    return "".join([_escape_char(char) for char in text])


def _escape_char(char: str) -> str:
    fixed = _FIXED.get(char)
    if fixed is not None:
        return fixed
    code = ord(char)
    if code < 0x20 or code in (0xFFFE, 0xFFFF) or 0xD800 <= code <= 0xDFFF:
        return _REPLACEMENT
    if code < 0x7F or code > 0xFFFF:
        return char
    if code <= 0x9F or unicodedata.category(char) == "Cn":
        return f"&#x{code:x};"
    return char
