"""The app shell: command line, launcher, self-test, bundle plan and sample photo.

The only part of ``engine`` that may name ``gui`` or ``training``: everything else
under ``engine/`` is the restoration library, which imports neither.
"""
