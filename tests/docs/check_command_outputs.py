"""Fails when a command output shown in the docs differs from what the binary prints.

Every fenced block of README.md and docs/*.md whose lines start with
`$ ./build/samples/NAME/NAME ...` is replayed: each command runs (in order, in one fresh
temporary directory per block, so `check` then `migrate` see the same database) with
the binary of BUILD_DIR, and its standard output must equal the lines the block shows
under it.
Before comparing, what changes from run to run is masked in both: durations ("(0.06 s)",
"in 0.11 s"), ports, pids, times, API keys and their prefixes. `serve` runs forever and is not replayed; its block is
checked up to it.

`$ app invoke 127.0.0.1:50051 ...` lines (docs/commands.md) run against the e2e echo
app, started on a kernel-chosen port for the doc; their output and errors are compared
together.

Usage: check_command_outputs.py REPO_ROOT BUILD_DIR [--self-test]
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

COMMAND = re.compile(r"^\$ \./build/(samples/([a-z_]+)/\2)(.*)$")
# `$ app invoke 127.0.0.1:50051 ...` (docs/commands.md): run against the echo app.
INVOKE = re.compile(r"^\$ app (invoke .*)$")
ECHO_APP = "tests/e2e/rpcforge_e2e_echo_app"
DOC_ADDRESS = "127.0.0.1:50051"
MASKS = [
    (re.compile(r"\(\d+\.\d+ s\)"), "(T s)"),
    (re.compile(r"in \d+\.\d+ s"), "in T s"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"pid \d+"), "pid P"),
    (re.compile(r'"remainingMs":"\d+"'), '"remainingMs":"N"'),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"), "TIME"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "KEY"),
    (re.compile(r"\b[0-9a-f]{8}\.\.\."), "PREFIX..."),
]


def mask(line):
    for pattern, replacement in MASKS:
        line = pattern.sub(replacement, line)
    return line.rstrip()


def blocks(text):
    """Yields the fenced blocks of `text` as lists of lines."""
    inside, lines = False, []
    for line in text.splitlines():
        if line.startswith("```"):
            if inside:
                yield lines
            inside, lines = not inside, []
        elif inside:
            lines.append(line)


def commands(block):
    """Yields (binary, args, expected lines) for each `$ ./build/samples/...` line, and
    ("app", args, expected) for each `$ app invoke ...` line."""
    i = 0
    while i < len(block):
        m = COMMAND.match(block[i])
        a = INVOKE.match(block[i])
        if not m and not a:
            i += 1
            continue
        rest = m.group(3) if m else a.group(1)
        while rest.endswith("\\") and i + 1 < len(block):
            i += 1
            rest = rest[:-1] + " " + block[i].strip()
        i += 1
        expected = []
        while i < len(block) and not block[i].startswith("$ "):
            expected.append(block[i])
            i += 1
        while expected and not expected[-1].strip():
            expected.pop()  # the blank line between two commands
        yield (m.group(1) if m else "app"), shlex.split(rest), expected


class EchoServer:
    """The echo app, migrated and serving on a kernel-chosen port, for `app invoke`."""

    def __init__(self, build):
        self.dir = tempfile.TemporaryDirectory(prefix="rpcforge_doc_echo_")
        binary = os.path.join(build, ECHO_APP)
        db = os.path.join(self.dir.name, "echo.sqlite3")
        subprocess.run([binary, "--database", db, "--log-level", "error", "migrate"],
                       check=True, capture_output=True, timeout=60)
        self.proc = subprocess.Popen([binary, "--database", db, "--log-level", "error", "serve",
                                      "--address", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            self.close()
            raise RuntimeError("the echo app did not start: " + line)
        self.address = m.group(1)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.dir.cleanup()


def run(repo, build, cwd, binary, args, echo):
    """Runs one command as the doc shows it; returns its masked output lines."""
    if binary == "app":
        # The echo app stands for `app`; its output and errors are what the doc shows.
        args = [echo.address if a == DOC_ADDRESS else a for a in args]
        p = subprocess.run([os.path.join(build, ECHO_APP)] + args, cwd=cwd,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        out = p.stdout
    else:
        # Paths in the docs are relative to the repository.
        args = [os.path.join(repo, a) if a.startswith("samples/") else a for a in args]
        p = subprocess.run([os.path.join(build, binary)] + args, cwd=cwd,
                           capture_output=True, text=True, timeout=120)
        out = p.stdout  # the docs show it; the log lines on stderr carry times
    return [mask(l).replace(repo + "/", "") for l in out.splitlines()]


def replay(repo, build, doc):
    problems = []
    with open(os.path.join(repo, doc)) as f:
        text = f.read()
    echo = None
    try:
        for block in blocks(text):
            runs = list(commands(block))
            if not runs:
                continue
            with tempfile.TemporaryDirectory(prefix="rpcforge_doc_") as cwd:
                for binary, args, expected in runs:
                    if "serve" in args:
                        break  # runs until stopped
                    if binary == "app" and echo is None:
                        echo = EchoServer(build)
                    got = run(repo, build, cwd, binary, args, echo)
                    want = [mask(l) for l in expected]
                    if got != want:
                        problems.append(f"{doc}: `{binary} {' '.join(args)}` printed:\n  " +
                                        "\n  ".join(got) + "\n but the doc shows:\n  " +
                                        "\n  ".join(want))
    finally:
        if echo is not None:
            echo.close()
    return problems


def self_test():
    block = ["$ ./build/samples/a/a check \\", "    --x y", "out 1 (0.25 s)", "$ ./build/samples/a/a serve"]
    runs = list(commands(block))
    assert runs[0] == ("samples/a/a", ["check", "--x", "y"], ["out 1 (0.25 s)"]), runs
    assert mask("pid 12 on 127.0.0.1:4000 (0.25 s) in 1.50 s") == "pid P on 127.0.0.1:PORT (T s) in T s"
    assert mask("1  ci  3500a057...  2026-12-01T19:12:39Z") == "1  ci  PREFIX...  TIME"
    print("check_command_outputs: self-test ok")


def main():
    if "--self-test" in sys.argv:
        self_test()
        return 0
    repo, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    docs = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(repo, "docs"))
                                  if f.endswith(".md"))
    problems = []
    checked = 0
    for doc in docs:
        found = replay(repo, build, doc)
        problems += found
        with open(os.path.join(repo, doc)) as f:
            checked += sum(1 for b in blocks(f.read()) for _ in commands(b))
    for p in problems:
        print(p)
    print(f"check_command_outputs: {checked} command(s) in the docs, {len(problems)} differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
