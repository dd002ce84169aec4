"""PyTorch modules for the registry tests, importable by their class path."""

from __future__ import annotations

import torch


class TinyNet(torch.nn.Module):
    def __init__(self, features: int, hidden: int = 8) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.layers(x))


class TiedNet(torch.nn.Module):
    """Two layers sharing one weight tensor (safetensors refuses shared storage as is)."""

    def __init__(self) -> None:
        super().__init__()
        self.first = torch.nn.Linear(3, 3, bias=False)
        self.second = torch.nn.Linear(3, 3, bias=False)
        self.second.weight = self.first.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x)).sum(dim=1, keepdim=True)


class ScaledNet(torch.nn.Module):
    """Holds a plain tensor attribute (not a parameter or buffer) made in ``__init__``."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        self.scale = torch.tensor(3.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * self.scale
