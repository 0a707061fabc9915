"""Revive's desktop app (PySide6). It drives ``engine.pipeline`` through one worker thread."""
