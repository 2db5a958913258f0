"""Reference models written from their papers (no torchvision here), for `skanalyze model` and the tests.

Each factory returns a freshly initialised ``nn.Module`` with the published shapes:

- ``resnet18``, ``resnet50``: He et al. 2016 (torchvision's layout: ResNet-50 strides in the 3x3 conv,
  "v1.5"); 11,689,512 and 25,557,032 parameters.
- ``mobilenet_v2``: Sandler et al. 2018 (width 1.0, channels divisible by 8); 3,504,872 parameters.
- ``shufflenet_v1``: Zhang et al. 2018, g = 3, 1x (stage widths 240, 480, 960); the first 1x1 of stage 2
  is not grouped (its input has only 24 channels), stride-2 units concatenate an average-pooled shortcut.
- ``densenet40``: Huang et al. 2017, DenseNet (not BC) for CIFAR-10, depth 40, growth rate 12: a 3x3 stem
  (16 channels), three dense blocks of 12 BN-ReLU-conv3x3 layers, 1x1 transitions that keep the width and
  average-pool by 2, global pool, 10-way FC; 1,019,722 parameters (the paper's "1.0M"), input 32x32.

    skanalyze model examples/models.py:resnet18 --input 1x3x224x224
"""

from __future__ import annotations

import torch
from torch import nn


# -- ResNet -----------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    """Two 3x3 convs; a 1x1 projection shortcut on a shape change."""

    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand x4; a 1x1 projection shortcut on a shape change."""

    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem 7x7/2 + max pool, four stages (64, 128, 256, 512 planes, times ``width``), global pool, 1000-way FC."""

    def __init__(self, block, layers, classes: int = 1000, width: float = 1.0):
        super().__init__()
        scaled = [64 * width, 128 * width, 256 * width, 512 * width]
        if any(c != int(c) or c < 1 for c in scaled):
            raise ValueError(f"width {width} does not give integer channels")
        stem = int(scaled[0])
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in, stages = stem, []
        for i, (planes, n) in enumerate(zip((int(c) for c in scaled), layers, strict=True)):
            blocks = []
            for j in range(n):
                blocks.append(block(c_in, planes, 2 if (j == 0 and i > 0) else 1))
                c_in = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(width: float = 1.0) -> nn.Module:
    """ResNet-18 (11,689,512 parameters at width 1)."""
    return ResNet(BasicBlock, (2, 2, 2, 2), width=width)


def resnet50(width: float = 1.0) -> nn.Module:
    """ResNet-50 (25,557,032 parameters at width 1)."""
    return ResNet(Bottleneck, (3, 4, 6, 3), width=width)


# -- MobileNetV2 ----------------------------------------------------------------------------------------
def make_divisible(value: float, divisor: int = 8) -> int:
    """MobileNet's rounding: the nearest multiple of divisor, never more than 10% below the value."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def conv_bn_relu6(c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv (bias-free) + BN + ReLU6."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand 1x1 (t > 1), depthwise 3x3, linear 1x1 projection; residual when the shape is kept."""

    def __init__(self, c_in: int, c_out: int, stride: int, t: int):
        super().__init__()
        hidden = int(round(c_in * t))
        layers = [] if t == 1 else [conv_bn_relu6(c_in, hidden, 1)]
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 at a width multiplier (1.0: 3,504,872 parameters)."""

    SETTINGS = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )

    def __init__(self, width: float = 1.0, classes: int = 1000):
        super().__init__()
        c_in = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        features = [conv_bn_relu6(3, c_in, 3, 2)]
        for t, c, n, s in self.SETTINGS:
            c_out = make_divisible(c * width)
            for i in range(n):
                features.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t))
                c_in = c_out
        features.append(conv_bn_relu6(c_in, last, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(width: float = 1.0) -> nn.Module:
    """MobileNetV2 (3,504,872 parameters at width 1.0; other widths round channels to multiples of 8)."""
    return MobileNetV2(width)


# -- ShuffleNet V1 -----------------------------------------------------------------------------------------
def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Reshape to (groups, C/groups), transpose, flatten: the ShuffleNet channel shuffle."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


class ShuffleUnit(nn.Module):
    """1x1 group conv, shuffle, 3x3 depthwise, 1x1 group conv; add (stride 1) or concat an avg-pooled input."""

    def __init__(self, c_in: int, c_out: int, stride: int, groups: int, first_grouped: bool = True):
        super().__init__()
        self.stride, self.groups = stride, groups
        branch = c_out - c_in if stride == 2 else c_out
        mid = c_out // 4
        g1 = groups if first_grouped else 1
        self.conv1 = nn.Conv2d(c_in, mid, 1, groups=g1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, branch, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(branch)
        self.shuffle_groups = g1

    def forward(self, x):
        out = nn.functional.relu(self.bn1(self.conv1(x)))
        if self.shuffle_groups > 1:
            out = channel_shuffle(out, self.shuffle_groups)
        out = self.bn3(self.conv3(self.bn2(self.conv2(out))))
        if self.stride == 2:
            return nn.functional.relu(torch.cat([nn.functional.avg_pool2d(x, 3, 2, 1), out], 1))
        return nn.functional.relu(x + out)


class ShuffleNetV1(nn.Module):
    """ShuffleNet V1, g = 3, 1x: stem 3x3/2 (24) + max pool, stages of 4, 8, 4 units, 1000-way FC."""

    def __init__(
        self, groups: int = 3, widths=(240, 480, 960), repeats=(4, 8, 4), classes: int = 1000, stem: int = 24
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        units, c_in = [], stem
        for i, (c_out, n) in enumerate(zip(widths, repeats, strict=True)):
            for j in range(n):
                units.append(
                    ShuffleUnit(c_in, c_out, 2 if j == 0 else 1, groups, first_grouped=(i, j) != (0, 0))
                )
                c_in = c_out
        self.stages = nn.Sequential(*units)
        self.fc = nn.Linear(c_in, classes)

    def forward(self, x):
        x = self.maxpool(nn.functional.relu(self.bn1(self.conv1(x))))
        x = nn.functional.adaptive_avg_pool2d(self.stages(x), 1)
        return self.fc(torch.flatten(x, 1))


def shufflenet_v1() -> nn.Module:
    """ShuffleNet V1, g = 3, 1x."""
    return ShuffleNetV1()


# -- DenseNet-40 -------------------------------------------------------------------------------------------
class DenseLayer(nn.Module):
    """BN, ReLU, 3x3 conv to ``growth`` channels, concatenated to the input."""

    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(nn.functional.relu(self.bn(x)))], 1)


class Transition(nn.Module):
    """BN, ReLU, 1x1 conv (same width), 2x2 average pool."""

    def __init__(self, c: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)
        self.conv = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x):
        return nn.functional.avg_pool2d(self.conv(nn.functional.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    """DenseNet for CIFAR: 3x3 stem, three dense blocks with transitions between them, BN-ReLU, pool, FC."""

    def __init__(self, depth: int = 40, growth: int = 12, classes: int = 10):
        super().__init__()
        n = (depth - 4) // 3
        c = 16  # the first conv's width in the paper's (non-BC) CIFAR models
        self.conv1 = nn.Conv2d(3, c, 3, 1, 1, bias=False)
        blocks = []
        for i in range(3):
            layers = []
            for _ in range(n):
                layers.append(DenseLayer(c, growth))
                c += growth
            blocks.append(nn.Sequential(*layers))
            if i < 2:
                blocks.append(Transition(c))
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = nn.functional.relu(self.bn(self.blocks(self.conv1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def densenet40() -> nn.Module:
    """DenseNet-40 (k = 12) for CIFAR-10 (1,019,722 parameters)."""
    return DenseNet(40, 12, 10)


if __name__ == "__main__":
    for factory in (resnet18, resnet50, mobilenet_v2, shufflenet_v1, densenet40):
        model = factory()
        print(f"{factory.__name__:<14}{sum(p.numel() for p in model.parameters()):>12,} parameters")
