"""Developer tools that ship with the source but are never installed with the app.

``tools/gpu_lease``: the kit that turns one lease of a lent GPU into shipped weights
(docs/gpu-training.md). Run its modules from the repository root (``python -m
tools.gpu_lease.lease``); they import ``engine`` and ``training`` like any caller.
"""
