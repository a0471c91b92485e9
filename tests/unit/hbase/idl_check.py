#!/usr/bin/env python3
"""Checks pixelmill's Thrift2 IDL subset against the IDL inside the hbase-thrift jar that
scripts/deps/hbase.sh resolved (the server the tests run): every struct field, enum value,
method argument, return type and exception we declare must exist there with the same id,
type and name (and, for struct fields, the same required/optional).

usage: idl_check.py OUR.thrift [CLASSPATH_FILE]
exit 0 = match, 1 = mismatch, 77 = no jar (skipped)."""
import os
import re
import sys
import zipfile

JAR_PATH = "org/apache/hadoop/hbase/thrift2/hbase.thrift"


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"#[^\n]*", " ", text)


def norm_type(t):
    t = re.sub(r"\s+", "", t)
    return t.replace("byte", "i8")


FIELD = re.compile(r"(\d+)\s*:\s*(required|optional)?\s*([\w.<>, ]+?)\s+(\w+)\s*(=\s*[^,;\n]+)?\s*[,;]?\s*$")


def parse_fields(body):
    out = {}
    for part in re.split(r"[,;\n]", body):
        part = part.strip()
        if not part:
            continue
        m = FIELD.match(part)
        if m:
            out[int(m.group(1))] = (m.group(2) or "default", norm_type(m.group(3)), m.group(4))
    return out


def parse_fields_nested(body):
    # Splitting on ',' would break map<a, b>: join the generic types first.
    body = re.sub(r"<[^<>]*>", lambda m: m.group(0).replace(",", "|").replace(" ", ""), body)
    body = re.sub(r"<[^<>]*>", lambda m: m.group(0).replace(",", "|"), body)
    return {k: (r, t.replace("|", ","), n) for k, (r, t, n) in parse_fields(body).items()}


def parse(text):
    text = strip_comments(text)
    structs, enums, methods = {}, {}, {}
    for kind, name, body in re.findall(r"\b(struct|exception|union)\s+(\w+)\s*\{(.*?)\}", text, re.S):
        structs[name] = parse_fields_nested(body)
    for name, body in re.findall(r"\benum\s+(\w+)\s*\{(.*?)\}", text, re.S):
        enums[name] = {k: int(v) for k, v in re.findall(r"(\w+)\s*=\s*(\d+)", body)}
    svc = re.search(r"\bservice\s+THBaseService\s*\{(.*)\}", text, re.S)
    if svc:
        for ret, name, args, throws in re.findall(
                r"([\w.<>, ]+?)\s+(\w+)\s*\(([^()]*)\)\s*(?:throws\s*\(([^()]*)\))?", svc.group(1), re.S):
            methods[name] = (norm_type(ret.split()[-1] if "<" not in ret else ret.strip()),
                             {k: (t, n) for k, (_, t, n) in parse_fields_nested(args).items()},
                             {k: (t, n) for k, (_, t, n) in parse_fields_nested(throws or "").items()})
    return structs, enums, methods


def find_jar(cp_file):
    if not os.path.exists(cp_file):
        return None
    for path in open(cp_file).read().strip().split(":"):
        if re.search(r"/hbase-thrift-[^/]*\.jar$", path) and os.path.exists(path):
            return path
    return None


def main():
    ours_path = sys.argv[1]
    cache = os.environ.get("PM_HBASE_CACHE", os.path.expanduser("~/.cache/pixelmill/hbase"))
    cp_file = sys.argv[2] if len(sys.argv) > 2 else os.path.join(cache, "hbase.cp")
    jar = find_jar(cp_file)
    if not jar:
        if os.environ.get("CI") == "true":  # in CI a skip would show green
            print(f"idl_check: FAIL: no hbase-thrift jar in {cp_file} (run scripts/deps/hbase.sh)")
            return 1
        print(f"idl_check: no hbase-thrift jar in {cp_file} (run scripts/deps/hbase.sh): skipped")
        return 77
    theirs_text = zipfile.ZipFile(jar).read(JAR_PATH).decode()
    ours = parse(open(ours_path).read())
    theirs = parse(theirs_text)
    errors = []
    checked = 0
    for name, fields in ours[0].items():
        if name not in theirs[0]:
            errors.append(f"struct {name}: not in the server IDL")
            continue
        for fid, (req, typ, fname) in fields.items():
            checked += 1
            other = theirs[0][name].get(fid)
            if other != (req, typ, fname):
                errors.append(f"{name}.{fid}: ours {req} {typ} {fname}, server {other}")
    for name, values in ours[1].items():
        for k, v in values.items():
            checked += 1
            if theirs[1].get(name, {}).get(k) != v:
                errors.append(f"enum {name}.{k}={v}: server has {theirs[1].get(name, {}).get(k)}")
    for name, (ret, args, throws) in ours[2].items():
        other = theirs[2].get(name)
        checked += 1
        if not other:
            errors.append(f"method {name}: not in the server IDL")
            continue
        if other[0] != ret:
            errors.append(f"method {name}: returns {ret}, server {other[0]}")
        for part, mine, srv in (("arg", args, other[1]), ("throws", throws, other[2])):
            for fid, val in mine.items():
                checked += 1
                if srv.get(fid) != val:
                    errors.append(f"method {name} {part} {fid}: ours {val}, server {srv.get(fid)}")
    print(f"idl_check: {checked} items of {os.path.basename(ours_path)} against {os.path.basename(jar)}")
    for e in errors:
        print("  MISMATCH", e)
    if not ours[0] or not ours[2]:
        print("idl_check: parsed nothing from our IDL")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
