#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Schema evolution as a user lives it, on a copy of the blog sample built against the
installed package: rows written under the first schema survive a field added, then a
field altered, renamed and removed, each through makemigrations, a rebuild and migrate,
forwards and back; serve answers with the renamed field.

usage: schema_evolution.py PREFIX SAMPLE_DIR WORK_DIR GENERATOR CXX
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

PREFIX, SAMPLE, WORK, GENERATOR, CXX = sys.argv[1:6]
SRC = os.path.join(WORK, "blog")
BUILD = os.path.join(WORK, "build")
DB = os.path.join(WORK, "blog.sqlite3")
BIN = os.path.join(BUILD, "blog")


def run(*args, expect=0, cwd=None, stdin=None):
    print("$", " ".join(args), flush=True)
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, stdin=stdin, timeout=600)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    if expect is not None and p.returncode != expect:
        raise SystemExit(f"exit {p.returncode}, expected {expect}: {' '.join(args)}")
    return p


def blog(*args, expect=0):
    return run(BIN, "--database", DB, "--log-level", "error", *args, expect=expect,
               stdin=subprocess.DEVNULL)


def build():
    run("cmake", "--build", BUILD, "--target", "blog", "-j2")


def edit(path, old, new):
    path = os.path.join(SRC, path)
    with open(path) as f:
        text = f.read()
    if old not in text:
        raise SystemExit(f"{path}: '{old}' not found")
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def rows(columns):
    with sqlite3.connect(DB) as c:
        return c.execute(f"SELECT {columns} FROM blog_post ORDER BY id").fetchall()


def check(condition, message):
    if not condition:
        raise SystemExit("FAILED: " + message)
    print("ok:", message, flush=True)


def serve_and_retrieve(post_id):
    server = subprocess.Popen([BIN, "--database", DB, "--log-level", "error", "serve",
                               "--address", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        address = None
        while time.monotonic() < deadline and address is None:
            line = server.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (\S+)", line)
            address = m.group(1) if m else None
        check(address is not None, "serve started on the migrated database")
        return blog("invoke", "-plaintext", "-d", '{"id": %d}' % post_id, address,
                    "blog.v1.PostController/Retrieve").stdout
    finally:
        server.terminate()
        server.wait(timeout=30)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
shutil.copytree(SAMPLE, SRC, ignore=shutil.ignore_patterns("build*"))
run("cmake", "-S", SRC, "-B", BUILD, "-G", GENERATOR, f"-DCMAKE_PREFIX_PATH={PREFIX}",
    "-DCMAKE_BUILD_TYPE=Debug", f"-DCMAKE_CXX_COMPILER={CXX}")
build()
blog("migrate")
with sqlite3.connect(DB) as c:
    c.executemany("INSERT INTO blog_post (title, content, created) VALUES (?, ?, ?)",
                  [("first", "one", "2026-01-01T00:00:00Z"), ("second", "two", "2026-01-02T00:00:00Z")])

# 1. A field added. Nothing lets it pass unnoticed.
edit("src/post_service.cc", 'TextField("content"),',
     'TextField("content"),\n      BoolField("pinned").Default(false),')
build()
out = blog("makemigrations", "--check", expect=1).stdout
check("Add field pinned to blog.post" in out, "makemigrations --check names the new field")
check("makemigrations blog" in blog("check", expect=1).stderr, "check names the command to run")
check("not serving" in blog("serve", "--address", "127.0.0.1:0", expect=1).stderr,
      "serve refuses the database")
out = blog("makemigrations").stdout
check("migrations/0002_post_pinned.json" in out, "makemigrations writes 0002_post_pinned")
build()  # no CMake change: the new file is picked up
blog("makemigrations", "--check")
blog("migrate")
check(rows("title, content, pinned") == [("first", "one", 0), ("second", "two", 0)],
      "the rows have the new field, with its default")

# 2. A field altered (longer title), one renamed (content -> body) and one removed.
edit("src/post_service.cc", 'CharField("title", 100)', 'CharField("title", 200)')
edit("src/post_service.cc", 'TextField("content"),\n      BoolField("pinned").Default(false),',
     'TextField("body"),')
edit("proto/blog/v1/post.proto", "string content = 3;", "string body = 3;")
build()
out = blog("makemigrations", "--rename").stdout
for op in ("Alter field title on blog.post", "Rename field content on blog.post to body",
           "Remove field pinned from blog.post"):
    check(op in out, op)
build()
blog("migrate")
check(rows("id, title, body") == [(1, "first", "one"), (2, "second", "two")],
      "the rows survive the alter, the rename and the removal")
reply = serve_and_retrieve(2)
check('"body":"two"' in reply, "serve answers with the renamed field: " + reply.strip())
print(blog("sqlmigrate", "blog", "0003_alter_post_title_and_more").stdout)

# 3. Back to the first migration and forwards again: the rows are still there.
blog("migrate", "blog", "0001")
check(rows("id, title, content") == [(1, "first", "one"), (2, "second", "two")],
      "back at 0001_initial the rows have their content")
blog("migrate")
check(rows("id, body") == [(1, "one"), (2, "two")], "forwards again, the rows are kept")
shutil.rmtree(WORK, ignore_errors=True)
print("schema evolution: all passed")
