"""`Conv2d`: a small filter slid over an image, the same weights at every position."""

from ...creation import empty
from .. import functional as F
from .. import init
from ..functional import _pair
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv2d"]


class Conv2d(Module):
    """weight (out_channels, in_channels, kh, kw) and bias (out_channels,), initialised like
    Linear with fan_in = in_channels * kh * kw. Supports stride and zero padding
    (an int, a pair, 'valid' or 'same'); dilation and groups other than 1 are not implemented."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        F._unsupported("Conv2d", dilation=(_pair(dilation, "dilation"), (1, 1)), groups=(groups, 1),
                       padding_mode=(padding_mode, "zeros"))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding")
        self.dilation = (1, 1)
        self.groups = 1
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels, *self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text
