#!/usr/bin/python3
"""Writes a copy of an ONNX model that OpenCV DNN 4.6 can import, with the same math.

OpenCV 4.6's importer refuses two things that torch exports (FACTS.md):
  - Identity nodes whose input is an initializer: the output becomes an initializer.
  - Clip with min/max as inputs (opset >= 11): OpenCV reads only the opset-6 form with
    `min`/`max` attributes, so constant inputs are moved into attributes. The result is
    not valid ONNX for other runtimes; it is only ever fed to OpenCV.
Anything else it refuses (Shape arithmetic with a dynamic batch, LayerNormalization, ...)
is left alone, and the benchmark reports OpenCV as unable to run that model.

  ocv_compat.py IN.onnx OUT.onnx
"""
import sys

import onnx
from onnx import helper, numpy_helper


def rewrite(model):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    consts = {}
    for n in g.node:
        if n.op_type == "Constant":
            for at in n.attribute:
                if at.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(at.t)
    keep = []
    changed = 0
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[n.input[0]])
            t.name = n.output[0]
            g.initializer.append(t)
            inits[t.name] = t
            changed += 1
            continue
        if n.op_type == "Clip" and len(n.input) > 1:
            bounds = {}
            for name, idx in (("min", 1), ("max", 2)):
                if idx < len(n.input) and n.input[idx]:
                    src = n.input[idx]
                    if src in consts:
                        bounds[name] = float(consts[src])
                    elif src in inits:
                        bounds[name] = float(numpy_helper.to_array(inits[src]))
                    else:
                        bounds = None
                        break
            if bounds is not None:
                del n.input[1:]
                for k, v in bounds.items():
                    n.attribute.append(helper.make_attribute(k, v))
                changed += 1
        keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    return changed


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: ocv_compat.py IN.onnx OUT.onnx")
    m = onnx.load(sys.argv[1])
    changed = rewrite(m)
    onnx.save(m, sys.argv[2])
    print(f"ocv_compat: {changed} nodes rewritten -> {sys.argv[2]}")


if __name__ == "__main__":
    main()
