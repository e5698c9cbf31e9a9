"""How many schemathesis cases per API operation this CI run can afford (printed on stdout).

The fuzzer's cost is hypothesis' generation and the in-process calls, ~20 ms a case on the reference machine;
1,000 cases on each of the 45 operations take ~6 minutes of the suite on two workers there. CI must stay
under 30 minutes on whatever machine it gets, and these 2-core machines vary (CI has taken 13 to 28 minutes
for the same suite). So one operation is fuzzed twice here (50 and 450 cases: the difference is the cost of
400 cases without the start-up), the machine's speed against the reference is read from it, and the suite's
time is projected: 1,000 cases per operation when the projection fits ``BUDGET_SECONDS``, else as many as
fit (never fewer than ``FLOOR``). Everything is printed on stderr, the count on stdout.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

#: the operation timed (``-k``: GET /api/v1/products/mine, a filtered list of a middle cost among the 45)
OPERATION = "products/mine"
WANTED = 1000
FLOOR = 200
#: make test's share of CI's 30 minutes, with room for the set-up before it and the noise of a projection
BUDGET_SECONDS = 1500
#: reference machine (2 cores, 2026-12-07): 400 cases of OPERATION alone, seconds (measured 4.8–6.2)
REF_400_CASES = 5.5
#: reference: make test without the fuzzer (ruff, translations, 3,830 tests on two workers), seconds
REF_REST = 740.0
#: reference: the fuzzer's share of make test's wall time per case per operation (366 s for 1,000), seconds
REF_PER_CASE = 0.366


def _seconds(cases: int) -> float:
    env = dict(os.environ, SCHEMATHESIS_EXAMPLES=str(cases), SCHEMATHESIS_COUNTS="")
    started = time.monotonic()
    result = subprocess.run([".venv/bin/pytest", "-q", "-p", "no:cacheprovider", "tests/api/test_schemathesis.py", "-k", OPERATION],
                            env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"fuzz budget: the timing run failed (exit {result.returncode})")
    return time.monotonic() - started


def main() -> None:
    small, large = _seconds(50), _seconds(450)
    speed = max((large - small) / REF_400_CASES, 0.5)
    rest = REF_REST * speed
    fits = int((BUDGET_SECONDS - rest) / (REF_PER_CASE * speed)) // 50 * 50
    chosen = max(FLOOR, min(WANTED, fits))
    projected = rest + REF_PER_CASE * speed * chosen
    print(f"fuzz budget: 400 cases of one operation took {large - small:.1f} s (reference {REF_400_CASES} s): "
          f"this machine is {speed:.2f}x the reference; {chosen} cases per operation, make test projected at "
          f"{projected / 60:.0f} min" + ("" if chosen >= WANTED else
                                         f" ({WANTED} would take {(rest + REF_PER_CASE * speed * WANTED) / 60:.0f} "
                                         f"min, past the {BUDGET_SECONDS // 60}-minute budget)"),
          file=sys.stderr)
    print(chosen)


if __name__ == "__main__":
    main()
