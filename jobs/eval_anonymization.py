"""Anonymization evaluation job: `ray job submit --working-dir . -- python jobs/eval_anonymization.py [options]`.

The same command as `sppe eval-anonymization` (see `python jobs/eval_anonymization.py --help`).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a fresh checkout

from sppe_ray.cli import run_job  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_job("eval-anonymization"))
