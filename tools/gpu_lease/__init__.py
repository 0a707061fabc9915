"""The kit that turns a short GPU lease into shipped weights (docs/gpu-training.md).

``session.sh`` (``python -m tools.gpu_lease.lease``) trains the three face restorers
side by side on one GPU, each until its own deadline, exports fp16 shards, evaluates
them on the carried validation faces and leaves everything that must come back in
``$OUT``; ``worker`` runs one of those trainings; ``plan`` holds the presets, batch
sizes, time shares and the lease counter; ``data`` builds the packs before a lease
(``make gpu-data``); ``install`` puts what came back into ``resources/weights``.
"""
