#!/usr/bin/env python3
"""Builds an end-to-end suite from a draft, checking btc against the installed bpftrace.

Usage: scripts/compare-bpftrace.py DRAFT OUT_SUITE|- [CASE...]

A draft is a suite (tests/README.md) whose cases have no expectations: for each PROG case the
script runs bpftrace and btc, and writes a STDOUT block from btc's output, marked "checked
against bpftrace 0.17" when bpftrace printed the same (comm "bpftrace" is read as "btc"). An
AFTER command starts once the tracer says every probe is attached
(__BPFTRACE_NOTIFY_PROBES_ATTACHED, on stderr); TIMEOUT
(default 10 s) ends a run with SIGINT; an `EXIT n` line is kept and compared. `{{PROGS}}` is the
test programs' directory (built first with tests/programs/Makefile) and is written back as
`{{PROGS}}` in the expected output.

A RUN case without expectations is compared too: `{{BTC}}` is btc for one run and, for the
other, a shim that runs bpftrace with the same arguments (`run` dropped, `list` as `-l`), so
`RUN {{BTC}} run -f json -e '...' ARG` compares options and positional parameters. With
`-f json`, bpftrace's blank lines are left out of the comparison. A case with
`VIA btc` is not run under bpftrace (say why in a comment); cases with explicit expectations are
copied as they are. Every difference is printed, and such a case is written with a
"# FIXME differs from bpftrace" comment.
Used to write tests/suites/lang_*.txt and compat_*.txt (drafts: the same files without the
STDOUT blocks).
"""
import os, re, signal, subprocess, sys, threading, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BTC = os.path.join(ROOT, "target", "release", "btc")
PROGS = os.path.join(ROOT, "target", "btc-test-programs")
NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"
SHIM = "/tmp/btc-compare-bpftrace-shim"


def make_shim():
    with open(SHIM, "w") as f:
        f.write('#!/bin/bash\n[ "$1" = run ] && shift\n[ "$1" = list ] && { shift; exec bpftrace -l "$@"; }\n'
                'exec bpftrace "$@"\n')
    os.chmod(SHIM, 0o755)


def expand(s, btc):
    return s.replace("{{BTC}}", btc).replace("{{PROGS}}", PROGS)


def run(argv, after, env, timeout):
    """Runs argv; starts `after` on the attach notification; returns (rc, stdout, stderr)."""
    e = dict(os.environ)
    e.update(env)
    e[NOTIFY] = "1"
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                         stdin=subprocess.DEVNULL, cwd=ROOT)
    started = []
    lock = threading.Lock()

    def notified():
        with lock:
            if after and not started:
                started.append(subprocess.Popen(["bash", "-c", after], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL, cwd=ROOT,
                                                start_new_session=True))

    bufs = {"out": [], "err": []}

    def reader(stream, key):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            if line.rstrip("\n") == NOTIFY:
                notified()
                continue
            bufs[key].append(line)

    ts = [threading.Thread(target=reader, args=(p.stdout, "out")),
          threading.Thread(target=reader, args=(p.stderr, "err"))]
    for t in ts:
        t.start()
    timed_out = False
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        # bash -c 'exec ...' or the tracer itself: SIGINT reaches it either way.
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for t in ts:
        t.join()
    for a in started:
        try:
            os.killpg(a.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        a.wait()
    err = "".join(bufs["err"]) + ("TIMEOUT" if timed_out else "")
    return p.returncode, "".join(bufs["out"]), err


def main():
    make_shim()
    subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "programs"), "OUT=" + PROGS],
                   check=True)
    cases = []
    cur = None
    header = []
    in_stdout = False
    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        if in_stdout:
            cur["raw"].append(line)
            if line == "END_STDOUT":
                in_stdout = False
            continue
        if line == "STDOUT" and cur is not None:
            cur["raw"].append(line)
            in_stdout = True
            continue
        if line.startswith("NAME "):
            cur = {"name": line[5:], "lines": [], "env": {}, "via": "bt", "comments": [],
                   "raw": [], "after": None, "timeout": 10, "exit": 0, "prog": None, "run": None}
            cases.append(cur)
            continue
        if cur is None:
            header.append(line)
            continue
        if line.startswith("PROG "):
            cur["prog"] = line[5:]
            cur["lines"].append(line)
        elif line.startswith("RUN "):
            cur["run"] = line[4:]
            cur["lines"].append(line)
        elif line.startswith("AFTER "):
            cur["after"] = line[6:]
            cur["lines"].append(line)
        elif line.startswith("TIMEOUT "):
            cur["timeout"] = int(line[8:])
            cur["lines"].append(line)
        elif line.startswith("EXIT "):
            cur["exit"] = int(line[5:])
            cur["lines"].append(line)
        elif line.startswith("ENV "):
            k, v = line[4:].split("=", 1)
            cur["env"][k] = v
            cur["lines"].append(line)
        elif line.startswith("VIA "):
            cur["via"] = line[4:].strip()
        elif line.startswith("#"):
            cur["comments"].append(line)
        elif line.strip() == "":
            pass
        else:
            cur["raw"].append(line)  # explicit expectations are kept as they are
    only = set(sys.argv[3:])
    out = header[:]
    bad = 0
    done = 0

    def argv_for(c, btc):
        if c["prog"] is not None:
            return [btc] + (["run"] if btc == BTC else []) + ["-e", expand(c["prog"], btc)]
        return ["bash", "-c", expand(c["run"], btc)]

    for c in cases:
        if only and c["name"] not in only:
            continue
        block = c["comments"][:]
        if c["raw"]:
            out.append("")
            out.extend(block)
            out.append("NAME " + c["name"])
            out.extend(c["lines"])
            out.extend(c["raw"])
            continue
        done += 1
        after_btc = expand(c["after"], BTC) if c["after"] else None
        rc2, o2, e2 = run(argv_for(c, BTC), after_btc, c["env"], c["timeout"])
        o2 = o2.replace(PROGS, "{{PROGS}}")
        if c["via"] == "bt":
            env = dict(c["env"])
            if "BPFTRACE_MAX_MAP_KEYS" in env:
                env["BPFTRACE_MAP_KEYS_MAX"] = env["BPFTRACE_MAX_MAP_KEYS"]
            bt = "bpftrace" if c["prog"] is not None else SHIM
            rc1, o1, e1 = run(argv_for(c, bt), expand(c["after"], bt) if c["after"] else None,
                              env, c["timeout"])
            o1 = re.sub(r"\bbpftrace\b", "btc", o1.replace(PROGS, "{{PROGS}}"))
            if "-f json" in (c["prog"] or c["run"]):
                # bpftrace writes the blank lines of its text output in JSON mode too; btc
                # doesn't (README: Known differences).
                o1 = "".join(l for l in o1.splitlines(keepends=True) if l.strip())
            if o1 != o2 or rc1 != rc2:
                bad += 1
                print(f"### DIFF {c['name']}: {c['prog'] or c['run']}\n--- bt rc={rc1}\n{o1}"
                      f"{e1[-600:]}\n--- btc rc={rc2}\n{o2}{e2[-600:]}")
                block.append("# FIXME differs from bpftrace")
            if not any("bpftrace" in x for x in c["comments"]):
                block.insert(0, "# checked against bpftrace 0.17")
        if rc2 != c["exit"]:
            print(f"### BTC EXIT {rc2} (expected {c['exit']}) {c['name']}: {e2[-600:]}")
            bad += 1
        out.append("")
        out.extend(block)
        out.append("NAME " + c["name"])
        out.extend(c["lines"])
        out.append("STDOUT")
        out.extend(o2.split("\n")[:-1] if o2.endswith("\n") else o2.split("\n"))
        if o2 and not o2.endswith("\n"):
            print(f"### NO TRAILING NEWLINE {c['name']}")
        out.append("END_STDOUT")
    if len(sys.argv) > 2 and sys.argv[2] != "-":
        open(sys.argv[2], "w").write("\n".join(out).lstrip("\n") + "\n")
    print(f"{done} cases compared, {bad} problems")


main()
