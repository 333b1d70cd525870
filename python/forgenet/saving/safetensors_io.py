"""A safetensors reader that checks before it reads, and a streaming writer (the format is a little-endian
u64 header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then
the tensor bytes). Reading parses and validates the whole header first (dtypes, shapes, byte ranges
within the file, no overlaps), then reads only the tensors asked for."""
from __future__ import annotations

import json
import math
import struct

import numpy as np

from forgenet.saving.limits import MAX_CONFIG_BYTES

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}


class Header:
    def __init__(self, path, file_size, data_start, tensors, metadata):
        self.path, self.file_size, self.data_start = path, file_size, data_start
        self.tensors, self.metadata = tensors, metadata  # name -> (dtype, shape, begin, end)

    def numel(self, name) -> int:
        return math.prod(self.tensors[name][1])


def read_header(f, path: str, who: str, what: str = "safetensors file") -> Header:
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    if size < 8:
        raise ValueError(f"{who}: {path} is not a {what} ({size} bytes; too short for a safetensors header)")
    (n,) = struct.unpack("<Q", f.read(8))
    if n > size - 8 or n > MAX_CONFIG_BYTES:
        raise ValueError(f"{who}: {path} is not a {what} (its header claims {n} bytes, the file has "
                         f"{size})")
    raw = f.read(n)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{who}: {path} is not a {what} (damaged header: {type(e).__name__})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{who}: {path} is not a {what} (the header is not a JSON object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ValueError(f"{who}: {path}: damaged safetensors metadata (must map strings to strings)")
    data_len = size - 8 - n
    tensors, spans = {}, []
    for name, info in header.items():
        try:
            dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"{who}: {path}: damaged entry for tensor {name!r}: {info!r}") from None
        if dtype not in _DTYPES:
            raise ValueError(f"{who}: {path}: tensor {name!r} has unsupported dtype {dtype!r}")
        if (not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                   for d in shape)):
            raise ValueError(f"{who}: {path}: tensor {name!r} has an invalid shape {shape!r}")
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (b, e)) or not 0 <= b <= e <= data_len:
            raise ValueError(f"{who}: {path}: tensor {name!r} claims bytes [{b}, {e}) outside the file's "
                             f"{data_len} data bytes (a truncated or damaged file)")
        want = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize  # Python ints: no overflow
        if e - b != want:
            raise ValueError(f"{who}: {path}: tensor {name!r} of shape {shape} and dtype {dtype} needs {want} bytes "
                             f"but its entry spans {e - b}")
        tensors[name] = (dtype, tuple(shape), b, e)
        if e > b:
            spans.append((b, e, name))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError(f"{who}: {path}: tensors {n0!r} and {n1!r} overlap in the file")
    return Header(path, size, 8 + n, tensors, meta)


def read_tensor(f, header: Header, name: str) -> np.ndarray:
    dtype, shape, b, e = header.tensors[name]
    f.seek(header.data_start + b)
    buf = f.read(e - b)
    if len(buf) != e - b:
        raise ValueError(f"{header.path}: truncated while reading tensor {name!r}")
    return np.frombuffer(buf, dtype=np.dtype(_DTYPES[dtype]).newbyteorder("<")).reshape(shape).copy()


def write(f, tensors: dict, metadata: dict) -> None:
    """Write tensors (name -> numpy array) and string metadata to the binary file f, in safetensors layout."""
    header, offset, arrays = {}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        code = _CODES.get(a.dtype)
        if code is None:
            raise TypeError(f"safetensors: cannot store tensor {name!r} of dtype {a.dtype}")
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        arrays.append(a)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # as safetensors pads: tensor data 8-byte aligned
    f.write(struct.pack("<Q", len(raw)))
    f.write(raw)
    for a in arrays:
        f.write(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
