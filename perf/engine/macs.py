#!/usr/bin/python3
"""Multiply-accumulates per image of an ONNX model, counted from the graph: Conv,
ConvTranspose, Gemm and MatMul (everything else is noise next to them for a CNN).
The benchmark's own count, so whole-network GFLOP/s does not depend on the engine
reporting it; it is printed beside `pixelmill model info`'s figure when that exists.

  macs.py M.onnx   ->  prints "<macs per image> <per-node-type breakdown as JSON>"
"""
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference


def count(path):
    m = onnx.load(path)
    # Fix the batch to 1 so that shape inference yields concrete per-image shapes.
    for vi in list(m.graph.input) + list(m.graph.output):
        d = vi.type.tensor_type.shape.dim
        if len(d) and not d[0].dim_value:
            d[0].dim_value = 1
    m = shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    for t in m.graph.initializer:
        shapes[t.name] = list(t.dims)
    for n in m.graph.node:
        if n.op_type == "Constant":
            for at in n.attribute:
                if at.name == "value":
                    shapes[n.output[0]] = list(numpy_helper.to_array(at.t).shape)

    def attr(n, name, default):
        for at in n.attribute:
            if at.name == name:
                return onnx.helper.get_attribute_value(at)
        return default

    by_type = {}
    total = 0
    for n in m.graph.node:
        macs = 0
        if n.op_type in ("Conv", "ConvTranspose"):
            w = shapes.get(n.input[1])
            y = shapes.get(n.output[0]) if n.op_type == "Conv" else shapes.get(n.input[0])
            if not w or not y or 0 in y:
                continue
            # Conv: every output element costs Cin/g * prod(kernel); ConvTranspose: every
            # input element scatters into Cout/g * prod(kernel).
            per = int(np.prod(w[1:]))
            macs = int(np.prod(y)) * per
        elif n.op_type in ("Gemm", "MatMul"):
            a = shapes.get(n.input[0])
            b = shapes.get(n.input[1])
            y = shapes.get(n.output[0])
            if not a or not b or not y or 0 in y:
                continue
            k = a[-1] if not (n.op_type == "Gemm" and attr(n, "transA", 0)) else a[0]
            macs = int(np.prod(y)) * k
        if macs:
            by_type[n.op_type] = by_type.get(n.op_type, 0) + macs
            total += macs
    return total, by_type


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: macs.py M.onnx")
    total, by_type = count(sys.argv[1])
    print(total, json.dumps(by_type))


if __name__ == "__main__":
    main()
