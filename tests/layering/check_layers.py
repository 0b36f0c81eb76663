#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a lower layer of rpcforge includes a higher one, its CMake library links
a higher one, or a file outside the SQLite backend writes SQLite's own SQL.

The layers, lowest first (docs/architecture.md):
  0 core     framework/src/core, rpcforge/{clock,errors,log,export,limits}.h
  1 db, config, client, plugin
  2 server   the pipeline, dispatcher, Context (rpcforge/context.h), and
             rpcforge/auth/identity.h (the identity data a Context carries)
  3 model, auth, logging   what a service and a call are made of
  3.2 middleware  the built-in middlewares (rpcforge/middleware/builtins.h lists them)
  3.3 app    App (rpcforge/app.h) and Server (rpcforge/server/server.h): App::App
             registers the built-in middlewares, a Server serves an App
  3.4 status server status (reads the App and the Server)
  3.5 admin  the admin HTTP port (reads the request log, status, keys, metrics)
  4 cli      the commands
  5 testing  the testing library
  6 fixtures the gtest fixtures
A file may include its own folder, lower layers, and nothing else. KNOWN lists the
inversions that remain, each with why; a new one fails the check, and one that is gone
must be removed from KNOWN (so the list only shrinks).

Usage: check_layers.py REPO_ROOT
"""
import os
import re
import sys

RANK = {
    "core": 0,
    "db": 1, "config": 1, "client": 1, "plugin": 1,
    "server": 2,
    "model": 3, "auth": 3, "logging": 3,
    "middleware": 3.2,
    "app": 3.3,
    "status": 3.4,
    "admin": 3.5,
    "cli": 4,
    "testing": 5,
    "fixtures": 6,
}
TOP_LEVEL = {  # framework/include/rpcforge/<file>
    "clock.h": "core", "errors.h": "core", "log.h": "core", "export.h": "core",
    "limits.h": "core", "app.h": "app", "context.h": "server",
}
FILE_LAYER = {  # files whose layer is not their folder's
    "framework/include/rpcforge/auth/identity.h": "server",
    "framework/include/rpcforge/server/server.h": "app",
}
# (file, included folder): why it is still there.
KNOWN = {
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
MODULE = re.compile(r"rpcforge_framework_module\((\w+)(.*?)\)", re.S)


# The SQL engine stays behind the db layer's backend seam (db/backend.h, db/dialect.h):
# its own SQL and API appear only in the SQLite backend's files.
ENGINE_WORDS = re.compile(r"\bPRAGMA\b|\bsqlite_master\b|\bsqlite_sequence\b|\bsqlite3_\w+")
ENGINE_FILES = {
    "framework/src/db/sqlite_connection.h",
    "framework/src/db/sqlite_connection.cc",
    "framework/src/db/schema_sqlite.cc",
}


def engine_problems(rel, text):
    if rel in ENGINE_FILES or "test" in os.path.basename(rel):
        return []
    code = re.sub(r"//[^\n]*", "", text)  # comments may say what the engine does
    found = sorted(set(ENGINE_WORDS.findall(code)))
    if not found:
        return []
    return [f"{rel} names the SQL engine ({', '.join(found)}): put it behind db/dialect.h"]


def cmake_problems(root):
    """Each folder's library (framework/src/<folder>/sources.cmake) links only lower
    layers' libraries: the targets follow the same layers as the includes."""
    problems = []
    src = os.path.join(root, "framework", "src")
    for folder in sorted(os.listdir(src)):
        path = os.path.join(src, folder, "sources.cmake")
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for name, body in MODULE.findall(text):
            if name not in RANK:
                continue
            for dep in re.findall(r"\brpcforge_(\w+)", body):
                if dep in RANK and dep != name and RANK[dep] > RANK[name]:
                    problems.append(f"framework/src/{folder}/sources.cmake: rpcforge_{name} "
                                    f"(layer {RANK[name]}) links rpcforge_{dep} "
                                    f"(layer {RANK[dep]})")
    return problems


def layer_of_file(rel):
    if rel in FILE_LAYER:
        return FILE_LAYER[rel]
    parts = rel.split("/")
    if parts[0] in ("testing", "fixtures"):
        return parts[0]
    if parts[0] != "framework":
        return None
    if parts[1] == "include":
        return TOP_LEVEL.get(parts[3]) if len(parts) == 4 else parts[3]
    if parts[1] == "src":
        return parts[2]
    return None


def layer_of_include(inc, src_folders):
    parts = inc.split("/")
    if parts[0] == "rpcforge" and len(parts) >= 2:
        if len(parts) == 2:
            return TOP_LEVEL.get(parts[1])
        if parts[1] in ("testing",):
            return "testing"
        if parts[1] in ("fixtures",):
            return "fixtures"
        return FILE_LAYER.get("framework/include/" + inc, parts[1])
    if parts[0] in src_folders and len(parts) >= 2:  # a private header: "db/sql.h"
        return parts[0]
    return None


def main(root):
    src_folders = set(os.listdir(os.path.join(root, "framework", "src")))
    problems, seen_known = [], set()
    for top in ("framework", "testing", "fixtures"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not name.endswith((".h", ".cc")) or name.endswith("_test.cc"):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                if "/testdata/" in rel:
                    continue
                src = layer_of_file(rel)
                if src not in RANK:
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                problems += engine_problems(rel, text)
                for inc in INCLUDE.findall(text):
                    dst = layer_of_include(inc, src_folders)
                    if dst not in RANK or dst == src or RANK[dst] < RANK[src]:
                        continue
                    key = (rel, dst)
                    if key in KNOWN:
                        seen_known.add(key)
                        continue
                    problems.append(f"{rel} ({src}, layer {RANK[src]}) includes \"{inc}\" "
                                    f"({dst}, layer {RANK[dst]})")
    problems += cmake_problems(root)
    for key in sorted(set(KNOWN) - seen_known):
        problems.append(f"KNOWN lists {key[0]} -> {key[1]}, which is gone: remove it")
    for p in problems:
        print("layering: " + p)
    if problems:
        return 1
    print(f"layering: ok ({len(KNOWN)} known inversions left)")
    return 0


def self_test():
    """The check fails on an inversion and passes without one (a tree in a temp dir)."""
    import shutil
    import tempfile

    made = []

    def tree(files):
        d = tempfile.mkdtemp(prefix="rpcforge-layers-")
        made.append(d)
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        return d

    saved = dict(KNOWN)
    KNOWN.clear()
    try:
        good = tree({"framework/src/server/a.cc": '#include "rpcforge/db/database.h"\n',
                     "framework/src/db/b.cc": '#include "core/strings.h"\n',
                     "framework/src/core/c.cc": "\n"})
        bad = tree({"framework/src/db/b.cc": '#include "rpcforge/server/dispatcher.h"\n',
                    "framework/src/server/a.cc": "\n", "framework/src/core/c.cc": "\n"})
        private = tree({"framework/src/core/c.cc": '#include "server/call_state.h"\n',
                        "framework/src/server/a.cc": "\n"})
        cmake = tree({"framework/src/db/sources.cmake":
                      "rpcforge_framework_module(db\n  SRCS src/db/b.cc\n"
                      "  PUBLIC_DEPS rpcforge_core rpcforge_server)\n",
                      "framework/src/db/b.cc": "\n", "framework/src/core/c.cc": "\n"})
        engine = tree({"framework/src/db/migrate.cc": 'void F() { Run("PRAGMA foreign_keys"); }\n',
                       "framework/src/core/c.cc": "\n"})
        results = (main(good), main(bad), main(private), main(cmake), main(engine))
    finally:
        KNOWN.update(saved)
        for d in made:
            shutil.rmtree(d, ignore_errors=True)
    if results != (0, 1, 1, 1, 1):
        print(f"layering self-test: expected (0, 1, 1, 1, 1), got {results}")
        return 1
    print("layering self-test: ok")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
