"""The hostile-input fuzz suite (tests/fuzz) under the `long` Hypothesis profile: examples
run, failures and wall time per property.

python benchmarks/fuzz.py [--profile long] [-k EXPR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# "tests/fuzz/test_x.py::test_y:" opens a property's block in Hypothesis's statistics
_PROPERTY = re.compile(r"^(tests/\S+::\S+):$")
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")
_RESULT = re.compile(r"^(PASSED|FAILED|ERROR) (tests/\S+::[^\s\[]+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="long", help="Hypothesis profile (tests/conftest.py)")
    parser.add_argument("-k", dest="select", default=None, help="pytest -k expression")
    args = parser.parse_args()
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rA",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
        "tests/fuzz",
    ]
    if args.select:
        argv += ["-k", args.select]
    env = {**os.environ, "HYPOTHESIS_PROFILE": args.profile}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    examples: dict[str, list[int]] = {}
    current = None
    for line in done.stdout.splitlines():
        if match := _PROPERTY.match(line.strip()):
            current = match.group(1)
            examples.setdefault(current, [0, 0])
        elif current and (match := _COUNTS.search(line)):
            examples[current][0] += int(match.group(1)) + int(match.group(2))
            examples[current][1] += int(match.group(2))
    outcomes = {m.group(2): m.group(1) for m in map(_RESULT.match, done.stdout.splitlines()) if m}
    print(f"profile {args.profile}: pytest exit {done.returncode} in {took:.1f} s")
    for test in sorted(set(outcomes) | set(examples)):
        run, failing = examples.get(test, [0, 0])
        name = test.removeprefix("tests/fuzz/")
        print(f"{outcomes.get(test, '?'):<7} {name:<80} examples {run:>6}  failing {failing}")
    failed = sum(1 for outcome in outcomes.values() if outcome != "PASSED")
    total = sum(run for run, _ in examples.values())
    print(f"total: {total} examples, {failed} failed test(s), {took:.1f} s")


if __name__ == "__main__":
    main()
