#!/usr/bin/python3
"""Checks the sample file from pm_hdf5_sample_writer against the documented layout
(include/pixelmill/output_layout.h) with h5py: names, types, shapes, chunking,
attributes, the values of every row, and that every structure libhdf5 parses is
checksummed (superblock 2, version 4 layouts). Exit status 0 when all holds."""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration"))
from h5_format import unchecksummed  # noqa: E402

N, D = 10, 4
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)


def dataset(f, name, dtype, shape):
    expect(name in f, f"{name} missing")
    if name not in f:
        return None
    ds = f[name]
    expect(ds.dtype == np.dtype(dtype), f"{name}: dtype {ds.dtype}, expected {dtype}")
    expect(ds.shape == shape, f"{name}: shape {ds.shape}, expected {shape}")
    expect(ds.chunks is not None, f"{name}: not chunked")
    return ds[()]


with h5py.File(sys.argv[1], "r") as f:
    k = max(len(f"row-{i}") for i in range(N))
    key = dataset(f, "/images/key", "u1", (N, k))
    key_length = dataset(f, "/images/key_length", "<u4", (N,))
    status = dataset(f, "/images/status", "u1", (N,))
    error = dataset(f, "/images/error", "S160", (N,))
    embedding = dataset(f, "/images/embedding", "<f4", (N, D))
    content_hash = dataset(f, "/images/content_hash", "u1", (N, 32))
    phash = dataset(f, "/images/phash", "<u8", (N,))
    width = dataset(f, "/images/width", "<i4", (N,))
    height = dataset(f, "/images/height", "<i4", (N,))
    timestamp = dataset(f, "/images/timestamp", "<i8", (N,))
    for i in range(N):
        expect(bytes(key[i, : key_length[i]]) == f"row-{i}".encode(), f"row {i}: key")
        expect(not key[i, key_length[i]:].any(), f"row {i}: key padding not zero")
        failed = i % 4 == 3
        expect(status[i] == (2 if failed else 0), f"row {i}: status {status[i]}")
        expect(error[i] == (f"corrupt image {i}".encode() if failed else b""), f"row {i}: error {error[i]!r}")
        want = np.zeros(D, np.float32) if failed else i + 0.5 * np.arange(D, dtype=np.float32)
        expect(np.array_equal(embedding[i], want), f"row {i}: embedding {embedding[i]}")
        expect((content_hash[i] == i).all(), f"row {i}: content_hash")
        expect(phash[i] == 1000 + i, f"row {i}: phash")
        expect(width[i] == 10 * i and height[i] == 20 * i, f"row {i}: size")
        expect(timestamp[i] == 1700000000000 + i, f"row {i}: timestamp")

    # String attributes are fixed-length UTF-8 (no data in the global heap), which h5py
    # reads as bytes: decoded here, as every reader of attributes does.
    a = {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    for name in ["pixelmill_version", "command_line", "model_card", "model_card_sha256",
                 "model_sha256", "parameters", "counts", "created_utc"]:
        expect(isinstance(a.get(name), str), f"root attribute {name}: {type(a.get(name))}")
        info = h5py.check_string_dtype(f.attrs.get_id(name).dtype) if name in f.attrs else None
        expect(info is not None and info.encoding == "utf-8" and info.length is not None,
               f"root attribute {name}: not a fixed-length UTF-8 string ({info})")
    expect(json.loads(a["model_card"])["embedding_dim"] == D, "model_card is the card JSON")
    # The file's own counts of its rows' statuses: every status named, these two set.
    counts = json.loads(a["counts"])
    expect(len(counts) == 8 and {k: v for k, v in counts.items() if v} == {"ok": 8, "corrupt": 2},
           f"counts JSON {counts}")
    expect(json.loads(a["parameters"]) == {"batch": 8}, "parameters JSON")
    expect(a["model_sha256"] == "2" * 64, "model_sha256")
    expect(int(a["embedding_dim"]) == D and a["embedding_dim"].dtype == np.int64, "embedding_dim")
    expect(int(a["rows"]) == N and a["rows"].dtype == np.int64, "rows")

    group = dataset(f, "/dedup/group", "<i8", (N,))
    exact = dataset(f, "/dedup/exact_group", "<i8", (N,))
    pairs = dataset(f, "/dedup/pairs", "<i8", (3, 2))
    score = dataset(f, "/dedup/score", "<f4", (3,))
    expect(list(group) == [0, 0, 2, 3, 4, 4, 4, 7, 8, 9], f"dedup group {group}")
    expect(list(exact) == list(range(N)), "dedup exact_group")
    expect(pairs.tolist() == [[0, 1], [4, 5], [5, 6]], f"dedup pairs {pairs}")
    expect(np.allclose(score, [0.95, 0.92, 0.99]), f"dedup score {score}")
    d = {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in f["/dedup"].attrs.items()}
    expect(abs(float(d["threshold"]) - 0.9) < 1e-6 and d["threshold"].dtype == np.float32, "threshold")
    expect(int(d["pairs"]) == 3, "dedup pairs attribute")
    expect(int(d["groups"]) == 2, f"dedup groups attribute {d['groups']}")
    expect(json.loads(d["against"]) == [], "dedup against")

# Every structure libhdf5 parses is checksummed (src/sink/hdf5/h5_file.h).
failures += unchecksummed(sys.argv[1])

if failures:
    print("layout check failed:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"layout of {sys.argv[1]} is as documented ({N} rows, dim {D})")
