#!/usr/bin/python3
"""Runs an ONNX model with ONNX Runtime (CPU) on .npy inputs and writes .npy outputs:
the peer twin of `pixelmill model run`, with the same arguments.

  run_ort.py --model M.onnx --input IN.npy [--input ...] --output OUT.npy [--output ...]
             [--threads T]

Inputs bind to the graph inputs in order, outputs to the graph outputs in order; fewer
--output paths than graph outputs writes the first ones only."""
import argparse
import sys

import pm_peers


def main():
    ap = argparse.ArgumentParser(description="ONNX Runtime runner on .npy files")
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", action="append", default=[], required=True)
    ap.add_argument("--output", action="append", default=[], required=True)
    ap.add_argument("--threads", type=int, default=1, help="intra_op_num_threads (default 1)")
    a = ap.parse_args()
    sess = pm_peers.ort_session(a.model, a.threads)
    ins, outs = sess.get_inputs(), sess.get_outputs()
    if len(a.input) != len(ins):
        sys.exit(f"run_ort: model has {len(ins)} inputs {[i.name for i in ins]}, "
                 f"got {len(a.input)} --input")
    if len(a.output) > len(outs):
        sys.exit(f"run_ort: model has {len(outs)} outputs, got {len(a.output)} --output")
    feed = {i.name: pm_peers.load_npy(p) for i, p in zip(ins, a.input)}
    results = sess.run([o.name for o in outs[:len(a.output)]], feed)
    for path, r in zip(a.output, results):
        pm_peers.save_npy(path, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
