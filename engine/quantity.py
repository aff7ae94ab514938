"""Kubernetes resource quantities, with the parsing, arithmetic and printing of apimachinery's ``Quantity``.

A :class:`Quantity` is exact. Besides its value it remembers what Kubernetes remembers, because Karmada's
answers depend on it:

* its :class:`Format` (``DecimalSI``, ``BinarySI`` or ``DecimalExponent``), chosen by the suffix it was
  parsed from and used when printing;
* the text it was parsed from, kept and printed back verbatim when that text was already canonical
  (``"1.024"`` prints ``1.024`` while ``"0.5"`` prints ``500m``); any arithmetic forgets it;
* whether Kubernetes would hold the value as a small scaled 64-bit integer or as an arbitrary-precision
  decimal. The two forms print alike but round negative fractions differently in :meth:`Quantity.value`
  and :meth:`Quantity.milli_value`, and overflow differently beyond 64 bits; both are reproduced.

Parsing accepts ``<sign><digits>[.<digits>]<suffix>`` with the decimal SI suffixes
``n u m "" k M G T P E``, the binary SI suffixes ``Ki Mi Gi Ti Pi Ei`` and exponents ``e<N>``/``E<N>``.
Spellings Kubernetes accepts are accepted even when odd (``"1."``, ``"+5"``, ``"007"`` and a bare suffix such
as ``"m"``, which means zero); values with more than nine fractional digits are rounded up (away from zero)
to the next nano unit, and binary values above 2^63-1 are capped there, as Kubernetes does.

Limits, stricter than Kubernetes so that a hostile input cannot build giant integers: a quantity's text is at
most :data:`MAX_TEXT_LENGTH` characters and an exponent suffix lies within ±:data:`MAX_EXPONENT`
(``1e400`` is rejected); an unknown suffix such as ``12Zi`` is rejected as Kubernetes rejects it.
"""

from __future__ import annotations

import functools
import math
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import repeat
from typing import Final

from kpl.engine.limits import DEFAULT_LIMITS, current_limits

__all__ = [
    "MAX_EXPONENT",
    "MAX_TEXT_LENGTH",
    "Format",
    "Quantity",
    "QuantityError",
    "canonical_text",
    "go_float_text",
    "go_pow10",
    "parse_quantity",
    "quantity_texts_valid",
]

# The defaults; the limits in force are ``kpl.engine.limits.current_limits()``.
MAX_TEXT_LENGTH: Final = DEFAULT_LIMITS.quantity_text_length
MAX_EXPONENT: Final = DEFAULT_LIMITS.quantity_exponent

_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
_DIGITS: Final = frozenset("0123456789")
_SUFFIX_CHARS: Final = frozenset("eEinumkKMGTP")
_NANO: Final = -9
_MAX_FAST_DIGITS: Final = 18


class QuantityError(ValueError):
    """A text or JSON value that is not a Kubernetes quantity."""


class Format(StrEnum):
    """How a quantity prints: the kind of suffix it was written with."""

    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


# suffix -> (base, exponent, format)
_SUFFIXES: Final[dict[str, tuple[int, int, Format]]] = {
    "": (10, 0, Format.DECIMAL_SI),
    "n": (10, -9, Format.DECIMAL_SI),
    "u": (10, -6, Format.DECIMAL_SI),
    "m": (10, -3, Format.DECIMAL_SI),
    "k": (10, 3, Format.DECIMAL_SI),
    "M": (10, 6, Format.DECIMAL_SI),
    "G": (10, 9, Format.DECIMAL_SI),
    "T": (10, 12, Format.DECIMAL_SI),
    "P": (10, 15, Format.DECIMAL_SI),
    "E": (10, 18, Format.DECIMAL_SI),
    "Ki": (2, 10, Format.BINARY_SI),
    "Mi": (2, 20, Format.BINARY_SI),
    "Gi": (2, 30, Format.BINARY_SI),
    "Ti": (2, 40, Format.BINARY_SI),
    "Pi": (2, 50, Format.BINARY_SI),
    "Ei": (2, 60, Format.BINARY_SI),
}
_DECIMAL_SUFFIX_BY_EXPONENT: Final = {e: s for s, (b, e, _) in _SUFFIXES.items() if b == 10}
_BINARY_SUFFIX_BY_POWER: Final = {e // 10: s for s, (b, e, _) in _SUFFIXES.items() if b == 2}
_EXPONENT_SUFFIX: Final = re.compile(r"[eE][+-]?[0-9]+")
_DECIMAL_NUMBER: Final = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")


def _fits_int64(value: int) -> bool:
    return _INT64_MIN <= value <= _INT64_MAX


def _wrap_int64(value: int) -> int:
    """Two's-complement wrap-around to 64 bits, as Go's integer conversions do."""
    return ((value + (1 << 63)) % (1 << 64)) - (1 << 63)


def _ten_to(power: int) -> int:
    """``10**power`` for a non-negative ``power``, typed as an int."""
    return int(10**power)


def _away_from_zero(value: int, digits: int) -> int:
    """``value / 10**digits`` rounded away from zero."""
    quotient = -(-abs(value) // _ten_to(digits))
    return quotient if value >= 0 else -quotient


@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """An exact quantity ``mantissa * 10**exponent`` in a print ``format``.

    ``big`` says whether Kubernetes would hold the value as an arbitrary-precision decimal (otherwise a
    64-bit integer with a decimal scale); ``cached_text`` is the parsed text that prints back verbatim.
    Build quantities with :func:`parse_quantity`, :meth:`from_json`, :meth:`from_int`, :meth:`from_milli`.
    """

    mantissa: int
    exponent: int
    format: Format = Format.DECIMAL_SI
    big: bool = False
    cached_text: str | None = None

    # -- construction -----------------------------------------------------------------------------------

    @staticmethod
    def zero(fmt: Format = Format.DECIMAL_SI) -> Quantity:
        return Quantity(0, 0, fmt)

    @staticmethod
    def from_int(value: int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """``value`` whole units (Kubernetes' ``NewQuantity``)."""
        return Quantity(value, 0, fmt)

    @staticmethod
    def from_milli(value: int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """``value`` thousandths (Kubernetes' ``NewMilliQuantity``)."""
        return Quantity(value, -3, fmt)

    @staticmethod
    def from_json(value: str | int | float) -> Quantity:
        """The quantity a JSON string or number decodes into.

        A number is parsed from its JSON literal: integers as written, floats as Go's JSON encoder
        writes them (see :func:`go_float_text`). Strings lose surrounding white space first.
        """
        if isinstance(value, bool):
            raise QuantityError(f"a quantity must be a string or a number, not `{value}`")
        if isinstance(value, int):
            return parse_quantity(str(value))
        if isinstance(value, float):
            try:
                return parse_quantity(go_float_text(value))
            except ValueError as err:
                raise QuantityError(f"`{value}` is not a quantity: {err}") from None
        if isinstance(value, str):
            return parse_quantity(value.strip())
        raise QuantityError(f"a quantity must be a string or a number, not {type(value).__name__}")

    # -- value ------------------------------------------------------------------------------------------

    @property
    def amount(self) -> Fraction:
        """The exact value."""
        if self.exponent >= 0:
            return Fraction(self.mantissa * 10**self.exponent)
        return Fraction(self.mantissa, 10**-self.exponent)

    def is_zero(self) -> bool:
        return self.mantissa == 0

    def sign(self) -> int:
        return (self.mantissa > 0) - (self.mantissa < 0)

    def value(self) -> int:
        """The value rounded up to whole units (Kubernetes' ``Value``)."""
        return self.scaled_value(0)

    def milli_value(self) -> int:
        """The value in thousandths, rounded up (Kubernetes' ``MilliValue``)."""
        return self.scaled_value(-3)

    def scaled_value(self, scale: int) -> int:
        """``value / 10**scale`` as a 64-bit integer, rounded up (Kubernetes' ``ScaledValue``).

        Positive fractions round up; negative fractions and overflow behave exactly like Kubernetes,
        which depends on how the value is held (see the module docstring).
        """
        if self.big:
            return _big_scaled_value(self.mantissa, self.exponent, scale)
        if self.exponent < scale:
            return _away_from_zero(self.mantissa, scale - self.exponent)
        result = self.mantissa * _ten_to(self.exponent - scale)
        return result if _fits_int64(result) else 0

    def approximate_float(self) -> float:
        """The value as a float computed like Kubernetes' ``AsApproximateFloat64``."""
        try:
            base = float(self.mantissa)
        except OverflowError:
            base = math.copysign(math.inf, self.mantissa)
        if self.exponent == 0:
            return base
        return base * go_pow10(self.exponent)

    # -- arithmetic -------------------------------------------------------------------------------------

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self.is_zero() else self.format
        if not self.big and not other.big:
            small = _int64_add(self.mantissa, self.exponent, other.mantissa, other.exponent)
            if small is not None:
                return Quantity(small[0], small[1], fmt)
        return Quantity(*_decimal_add(self, other.mantissa, other.exponent), fmt, big=True)

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self.is_zero() else self.format
        if not self.big and not other.big:
            small = _int64_add(self.mantissa, self.exponent, -other.mantissa, other.exponent)
            if small is not None:
                return Quantity(small[0], small[1], fmt)
        return Quantity(*_decimal_add(self, -other.mantissa, other.exponent), fmt, big=True)

    def __mul__(self, factor: int) -> Quantity:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        if not self.big:
            small = _int64_multiply(self.mantissa, self.exponent, factor)
            if small is not None:
                return Quantity(small[0], small[1], self.format)
        return Quantity(self.mantissa * factor, self.exponent, self.format, big=True)

    __rmul__ = __mul__

    def __neg__(self) -> Quantity:
        return Quantity(-self.mantissa, self.exponent, self.format, self.big)

    # -- comparison -------------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount == other.amount

    def __hash__(self) -> int:
        return hash(self.amount)

    def __lt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount < other.amount

    def __le__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount <= other.amount

    def __gt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount > other.amount

    def __ge__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount >= other.amount

    # -- text -------------------------------------------------------------------------------------------

    def __str__(self) -> str:
        if self.cached_text:
            return self.cached_text
        return canonical_text(self.mantissa, self.exponent, self.format)

    def to_json(self) -> str:
        """The JSON string value Kubernetes serialises this quantity as (same as ``str``)."""
        return str(self)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r}, {self.format.value})"


# -- 64-bit fast paths ------------------------------------------------------------------------------------


def _int64_add(a: int, a_exp: int, b: int, b_exp: int) -> tuple[int, int] | None:
    """Kubernetes' scaled-int64 addition, or None where it would overflow and fall back to decimals."""
    if b == 0:
        return a, a_exp
    if a == 0:
        return (b, b_exp) if _fits_int64(b) else None
    if a_exp > b_exp:
        a, a_exp = a * _ten_to(a_exp - b_exp), b_exp
    elif b_exp > a_exp:
        b = b * _ten_to(b_exp - a_exp)
    total = a + b
    if not (_fits_int64(a) and _fits_int64(b) and _fits_int64(total)):
        return None
    return total, a_exp


def _int64_multiply(value: int, exp: int, factor: int) -> tuple[int, int] | None:
    """Kubernetes' scaled-int64 multiplication, or None where it falls back to decimals."""
    if value == 0:
        return value, exp
    if factor == 0:
        return 0, 0
    product = value * factor
    if not (_fits_int64(factor) and _fits_int64(product)):
        return None
    if exp > 0 and not _fits_int64(product * _ten_to(exp)):
        return None
    if exp < 0 and product % _ten_to(-exp) != 0:
        return None
    return product, exp


def _decimal_add(left: Quantity, mantissa: int, exp: int) -> tuple[int, int]:
    low = min(left.exponent, exp)
    return left.mantissa * _ten_to(left.exponent - low) + mantissa * _ten_to(exp - low), low


def _big_scaled_value(unscaled: int, exp: int, scale: int) -> int:
    """Kubernetes' ``scaledValue`` over an arbitrary-precision decimal, overflow included."""
    shift = scale - exp
    if shift == 0:
        return _wrap_int64(unscaled)
    if shift < 0:
        factor = _ten_to(-shift) if -shift <= _MAX_FAST_DIGITS else _INT64_MIN
        return _wrap_int64(_wrap_int64(unscaled) * factor)
    divisor = _ten_to(shift)
    if unscaled < _INT64_MAX and shift < 19:
        small = _wrap_int64(unscaled)
        quotient = abs(small) // divisor * (1 if small >= 0 else -1)
        return quotient + 1 if small - quotient * divisor else quotient
    quotient, remainder = divmod(unscaled, divisor)
    return _wrap_int64(_wrap_int64(quotient) + 1) if remainder else _wrap_int64(quotient)


# -- printing ---------------------------------------------------------------------------------------------


def _remove_factors(value: int, base: int) -> tuple[int, int]:
    times = 0
    while value and value % base == 0:
        value //= base
        times += 1
    return value, times


def canonical_text(mantissa: int, exponent: int, fmt: Format) -> str:
    """Kubernetes' canonical text of ``mantissa * 10**exponent`` printed in ``fmt``."""
    if mantissa == 0:
        return "0"
    if fmt is Format.BINARY_SI:
        value = Fraction(mantissa) * Fraction(10) ** exponent
        if -1024 < value < 1024 or value.denominator != 1:
            fmt = Format.DECIMAL_SI
        else:
            number, power = _remove_factors(int(value), 1024)
            return f"{number}{_BINARY_SUFFIX_BY_POWER.get(power, '')}"
    number, times = _remove_factors(mantissa, 10)
    exponent += times
    while exponent % 3:
        number, exponent = number * 10, exponent - 1
    if fmt is Format.DECIMAL_SI:
        return f"{number}{_DECIMAL_SUFFIX_BY_EXPONENT.get(exponent, '')}"
    return f"{number}e{exponent}" if exponent else str(number)


# -- parsing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scanned:
    positive: bool
    value: str  # the signed number as written
    whole: str  # integer digits without leading zeros ("0" when none)
    fraction: str
    suffix: str


def _skip(text: str, pos: int, chars: frozenset[str]) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _scan(text: str) -> _Scanned:
    """Split ``text`` into sign, number and suffix the way Kubernetes' quantity scanner does."""
    positive = not text.startswith("-")
    start = 1 if text[:1] in ("-", "+") else 0
    pos = _skip(text, start, frozenset("0"))
    if pos >= len(text):
        return _Scanned(positive, "0", "0", "", "")
    end = _skip(text, pos, _DIGITS)
    whole = text[pos:end] or "0"
    fraction = ""
    if end < len(text) and text[end] == ".":
        stop = _skip(text, end + 1, _DIGITS)
        fraction, end = text[end + 1 : stop], stop
    value, suffix = text[:end], text[end:]
    after = _skip(suffix, 0, _SUFFIX_CHARS)
    if after < len(suffix) and suffix[after] in "+-":
        after += 1
    if _skip(suffix, after, _DIGITS) < len(suffix):
        raise QuantityError(f"`{text}` is not a quantity: expected a number followed by a unit suffix")
    return _Scanned(positive, value, whole, fraction, suffix)


def _interpret_suffix(text: str, suffix: str, bound: int) -> tuple[int, int, Format]:
    known = _SUFFIXES.get(suffix)
    if known is not None:
        return known
    if _EXPONENT_SUFFIX.fullmatch(suffix):
        exponent = int(suffix[1:])
        if abs(exponent) > bound:
            raise QuantityError(f"`{text}` is not a quantity: exponent beyond ±{bound}")
        return 10, exponent, Format.DECIMAL_EXPONENT
    raise QuantityError(f"`{text}` is not a quantity: unknown unit suffix `{suffix}`")


def parse_quantity(text: str) -> Quantity:
    """Parse a Kubernetes quantity (Kubernetes' ``ParseQuantity``); raises :class:`QuantityError`.

    Quantities are immutable, so results are shared per text (and per limits in force): workloads repeat
    the same few request strings, and parsing dominates interpreting them.
    """
    if not isinstance(text, str):
        raise QuantityError(f"a quantity must be a string, not {type(text).__name__}")
    limits = current_limits()  # the two it reads: the limits object's own hash is a Python call over every field
    return _parse_cached(text, limits.quantity_text_length, limits.quantity_exponent)


def quantity_texts_valid(texts: Iterable[str]) -> bool:
    """Whether every one of ``texts`` (strings) is a quantity as :meth:`Quantity.from_json` reads it.

    The texts go through the parse cache without a Python-level call each, so a snapshot's repeated
    resource strings cost a cache lookup apiece."""
    limits = current_limits()
    try:
        deque(map(_parse_cached, map(str.strip, texts), repeat(limits.quantity_text_length),
                  repeat(limits.quantity_exponent)), 0)
    except QuantityError:
        return False
    return True


@functools.lru_cache(maxsize=8192)
def _parse_cached(text: str, longest: int, exponent_bound: int) -> Quantity:
    if not text:
        raise QuantityError("an empty string is not a quantity")
    if len(text) > longest:
        raise QuantityError(f"a quantity may have at most {longest} characters")
    if text == "0":
        return Quantity(0, 0, Format.DECIMAL_SI, cached_text="0")
    scanned = _scan(text)
    base, exponent, fmt = _interpret_suffix(text, scanned.suffix, exponent_bound)
    fast = _parse_fast(text, scanned, exponent, fmt)
    if fast is not None:
        return fast
    return _parse_exact(text, scanned, base, exponent, fmt)


def _parse_fast(text: str, scanned: _Scanned, exponent: int, fmt: Format) -> Quantity | None:
    """The scaled-int64 path, which also decides whether ``text`` is kept for printing."""
    digits = scanned.whole + scanned.fraction
    multiplier, scale = 1, exponent
    if fmt is Format.BINARY_SI:
        if scanned.fraction:
            return None
        multiplier, scale = 1 << exponent, 0
        precision = 15 - len(scanned.whole) - exponent * 3 // 10 - 1
    else:
        precision = _MAX_FAST_DIGITS - len(digits)
    scale -= len(scanned.fraction)
    if precision < 0 or scale < _NANO:
        return None
    result = int(digits) * multiplier
    if not _fits_int64(result):
        return None
    mantissa = result if scanned.positive else -result
    if fmt is Format.BINARY_SI:
        canonical = exponent % 10 == 0 and int(digits) & 7 != 0
    else:
        canonical = scale % 3 == 0 and not digits.endswith("000") and not digits.startswith("0")
    return Quantity(mantissa, scale, fmt, cached_text=text if canonical else None)


def _parse_exact(text: str, scanned: _Scanned, base: int, exponent: int, fmt: Format) -> Quantity:
    """The arbitrary-precision path: round up to nano, cap binary values, no cached text."""
    match = _DECIMAL_NUMBER.fullmatch(scanned.value)
    if match is None or not (match.group(2) or match.group(3)):
        raise QuantityError(f"`{text}` is not a quantity: its number has no digits")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    mantissa, exp = int(whole + fraction), -len(fraction)
    if base == 10:
        exp += exponent
    else:
        mantissa <<= exponent
    if mantissa:
        mantissa, exp = _round_up_to_nano(mantissa, exp), _NANO
    if fmt is Format.BINARY_SI and Fraction(mantissa) * Fraction(10) ** exp > _INT64_MAX:
        mantissa, exp = _INT64_MAX, 0
    if fmt is Format.BINARY_SI and mantissa and Fraction(mantissa) * Fraction(10) ** exp < 1:
        fmt = Format.DECIMAL_SI
    if sign == "-":
        mantissa = -mantissa
    return Quantity(mantissa, exp, fmt, big=True)


def _round_up_to_nano(mantissa: int, exp: int) -> int:
    """A non-negative ``mantissa * 10**exp`` as a count of nano units, rounded up."""
    if exp >= _NANO:
        return mantissa * _ten_to(exp - _NANO)
    return -(-mantissa // _ten_to(_NANO - exp))


# -- Go float helpers -------------------------------------------------------------------------------------

_POW10_SMALL: Final = tuple(float(f"1e{n}") for n in range(32))
_POW10_POSITIVE_32: Final = tuple(float(f"1e{32 * n}") for n in range(10))
_POW10_NEGATIVE_32: Final = tuple(float(f"1e-{32 * n}") for n in range(11))


def go_pow10(n: int) -> float:
    """``10**n`` as Go's ``math.Pow10`` computes it (two table entries multiplied or divided)."""
    if 0 <= n <= 308:
        return _POW10_POSITIVE_32[n // 32] * _POW10_SMALL[n % 32]
    if -323 <= n < 0:
        return _POW10_NEGATIVE_32[-n // 32] / _POW10_SMALL[-n % 32]
    return math.inf if n > 0 else 0.0


def go_float_text(number: float) -> str:
    """The JSON text Go's ``encoding/json`` writes for a float64.

    The shortest digits that read back as the same float, in plain notation when
    ``1e-6 <= |x| < 1e21`` and in exponent notation otherwise (``1e+21``, ``1e-7``); integral values
    have no fraction (``2``). Raises ``ValueError`` for NaN and infinities, which JSON cannot hold.
    """
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"json cannot encode the float `{number}`")
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    sign, digit_tuple, exp = Decimal(repr(number)).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exp += len("".join(map(str, digit_tuple))) - len(digits)
    prefix = "-" if sign else ""
    if 1e-6 <= abs(number) < 1e21:
        return prefix + _plain_digits(digits, exp)
    point = exp + len(digits) - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{prefix}{mantissa}e{'-' if point < 0 else '+'}{abs(point):02d}".replace("e-0", "e-")


def _plain_digits(digits: str, exp: int) -> str:
    if exp >= 0:
        return digits + "0" * exp
    point = len(digits) + exp
    if point > 0:
        return f"{digits[:point]}.{digits[point:]}"
    return "0." + "0" * -point + digits
