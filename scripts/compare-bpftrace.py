#!/usr/bin/env python3
"""Builds an end-to-end suite from a draft, checking btc against the installed bpftrace.

Usage: scripts/compare-bpftrace.py DRAFT OUT_SUITE|- [CASE...]

A draft is a suite (tests/README.md) whose cases have no expectations: for each PROG case the
script runs bpftrace and btc (AFTER commands run 2.5 s after start), and writes a STDOUT block
from btc's output, marked "checked against bpftrace 0.17" when bpftrace printed the same (comm
"bpftrace" is read as "btc"). A case with `VIA btc` is not run under bpftrace (say why in a
comment); cases with RUN or explicit expectations are copied as they are. Every difference is
printed, and such a case is written with a "# FIXME differs from bpftrace" comment.
Used to write tests/suites/lang_*.txt (drafts: the same files without the STDOUT blocks).
"""
import sys, subprocess, os, re
BTC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "btc")
import time, signal
AFTER = {}
def run(cmd, prog, env, timeout):
    e = dict(os.environ); e.update(env)
    after = AFTER.get(prog)
    p = subprocess.Popen([cmd] + (["run"] if cmd == BTC else []) + ["-e", prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
    if after:
        time.sleep(2.5)
        subprocess.run(["bash", "-c", after])
    try:
        o, er = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
        try:
            o, er = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill(); o, er = p.communicate()
        er += b"TIMEOUT"
    return p.returncode, o.decode("utf-8", "replace"), er.decode("utf-8", "replace")
cases = []; cur = None; header = []
in_stdout = False
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if in_stdout:
        cur["raw"].append(line)
        if line == "END_STDOUT": in_stdout = False
        continue
    if line == "STDOUT" and cur is not None:
        cur["raw"].append(line); in_stdout = True; continue
    if line.startswith("NAME "):
        cur = {"name": line[5:], "lines": [], "env": {}, "via": "bt", "comments": [], "raw": []}
        cases.append(cur)
        continue
    if cur is None:
        header.append(line); continue
    if line.startswith("PROG "): cur["prog"] = line[5:]; cur["lines"].append(line)
    elif line.startswith(("RUN ", "AFTER ", "TIMEOUT ")):
        cur["lines"].append(line)
        if line.startswith("AFTER "): AFTER[cur["prog"]] = line[6:]
        if line.startswith("RUN "): cur["via"] = "raw"
    elif line.startswith("ENV "):
        k, v = line[4:].split("=", 1); cur["env"][k] = v; cur["lines"].append(line)
    elif line.startswith("VIA "): cur["via"] = line[4:].strip()
    elif line.startswith("#"): cur["comments"].append(line)
    elif line.strip() == "": pass
    else: cur["raw"].append(line)   # explicit expectations / EXIT etc kept as is
only = set(sys.argv[3:])
out = header[:]
bad = 0
for c in cases:
    if only and c["name"] not in only:
        continue
    block = c["comments"][:]
    if c["via"] == "raw" or (c["raw"] and c["via"] == "btc"):
        out.append(""); out.extend(block); out.append("NAME " + c["name"]); out.extend(c["lines"]); out.extend(c["raw"])
        continue
    prog = c["prog"]
    rc2, o2, e2 = run(BTC, prog, c["env"], 10)
    if c["via"] == "bt":
        env = dict(c["env"])
        if "BPFTRACE_STRLEN" in env: pass
        if "BPFTRACE_MAX_MAP_KEYS" in env: env["BPFTRACE_MAP_KEYS_MAX"] = env["BPFTRACE_MAX_MAP_KEYS"]
        rc1, o1, e1 = run("bpftrace", prog, env, 10)
        o1 = re.sub(r"\bbpftrace\b", "btc", o1)
        if o1 != o2 or rc1 != rc2:
            bad += 1
            print(f"### DIFF {c['name']}: {prog}\n--- bt rc={rc1}\n{o1}{e1[-600:]}\n--- btc rc={rc2}\n{o2}{e2[-600:]}")
            block.append("# FIXME differs from bpftrace")
        block.insert(0, "# checked against bpftrace 0.17") if not any("bpftrace" in x for x in c["comments"]) else None
    else:
        if rc2 != 0 and not c["raw"]:
            print(f"### BTC FAILED {c['name']}: {e2}")
            bad += 1
    out.append("")
    out.extend(block)
    out.append("NAME " + c["name"])
    out.extend(c["lines"])
    if c["raw"]:
        out.extend(c["raw"])
    else:
        out.append("STDOUT")
        out.extend(o2.split("\n")[:-1] if o2.endswith("\n") else o2.split("\n"))
        if not o2.endswith("\n"):
            print(f"### NO TRAILING NEWLINE {c['name']}")
        out.append("END_STDOUT")
if len(sys.argv) > 2 and sys.argv[2] != "-":
    open(sys.argv[2], "w").write("\n".join(out).lstrip("\n") + "\n")
print(f"{len(cases)} cases, {bad} problems")
