"""`python -m sim` is the same as `hallsim`."""

import sys

from sim.cli import main

sys.exit(main())
