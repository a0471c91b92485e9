#!/usr/bin/python3
"""Writes the seed corpora of tests/fuzz/corpus/NAME/: small valid inputs of every kind each
parser takes, for the fuzzers to mutate. Run with Debian's python3 (cv2, numpy, onnx);
inputs that fuzzers find are added beside these by scripts/fuzz.sh. Deterministic.

The run_file seeds are real run files, made by the binary (tests/fuzz/make_run_file_seeds.py)."""
import os
import struct
import sys

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def images():
    img = np.zeros((6, 10, 3), np.uint8)
    img[:, :, 1] = 128
    for ext, params in [(".jpg", []), (".png", []), (".bmp", []), (".tiff", []), (".ppm", []),
                        (".pgm", []), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
                        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101])]:
        src = img[:, :, 0] if ext == ".pgm" else img
        ok, buf = cv2.imencode(ext, src, params)
        assert ok
        put("image_header", f"seed{ext}{'-lossless' if 101 in params else ''}", buf.tobytes())
    # A JPEG with an EXIF orientation segment (APP1).
    ok, buf = cv2.imencode(".jpg", img)
    exif = b"Exif\0\0" + tiff_orientation(6)
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    put("image_header", "seed-exif.jpg", buf.tobytes()[:2] + app1 + buf.tobytes()[2:])
    put("image_header", "seed-comment.pgm", b"P5\n# a comment\r6 4\n255\n" + bytes(24))


def jpegs():
    # The first byte picks the reduction (1, 2, 4, 8); then a whole JPEG.
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for i, (name, params) in enumerate([("baseline", []), ("progressive", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
                                        ("restart", [cv2.IMWRITE_JPEG_RST_INTERVAL, 1])]):
        ok, buf = cv2.imencode(".jpg", img, params)
        assert ok
        put("jpeg_rgb", f"seed-{name}", bytes([i]) + buf.tobytes())
    ok, buf = cv2.imencode(".jpg", img[:, :, 0])
    put("jpeg_rgb", "seed-grey", bytes([3]) + buf.tobytes())


def tiff_orientation(value, order=">"):
    mark = b"MM" if order == ">" else b"II"
    return (mark + struct.pack(order + "HI", 42, 8) + struct.pack(order + "H", 1) +
            struct.pack(order + "HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(order + "I", 0))


def exif():
    for v in (1, 3, 6, 8):
        put("exif", f"orientation-{v}-be", tiff_orientation(v, ">"))
    put("exif", "orientation-6-le", tiff_orientation(6, "<"))


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "seed", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m.SerializeToString()


def onnx_seeds():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32) * 0.1, "w")
    b = numpy_helper.from_array(np.zeros(4, np.float32), "b")
    put("onnx", "conv_relu.onnx", model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                                         helper.make_node("Relu", ["c"], ["y"])], [x], [y], [w, b]))
    put("onnx", "identity.onnx", model([helper.make_node("Identity", ["x"], ["y"])], [x], [y]))
    shape = numpy_helper.from_array(np.array([-1, 192], np.int64), "shape")
    starts = numpy_helper.from_array(np.array([0], np.int64), "starts")
    ends = numpy_helper.from_array(np.array([10], np.int64), "ends")
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    put("onnx", "reshape_slice.onnx", model(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]),
         helper.make_node("Slice", ["r", "starts", "ends", "axes"], ["y"])], [x], [y],
        [shape, starts, ends, axes]))
    put("onnx", "pool_gemm.onnx", model(
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Gemm", ["f", "gw"], ["y"], transB=1)], [x], [y],
        [numpy_helper.from_array(np.ones((5, 3), np.float32), "gw")]))


def npy_seeds():
    import io
    for name, a in [("f4", np.arange(6, dtype="<f4").reshape(2, 3)), ("u1", np.arange(4, dtype=np.uint8)),
                    ("i8", np.array([[1, -2]], dtype="<i8")), ("b1", np.array([True, False])),
                    ("scalar", np.array(1.5, dtype="<f4")), ("f8", np.zeros((2, 1, 2), "<f8"))]:
        buf = io.BytesIO()
        np.save(buf, a)
        put("npy", f"{name}.npy", buf.getvalue())


def cards():
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(here, "models", "sscd_distilled.json")) as f:
        put("model_card", "sscd_distilled.json", f.read())
    put("model_card", "tiny.json", """{"name": "tiny", "description": "d", "file": "t.onnx",
 "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "pretrained": false,
 "input": {"name": "x", "dtype": "float32", "layout": "NCHW", "color": "BGR", "height": 16, "width": 16},
 "resize": "letterbox", "interpolation": "linear", "pad_value": 114, "scale": 0.0039215686,
 "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
 "embedding": {"output": "e", "dim": 8, "normalize": "none"}, "dedup": {"threshold": 0.9}}""")


def splits():
    def s(b):
        return struct.pack("<Q", len(b)) + b

    def plan(ss):
        out = b"PMSPLIT1" + struct.pack("<Q", len(ss))
        for index, start, stop, items, est in ss:
            out += struct.pack("<Q", index) + s(start) + s(stop) + struct.pack("<Q", len(items))
            out += b"".join(s(i) for i in items) + struct.pack("<q", est)
        return out
    put("split_codec", "empty", plan([]))
    put("split_codec", "files", plan([(0, b"a.jpg", b"c.jpg", [b"a.jpg", b"b.jpg", b"c.jpg"], 3),
                                      (1, b"d.jpg", b"d.jpg", [b"d.jpg"], 1)]))
    put("split_codec", "hbase", plan([(0, b"", b"row\x00\x10", [], -1), (1, b"row\x00\x10", b"", [], 500)]))


def urls():
    put("hbase_url", "plain", "hbase://127.0.0.1:9090/product_images\nrow\\x00\\x01\nf:img")
    put("hbase_url", "options", "hbase://thrift-host/ns:table?protocol=compact&transport=framed&timeout_ms=500&pages=1\n\\\\a\\,b\nf:")
    put("hbase_url", "ipv6", "hbase://[::1]:9091/t?splits_per_region=8&rows_per_call=64\n\nfam:q:x")


for fn in (images, jpegs, exif, onnx_seeds, npy_seeds, cards, splits, urls):
    fn()
print("seeds written under", root)
