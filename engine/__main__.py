"""``python -m engine`` and the PyInstaller bundle's entry script: the ``revive`` command."""

import sys

from engine.app.launch import main

if __name__ == "__main__":
    sys.exit(main())
