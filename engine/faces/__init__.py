"""Faces: detection (MTCNN), alignment to a template, and seamless paste-back."""
