#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Prints every benchmark next to its baseline from the same run, with the ratio.

Usage: bench_report.py RESULT.json [RESULT.json ...]
Names follow BM_<Group>_Baseline_<What> (the baseline) and BM_<Group>_<Other>.
"""
import json
import sys

# Absolute targets (issue-level promises), in microseconds of real time per iteration.
TARGETS_US = {
    "BM_TutorialTest_RpcTestCase": 150,
    "BM_TutorialTest_RpcTransactionTestCase": 700,
}


def main():
    rows = []
    for path in sys.argv[1:]:
        with open(path) as f:
            data = json.load(f)
        baselines = {}
        results = []
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            name = b["run_name"] if "run_name" in b else b["name"]
            ns = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
            group = name[3:].split("_", 1)[0] if name.startswith("BM_") else name
            if "_Baseline_" in name:
                baselines[group] = (name, ns)
            else:
                results.append((group, name, ns))
        for group, name, ns in results:
            base = baselines.get(group)
            ratio = ns / base[1] if base else None
            rows.append((name, ns, base[0] if base else "-", base[1] if base else None, ratio))
    width = max([len(r[0]) for r in rows] + [10])
    bwidth = max([len(r[2]) for r in rows] + [8])
    print(f"{'benchmark':<{width}}  {'time':>12}  {'baseline':<{bwidth}}  {'time':>12}"
          f"  {'ratio':>8}  {'overhead':>12}")
    for name, ns, bname, bns, ratio in rows:
        bt = f"{bns / 1000:10.2f}us" if bns is not None else f"{'-':>12}"
        rt = f"{ratio:7.2f}x" if ratio is not None else f"{'-':>8}"
        dt = f"{(ns - bns) / 1000:+10.2f}us" if bns is not None else f"{'-':>12}"
        print(f"{name:<{width}}  {ns / 1000:10.2f}us  {bname:<{bwidth}}  {bt}  {rt}  {dt}")
    status = 0
    measured = {name: ns for name, ns, _, _, _ in rows}
    for name, limit in TARGETS_US.items():
        if name not in measured:
            continue
        us = measured[name] / 1000
        verdict = "ok" if us <= limit else "BELOW TARGET"
        if us > limit:
            status = 1
        print(f"target {name}: {us:.1f} us per test (<= {limit} us) {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())
