#!/usr/bin/python3
"""Prints what a pixelmill output file holds: rows, statuses, embeddings, duplicate groups."""
import collections
import json
import sys

import h5py
import numpy as np

STATUS = ["ok", "empty", "corrupt", "unsupported", "too_large", "read_error",
          "inference_error", "missing"]


def text(value):
    """A string attribute: fixed-length ones (pixelmill's now) are bytes in h5py, the
    variable-length ones of older files str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def key(f, i):
    n = int(f["/images/key_length"][i])
    return bytes(f["/images/key"][i][:n]).decode("utf-8", "replace")


def main(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        card = json.loads(text(f.attrs["model_card"]))
        status = f["/images/status"][:]
        emb = f["/images/embedding"]
        print(f"{path}: {n} images, model {card['name']} ({emb.shape[1]}-d embeddings)")
        counts = collections.Counter(STATUS[s] if s < len(STATUS) else str(s) for s in status)
        print("  status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        for i in np.nonzero(status != 0)[0][:10]:
            msg = bytes(f["/images/error"][i]).rstrip(b"\0").decode("utf-8", "replace")
            print(f"    {key(f, i)}: {STATUS[status[i]]}: {msg}")
        if "/dedup/group" in f:
            group = f["/dedup/group"][:]
            exact = f["/dedup/exact_group"][:]
            members = collections.defaultdict(list)
            for i, g in enumerate(group):
                members[int(g)].append(i)
            groups = [m for m in members.values() if len(m) > 1]
            exact_groups = len([g for g, c in collections.Counter(exact.tolist()).items() if c > 1])
            thr = f["/dedup"].attrs.get("threshold", "?")
            print(f"  duplicates (cosine >= {float(thr):.2f}): {len(groups)} groups holding "
                  f"{sum(len(g) for g in groups)} images; {exact_groups} groups of identical files")
            for m in sorted(groups, key=len, reverse=True)[:8]:
                print("    group: " + "  ".join(key(f, i) for i in m[:6]) + (" ..." if len(m) > 6 else ""))
        else:
            print("  (no /dedup group: run `pixelmill dedup --input FILE`)")


if __name__ == "__main__":
    main(sys.argv[1])
