"""Broken and unusual input files, and a campaign that runs the real CLI over them."""
