"""``python -m training ...``: the training commands without the ``revive`` script."""

import sys

from training.cli import main

sys.exit(main())
