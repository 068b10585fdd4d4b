"""The binary notation helpers (app/binary.py) and JSON fidelity (app/jsonmod.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import binary, jsonmod
from app.binary import (
    BinaryError,
    binary_size,
    from_file,
    hexdump,
    parse_hex,
    to_notation,
    to_wire,
)

DEADBEEF = {"$binary": "3q2+7w=="}


def test_to_wire_nested_in_objects_and_arrays_and_back():
    value = [{"file": DEADBEEF, "n": 1}, [DEADBEEF, "text"], DEADBEEF]
    wire = to_wire(value)
    assert wire == [{"file": b"\xde\xad\xbe\xef", "n": 1}, [b"\xde\xad\xbe\xef", "text"],
                    b"\xde\xad\xbe\xef"]
    assert list(wire[0]) == ["file", "n"]                  # key order kept
    assert value[0]["file"] == DEADBEEF                    # the input is not changed
    assert to_notation(wire) == value


def test_nothing_to_convert_returns_the_same_object():
    value = [{"a": [1, 2, {"b": None}]}, "x"]
    assert to_wire(value) is value
    assert to_notation(value) is value


def test_only_an_object_with_the_one_key_is_binary():
    value = {"$binary": "3q2+7w==", "other": 1}
    assert to_wire(value) is value
    assert to_wire({"$binary": 5}) == {"$binary": 5}
    assert not binary.is_binary({"$binary": 5}) and binary.is_binary(DEADBEEF)


def test_invalid_base64_is_an_error_not_text_on_the_wire():
    with pytest.raises(BinaryError, match="standard base64"):
        to_wire([{"f": {"$binary": "not base64!"}}])


def test_binary_size_is_the_true_size():
    assert binary_size({"a": DEADBEEF, "b": [b"12345", {"$binary": ""}]}) == 9
    assert binary_size({"$binary": "!!"}) == 0
    assert binary_size(memoryview(b"abc")) == 3
    assert binary_size(["no", "binary"]) == 0


def test_hexdump_offset_hex_ascii():
    dump = hexdump(bytes(range(0x3E, 0x52)) + b"\x00\xff", width=16)
    assert dump.splitlines() == [
        "00000000  3e 3f 40 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d  |>?@ABCDEFGHIJKLM|",
        "00000010  4e 4f 50 51 00 ff                                |NOPQ..|",
    ]
    assert hexdump(DEADBEEF, width=2) == "00000000  de ad  |..|\n00000002  be ef  |..|"
    assert hexdump(b"") == ""


@pytest.mark.parametrize("text", ["de ad be ef", "DEADBEEF", "de:ad:be:ef",
                                  "0xde, 0xad,0xbe 0xef", "  de-ad\nbe_ef "])
def test_parse_hex(text):
    assert parse_hex(text) == DEADBEEF


@pytest.mark.parametrize(("text", "why"), [("de ad bx", "not hex: 'x'"),
                                           ("dea", "odd number of hex digits")])
def test_parse_hex_errors(text, why):
    with pytest.raises(BinaryError, match=why):
        parse_hex(text)


def test_from_file(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(bytes(range(256)))
    assert to_wire(from_file(f)) == bytes(range(256))


@given(st.binary(max_size=300))
def test_any_bytes_survive_json_and_the_notation(data):
    text = jsonmod.dumps({"z": data, "a": [data]})
    assert to_wire(jsonmod.loads(text)) == {"z": data, "a": [data]}


def test_json_keeps_key_order_big_integers_and_unicode():
    value = {"zeta": 1, "alpha": 2, "big": 2**70, "neg": -(2**70), "u": "héllo ✓ 😀"}
    text = jsonmod.dumps(value)
    assert text == ('{"zeta":1,"alpha":2,"big":1180591620717411303424,'
                    '"neg":-1180591620717411303424,"u":"héllo ✓ 😀"}')
    back = jsonmod.loads(text)
    assert back == value and list(back) == list(value)
    assert isinstance(back["big"], int)
    # a lone surrogate cannot be UTF-8: only then are escapes written
    assert jsonmod.dumps({"n": 2**70, "s": "a\udc00"}) == \
        '{"n":1180591620717411303424,"s":"a\\udc00"}'
