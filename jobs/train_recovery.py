"""C2E-S2SER fitting job: `ray job submit --working-dir . -- python jobs/train_recovery.py [options]`.

The same command as `sppe train recovery` (see `python jobs/train_recovery.py --help`): --resume-from,
--no-register; recovery.backend picks c2e_net or c2e_diffusion.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a fresh checkout

from sppe_ray.cli import run_job  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_job("train recovery"))
