#!/usr/bin/python3
"""TLS to HBase's Thrift server, against the HBase of the CTest fixture.

HBase serves Thrift over TLS only in its HTTP mode; this test makes a CA and a server
certificate with openssl, puts them in a PKCS12 keystore, starts one more Thrift2 server
over HTTPS (scripts/hbase-local.sh thrift tls --https KEYSTORE), then:
- ingest, extract (with embeddings and dedup results written back) through
  hbase+tls:// with --tls-ca give the same rows as the plain endpoint;
- ?tls=1 on an hbase:// URL is the same;
- a certificate from another CA, a host name the certificate does not carry, and the
  system trust store (which does not know the test CA) are refused at once, with the
  host and the reason;
- a client certificate is loaded and sent when given; its key must match. HBase 2.6's
  Thrift HTTPS server never asks for one (no trust store or client-auth setting in
  ThriftServer.setupHTTPServer), so a server that requires it is not tested;
- the HTTP mode without TLS (--http, ?transport=http) reads the same rows.
The extra servers are stopped at the end. Exit 0 = pass.
"""
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

BIN = os.environ["PM_BIN"]
TOOL = os.environ["PM_HBASE_TOOL"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_TLS_WORK"]
HOME = os.environ["PM_HBASE_HOME"]
SCRIPT = os.environ["PM_HBASE_SCRIPT"]
TABLE = "pm_tls"
PASSWORD = "pm-test-keystore"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def run(args, np_=1, check=True):
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN] + args
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    p.seconds = time.monotonic() - t0
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def make_certs(d):
    """A CA; a server certificate for IP 127.0.0.1 and DNS wrong.example (not localhost),
    in a PKCS12 keystore; a client certificate; another CA that signed nothing of ours."""
    def openssl(*args):
        sh(["openssl", *args], cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=pixelmill test CA")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out",
            "other-ca.pem", "-days", "2", "-subj", "/CN=pixelmill other CA")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:wrong.example\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name, cn in (("server", "wrong.example"), ("client", "pixelmill test client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", f"/CN={cn}")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
    openssl("pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key", "-name", "thrift",
            "-out", "server.p12", "-passout", f"pass:{PASSWORD}")


def start_server(name, *flags, env=None):
    # One left by an earlier run serves that run's certificates.
    sh(["bash", SCRIPT, "stop-thrift", name])
    p = subprocess.run(["bash", SCRIPT, "thrift", name, *flags], capture_output=True, text=True,
                       env=env)
    assert p.returncode == 0, f"the Thrift server {name} {flags} did not start:\n{p.stderr}"
    return p.stdout.strip().splitlines()[-1]


def start_tls_server(d):
    env = dict(os.environ, PM_HBASE_KEYSTORE_PASSWORD=PASSWORD,
               PM_HBASE_TLS_CA=os.path.join(d, "ca.pem"))
    endpoint = start_server("tls", "--https", os.path.join(d, "server.p12"), env=env)
    assert endpoint.startswith("hbase+tls://127.0.0.1:"), endpoint
    return endpoint


def plain_url(table=TABLE):
    with open(os.path.join(HOME, "ports")) as f:
        _, port = f.read().split()
    return f"hbase://127.0.0.1:{port}/{table}"


def dump(url, column):
    p = sh([TOOL, "dump", url, column])
    return {bytes.fromhex(k): (bytes.fromhex(v), s) for k, v, s in
            (line.split(" ") for line in p.stdout.splitlines())}


def read_h5(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        lens = f["/images/key_length"][:]
        keys = [bytes(f["/images/key"][i][: lens[i]]) for i in range(n)]
        return keys, f["/images/status"][:], f["/images/embedding"][:]


def refused(p, *parts):
    """A run refused at once with one clear message naming the host and the reason."""
    assert p.returncode != 0, "a run that TLS should refuse succeeded"
    assert "certificate was refused" in p.stderr, p.stderr
    for part in parts:
        assert part in p.stderr, f"{part!r} not in:\n{p.stderr}"
    # Not retried: the retry budget alone would take ~35 s.
    assert p.seconds < 20, f"took {p.seconds:.0f} s: retried?"


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    certs = os.path.join(WORK, "certs")
    photos = os.path.join(WORK, "photos")
    model_dir = os.path.join(WORK, "model")
    for d in (certs, photos, model_dir):
        os.makedirs(d)
    make_certs(certs)
    ca, other_ca = os.path.join(certs, "ca.pem"), os.path.join(certs, "other-ca.pem")
    sh([BIN, "model", "make-test", "--out", model_dir])
    tiny = os.path.join(model_dir, "tiny_embed.onnx")
    ex = "/usr/share/doc/opencv-doc/examples/data"
    names = [n for n in ["baboon.jpg", "fruits.jpg", "lena.jpg", "messi5.jpg", "home.jpg", "orange.jpg"]
             if os.path.exists(os.path.join(ex, n))]
    assert len(names) >= 3, "too few test photos (opencv-doc)"
    for n in names:
        shutil.copy(os.path.join(ex, n), os.path.join(photos, n))
    shutil.copy(os.path.join(ex, names[0]), os.path.join(photos, "copy-of-" + names[0]))

    tls = start_tls_server(certs)
    tls_url = f"{tls}/{TABLE}"
    t0 = time.monotonic()

    # ingest over TLS; the plain endpoint sees exactly the files.
    subprocess.run([TOOL, "drop", plain_url(), "f:img"], check=False)
    run(["ingest", "--input", f"dir:{photos}", "--output", tls_url, "--tls-ca", ca,
         "--column", "f:img", "--split-keys", "h"], np_=2)
    rows = dump(plain_url(), "f:img")
    want = {n.encode(): open(os.path.join(photos, n), "rb").read() for n in os.listdir(photos)}
    assert {k: v for k, (v, _) in rows.items()} == want, "rows ingested over TLS differ from the files"

    # extract over TLS (embeddings and dedup groups written back over TLS too) = plain.
    out_tls, out_plain = os.path.join(WORK, "tls.h5"), os.path.join(WORK, "plain.h5")
    run(["extract", "--input", tls_url, "--tls-ca", ca, "--model", tiny, "--output", out_tls,
         "--output-hbase", tls_url, "--output-column", "f:emb", "--dedup", "--quiet"], np_=2)
    run(["extract", "--input", plain_url(), "--model", tiny, "--output", out_plain, "--quiet"], np_=2)
    k1, s1, e1 = read_h5(out_tls)
    k2, s2, e2 = read_h5(out_plain)
    assert k1 == k2 == sorted(want), f"keys over TLS {k1} vs plain {k2}"
    assert (s1 == s2).all() and (s1 == 0).all(), f"statuses {s1} vs {s2}"
    assert np.abs(e1 - e2).max() <= 1e-5, "embeddings over TLS differ"
    emb = dump(plain_url(), "f:emb")
    for i, k in enumerate(k1):
        assert np.array_equal(np.frombuffer(emb[k][0], dtype="<f4"), e1[i]), f"{k}: written-back embedding"
    groups = dump(plain_url(), "f:dedup.exact_group")
    assert groups[b"copy-of-" + names[0].encode()][0] == names[0].encode(), groups

    # ?tls=1 on hbase:// means the same; a client certificate is loaded (and offered).
    port = tls.rsplit(":", 1)[1]
    out_q = os.path.join(WORK, "tls_query.h5")
    run(["extract", "--input", f"hbase://127.0.0.1:{port}/{TABLE}?tls=1", "--tls-ca", ca,
         "--tls-cert", os.path.join(certs, "client.pem"), "--tls-key", os.path.join(certs, "client.key"),
         "--model", tiny, "--output", out_q, "--quiet"])
    assert read_h5(out_q)[0] == k1, "?tls=1 read other rows"
    ok_seconds = time.monotonic() - t0

    # Refused at once: another CA, a name the certificate lacks, the system trust store.
    never = os.path.join(WORK, "never.h5")
    common = ["--model", tiny, "--output", never, "--quiet"]
    refused(run(["extract", "--input", tls_url, "--tls-ca", other_ca] + common, np_=2, check=False),
            "127.0.0.1:" + port, f"no CA in --tls-ca {other_ca} signed it")
    refused(run(["extract", "--input", f"hbase+tls://localhost:{port}/{TABLE}", "--tls-ca", ca] + common,
                check=False),
            "localhost:" + port, "hostname mismatch", "not a certificate for localhost")
    refused(run(["extract", "--input", tls_url] + common, check=False),
            "no CA of the system trust store signed it")
    refused(run(["ingest", "--input", f"dir:{photos}", "--output", tls_url, "--tls-ca", other_ca],
                check=False), "no CA in --tls-ca")
    refused(run(["dedup", "--input", out_tls, "--tls-ca", other_ca], check=False),
            "no CA in --tls-ca")
    assert not os.path.exists(never), "a refused run wrote its output"

    # Files that cannot be used are clear errors before any connection.
    p = run(["extract", "--input", tls_url, "--tls-ca", ca, "--tls-cert",
             os.path.join(certs, "client.pem"), "--tls-key", os.path.join(certs, "server.key")] + common,
            check=False)
    assert p.returncode != 0 and "is not the key of --tls-cert" in p.stderr, p.stderr
    p = run(["extract", "--input", tls_url, "--tls-cert", os.path.join(certs, "client.pem")] + common,
            check=False)
    assert p.returncode != 0 and "--tls-cert and --tls-key go together" in p.stderr, p.stderr
    p = run(["extract", "--input", plain_url(), "--tls-ca", ca] + common, check=False)
    assert p.returncode != 0 and "apply to hbase+tls:// URLs" in p.stderr, p.stderr
    sh(["bash", SCRIPT, "stop-thrift", "tls"])

    # HTTP mode without TLS.
    http = start_server("http", "--http")
    assert http.startswith("hbase://127.0.0.1:"), http
    out_http = os.path.join(WORK, "http.h5")
    run(["extract", "--input", f"{http}/{TABLE}?transport=http", "--model", tiny, "--output",
         out_http, "--quiet"], np_=2)
    assert read_h5(out_http)[0] == k1, "?transport=http read other rows"
    sh(["bash", SCRIPT, "stop-thrift", "http"])
    print(f"PASS: ingest, extract, write-back and dedup over {tls} with --tls-ca equal the plain "
          f"endpoint ({len(k1)} rows, {ok_seconds:.0f} s); ?tls=1 and a client certificate work; "
          f"another CA, the name localhost and the system trust store are refused at once; "
          f"plain HTTP mode reads the same rows")


if __name__ == "__main__":
    main()
