"""Read dlib's binary serialization of a DNN (``dlib::serialize`` of a ``net_type``).

dlib writes a network as nested layers: ``add_loss_layer`` writes its version, its
loss, then its sub-network; every ``add_layer`` writes its version, its sub-network,
then its own layer and state; tags and skips write a version and their sub-network.
For a chain of layers that is: all the versions from the output inwards, the input
layer, then each layer's details and state from the input outwards. The chain's
kinds are not in the file, so the caller names them (:class:`Layer`, input first)
and each layer's own version string and shape are checked as they are read.

Primitives, as in ``dlib/serialize.h`` and ``dlib/cuda/tensor.h``:

* integers: one control byte (low nibble: byte count, 0x80: negative), then that many
  little-endian bytes of the magnitude;
* floats: ``float_details`` (an int64 mantissa and an int16 exponent, both integers as
  above): mantissa x 2**exponent;
* bool: the character ``'1'`` or ``'0'``; string: its length, then its bytes;
* tensor: version 2, four sizes (samples, k, rows, columns), then little-endian
  float32 values; alias_tensor: version 1 and the four sizes only.

Only the layer forms this network uses are read (con, affine, relu, max / avg pool,
add_prev, fc without bias, metric loss), in the versions dlib 19.x writes and the
newer ones it reads; a training net's batch-norm layers (``bn_con2``) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import WeightsError

# float_details' codes for special values (dlib/float_details.h)
_INF, _NINF, _NAN = 32000, 32001, 32002


class DlibFormatError(WeightsError):
    """The file is not the dlib network this reader expects."""


@dataclass(frozen=True)
class Layer:
    """One layer of the chain, as the caller expects to find it.

    ``kind``: con, affine, relu, max_pool, avg_pool, add_prev, tag, skip, fc.
    ``name``: the prefix its parameters get in the state dict (con, affine, fc).
    ``shape``: con: (filters, rows, cols, stride, padding); pools: (window, stride,
    padding), window 0 for the whole input; fc: (outputs,).
    """

    kind: str
    name: str = ""
    shape: tuple[int, ...] = ()


@dataclass
class DlibNet:
    """What a metric network file holds: its input layer, loss and parameters."""

    input_means: tuple[float, float, float]  # RGB values subtracted before / 256
    input_size: tuple[int, int]  # rows, columns
    loss: str
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DlibFormatError("the dlib network file ends too early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def integer(self) -> int:
        control = self._take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise DlibFormatError(f"bad integer control byte {control:#x} at {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def number(self) -> float:
        if self.data[self.pos] & 0x70:
            raise DlibFormatError("old ASCII float serialization is not supported")
        mantissa, exponent = self.integer(), self.integer()
        if exponent == _INF:
            return float("inf")
        if exponent == _NINF:
            return float("-inf")
        if exponent == _NAN:
            return float("nan")
        return float(mantissa) * 2.0**exponent

    def flag(self) -> bool:
        ch = self._take(1)
        if ch not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool byte {ch!r} at {self.pos - 1}")
        return ch == b"1"

    def text(self) -> str:
        return self._take(self.integer()).decode("latin-1")

    def tensor(self) -> np.ndarray:
        self.version(2, "tensor")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self._take(4 * count), dtype="<f4")
        return values.reshape(shape).astype(np.float32)

    def alias_tensor(self) -> tuple[int, ...]:
        self.version(1, "alias_tensor")
        return tuple(self.integer() for _ in range(4))

    def version(self, expected: int | tuple[int, ...], what: str) -> int:
        version = self.integer()
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if version not in allowed:
            raise DlibFormatError(f"unexpected {what} version {version}")
        return version

    def tag(self, allowed: tuple[str, ...], what: str) -> str:
        name = self.text()
        if name not in allowed:
            raise DlibFormatError(f"expected {what} ({', '.join(allowed)}), found {name!r}")
        return name


def _check(found: tuple[int, ...], expected: tuple[int, ...], layer: Layer) -> None:
    if found != expected:
        raise DlibFormatError(
            f"{layer.kind} {layer.name or ''}: found {found}, expected {expected}"
        )


def _con(r: _Reader, layer: Layer, out: dict[str, np.ndarray]) -> None:
    version = r.tag(("con_4", "con_5", "con_6"), "a convolution")
    params = r.tensor().ravel()
    filters = r.integer()
    rows, cols, stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(6))
    w_shape, b_shape = r.alias_tensor(), r.alias_tensor()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        r.number()
    use_bias = r.flag() if version in ("con_5", "con_6") else True
    use_relu = r.flag() if version == "con_6" else False
    want_filters, want_rows, want_cols, want_stride, want_pad = layer.shape
    _check(
        (filters, rows, cols, stride_y, stride_x, pad_y, pad_x, int(use_relu)),
        (want_filters, want_rows, want_cols, want_stride, want_stride, want_pad, want_pad, 0),
        layer,
    )
    n_weights = int(np.prod(w_shape))
    out[f"{layer.name}.weight"] = params[:n_weights].reshape(w_shape).copy()
    bias = params[n_weights : n_weights + int(np.prod(b_shape))]
    out[f"{layer.name}.bias"] = (
        bias.reshape(filters).copy() if use_bias else np.zeros(filters, np.float32)
    )


def _affine(r: _Reader, layer: Layer, out: dict[str, np.ndarray]) -> None:
    version = r.tag(("affine_", "affine_2"), "an affine layer")  # dlib 19.x saves "affine_"
    params = r.tensor().ravel()
    gamma_shape, _ = r.alias_tensor(), r.alias_tensor()
    n = int(np.prod(gamma_shape))
    gamma, beta = params[:n], params[n : 2 * n]
    mode = r.integer()
    if mode != 0:  # CONV_MODE: one scale and shift per channel
        raise DlibFormatError(f"affine {layer.name}: mode {mode}, expected conv mode")
    if version == "affine_2" and r.flag():  # disabled: the identity
        gamma, beta = np.ones(n, np.float32), np.zeros(n, np.float32)
    out[f"{layer.name}.weight"] = gamma.copy()
    out[f"{layer.name}.bias"] = beta.copy()


def _relu(r: _Reader) -> None:
    if r.tag(("relu_", "relu_2"), "a relu") == "relu_2" and r.flag():
        raise DlibFormatError("a disabled relu is not supported")


def _pool(r: _Reader, layer: Layer) -> None:
    r.tag((f"{layer.kind}_2",), f"a {layer.kind} layer")
    rows, cols, stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(6))
    window, stride, pad = layer.shape
    _check(
        (rows, cols, stride_y, stride_x, pad_y, pad_x),
        (window,) * 2 + (stride,) * 2 + (pad,) * 2,
        layer,
    )


def _fc(r: _Reader, layer: Layer, out: dict[str, np.ndarray]) -> None:
    version = r.tag(("fc_2", "fc_3"), "a fully connected layer")
    outputs, inputs = r.integer(), r.integer()
    params = r.tensor().ravel()
    r.alias_tensor()
    r.alias_tensor()
    bias_mode = r.integer()
    for _ in range(4):
        r.number()
    if version == "fc_3":
        r.flag()
    _check((outputs, bias_mode), (layer.shape[0], 1), layer)  # 1: FC_NO_BIAS
    # dlib computes x (N x inputs) @ W (inputs x outputs); torch's Linear keeps W.T
    out[f"{layer.name}.weight"] = params[: inputs * outputs].reshape(inputs, outputs).T.copy()


def _details(r: _Reader, layer: Layer, out: dict[str, np.ndarray]) -> None:
    if layer.kind == "con":
        _con(r, layer, out)
    elif layer.kind == "affine":
        _affine(r, layer, out)
    elif layer.kind == "relu":
        _relu(r)
    elif layer.kind in ("max_pool", "avg_pool"):
        _pool(r, layer)
    elif layer.kind == "add_prev":
        r.tag(("add_prev_",), "an add_prev layer")
    elif layer.kind == "fc":
        _fc(r, layer, out)
    else:
        raise ValueError(f"unknown layer kind {layer.kind!r}")


def _layer_state(r: _Reader, version: int) -> None:
    """An add_layer's bookkeeping after its details: flags and cached tensors (unused)."""
    for _ in range(3):  # setup called, gradient stale, output disabled
        r.flag()
    r.tensor()  # x_grad
    r.tensor()  # cached_output
    if version == 2:
        r.tensor()  # params_grad


def read_metric_net(path: str | Path, chain: list[Layer]) -> DlibNet:
    """The parameters of a ``loss_metric`` network on ``input_rgb_image_sized``.

    ``chain``: the layers from the input to the output (the first must be a layer with
    parameters, as dlib's first ``add_layer`` holds the input layer). Raises
    :class:`DlibFormatError` when the file does not hold exactly that network.
    """
    r = _Reader(Path(path).read_bytes())
    r.version(1, "add_loss_layer")
    loss = r.tag(("loss_metric_", "loss_metric_2"), "a metric loss")
    if loss == "loss_metric_2":
        r.number()  # margin
        r.number()  # distance threshold
    wrappers = {"tag", "skip"}
    versions: list[int] = []
    for layer in reversed(chain[1:]):  # every version header, from the output inwards
        if layer.kind in wrappers:
            versions.append(r.version(1, f"{layer.kind} layer"))
        else:
            versions.append(r.version((1, 2), "add_layer"))
    versions.reverse()
    first = r.version((2, 3), "input add_layer")
    r.tag(("input_rgb_image_sized",), "dlib's sized RGB input layer")
    means = (r.number(), r.number(), r.number())
    size = (r.integer(), r.integer())
    tensors: dict[str, np.ndarray] = {}
    _details(r, chain[0], tensors)
    for _ in range(3):
        r.flag()
    for _ in range(3):  # x_grad, cached_output, grad_final
        r.tensor()
    if first == 3:
        r.integer()  # sample expansion factor
    for layer, version in zip(chain[1:], versions, strict=True):
        if layer.kind in wrappers:
            continue
        _details(r, layer, tensors)
        _layer_state(r, version)
    if r.pos != len(r.data):
        raise DlibFormatError(f"{len(r.data) - r.pos} bytes left after the network")
    return DlibNet(means, size, loss, tensors)
