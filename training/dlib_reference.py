"""dlib's own descriptors of aligned faces, to check the torch port against (needs dlib).

Exactly the steps of dlib's ``compute_face_descriptor(image, shape)``: the 5-point
shape predictor inside the face box that the alignment template gives (as
``engine.identity.IdentityModel.chip_matrix`` starts it), then the 150 px chip with
padding 0.25 (``get_face_chip``, the ``extract_image_chips`` that
``compute_face_descriptor`` runs), then dlib's network. The chips come back too, so
the port can be fed the very same pixels.
"""

from __future__ import annotations

import numpy as np

from engine.faces.align import invert_similarity, transform_points
from engine.identity import (
    CHIP_BOX,
    CHIP_PADDING,
    CHIP_SIZE,
    as_rgb8,
    model_file,
    template_chip_matrix,
)


def dlib_descriptors(
    faces: list[np.ndarray], template: str = "utkface"
) -> tuple[np.ndarray, np.ndarray]:
    """(N x 150 x 150 x 3 uint8 chips, N x 128 float32 descriptors), both from dlib."""
    import dlib

    net = dlib.face_recognition_model_v1(str(model_file("recognition")))
    predictor = dlib.shape_predictor(str(model_file("landmarks5")))
    chips, descriptors = [], []
    for face in faces:
        image = as_rgb8(face)
        to_chip = template_chip_matrix(image.shape, None, template)
        box = transform_points(invert_similarity(to_chip), CHIP_BOX.reshape(2, 2)).ravel()
        shape = predictor(image, dlib.rectangle(*(int(round(v)) for v in box)))
        descriptors.append(np.asarray(net.compute_face_descriptor(image, shape), np.float32))
        chips.append(np.asarray(dlib.get_face_chip(image, shape, CHIP_SIZE, CHIP_PADDING)))
    return np.stack(chips), np.stack(descriptors)
