"""Faces: detection (MTCNN), the crop each face is cut to once, what a restored face
becomes after the network (native detail, colours, its record), and seamless paste-back."""
