"""Black-box anonymizer job: `ray job submit --working-dir . -- python jobs/train_anonymizer.py [options]`.

The same command as `sppe train anonymizer` (see `python jobs/train_anonymizer.py --help`); settings under `blackbox.*`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a fresh checkout

from sppe_ray.cli import run_job  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_job("train anonymizer"))
