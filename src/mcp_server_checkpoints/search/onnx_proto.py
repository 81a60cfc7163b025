"""The few ONNX protobuf messages the onnx backend's encoder graph needs, written by hand.

onnxruntime takes a model as serialised bytes; building them with the `onnx` package would add a
~15 MB dependency (and protobuf) to read nothing but our own graph. The wire format is small:
every field is a key (field number << 3 | wire type) followed by a varint (wire type 0), a
little-endian 32-bit value (5), or a length and that many bytes (2: strings, bytes, nested
messages). Field numbers are onnx.proto's (onnx 1.x); onnx.proto is proto2, so repeated numbers
are written one key each (unpacked), which every parser accepts. tests/search/test_onnx_graph.py
checks the output with `onnx.checker` when `onnx` is installed.

A message is a `Message`: a list of chunks and their total size, so a tensor's raw data is a view
of its numpy array until `serialise` joins everything into one `bytes` (one copy).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

# TensorProto.DataType
FLOAT = 1
INT64 = 7
_DATA_TYPES = {"float32": FLOAT, "int64": INT64}

# AttributeProto.AttributeType
_ATTR_FLOAT, _ATTR_INT, _ATTR_INTS = 1, 2, 7

_VARINT, _FIXED32, _LENGTH = 0, 5, 2
_U64 = (1 << 64) - 1


def _varint(value: int) -> bytes:
    value &= _U64  # a negative int64 is its 64-bit two's complement (ten bytes)
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class Message:
    """One protobuf message being written: fields appended in order."""

    def __init__(self) -> None:
        self.chunks: list[bytes | memoryview] = []
        self.size = 0

    def _add(self, chunk: bytes | memoryview) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)

    def put_int(self, field: int, value: int) -> Message:
        self._add(_varint(field << 3 | _VARINT) + _varint(value))
        return self

    def put_ints(self, field: int, values: Iterable[int]) -> Message:
        for v in values:
            self.put_int(field, v)
        return self

    def put_float(self, field: int, value: float) -> Message:
        self._add(_varint(field << 3 | _FIXED32) + struct.pack("<f", value))
        return self

    def put_bytes(self, field: int, data: bytes | memoryview) -> Message:
        self._add(_varint(field << 3 | _LENGTH) + _varint(len(data)))
        if len(data):
            self._add(data)
        return self

    def put_str(self, field: int, text: str) -> Message:
        return self.put_bytes(field, text.encode("utf-8"))

    def put_strs(self, field: int, texts: Iterable[str]) -> Message:
        for t in texts:
            self.put_str(field, t)
        return self

    def put_message(self, field: int, sub: Message) -> Message:
        self._add(_varint(field << 3 | _LENGTH) + _varint(sub.size))
        self.chunks.extend(sub.chunks)
        self.size += sub.size
        return self

    def serialise(self) -> bytes:
        return b"".join(self.chunks)


def tensor(name: str, array: Any) -> Message:
    """TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian, row-major).

    The array must stay alive until the model is serialised: raw_data is a view of it."""
    import numpy as np

    data_type = _DATA_TYPES.get(array.dtype.name)
    if data_type is None:
        raise ValueError(f"tensor {name}: dtype {array.dtype} is not written by this encoder")
    # asarray, not ascontiguousarray: that one turns a scalar (0-d) into shape (1,).
    array = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
    return (Message().put_ints(1, array.shape).put_int(2, data_type).put_str(8, name)
            .put_bytes(9, memoryview(array).cast("B")))


def attribute(name: str, value: int | float | Sequence[int]) -> Message:
    """AttributeProto: name (1), type (20), and f (2), i (3) or ints (8)."""
    m = Message().put_str(1, name)
    if isinstance(value, bool) or not isinstance(value, (int, float, list, tuple)):
        raise TypeError(f"attribute {name}: {type(value).__name__} is not written by this encoder")
    if isinstance(value, int):
        return m.put_int(20, _ATTR_INT).put_int(3, value)
    if isinstance(value, float):
        return m.put_int(20, _ATTR_FLOAT).put_float(2, value)
    return m.put_int(20, _ATTR_INTS).put_ints(8, value)


def node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str,
         **attributes: int | float | Sequence[int]) -> Message:
    """NodeProto: input (1), output (2), name (3), op_type (4), attribute (5); the default domain."""
    m = Message().put_strs(1, inputs).put_strs(2, outputs).put_str(3, name).put_str(4, op_type)
    for key, value in attributes.items():
        m.put_message(5, attribute(key, value))
    return m


def value_info(name: str, elem_type: int, dims: Sequence[int | str]) -> Message:
    """ValueInfoProto name (1), type (2): TypeProto.tensor_type (1) = elem_type (1), shape (2);
    TensorShapeProto.dim (1) = dim_value (1) or dim_param (2, a named dynamic dimension)."""
    shape = Message()
    for d in dims:
        shape.put_message(1, Message().put_str(2, d) if isinstance(d, str) else Message().put_int(1, d))
    tensor_type = Message().put_int(1, elem_type).put_message(2, shape)
    return Message().put_str(1, name).put_message(2, Message().put_message(1, tensor_type))


def model(*, graph_name: str, nodes: Sequence[Message], initializers: Sequence[Message],
          inputs: Sequence[Message], outputs: Sequence[Message], opset: int, ir_version: int,
          producer: str) -> bytes:
    """ModelProto ir_version (1), producer_name (2), graph (7), opset_import (8: domain "", version 2)
    around GraphProto node (1), name (2), initializer (5), input (11), output (12); serialised."""
    graph = Message()
    for n in nodes:
        graph.put_message(1, n)
    graph.put_str(2, graph_name)
    for t in initializers:
        graph.put_message(5, t)
    for i in inputs:
        graph.put_message(11, i)
    for o in outputs:
        graph.put_message(12, o)
    opset_import = Message().put_str(1, "").put_int(2, opset)
    return (Message().put_int(1, ir_version).put_str(2, producer).put_message(7, graph)
            .put_message(8, opset_import).serialise())
