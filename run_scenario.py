#!/usr/bin/env python
"""Run an lssc_sim scenario: ``python run_scenario.py scenarios/ber_awgn.yaml`` (``--help`` for options)."""

import sys

from lssc_sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
