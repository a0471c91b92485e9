#!/usr/bin/python3
"""Writes a QDQ copy of an fp32 ONNX model, laid out the way ONNX Runtime's
`quantize_static(quant_format=QDQ, per_channel=True)` lays it out, so that the engine is
tested on the form other tools produce:

- every Conv, Gemm and MatMul reads its activation input through QuantizeLinear ->
  DequantizeLinear (uint8, asymmetric, min/max of a calibration run on ONNX Runtime);
- their weights are int8 initializers, symmetric, one scale per output channel (axis 0 for
  Conv, the output axis for Gemm/MatMul), behind DequantizeLinear;
- their biases are int32 initializers with scale = activation scale x weight scale.
Weights stored in float16 behind a Cast to float32 (as in the default model) count as
initializers: the Cast is read through, and dropped when nothing else reads it.

  make_qdq.py FP32.onnx INPUT.npy OUT.onnx [--method minmax|percentile]
              [--skip first,last,depthwise] [--only I]
--skip leaves those ops in fp32 (mixed precision); --only quantises op I alone (its index
among the Conv/Gemm/MatMul ops with a weight): together they find which layers cost accuracy.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pm_peers  # noqa: E402

QUANTISED = ("Conv", "Gemm", "MatMul")


def activation_ranges(model, x, names, method="minmax"):
    """The calibrated range of each named tensor on input x (ONNX Runtime, fp32): its min and
    max, or (percentile) its 0.01th and 99.99th percentiles, so that a few outliers do not
    take most of the 256 steps."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(helper.make_empty_tensor_value_info(n))
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pm_qdq_calib_{os.getpid()}.onnx")
    onnx.save(m, path)
    try:
        sess = pm_peers.ort_session(path, 1)
        outs = sess.run(names, {sess.get_inputs()[0].name: x})
    finally:
        os.remove(path)
    if method == "percentile":
        return {n: (float(min(np.percentile(v, 0.01), 0.0)), float(max(np.percentile(v, 99.99), 0.0)))
                for n, v in zip(names, outs)}
    return {n: (float(min(v.min(), 0.0)), float(max(v.max(), 0.0))) for n, v in zip(names, outs)}


def uint8_params(lo, hi):
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zero)


def main(src, inp, dst, method="minmax", skip=(), only=None):
    model = onnx.load(src)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    # float16 initializers behind Cast(to=float): seen as float32 initializers.
    for node in g.node:
        if (node.op_type == "Cast" and node.input[0] in inits and
                any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in node.attribute)):
            t = numpy_helper.from_array(numpy_helper.to_array(inits[node.input[0]]).astype(np.float32), node.output[0])
            inits[node.output[0]] = t
            g.initializer.append(t)
    kept = [n for n in g.node if not (n.op_type == "Cast" and n.output[0] in inits)]
    del g.node[:]
    g.node.extend(kept)
    used = {i for n in g.node for i in n.input}
    live = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(live)
    x = np.load(inp, allow_pickle=False)
    targets = [n for n in g.node if n.op_type in QUANTISED and n.input[0] not in inits]
    if only is not None:
        targets = [targets[only]]
    if "first" in skip and targets:
        targets = targets[1:]
    if "last" in skip and targets:
        targets = targets[:-1]
    if "depthwise" in skip:
        targets = [n for n in targets if not any(a.name == "group" and a.i > 1 for a in n.attribute)]
    ranges = activation_ranges(model, x, sorted({n.input[0] for n in targets}), method)

    new_inits, new_nodes, done = [], [], {}
    def qdq_activation(name):
        if name in done:
            return done[name]
        s, z = uint8_params(*ranges[name])
        sn, zn = name + "_qscale", name + "_qzero"
        new_inits.extend([numpy_helper.from_array(np.array(s), sn), numpy_helper.from_array(np.array(z), zn)])
        q, dq = name + "_q", name + "_dq"
        new_nodes.append(helper.make_node("QuantizeLinear", [name, sn, zn], [q], name=q))
        new_nodes.append(helper.make_node("DequantizeLinear", [q, sn, zn], [dq], name=dq))
        done[name] = (dq, float(s))
        return done[name]

    def qdq_weight(name, axis):
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        scale = np.maximum(np.abs(moved).max(axis=1), 1e-12) / 127.0
        shape = [1] * w.ndim
        shape[axis] = -1
        wq = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        qn, sn, zn, dq = name + "_i8", name + "_wscale", name + "_wzero", name + "_wdq"
        new_inits.extend([numpy_helper.from_array(wq, qn),
                          numpy_helper.from_array(scale.astype(np.float32), sn),
                          numpy_helper.from_array(np.zeros(len(scale), np.int8), zn)])
        new_nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [dq], name=dq, axis=axis))
        return dq, scale

    def qdq_bias(name, act_scale, w_scale):
        b = numpy_helper.to_array(inits[name]).astype(np.float64)
        scale = (act_scale * w_scale).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.round(b / scale)
        if not np.all(np.isfinite(ratio)) or np.abs(ratio).max() > 2**31 - 1:
            return name  # not representable in int32 at this scale: the bias stays float32
        bq = ratio.astype(np.int32)
        qn, sn, zn, dq = name + "_i32", name + "_bscale", name + "_bzero", name + "_bdq"
        new_inits.extend([numpy_helper.from_array(bq, qn), numpy_helper.from_array(scale, sn),
                          numpy_helper.from_array(np.zeros(len(scale), np.int32), zn)])
        new_nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [dq], name=dq, axis=0))
        return dq

    quantised = 0
    for n in targets:
        if len(n.input) < 2 or n.input[1] not in inits:
            continue
        if n.op_type == "Gemm" and any(a.name == "transA" and a.i for a in n.attribute):
            continue
        quantised += 1
        dq_x, act_scale = qdq_activation(n.input[0])
        w_rank = len(inits[n.input[1]].dims)
        trans_b = any(a.name == "transB" and a.i for a in n.attribute)
        axis = 0 if n.op_type == "Conv" or trans_b else w_rank - 1
        dq_w, w_scale = qdq_weight(n.input[1], axis)
        n.input[0], n.input[1] = dq_x, dq_w
        if len(n.input) > 2 and n.input[2] in inits and len(inits[n.input[2]].dims) == 1:
            n.input[2] = qdq_bias(n.input[2], act_scale, w_scale)

    # Topological order (Kahn), the original nodes' order kept where it can be.
    nodes = list(new_nodes) + list(g.node)
    known = {t.name for t in g.initializer} | {t.name for t in new_inits} | {i.name for i in g.input} | {""}
    ordered, pending = [], nodes
    while pending:
        rest = []
        for node in pending:
            if all(i in known for i in node.input):
                ordered.append(node)
                known.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            sys.exit("make_qdq: the graph has a cycle or an undefined input")
        pending = rest
    del g.node[:]
    g.node.extend(ordered)
    g.initializer.extend(new_inits)
    # Drop the fp32 weights the quantised copies replace.
    used = {i for node in g.node for i in node.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"{dst}: {quantised} of {len(targets)} Conv/Gemm/MatMul quantised, "
          f"{sum(1 for n in g.node if n.op_type == 'QuantizeLinear')} QuantizeLinear, "
          f"{sum(1 for n in g.node if n.op_type == 'DequantizeLinear')} DequantizeLinear")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("fp32")
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--method", default="minmax", choices=["minmax", "percentile"])
    ap.add_argument("--skip", default="", help="first,last,depthwise")
    ap.add_argument("--only", type=int, default=None)
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    if skip - {"first", "last", "depthwise"}:
        sys.exit(f"make_qdq: --skip takes first, last, depthwise, not {a.skip}")
    main(a.fp32, a.input, a.out, a.method, skip, a.only)
