"""The `.snnc` file format: one graph, versioned, self-describing, round-tripping exactly.

A compiled or imported graph is saved so that later runs (check, report, compile for another
target) start from the same IR without the source model or its library. Nothing is pickled: the
file is a fixed prefix, a JSON header and raw little-endian array bytes, so loading a file never
runs code. Layout (integers little-endian):

    offset  size  field
         0     8  magic b"SNNC\\0\\r\\n\\x1a" (the \\r\\n and \\x1a catch text-mode copies, as PNG's do)
         8     4  format version (uint32), currently 2 (version 1 files are read too)
        12     8  header length in bytes (uint64)
        20     8  payload length in bytes (uint64)
        28    32  SHA-256 of every byte of the file except these 32
        60     -  header: UTF-8 JSON, then zero padding up to a multiple of 64
         -     -  payload: the parameter arrays, each starting at a multiple of 64 bytes

The header is `{"graph": name, "nodes": [...], "arithmetic": ..., "batching": ...}` (batching:
null, "step" or "sequence", snnc/ir/graph.py BATCHING; absent in older files); "arithmetic" is
null for a float graph, else `Arithmetic.to_json()` (new in version 2; a version 1 file has none,
and a reader of version 1 refuses version 2 files rather than silently dropping a target's
arithmetic). Each node is `{"name", "op" (the op's kind), "inputs", "type" (str of its
TensorType), "origin", "attrs"}`, plus `"source"` (the user's layer) where it differs from the
name and `"folded"` (the layers folded into it) where there are any. `attrs` holds every dataclass
field of the op, so a new op or field needs no change here:
JSON scalars as they are (floats exactly, by their repr; NaN and Infinity as Python's json writes
them), tuples as lists, and tagged objects `{"array": {"dtype", "shape", "offset", "length"}}`
(offset relative to the payload), `{"number_format": NumberFormat.to_json()}`, `{"dtype":
str(DType)}` and `{"float_order": {its fields}}`. A field missing from a file takes its default,
so files written before a field existed still load; a Neuron written with its float-order fields
on itself (before they became `float_order`) has them gathered into one.

Problems with a file become `SnncError`s with rules IO-NOT-FOUND, IO-NOT-SNNC, IO-VERSION,
IO-TOO-LARGE and IO-CORRUPT (reading) or IO-WRITE (saving). `load` does not verify the graph: the caller decides
when to run `verify`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import struct
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from snnc.atomic import write_atomically
from snnc.diagnostics import SnncError, input_error
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import OP_BY_KIND, FloatOrder, Neuron, Op
from snnc.ir.quant import Arithmetic, NumberFormat
from snnc.ir.types import DType, parse_dtype, parse_type
from snnc.limits import current, format_bytes

MAGIC = b"SNNC\x00\r\n\x1a"
VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: before graphs carried an Arithmetic
ALIGN = 64  # array offsets are multiples of this, so a reader may map arrays in place

_PREFIX = struct.Struct("<8sIQQ32s")  # magic, version, header length, payload length, sha256
_CHECKSUM_AT = _PREFIX.size - 32  # offset of the sha256 field, the prefix's last
_ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex: plain numbers, never objects

_CORRUPT_HINT = "the file is damaged or incomplete; save the graph again (or re-run the command that wrote it)"
_DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError)
_OTHER_FORMATS = (  # leading bytes of files users mistake for .snnc files
    (b"PK\x03\x04", "a zip archive, as torch.save writes"),
    (b"\x80", "a Python pickle, as old torch.save versions write"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file, as NIR writes"),
)


# --- writing ----------------------------------------------------------------------------------


def save(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write `graph` to `path` atomically (snnc/atomic.py): readers see the old file or the new one."""
    write_atomically(path, dumps(graph), rule="IO-WRITE")


def dumps(graph: Graph) -> bytes:
    """The `.snnc` bytes of `graph`; the same graph always gives the same bytes."""
    payload = _PayloadWriter()
    nodes = [
        {
            "name": node.name,
            "op": node.op.kind,
            "inputs": list(node.inputs),
            "type": str(node.type),
            "origin": node.origin,
            **({"source": node.source} if node.source != node.name else {}),
            **({"folded": list(node.folded)} if node.folded else {}),
            "attrs": {
                f.name: _encode(getattr(node.op, f.name), payload, f"node {node.name!r} field {f.name!r}")
                for f in dataclasses.fields(node.op)
            },
        }
        for node in graph.nodes
    ]
    arithmetic = None if graph.arithmetic is None else graph.arithmetic.to_json()
    doc = {"graph": graph.name, "nodes": nodes, "arithmetic": arithmetic, "batching": graph.batching}
    header = json.dumps(doc, separators=(",", ":")).encode()
    return _pack(header, payload.getvalue())


class _PayloadWriter:
    """Concatenates arrays at aligned offsets and returns the header entry describing each."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, array: np.ndarray, where: str) -> dict[str, Any]:
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"{where}: cannot store an array of dtype {array.dtype}")
        little = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")  # keeps 0-d arrays 0-d
        offset = _align(self._size)
        self._chunks += [bytes(offset - self._size), little.tobytes()]
        self._size = offset + little.nbytes
        return {"dtype": little.dtype.str, "shape": list(little.shape), "offset": offset, "length": little.nbytes}

    def getvalue(self) -> bytes:
        return b"".join(self._chunks)


def _encode(value: object, payload: _PayloadWriter, where: str) -> Any:
    """One op field as JSON; arrays go to the payload and leave a reference behind."""
    if isinstance(value, np.ndarray):
        return {"array": payload.add(value, where)}
    if isinstance(value, NumberFormat):
        return {"number_format": value.to_json()}
    if isinstance(value, DType):
        return {"dtype": str(value)}
    if isinstance(value, FloatOrder):
        fields = dataclasses.fields(value)
        return {"float_order": {f.name: _encode(getattr(value, f.name), payload, where) for f in fields}}
    if isinstance(value, tuple):
        return [_encode(v, payload, where) for v in value]
    if isinstance(value, np.generic):  # a numpy scalar someone stored in an int/float field
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{where}: cannot store a {type(value).__name__} in a .snnc file")


def _pack(header: bytes, payload: bytes) -> bytes:
    """Prefix, header, padding and payload, with the checksum over all but the checksum field."""
    padding = bytes(_align(_PREFIX.size + len(header)) - _PREFIX.size - len(header))
    fields = MAGIC + struct.pack("<IQQ", VERSION, len(header), len(payload))
    body = header + padding + payload
    return fields + hashlib.sha256(fields + body).digest() + body


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


# --- reading ----------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Graph:
    """Read a graph written by `save`. Raises SnncError (exit code 2) for any unusable file."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a directory, a FIFO, a device: reading would not end well
        raise input_error("IO-NOT-FOUND", f"{path} is not a regular file", hint="give the path of a .snnc file")
    limit = current().memory
    if path.is_file() and path.stat().st_size > limit:
        raise input_error(
            "IO-TOO-LARGE",
            f"{path} has {format_bytes(path.stat().st_size)}, more than the memory limit of {format_bytes(limit)}",
            hint=current().memory_hint(),
            measured=path.stat().st_size,
            limit=limit,
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise input_error(
            "IO-NOT-FOUND",
            f"{path}: no such file",
            hint=f"check the path; relative paths start at {Path.cwd()}",
        ) from None
    except OSError as e:  # a directory, no permission: still not a file snnc can read
        raise input_error(
            "IO-NOT-FOUND", f"cannot read {path}: {e.strerror or e}", hint="give the path of a readable file"
        ) from None
    return loads(data, source=str(path))


def loads(data: bytes, source: str = "<bytes>") -> Graph:
    """Parse `.snnc` bytes; `source` names the data in diagnostics (a path, usually)."""
    header, payload = _unpack(data, source)
    try:
        doc = json.loads(header)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _corrupt(source, f"the header is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("graph"), str) or not isinstance(doc.get("nodes"), list):
        raise _corrupt(source, "the header lacks the graph name or its node list")
    nodes = tuple(_node(entry, payload, source) for entry in doc["nodes"])
    batching = doc.get("batching")
    if batching not in (None, "step", "sequence"):
        raise _corrupt(source, f"unknown batching {batching!r}")
    return Graph(nodes, doc["graph"], _arithmetic(doc.get("arithmetic"), source), batching)


def _arithmetic(raw: object, source: str) -> Arithmetic | None:
    if raw is None:
        return None
    try:
        if not isinstance(raw, dict):
            raise ValueError(f"expected an object, got {str(raw)[:80]}")
        return Arithmetic.from_json(raw)
    except _DECODE_ERRORS as e:
        reason = f"missing key {e}" if isinstance(e, KeyError) else str(e)
        raise _corrupt(source, f"the graph's arithmetic is malformed: {reason}") from None


def _unpack(data: bytes, source: str) -> tuple[bytes, memoryview]:
    """Check magic, version, lengths and checksum; return the header bytes and the payload."""
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data[: len(MAGIC)]):
            raise _corrupt(source, f"the file ends after {len(data)} bytes, inside the magic number")
        raise _not_snnc(data, source)
    if len(data) < _PREFIX.size:
        raise _corrupt(source, f"the file ends after {len(data)} bytes, inside its {_PREFIX.size}-byte prefix")
    _, version, header_len, payload_len, checksum = _PREFIX.unpack_from(data)
    if version not in READABLE_VERSIONS:
        raise input_error(
            "IO-VERSION",
            f"{source} uses .snnc format version {version}; this snnc reads version {VERSION} and older",
            hint="a newer snnc wrote it: upgrade snnc, or save the graph again with this version"
            if version > VERSION
            else _CORRUPT_HINT,
            measured=version,
            limit=list(READABLE_VERSIONS),
        )
    payload_at = _align(_PREFIX.size + header_len)
    expected = payload_at + payload_len
    if len(data) != expected:
        problem = "is truncated" if len(data) < expected else "has trailing bytes"
        raise _corrupt(source, f"the file {problem}: {len(data)} bytes, its prefix says {expected}")
    if hashlib.sha256(data[:_CHECKSUM_AT] + data[_PREFIX.size :]).digest() != checksum:
        raise _corrupt(source, "checksum mismatch: the contents changed after the file was written")
    return data[_PREFIX.size : _PREFIX.size + header_len], memoryview(data)[payload_at:]


def _node(entry: object, payload: memoryview, source: str) -> Node:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _corrupt(source, f"a node entry has no name: {str(entry)[:80]}")
    name: str = entry["name"]
    try:
        cls = OP_BY_KIND.get(entry["op"])
        if cls is None:
            raise _corrupt(
                source,
                f"node {name!r} has op kind {entry['op']!r}, which this snnc does not know",
                node=name,
                hint="a newer snnc may have written it: upgrade snnc, or save the graph again with this version",
            )
        inputs = entry["inputs"]
        origin = entry["origin"]
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise ValueError(f"inputs must be a list of node names, got {inputs!r}")
        if origin is not None and not isinstance(origin, str):
            raise ValueError(f"origin must be a string or null, got {origin!r}")
        layer = entry.get("source", name)
        if not isinstance(layer, str):
            raise ValueError(f"source must be a string, got {layer!r}")
        op = _op(cls, entry["attrs"], payload)
        folded = entry.get("folded", [])
        if not isinstance(folded, list) or not all(isinstance(f, str) for f in folded):
            raise ValueError(f"folded must be a list of strings, got {str(folded)[:80]}")
        return Node(name, op, tuple(inputs), parse_type(entry["type"]), origin, layer, tuple(folded))
    except _DECODE_ERRORS as e:
        reason = f"missing key {e}" if isinstance(e, KeyError) else str(e)
        raise _corrupt(source, f"node {name!r}: {reason}", node=name) from None


def _op(cls: type[Op], attrs: object, payload: memoryview) -> Op:
    if cls is Neuron and isinstance(attrs, dict):
        attrs = _float_order_of_older_files(attrs)
    return _record(cls, cls.kind, attrs, payload)


def _record(cls: type, what: str, attrs: object, payload: memoryview) -> Any:
    """An instance of the dataclass `cls` from its encoded fields, each checked against its type."""
    if not isinstance(attrs, dict):
        raise ValueError(f"attrs must be an object, got {attrs!r}")
    hints = _field_types(cls)
    kwargs = {}
    for key, raw in attrs.items():
        if key not in hints:
            raise ValueError(f"{what} has no field {key!r}")
        value = _decode(raw, payload)
        if not _fits(value, hints[key]):
            raise ValueError(f"field {key!r} of {what} cannot hold {value!r}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except _DECODE_ERRORS as e:  # the op's own normalisation (`__post_init__`) refused a value
        raise ValueError(f"{what} rejects its fields: {e}") from None


_LEGACY_ORDER = ("charge", "rate", "rate_op", "v_rest", "current")


def _float_order_of_older_files(attrs: dict) -> dict:
    """Files written before the float order became a sub-record kept its fields on the Neuron
    (snnc 0.1 with format versions 1 and 2): gather them into `float_order`, where they differ
    from the canonical order."""
    legacy = {key: attrs[key] for key in _LEGACY_ORDER if key in attrs}
    if not legacy:
        return attrs
    rest = {key: value for key, value in attrs.items() if key not in legacy}
    return {**rest, "float_order": {"float_order": legacy}}  # the Neuron drops a canonical order


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """The resolved annotation of each dataclass field of `cls`."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _decode(raw: Any, payload: memoryview) -> Any:
    """Inverse of `_encode`: lists become tuples, tagged objects become arrays, formats, dtypes."""
    if isinstance(raw, list):
        return tuple(_decode(v, payload) for v in raw)
    if not isinstance(raw, dict):
        return raw
    if len(raw) != 1:
        raise ValueError(f"expected one tagged value, got {raw!r}")
    ((tag, body),) = raw.items()
    if tag == "array":
        return _read_array(body, payload)
    if tag == "number_format":
        return NumberFormat.from_json(body)
    if tag == "dtype":
        return parse_dtype(body)
    if tag == "float_order":
        return _record(FloatOrder, "float_order", body, payload)
    raise ValueError(f"unknown value tag {tag!r}")


def _read_array(ref: object, payload: memoryview) -> np.ndarray:
    if not isinstance(ref, dict) or set(ref) != {"dtype", "shape", "offset", "length"}:
        raise ValueError(f"bad array reference {ref!r}")
    dtype, shape, offset, length = ref["dtype"], ref["shape"], ref["offset"], ref["length"]
    dt = _array_dtype(dtype)
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ValueError(f"bad array shape {shape!r}")
    if type(offset) is not int or type(length) is not int or offset < 0 or length < 0:
        raise ValueError(f"bad array offset {offset!r} or length {length!r}")
    need = math.prod(shape) * dt.itemsize
    if length != need:
        raise ValueError(f"a {dtype} array of shape {tuple(shape)} takes {need} bytes, the header gives {length}")
    if offset + length > len(payload):
        raise ValueError(f"array bytes {offset}..{offset + length} lie beyond the {len(payload)}-byte payload")
    return np.frombuffer(bytearray(payload[offset : offset + length]), dtype=dt).reshape(shape)


def _array_dtype(text: object) -> np.dtype:
    """Only plain little-endian (or byte-sized) numbers: what `_PayloadWriter.add` writes."""
    if not isinstance(text, str):
        raise ValueError(f"unknown array dtype {text!r}")
    try:
        dt = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):  # numpy's dtype parser raises all three
        dt = None
    if dt is None or dt.kind not in _ARRAY_KINDS or dt.str != text or text[0] not in "<|":
        raise ValueError(f"unknown array dtype {text!r}")
    return dt


def _fits(value: object, hint: Any) -> bool:
    """Whether a decoded value has the runtime type a field annotation allows."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:  # the verifier judges the value; here only its type
        return any(type(value) is type(a) for a in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    if isinstance(hint, type):
        return isinstance(value, hint)
    raise TypeError(f"the .snnc reader cannot check a field annotated {hint!r}")


def _corrupt(source: str, problem: str, node: str | None = None, hint: str = _CORRUPT_HINT) -> SnncError:
    return input_error("IO-CORRUPT", f"{source}: {problem}", node=node, hint=hint)


def _not_snnc(data: bytes, source: str) -> SnncError:
    looks = next((f" (it looks like {what})" for magic, what in _OTHER_FORMATS if data.startswith(magic)), "")
    return input_error(
        "IO-NOT-SNNC",
        f"{source} is not a .snnc file{looks}",
        hint="load PyTorch (.pt/.pth), NIR (.nir) and ONNX (.onnx) models with snnc.load, which picks the "
        "frontend from the extension; .snnc files are written by snnc.ir.serialize.save",
    )
