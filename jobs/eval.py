"""Evaluation job: `ray job submit --working-dir . -- python jobs/eval.py [options]`.

The same command as `sppe eval` (see `python jobs/eval.py --help`): on a fresh machine it builds sppe-mini,
fits the missing champions, then evaluates every available method.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a fresh checkout

from sppe_ray.cli import run_job  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_job("eval"))
