"""Go's view of JSON values: decoding as ``json.Unmarshal`` into ``any`` and printing as Go prints them.

Used wherever kpl must print a value exactly as a Karmada component written in Go would: Kubernetes
JSONPath results (``%v`` of a float64), ``json.Marshal`` output, ``%q`` quoting in messages.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Final

from kpl.engine.quantity import go_float_text

__all__ = ["decode_go_json", "format_go_float", "go_quote", "marshal_go_json"]


def decode_go_json(raw: str | bytes) -> Any:
    """A JSON document decoded as Go's ``json.Unmarshal`` into ``any`` does: every number a float64.

    Raises ``ValueError`` for text Go rejects (including NaN, Infinity and numbers beyond float64).
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return json.loads(text, parse_int=_json_number, parse_float=_json_number, parse_constant=_no_constant)


def _json_number(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return number


def _no_constant(text: str) -> float:
    raise ValueError(f"invalid character '{text[0]}' looking for beginning of value")


def format_go_float(number: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form below 1e-4 or from 1e+06 on."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(number)).as_tuple()
    assert isinstance(exponent, int)
    raw = "".join(map(str, digit_tuple)).lstrip("0")
    digits = raw.rstrip("0")
    point = exponent + len(raw)  # digits before the decimal point
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


_JSON_SHORT_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                              "\t": "\\t"}


def _go_json_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _JSON_SHORT_ESCAPES:
            out.append(_JSON_SHORT_ESCAPES[ch])
        elif ch < " " or ch in "<>&" or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        elif "\ud800" <= ch <= "\udfff":
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def marshal_go_json(value: Any) -> str:
    """Go's ``json.Marshal`` of a decoded JSON value: compact, keys sorted, ``<>&`` escaped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, dict):
        items = (f"{_go_json_string(str(key))}:{marshal_go_json(value[key])}" for key in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(marshal_go_json(item) for item in value) + "]"
    raise TypeError(f"json: unsupported type {type(value).__name__}")


_GO_SHORT_ESCAPES: Final = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                            "\v": "\\v"}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (``%q``): printable characters kept, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif "\ud800" <= ch <= "\udfff":
            out.append("\\ufffd")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
