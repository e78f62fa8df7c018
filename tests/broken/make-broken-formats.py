#!/usr/bin/env python3
"""make-broken-formats.py — write the broken safetensors and npy files, and the fuzz seeds.

A development tool (python3 standard library only), not needed at test time: its outputs are
committed. Every file under tests/broken/<format>/ has exactly one defect and must make the reader
fail with a GError (tests/test-broken.c); tests/fuzz/<format>.corpus/ gets a few small valid files
and copies of some broken ones as seeds.

Format facts used (models.md §4.1, §4.5):
  safetensors: u64 LE header length N, N bytes of JSON starting with '{' (space-padded), then the
    data buffer; entries {"dtype", "shape", "data_offsets": [begin, end]} tile the buffer.
  npy: b"\\x93NUMPY", version (major, minor), header length (u16 LE for 1.0, u32 LE for 2.0/3.0),
    a Python dict literal padded with spaces and ended by '\\n' to a 64-byte boundary, then data.

Usage: tests/broken/make-broken-formats.py   (from anywhere; paths are relative to this file)
"""

import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
FIXTURE = os.path.join(TESTS, "..", "..", "shared", "fixtures", "io", "tensors.safetensors")


# ---- safetensors ----

def st_header(entries, metadata=None, pad=True):
    """JSON text for a header: entries is a list of (name, dtype, shape, [begin, end])."""
    members = []
    if metadata is not None:
        members.append('"__metadata__":' + json.dumps(metadata, separators=(",", ":")))
    for name, dtype, shape, offsets in entries:
        members.append(json.dumps(name) + ":" + json.dumps(
            {"dtype": dtype, "shape": shape, "data_offsets": offsets}, separators=(",", ":")))
    text = ("{" + ",".join(members) + "}").encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return text


def st_file(header, data=b""):
    """header: bytes of JSON (or a str); data: the buffer."""
    if isinstance(header, str):
        header = header.encode()
    return struct.pack("<Q", len(header)) + header + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def st_valid():
    """Two F32 tensors and metadata: the base most broken files change one thing in."""
    header = st_header([("a", "F32", [2, 3], [0, 24]), ("b", "F32", [4], [24, 40])],
                       metadata={"format": "pt"})
    return st_file(header, f32(*range(6)) + f32(*range(4)))


def broken_safetensors():
    base = st_valid()
    two = f32(*range(10))
    yield "empty", b""
    yield "short-length", b"\x10\x00\x00\x00"
    yield "header-past-end", struct.pack("<Q", 1000) + b'{"a":1}' + b" " * 41
    yield "header-absurd", struct.pack("<Q", 2 ** 63) + b"{}      "
    yield "header-over-limit", struct.pack("<Q", 100_000_001) + b"{}      "
    yield "truncated", base[:-10]
    yield "truncated-header", base[:20]
    yield "no-brace", st_file(b'  {"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', f32(1))
    yield "header-array", st_file(b"[1, 2, 3]       ")
    yield "offsets-past-end", st_file(
        st_header([("a", "F32", [2, 3], [0, 24]), ("b", "F32", [4], [24, 40])]), f32(*range(6)))
    yield "overlap", st_file(
        st_header([("a", "F32", [6], [0, 24]), ("b", "F32", [4], [16, 32])]), f32(*range(8)))
    yield "hole", st_file(
        st_header([("a", "F32", [4], [0, 16]), ("b", "F32", [4], [24, 40])]), two)
    yield "trailing-bytes", base + b"\x00" * 8
    yield "size-mismatch", st_file(st_header([("x", "F32", [2, 3], [0, 12])]), f32(1, 2, 3))
    yield "begin-after-end", st_file(st_header([("x", "F32", [0], [8, 4])]), f32(1, 2))
    yield "invalid-json", st_file(b'{"a": {"dtype": "F32", "shape": [1]      ', f32(1))
    yield "trailing-garbage-json", st_file(b'{}  x   ')
    yield "two-roots", st_file(b'{} {"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}', b"\x01")
    yield "nul-escape", st_file(b'{"a\\u0000b":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}', b"\x01")
    yield "single-quotes", st_file(b"{'a':{'dtype':'F32','shape':[],'data_offsets':[0,4]}}  ", f32(1))
    yield "entry-not-object", st_file(b'{"a": 5}')
    yield "unknown-dtype", st_file(st_header([("x", "F33", [2], [0, 8])]), f32(1, 2))
    yield "unsupported-dtype", st_file(st_header([("x", "F8_E4M3", [4], [0, 4])]), b"\x01\x02\x03\x04")
    yield "dtype-not-string", st_file(st_header([("x", 4, [2], [0, 8])]), f32(1, 2))
    yield "negative-shape", st_file(st_header([("x", "F32", [-1, 2], [0, 8])]), f32(1, 2))
    yield "float-shape", st_file(st_header([("x", "F32", [2.0], [0, 8])]), f32(1, 2))
    yield "shape-not-list", st_file(st_header([("x", "F32", 2, [0, 8])]), f32(1, 2))
    yield "too-many-dims", st_file(st_header([("x", "F32", [1] * 9, [0, 4])]), f32(1))
    yield "shape-overflow", st_file(st_header([("x", "F32", [2 ** 62, 2 ** 62, 0], [0, 0])]))
    yield "offsets-not-pair", st_file(st_header([("x", "F32", [2], [0, 4, 8])]), f32(1, 2))
    yield "missing-offsets", st_file(b'{"x":{"dtype":"F32","shape":[2]}}      ', f32(1, 2))
    yield "negative-offset", st_file(st_header([("x", "F32", [0], [-4, -4])]))
    yield "huge-offset", st_file(
        b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551616,18446744073709551620]}}',
        f32(1))
    yield "duplicate-key", st_file(
        st_header([("a", "F32", [1], [0, 4]), ("a", "F32", [1], [4, 8])]), f32(1, 2))
    yield "metadata-not-string", st_file(st_header([("x", "F32", [1], [0, 4])], metadata={"n": 1}),
                                         f32(1))
    yield "metadata-not-object", st_file(b'{"__metadata__":"pt"}   ')
    yield "deep-nesting", st_file(b'{"x":' + b"[" * 200 + b"]" * 200 + b"}")
    yield "nul-in-header", st_file(b'{"x\x00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1))
    yield "not-utf8", st_file(b'{"\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}    ', f32(1))


def valid_safetensors():
    yield "basic", st_valid()
    yield "unpadded-unaligned", st_file(
        st_header([("u8", "U8", [3], [0, 3]), ("i16", "I16", [2], [3, 7]), ("f64", "F64", [], [7, 15])],
                  pad=False), b"\x01\x02\x03" + struct.pack("<2hd", -2, 7, 0.5))
    yield "empty-header", st_file(b"{}      ")
    yield "zero-size", st_file(st_header([("e", "BF16", [0, 3], [0, 0]), ("s", "I64", [], [0, 8])]),
                               struct.pack("<q", -5))


# ---- npy ----

def npy_header(descr, fortran=False, shape=(), version=1, text=None, align=64):
    """The magic, version, length and dict, padded with spaces and '\\n' to align."""
    if text is None:
        text = "{'descr': %r, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, repr(tuple(shape)))
    text = text.encode("utf-8") if isinstance(text, str) else text
    prefix = 10 if version == 1 else 12
    total = prefix + len(text) + 1
    text += b" " * (-total % align) + b"\n"
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text


def npy_file(descr, shape, data, **kw):
    return npy_header(descr, shape=shape, **kw) + data


def broken_npy():
    good = npy_file("<f4", (2, 3), f32(*range(6)))
    yield "empty", b""
    yield "truncated-magic", b"\x93NUM"
    yield "bad-magic", b"\x93NUMPZ" + good[6:]
    yield "bad-version", good[:6] + b"\x04\x00" + good[8:]
    yield "truncated-length", good[:9]
    yield "header-past-end", good[:8] + struct.pack("<H", 1000) + good[10:]
    yield "truncated-header", good[:40]
    yield "truncated-data", good[:-4]
    yield "trailing-data", good + b"\x00" * 4
    yield "bad-dict", npy_file(None, None, f32(1, 2),
                               text="{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }")
    yield "not-a-dict", npy_file(None, None, f32(1, 2), text="['<f4', False, (2,)]")
    yield "missing-key", npy_file(None, None, f32(1, 2), text="{'descr': '<f4', 'shape': (2,), }")
    yield "extra-key", npy_file(None, None, f32(1, 2),
                                text="{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}")
    yield "duplicate-key", npy_file(None, None, f32(1, 2),
                                    text="{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                                         "'shape': (2,)}")
    yield "bad-bool", npy_file(None, None, f32(1, 2),
                               text="{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }")
    yield "unterminated-string", npy_file(None, None, f32(1, 2), text="{'descr': '<f4")
    yield "object", npy_file("|O", (1,), b"\x80\x03N.")
    yield "big-endian", npy_file(">f4", (2,), struct.pack(">2f", 1, 2))
    yield "unknown-dtype", npy_file("<c8", (1,), f32(1, 2))
    yield "structured-dtype", npy_file(None, None, f32(1, 2),
                                       text="{'descr': [('a', '<f4')], 'fortran_order': False, "
                                            "'shape': (2,), }")
    yield "negative-shape", npy_file(None, None, f32(1, 2),
                                     text="{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }")
    yield "shape-not-tuple", npy_file(None, None, f32(1, 2),
                                      text="{'descr': '<f4', 'fortran_order': False, 'shape': (2), }")
    yield "shape-list", npy_file(None, None, f32(1, 2),
                                 text="{'descr': '<f4', 'fortran_order': False, 'shape': [2], }")
    yield "shape-overflow", npy_file("<f4", (2 ** 62, 2 ** 62, 0), b"")
    yield "shape-huge-int", npy_file(None, None, b"",
                                     text="{'descr': '<f4', 'fortran_order': False, "
                                          "'shape': (99999999999999999999,), }")
    yield "shape-mismatch", npy_file("<f8", (3,), f32(1, 2, 3))
    yield "non-ascii-header", npy_file(None, None, f32(1, 2),
                                       text="{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                                            "}\xe9".encode("latin-1"))
    yield "nul-in-header", npy_file(None, None, f32(1, 2),
                                    text=b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\x00")


def valid_npy():
    yield "f32-v1", npy_file("<f4", (2, 3), f32(*range(6)))
    yield "i64-fortran-v2", npy_file("<i8", (2, 2), struct.pack("<4q", 1, 3, 2, 4), fortran=True,
                                     version=2)
    yield "bool-scalar-v3", npy_file("|b1", (), b"\x01", version=3)
    yield "u8-empty-old-align", npy_file("|u1", (0, 5), b"", align=16)


# ---- output ----

def write_folder(folder, files, ext):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    for name, data in files:
        with open(os.path.join(folder, name + ext), "wb") as f:
            f.write(data)


def main():
    seeds = {"safetensors": ["duplicate-key", "hole", "overlap", "size-mismatch", "truncated"],
             "npy": ["big-endian", "bad-dict", "object", "truncated-data", "extra-key"]}
    formats = {"safetensors": (broken_safetensors, valid_safetensors, ".safetensors"),
               "npy": (broken_npy, valid_npy, ".npy")}
    for fmt, (broken, valid, ext) in formats.items():
        bad = list(broken())
        assert len({name for name, _ in bad}) == len(bad), "duplicate file names"
        write_folder(os.path.join(HERE, fmt), bad, ext)
        corpus = list(valid()) + [(name, data) for name, data in bad if name in seeds[fmt]]
        if fmt == "safetensors" and os.path.isfile(FIXTURE):
            with open(FIXTURE, "rb") as f:
                corpus.append(("fixture-io-tensors", f.read()))  # every dtype, as a real writer
        write_folder(os.path.join(TESTS, "fuzz", fmt + ".corpus"), corpus, ext)
        print("%s: %d broken files, %d fuzz seeds" % (fmt, len(bad), len(corpus)))


if __name__ == "__main__":
    main()
