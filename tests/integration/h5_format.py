"""What of an HDF5 file libhdf5 would parse without a checksum (src/sink/hdf5/h5_file.h):
the superblock's version, and each chunked dataset's layout version and chunk index, as
h5debug (hdf5-tools) reports them. Used by the layout and dedup tests."""
import subprocess

import h5py

CHECKSUMMED_INDEXES = {"Single Chunk", "Implicit", "Fixed Array", "Extensible Array", "v2 B-tree"}


def unchecksummed(path):
    """Returns a list of what is not checksummed; empty when every structure is."""
    problems = []
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:8] != b"\x89HDF\r\n\x1a\n":
        return [f"{path}: no superblock at 0"]
    if head[8] != 2:
        problems.append(f"superblock version {head[8]}, expected 2 (checksummed, no open-for-write flag)")
    datasets = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: datasets.append((name, h5py.h5o.get_info(obj.id).addr, obj.chunks))
                     if isinstance(obj, h5py.Dataset) else None)
    for name, addr, chunks in datasets:
        if chunks is None:
            continue
        out = subprocess.run(["h5debug", path, str(addr)], capture_output=True, text=True, check=True).stdout
        lines = out.splitlines()
        at = next((i for i, l in enumerate(lines) if "`layout'" in l), None)
        if at is None:
            problems.append(f"{name}: no layout message in h5debug's output")
            continue
        fields = {}
        for l in lines[at:at + 20]:
            if ":" in l:
                k, v = l.split(":", 1)
                fields.setdefault(k.strip(), v.strip())
        if fields.get("Version") != "4" or fields.get("Index Type") not in CHECKSUMMED_INDEXES:
            problems.append(f"{name}: layout version {fields.get('Version')}, chunk index "
                            f"{fields.get('Index Type')} (not checksummed)")
    return problems
