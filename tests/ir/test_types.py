import pytest

from snnc.ir.types import FLOAT, SPIKE, Count, Int, TensorType, count_max, parse_dtype, parse_type


@pytest.mark.parametrize("dtype", [SPIKE, FLOAT, Count(3), Count(None), Int(8, True), Int(16, False)])
def test_dtype_text_round_trip(dtype):
    assert parse_dtype(str(dtype)) == dtype


def test_type_text_round_trip():
    ty = TensorType((2, 34, 34), Count(4))
    assert str(ty) == "count<=4>[2,34,34]"
    assert parse_type(str(ty)) == ty
    assert parse_type("float[]") == TensorType((), FLOAT)


@pytest.mark.parametrize("text", ["spikes", "int", "count<=x>", "float[2,a]", "[3]"])
def test_parse_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_type(text) if "[" in text else parse_dtype(text)


def test_int_range_and_event_kinds():
    assert (Int(8).min, Int(8).max) == (-128, 127)
    assert (Int(8, signed=False).min, Int(8, signed=False).max) == (0, 255)
    assert SPIKE.is_event and Count(2).is_event and not FLOAT.is_event and not Int(8).is_event
    assert count_max(SPIKE) == 1 and count_max(Count(5)) == 5 and count_max(Count(None)) == float("inf")


def test_numel_and_channels():
    assert TensorType((12, 30, 30), SPIKE).numel == 10800
    assert TensorType((12, 30, 30), SPIKE).channels == 12
    assert TensorType((), FLOAT).channels == 1
