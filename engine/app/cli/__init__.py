"""The ``revive`` command: the GUI without arguments, subcommands otherwise."""
