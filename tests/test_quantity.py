"""Kubernetes quantities: parsing, canonical printing, cached text, arithmetic, integer views, Go floats."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kpl.engine.quantity import (
    MAX_TEXT_LENGTH,
    Format,
    Quantity,
    QuantityError,
    go_float_text,
    go_pow10,
    parse_quantity,
)

# text -> printed text (spec §8.2 and apimachinery's canonical form)
PRINTED = [
    ("1.024", "1.024"),
    ("1024m", "1024m"),
    ("100k", "100k"),
    ("0.5", "500m"),
    ("1.5", "1500m"),
    ("1000", "1k"),
    ("1.0", "1"),
    ("3000", "3k"),
    ("0", "0"),
    ("100Mi", "100Mi"),
    ("3Gi", "3Gi"),
    ("1024Mi", "1Gi"),
    ("2048Ki", "2Mi"),
    ("512Mi", "512Mi"),
    ("1.5Gi", "1536Mi"),
    ("1Pi", "1Pi"),
    ("1073741824", "1073741824"),
    ("1000000000", "1G"),
    ("12e6", "12e6"),
    ("1.5e3", "1500"),
    ("0.1m", "100u"),
    ("0.0000000001", "1n"),
    ("1.0000000001", "1000000001n"),
    ("-1.5", "-1500m"),
    ("0.5Ki", "512"),
    ("1.", "1."),
    ("007", "007"),
    ("+1", "+1"),
    ("m", "0"),
    ("8Ei", "9223372036854775807"),
]


@pytest.mark.parametrize(("text", "printed"), PRINTED)
def test_printing(text: str, printed: str) -> None:
    assert str(parse_quantity(text)) == printed


@pytest.mark.parametrize(
    "text",
    ["g", "K", "mb", "gb", "Mb", "", "1.2.3", " 1", "1 ", "1ki", "12Zi", "1e400", "Pi", "--1", "1e", "x"],
)
def test_invalid_spellings(text: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    message = str(info.value)
    assert message == message.lower() or "`" in message
    assert not message.endswith(".")


def test_too_long_is_rejected() -> None:
    with pytest.raises(QuantityError):
        parse_quantity("1" * (MAX_TEXT_LENGTH + 1))


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("1", Format.DECIMAL_SI), ("1Ki", Format.BINARY_SI), ("1e3", Format.DECIMAL_EXPONENT),
     ("0.5Ki", Format.BINARY_SI), ("0.0001Ki", Format.DECIMAL_SI), ("1k", Format.DECIMAL_SI)],
)
def test_formats(text: str, fmt: Format) -> None:
    assert parse_quantity(text).format is fmt


def test_arithmetic_drops_cached_text() -> None:
    assert str(parse_quantity("1.024") + parse_quantity("2.048")) == "3072m"
    assert str(parse_quantity("1") + parse_quantity("2")) == "3"
    assert str(parse_quantity("100m") + parse_quantity("1")) == "1100m"
    assert str(parse_quantity("1Gi") + parse_quantity("512Mi")) == "1536Mi"
    assert str(parse_quantity("1.024") * 1) == "1024m"
    assert str(-parse_quantity("1.024")) == "-1024m"
    assert str(parse_quantity("3") - parse_quantity("1.5")) == "1500m"


def test_zero_left_operand_takes_right_format() -> None:
    assert (Quantity.zero() + parse_quantity("1Ki")).format is Format.BINARY_SI
    assert (Quantity.zero() - parse_quantity("1Ki")).format is Format.BINARY_SI
    assert (parse_quantity("1") + parse_quantity("1Ki")).format is Format.DECIMAL_SI
    assert str(Quantity.zero() + parse_quantity("2Gi")) == "2Gi"


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [("1.024", 2, 1024), ("500m", 1, 500), ("1", 1, 1000), ("1n", 1, 1), ("1Gi", 1073741824, 1073741824000),
     ("-1.5", -2, -1500), ("0", 0, 0), ("1.5Gi", 1610612736, 1610612736000)],
)
def test_integer_views(text: str, value: int, milli: int) -> None:
    quantity = parse_quantity(text)
    assert (quantity.value(), quantity.milli_value()) == (value, milli)


def test_negative_fraction_rounding_depends_on_representation() -> None:
    # the scaled-int64 form rounds away from zero, the decimal form truncates and then adds one
    small = parse_quantity("-0.5")
    assert (small.big, small.value()) == (False, -1)
    big = parse_quantity("-0.5Ki") - parse_quantity("0.1")
    assert big.big and big.amount == Fraction(-5121, 10)
    assert big.value() == -511


def test_binary_values_are_capped_and_exponent_values_overflow_like_kubernetes() -> None:
    assert parse_quantity("10Ei").amount == 2**63 - 1
    assert parse_quantity("1e21").value() == 0
    assert str(parse_quantity("1000E")) == "1"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.024, "1.024"), (2.0, "2"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-7, "1e-7"),
     (1e-6, "0.000001"), (1.5e-10, "1.5e-10"), (1048576000.0, "1048576000"), (0.1, "0.1"), (-0.0, "-0"),
     (-2.5, "-2.5"), (1e100, "1e+100"), (123456789.123, "123456789.123"), (5e-324, "5e-324")],
)
def test_go_float_text(value: float, text: str) -> None:
    assert go_float_text(value) == text


def test_go_float_text_rejects_non_finite() -> None:
    with pytest.raises(ValueError):
        go_float_text(math.nan)


def test_from_json() -> None:
    assert str(Quantity.from_json(1.024)) == "1.024"
    assert str(Quantity.from_json(2147483648.0)) == "2147483648"
    assert str(Quantity.from_json(1048576000.0)) == "1048576k"
    assert str(Quantity.from_json(2)) == "2"
    assert str(Quantity.from_json(" 1Gi ")) == "1Gi"
    with pytest.raises(QuantityError):
        Quantity.from_json(True)


@pytest.mark.parametrize(
    ("text", "number"),
    [("1024m", 1.024), ("2Gi", 2147483648.0), ("500m", 0.5), ("1", 1.0), ("1.5Gi", 1610612736.0)],
)
def test_approximate_float(text: str, number: float) -> None:
    assert parse_quantity(text).approximate_float() == number


def test_go_pow10_table() -> None:
    assert go_pow10(-3) == 0.001
    assert go_pow10(0) == 1.0
    assert go_pow10(400) == math.inf
    assert go_pow10(-400) == 0.0


# -- properties -------------------------------------------------------------------------------------------

SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti", "e3", "e-2", "E5"]


@st.composite
def quantity_texts(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(st.text("0123456789", min_size=1, max_size=8))
    fraction = draw(st.one_of(st.just(""), st.text("0123456789", max_size=12).map(lambda d: "." + d)))
    return sign + whole + fraction + draw(st.sampled_from(SUFFIXES))


quantities = quantity_texts().map(parse_quantity)
SETTINGS = settings(max_examples=50, deadline=None)


@SETTINGS
@given(quantities)
def test_reparse_printed_text_gives_same_value(quantity: Quantity) -> None:
    assume(abs(quantity.amount) < 10**21)
    again = parse_quantity(str(quantity))
    assert again == quantity
    assert str(again) == str(quantity)


@SETTINGS
@given(quantities)
def test_value_is_rounded_to_nano(quantity: Quantity) -> None:
    assert (quantity.amount * 10**9).denominator == 1


@SETTINGS
@given(quantities, quantities)
def test_addition_commutes(left: Quantity, right: Quantity) -> None:
    assert left + right == right + left
    assert (left + right).amount == left.amount + right.amount
    assert (left - right).amount == left.amount - right.amount


@SETTINGS
@given(quantities, quantities, quantities)
def test_addition_associates(a: Quantity, b: Quantity, c: Quantity) -> None:
    assert (a + b) + c == a + (b + c)


@SETTINGS
@given(quantities)
def test_integer_views_round_up(quantity: Quantity) -> None:
    assume(0 <= quantity.amount < 10**15)
    assert quantity.value() == math.ceil(quantity.amount)
    assert quantity.milli_value() == math.ceil(quantity.amount * 1000)


@SETTINGS
@given(quantities, st.integers(min_value=-1000, max_value=1000))
def test_multiplication_by_value(quantity: Quantity, factor: int) -> None:
    assert (quantity * factor).amount == quantity.amount * factor


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_float_text_reads_back(number: float) -> None:
    assert float(go_float_text(number)) == number


@SETTINGS
@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(list(Format)))
def test_from_int_prints_integers(value: int, fmt: Format) -> None:
    quantity = Quantity.from_int(value, fmt)
    assert parse_quantity(str(quantity)) == quantity
