"""Building blocks of the split codecs: CBAM, the Attention U-Net gate and Conv-BN-ReLU blocks.

Plain Keras 3 (``keras.layers`` and ``keras.ops``) so the codecs survive a change of backend.
All tensors are channels-last, ``[batch, height, width, channels]``, float32.

Layers with weights of their own (``ChannelAttention``, ``SpatialAttention``, ``AttentionGate``) say
how many FLOPs one image costs through ``flops(input_shape)``; layers made of other layers
(``ConvBlock``, ``CBAM``) list their parts through ``sublayer_calls(input_shape)`` so that
:mod:`lssc_sim.codecs.complexity` counts them with its own rules. FLOPs count a multiply-add as 2.
"""

from __future__ import annotations

import keras
from keras import ops

Shape = tuple[int | None, ...]

# FLOPs per element of the cheap element-wise functions (a common convention; exp counted as 1).
SIGMOID_FLOPS = 4  # exp, add, divide, negate
RELU_FLOPS = 1


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; found {value!r}")
    return value


def _check_rank4(layer: str, shape: Shape) -> None:
    if len(shape) != 4 or shape[-1] is None:
        raise ValueError(f"{layer} expects inputs [batch, height, width, channels] with known channels; found {shape}")


@keras.saving.register_keras_serializable(package="lssc_sim")
class ChannelAttention(keras.layers.Layer):
    """CBAM channel attention (Woo et al. 2018; LSSC paper eq. 9): ``x * sigmoid(MLP(avg) + MLP(max))``.

    ``avg`` and ``max`` pool ``x`` over height and width; the MLP (``C -> C/r -> C``, ReLU between,
    biases on both layers) is shared by the two pooled vectors.

    Parameters
    ----------
    reduction : int
        Reduction ratio ``r`` of the hidden layer; the hidden width is ``max(1, C // r)``.

    Input / output
    --------------
    x : [batch, height, width, channels], float32 -> same shape, float32
    """

    def __init__(self, reduction: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.reduction = _check_positive_int("reduction", reduction)

    def build(self, input_shape: Shape) -> None:
        _check_rank4(type(self).__name__, input_shape)
        channels = int(input_shape[-1])
        hidden = max(1, channels // self.reduction)
        self.w1 = self.add_weight(shape=(channels, hidden), initializer="glorot_uniform", name="w1")
        self.b1 = self.add_weight(shape=(hidden,), initializer="zeros", name="b1")
        self.w2 = self.add_weight(shape=(hidden, channels), initializer="glorot_uniform", name="w2")
        self.b2 = self.add_weight(shape=(channels,), initializer="zeros", name="b2")

    def _mlp(self, v):
        return ops.matmul(ops.relu(ops.matmul(v, self.w1) + self.b1), self.w2) + self.b2

    def call(self, inputs, training=False):
        avg = ops.mean(inputs, axis=(1, 2))
        mx = ops.max(inputs, axis=(1, 2))
        att = ops.sigmoid(self._mlp(avg) + self._mlp(mx))  # [batch, channels]
        return inputs * att[:, None, None, :]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def flops(self, input_shape: Shape) -> int:
        """FLOPs for one image: the two poolings, the shared MLP twice, the sum, sigmoid and rescaling."""
        _, h, w, c = (int(d) if d is not None else 1 for d in input_shape)
        hidden = max(1, c // self.reduction)
        pooling = c * h * w + c * (h * w - 1)  # sum + divide for the mean, comparisons for the max
        mlp = 2 * (2 * c * hidden + hidden + RELU_FLOPS * hidden + 2 * hidden * c + c)
        return pooling + mlp + c + SIGMOID_FLOPS * c + h * w * c

    def get_config(self) -> dict:
        return {**super().get_config(), "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="lssc_sim")
class SpatialAttention(keras.layers.Layer):
    """CBAM spatial attention (LSSC paper eq. 10): ``x * sigmoid(conv_kxk([mean_c(x); max_c(x)]))``.

    The convolution maps the 2 pooled maps to 1 with 'same' padding and a bias (CBAM's reference code
    follows it with batch norm instead; the paper's equation has neither, a bias is the cheaper choice).

    Parameters
    ----------
    kernel_size : int
        Side of the square kernel, 7 in CBAM.

    Input / output
    --------------
    x : [batch, height, width, channels], float32 -> same shape, float32
    """

    def __init__(self, kernel_size: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = _check_positive_int("kernel_size", kernel_size)

    def build(self, input_shape: Shape) -> None:
        _check_rank4(type(self).__name__, input_shape)
        k = self.kernel_size
        self.kernel = self.add_weight(shape=(k, k, 2, 1), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

    def call(self, inputs, training=False):
        pooled = ops.concatenate(
            [ops.mean(inputs, axis=-1, keepdims=True), ops.max(inputs, axis=-1, keepdims=True)], axis=-1
        )
        att = ops.sigmoid(ops.conv(pooled, self.kernel, padding="same") + self.bias)  # [batch, H, W, 1]
        return inputs * att

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def flops(self, input_shape: Shape) -> int:
        """FLOPs for one image: channel mean and max, the k x k conv (2 -> 1, bias), sigmoid, rescaling."""
        _, h, w, c = (int(d) if d is not None else 1 for d in input_shape)
        pooling = h * w * c + h * w * (c - 1)
        conv = 2 * h * w * self.kernel_size**2 * 2 + h * w
        return pooling + conv + SIGMOID_FLOPS * h * w + h * w * c

    def get_config(self) -> dict:
        return {**super().get_config(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="lssc_sim")
class CBAM(keras.layers.Layer):
    """Convolutional block attention module: channel attention, then spatial attention.

    Parameters
    ----------
    reduction : int
        Reduction ratio of the channel-attention MLP.
    kernel_size : int
        Kernel side of the spatial-attention convolution.

    Input / output
    --------------
    x : [batch, height, width, channels], float32 -> same shape, float32
    """

    def __init__(self, reduction: int = 16, kernel_size: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.reduction = _check_positive_int("reduction", reduction)
        self.kernel_size = _check_positive_int("kernel_size", kernel_size)
        self.channel_attention = ChannelAttention(reduction, name="channel_attention")
        self.spatial_attention = SpatialAttention(kernel_size, name="spatial_attention")

    def build(self, input_shape: Shape) -> None:
        _check_rank4(type(self).__name__, input_shape)
        # Sub-layers are built here (not lazily) so a reloaded .keras file finds their variables.
        self.channel_attention.build(input_shape)
        self.spatial_attention.build(input_shape)

    def call(self, inputs, training=False):
        return self.spatial_attention(self.channel_attention(inputs))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def sublayer_calls(self, input_shape: Shape) -> list[tuple[keras.layers.Layer, Shape, Shape]]:
        """The layers one call runs, each with its input and output shape (for complexity accounting)."""
        shape = tuple(input_shape)
        return [(self.channel_attention, shape, shape), (self.spatial_attention, shape, shape)]

    def get_config(self) -> dict:
        return {**super().get_config(), "reduction": self.reduction, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="lssc_sim")
class AttentionGate(keras.layers.Layer):
    """Additive attention gate of Attention U-Net (Oktay et al. 2018) on a skip ``x`` gated by ``g``.

    ``alpha = sigmoid(psi(relu(W_x x + W_g g + b_g)) + b_psi)`` computed at the resolution of ``g``,
    upsampled bilinearly to that of ``x``; the output is ``x * alpha``. As in the paper's code ``W_x``
    is a 2 x 2 convolution with stride 2 (no bias) that brings ``x`` to the resolution of ``g``;
    ``W_g`` and ``psi`` are 1 x 1 convolutions.

    Parameters
    ----------
    inter_channels : int
        Width of the intermediate space (Oktay et al. use half the skip's channels).

    Input / output
    --------------
    inputs : [x, g] with x [batch, H, W, Cx] and g [batch, H/2, W/2, Cg], float32
    output : [batch, H, W, Cx], float32
    """

    def __init__(self, inter_channels: int, **kwargs):
        super().__init__(**kwargs)
        self.inter_channels = _check_positive_int("inter_channels", inter_channels)

    def _check_shapes(self, input_shape) -> tuple[Shape, Shape]:
        if not isinstance(input_shape, list | tuple) or len(input_shape) != 2:
            raise ValueError(f"AttentionGate expects two inputs [x, g]; found {input_shape}")
        x_shape, g_shape = (tuple(s) for s in input_shape)
        _check_rank4("AttentionGate (x)", x_shape)
        _check_rank4("AttentionGate (g)", g_shape)
        for axis in (1, 2):
            if None not in (x_shape[axis], g_shape[axis]) and x_shape[axis] != 2 * g_shape[axis]:
                raise ValueError(f"AttentionGate expects g at half the resolution of x; found x {x_shape}, g {g_shape}")
        return x_shape, g_shape

    def build(self, input_shape) -> None:
        x_shape, g_shape = self._check_shapes(input_shape)
        ci = self.inter_channels
        self.w_x = self.add_weight(shape=(2, 2, int(x_shape[-1]), ci), initializer="glorot_uniform", name="w_x")
        self.w_g = self.add_weight(shape=(1, 1, int(g_shape[-1]), ci), initializer="glorot_uniform", name="w_g")
        self.b_g = self.add_weight(shape=(ci,), initializer="zeros", name="b_g")
        self.w_psi = self.add_weight(shape=(1, 1, ci, 1), initializer="glorot_uniform", name="w_psi")
        self.b_psi = self.add_weight(shape=(1,), initializer="zeros", name="b_psi")

    def call(self, inputs, training=False):
        x, g = inputs
        theta = ops.conv(x, self.w_x, strides=2, padding="valid")
        phi = ops.conv(g, self.w_g) + self.b_g
        alpha = ops.sigmoid(ops.conv(ops.relu(theta + phi), self.w_psi) + self.b_psi)  # [batch, H/2, W/2, 1]
        size = ops.shape(x)[1:3]
        alpha = ops.image.resize(alpha, size, interpolation="bilinear")
        return x * alpha

    def compute_output_shape(self, input_shape) -> Shape:
        return tuple(input_shape[0])

    def flops(self, input_shape) -> int:
        """FLOPs for one image: W_x, W_g (+bias), the add, ReLU, psi (+bias), sigmoid, upsampling, rescaling.

        Bilinear upsampling counts 4 multiply-adds (8 FLOPs) per output value.
        """
        x_shape, g_shape = self._check_shapes(input_shape)
        _, h, w, cx = (int(d) if d is not None else 1 for d in x_shape)
        _, hg, wg, cg = (int(d) if d is not None else 1 for d in g_shape)
        ci, n = self.inter_channels, hg * wg
        theta = 2 * n * 4 * cx * ci
        phi = 2 * n * cg * ci + n * ci
        add_relu = n * ci + RELU_FLOPS * n * ci
        psi = 2 * n * ci + n
        return theta + phi + add_relu + psi + SIGMOID_FLOPS * n + 8 * h * w + h * w * cx

    def get_config(self) -> dict:
        return {**super().get_config(), "inter_channels": self.inter_channels}


@keras.saving.register_keras_serializable(package="lssc_sim")
class ConvBlock(keras.layers.Layer):
    """Two rounds of Conv2D ('same' padding, no bias since batch norm follows) -> BatchNorm -> ReLU.

    Parameters
    ----------
    filters : int
        Output channels of both convolutions.
    kernel_size : int
        Side of the square kernels (3 in U-Net; 2 in the LSSC decoder, Table I of the paper).

    Input / output
    --------------
    x : [batch, H, W, C], float32 -> [batch, H, W, filters], float32
    """

    def __init__(self, filters: int, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.filters = _check_positive_int("filters", filters)
        self.kernel_size = _check_positive_int("kernel_size", kernel_size)
        self.steps: list[keras.layers.Layer] = []
        for i in (1, 2):
            self.steps += [
                keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"conv{i}"),
                keras.layers.BatchNormalization(name=f"bn{i}"),
                keras.layers.ReLU(name=f"relu{i}"),
            ]

    def build(self, input_shape: Shape) -> None:
        _check_rank4(type(self).__name__, input_shape)
        # Sub-layers are built here (not lazily) so a reloaded .keras file finds their variables.
        for layer, shape, _ in self.sublayer_calls(input_shape):
            layer.build(shape)

    def call(self, inputs, training=False):
        x = inputs
        for layer in self.steps:
            x = layer(x, training=training) if isinstance(layer, keras.layers.BatchNormalization) else layer(x)
        return x

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape)[:-1], self.filters)

    def sublayer_calls(self, input_shape: Shape) -> list[tuple[keras.layers.Layer, Shape, Shape]]:
        """The layers one call runs, each with its input and output shape (for complexity accounting)."""
        calls, shape = [], tuple(input_shape)
        for layer in self.steps:
            out = (*shape[:-1], self.filters)
            calls.append((layer, shape, out))
            shape = out
        return calls

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}
