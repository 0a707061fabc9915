"""Revive's training module: data, degradations, trainers, evaluation.

Runs headless: it never imports Qt, and never imports facenet-pytorch except in
the packing step (``training.pack``), so a GPU machine without either can train
from packed shards. Every network comes from ``engine.models`` and every face is
aligned with ``engine.faces.align``: what is trained is exactly what runs.
"""
