"""``python -m lssc_sim.train CONFIG.yaml [--out DIR]``."""

import sys

from lssc_sim.train.cli import main

sys.exit(main())
