"""Locating and loading the engine's peers (ONNX Runtime, OpenCV DNN) from Debian's
/usr/bin/python3, and the .npy plumbing that the runners share.

ONNX Runtime comes from scripts/deps/peers.sh: a `pip --target` install under
$PM_PEERS_DIR (default <repo>/perf/peers)/ort-<version>. OpenCV DNN is Debian's
python3-opencv (4.6)."""
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORT_VERSION = os.environ.get("PM_ORT_VERSION", "1.30.0")


def ort_dir():
    base = os.environ.get("PM_PEERS_DIR", os.path.join(REPO, "perf", "peers"))
    return os.path.join(base, f"ort-{ORT_VERSION}")


def import_ort():
    """Returns the onnxruntime module, or exits with the command that installs it."""
    d = ort_dir()
    if os.path.isdir(d) and d not in sys.path:
        sys.path.insert(0, d)
    try:
        import onnxruntime
    except ImportError as e:
        sys.exit(f"onnxruntime not found in {d} ({e}); run scripts/deps/peers.sh")
    return onnxruntime


def ort_session(model, threads, spin=False):
    """An ORT CPU session with a fixed thread count: intra_op threads as given, one
    inter-op thread, sequential execution, and no spinning unless `spin` (spinning threads
    would steal the other core from whatever runs beside it; ORT's own default spins)."""
    ort = import_ort()
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


def load_npy(path):
    a = np.load(path, allow_pickle=False)
    return np.ascontiguousarray(a)


def save_npy(path, a):
    # np.save appends .npy to a name without it; keep exactly the name the caller gave.
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(a), allow_pickle=False)
