#!/usr/bin/python3
"""Per-layer GFLOP/s from oneDNN's own execution log (ONEDNN_VERBOSE=1), so that any
program built on oneDNN 2.6 -- the pixelmill engine included -- can be measured layer by
layer without instrumenting it.

Each `onednn_verbose,exec,...` line names the primitive, its implementation, memory
descriptors, attributes, the problem (e.g. `mb16_ic64oc64_ih56oh56kh3sh1dh0ph1_iw56...`)
and the time in ms. Convolutions, inner products and matmuls get their FLOP count from
the problem string; every other primitive (reorders, pooling, eltwise, binary) is
memory-bound and is reported by time only. Identical layers (same primitive, problem and
attributes) are grouped: `calls` counts them over all the inferences in the log.

  ONEDNN_VERBOSE=1 prog ... > log;  onednn_layers.py log [--peak-fp32 G --peak-bf16 G]
"""
import argparse
import re
import statistics
import sys

CONV = re.compile(r"(?:g(\d+))?mb(\d+)_(?:g(\d+))?ic(\d+)oc(\d+)_"
                  r"(?:id(\d+)od(\d+)kd(\d+)\D[^_]*_)?"
                  r"(?:ih(\d+)oh(\d+)kh(\d+)[^_]*_?)?(?:iw(\d+)ow(\d+)kw(\d+))?")
IP = re.compile(r"mb(\d+)ic(\d+)(?:id(\d+))?(?:ih(\d+))?(?:iw(\d+))?oc(\d+)")


def flops(prim, problem):
    """FLOP (2 x MAC) of one execution, or 0 for primitives that do no multiply-adds."""
    if prim in ("convolution", "deconvolution"):
        m = CONV.search(problem)
        if not m:
            return 0
        g1, mb, g2, ic, oc, _id, od, kd, ih, oh, kh, iw, ow, kw = m.groups()
        g = int(g1 or g2 or 1)
        od, kd = int(od or 1), int(kd or 1)
        oh, kh = int(oh or 1), int(kh or 1)
        ow, kw = int(ow or oh), int(kw or kh)
        if prim == "deconvolution":  # each input point scatters into oc/g x kernel outputs
            ih_, iw_ = int(ih or 1), int(iw or ih or 1)
            return 2 * int(mb) * int(ic) * ih_ * iw_ * (int(oc) // g) * kd * kh * kw
        return 2 * int(mb) * int(oc) * od * oh * ow * (int(ic) // g) * kd * kh * kw
    if prim == "inner_product":
        m = IP.search(problem)
        if not m:
            return 0
        mb, ic, d, h, w, oc = m.groups()
        return 2 * int(mb) * int(ic) * int(d or 1) * int(h or 1) * int(w or 1) * int(oc)
    if prim == "matmul":
        parts = problem.split(":")
        if len(parts) != 3:
            return 0
        src = [int(v) for v in parts[0].split("x")]
        dst = [int(v) for v in parts[2].split("x")]
        n = 1
        for v in dst:
            n *= v
        return 2 * n * src[-1]
    return 0


def parse(lines):
    """Groups exec lines: key -> dict(prim, impl, dtype, attrs, problem, times[])."""
    groups = {}
    for line in lines:
        if not line.startswith("onednn_verbose,exec,") and not line.startswith("dnnl_verbose,exec,"):
            continue
        f = line.rstrip("\n").split(",")
        if len(f) < 10:
            continue
        try:
            t = float(f[-1])
        except ValueError:
            continue
        prim, impl, mds, attrs, problem = f[3], f[4], f[6], f[7].strip(), f[-2]
        m = re.search(r"src_(\w+?):", mds)
        dtype = m.group(1) if m else "?"
        key = (prim, impl, attrs, problem, dtype)
        g = groups.setdefault(key, {"prim": prim, "impl": impl, "attrs": attrs,
                                    "problem": problem, "dtype": dtype, "times": []})
        g["times"].append(t)
    return groups


def report(groups, peak_fp32=0.0, peak_bf16=0.0, top=20, out=sys.stdout):
    rows = []
    for g in groups.values():
        med = statistics.median(g["times"])
        fl = flops(g["prim"], g["problem"])
        rows.append((med * len(g["times"]), med, fl, g))
    total = sum(r[0] for r in rows) or 1.0
    rows.sort(key=lambda r: -r[0])
    hdr = (f"{'share':>6} {'calls':>5} {'ms/call':>8} {'GFLOP/s':>8} {'%peak':>6}  "
           f"{'primitive':<14} {'implementation':<26} problem")
    print(hdr, file=out)
    fl_sum = t_sum = 0.0
    for i, (tot, med, fl, g) in enumerate(rows):
        peak = peak_bf16 if g["dtype"] == "bf16" else peak_fp32
        gf = fl / (med * 1e-3) / 1e9 if fl and med > 0 else 0.0
        pct = f"{100 * gf / peak:5.0f}%" if gf and peak else "     -"
        gfs = f"{gf:8.1f}" if gf else "       -"
        fl_sum += fl * len(g["times"])
        t_sum += tot
        if i < top:
            post = f" [{g['attrs']}]" if g["attrs"] else ""
            print(f"{100 * tot / total:5.1f}% {len(g['times']):5d} {med:8.3f} {gfs} {pct}  "
                  f"{g['prim']:<14} {g['impl'] + ' ' + g['dtype']:<26} {g['problem']}{post}",
                  file=out)
    if len(rows) > top:
        rest = sum(r[0] for r in rows[top:])
        print(f"{100 * rest / total:5.1f}% ... {len(rows) - top} more groups", file=out)
    if t_sum:
        print(f"all primitives: {t_sum:.1f} ms in {sum(len(r[3]['times']) for r in rows)} "
              f"executions, {fl_sum / (t_sum * 1e-3) / 1e9:.1f} GFLOP/s overall", file=out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--peak-fp32", type=float, default=0.0)
    ap.add_argument("--peak-bf16", type=float, default=0.0)
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    with open(a.log, errors="replace") as f:
        groups = parse(f)
    if not groups:
        sys.exit(f"onednn_layers: no oneDNN exec lines in {a.log} (was ONEDNN_VERBOSE=1 set?)")
    report(groups, a.peak_fp32, a.peak_bf16, a.top)


if __name__ == "__main__":
    main()
