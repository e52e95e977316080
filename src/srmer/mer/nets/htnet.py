"""HTNet: hierarchical transformer on the four facial areas of an onset-apex flow image.

References
----------
.. [1] Z. Wang, K. Zhang, W. Luo and R. Sankaranarayana, "HTNet for micro-expression recognition",
   Neurocomputing 602 (2024) 128196 (arXiv:2307.14637). Official code:
   https://github.com/wangzhifengharrison/HTNet (``Model.py``, class ``HTNet``; ``main_HTNet.py``).

Input (upstream ``main_HTNet.py``): the onset-apex optical-flow image of the face at 28x28, three
channels u, v and optical strain (STSTNet's images, min-max scaled to 8 bits, read back as 0..255
floats without further normalisation). Four 14x14 patches are cut from it around the eyes and the
mouth corners and tiled back into one 28x28 image: top row ``[left eye | right eye]``, bottom row
``[left mouth corner | right mouth corner]`` (``cv2.hconcat`` of the first two patches over the
``hconcat`` of the last two). :func:`four_area_image` does that tiling here.

Network (follows ``Model.py`` layer by layer, with the official configuration ``image_size=28,
patch_size=7, dim=256, heads=3, num_hierarchies=3, block_repeats=(2, 2, 10), num_classes=3``):

1. *Patch embedding* (``to_patch_embedding``): non-overlapping 7x7 patches flattened in the order
   (row in patch, column in patch, channel) to 147 values, then a 1x1 conv 147 -> 256 (a 4x4 map).
2. *Hierarchies*, from the finest: the map is cut into ``2^level x 2^level`` blocks (4x4, 2x2, 1x1),
   each block goes through a transformer on its own (local self-attention), the blocks are put back
   and an *aggregation* (3x3 conv to the next width -> channel LayerNorm -> max-pool 3, stride 2, pad 1)
   halves the map and doubles the width (256 -> 512 -> 1024; none after the last level). Widths and
   heads double per level (256/3, 512/6, 1024/12 heads); ``block_repeats`` transformer blocks per level.
3. *Transformer* (``Transformer``): a learned position embedding of ``seq_len`` scalars added to every
   channel (``pos_emb``, initialised from N(0, 1)), then pre-norm blocks ``x + Attention(LN(x))``,
   ``x + FeedForward(LN(x))`` built from 1x1 convs: attention with ``dim // heads`` channels per head
   (85 at every level, so 255 / 510 / 1020 inner channels; the ``dim_head`` argument of the upstream
   constructor is never used), qkv without bias, softmax scaled by ``head_dim ** -0.5``; feed-forward
   ``1x1 conv (x4) -> GELU -> 1x1 conv``. LayerNorm here is upstream's channel LayerNorm (biased
   variance over channels, eps 1e-5, parameters ``g`` and ``b`` of shape (1, C, 1, 1)).
4. *Head* (``mlp_head``): channel LayerNorm -> spatial mean -> Linear(1024 -> classes).

With the official configuration each attention window holds a single token (the 4x4 patch map is cut
into 4x4 blocks of one token, then 2x2 blocks of one, then one block of one), as in the upstream code:
the softmax is then 1 and attention reduces to ``to_out(v)``. The last level's position embedding
is added equally to every channel of a token and removed by the LayerNorms after it (pre-norm
branches, head), so it has no effect and no gradient, upstream as here. The official 3-class model has
139,587,078 trainable parameters (computed from the layer shapes; neither the paper nor the README
states a count). State-dict keys equal upstream's (``to_patch_embedding.1.weight``,
``layers.2.0.layers.9.1.fn.net.3.weight``, ``layers.0.1.1.g``, ``mlp_head.2.bias``, ...), so an
official checkpoint loads with ``strict=True``.

Differences from the official code:

- *Region centres without landmarks*: upstream places the four 14x14 patches on MTCNN's five landmarks,
  detected on the apex frame resized to 28x28 (centres clipped to [7, 21], truncated to integers). srmer
  has no landmark model offline, so the boxes come from :func:`srmer.features.regions.htnet_regions`: a
  fixed rule derived from upstream's own fallback landmarks (used when MTCNN finds no face), made left/
  right symmetric and clipped as upstream clips them. The same boxes serve every clip.
- Upstream slices the rows of the flow image with the landmark's x coordinate and the columns with its
  y (``flow[x - 7 : x + 7, y - 7 : y + 7]``), which transposes the box centres; here rows are y and
  columns x, so the patches sit on the eyes and mouth corners the paper describes.
- No ``einops``: the patch, block and head reshapes are written with ``reshape``/``permute`` (same
  element order), and attention uses :func:`torch.nn.functional.scaled_dot_product_attention`.
- ``n_classes``, ``in_channels`` and ``input_size`` are the srmer names of ``num_classes``,
  ``channels`` and ``image_size``; the unused ``dim_head`` argument is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from srmer.features.regions import htnet_regions

__all__ = ["HTNet", "four_area_image"]


def four_area_image(flow: np.ndarray) -> np.ndarray:
    """HTNet's input: the four facial areas of a flow image tiled into one image of the same size.

    Parameters
    ----------
    flow : ndarray
        ``(C, S, S)`` flow maps of the aligned face crop (u, v, strain for HTNet), ``S`` even.

    Returns
    -------
    ndarray
        ``(C, S, S)``, same dtype: top row ``[left eye | right eye]``, bottom row
        ``[left lip corner | right lip corner]``, each a ``S/2 x S/2`` box of
        :func:`srmer.features.regions.htnet_regions` (``S`` = 28: 14x14 patches, as upstream).
    """
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[1] != flow.shape[2] or flow.shape[1] % 2 or flow.shape[1] < 4:
        raise ValueError(f"flow must be (C, S, S) with S even and >= 4, got {flow.shape}")
    side = flow.shape[1]
    boxes = htnet_regions(side)
    half = side // 2
    if any((y1 - y0, x1 - x0) != (half, half) for y0, y1, x0, x1 in boxes):
        raise ValueError(f"htnet_regions({side}) did not give {half}x{half} boxes: {boxes}")
    l_eye, r_eye, l_lip, r_lip = (flow[:, y0:y1, x0:x1] for y0, y1, x0, x1 in boxes)
    top = np.concatenate([l_eye, r_eye], axis=2)
    bottom = np.concatenate([l_lip, r_lip], axis=2)
    return np.ascontiguousarray(np.concatenate([top, bottom], axis=1))


class _ChannelLayerNorm(nn.Module):
    """Upstream ``LayerNorm``: normalises over the channel axis of a (N, C, H, W) map."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=1, unbiased=False, keepdim=True)
        return (x - mean) / (var + self.eps).sqrt() * self.g + self.b


class _PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = _ChannelLayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int, dropout: float) -> None:
        super().__init__()
        # indices 0 and 3 hold the weights, as upstream's Sequential (net.0 / net.3)
        self.net = nn.Sequential(
            nn.Conv2d(dim, dim * mult, 1),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv2d(dim * mult, dim, 1),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Attention(nn.Module):
    """Multi-head self-attention over the pixels of a map, with 1x1 convs as projections."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dim_head = dim // heads  # upstream: dim // heads, whatever dim_head says
        inner = self.dim_head * heads
        self.dropout = dropout
        self.to_qkv = nn.Conv2d(dim, inner * 3, 1, bias=False)
        self.to_out = nn.Sequential(nn.Conv2d(inner, dim, 1), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        # channels are (head, head_dim) with the head major: 'b (h d) x y -> b h (x y) d'
        q, k, v = (
            t.reshape(b, self.heads, self.dim_head, h * w).transpose(2, 3)
            for t in self.to_qkv(x).chunk(3, dim=1)
        )
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # scale head_dim ** -0.5
        out = out.transpose(2, 3).reshape(b, self.heads * self.dim_head, h, w)
        return self.to_out(out)


class _Transformer(nn.Module):
    def __init__(
        self, dim: int, seq_len: int, depth: int, heads: int, mlp_mult: int, dropout: float
    ) -> None:
        super().__init__()
        self.pos_emb = nn.Parameter(torch.randn(seq_len))
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    _PreNorm(dim, _Attention(dim, heads, dropout)),
                    _PreNorm(dim, _FeedForward(dim, mlp_mult, dropout)),
                ]
            )
            for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = x + self.pos_emb[: h * w].reshape(1, 1, h, w)  # one scalar per position, all channels
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class _PatchToChannels(nn.Module):
    """``'b c (h p1) (w p2) -> b (p1 p2 c) h w'``: each p x p patch becomes one pixel's channels."""

    def __init__(self, patch: int) -> None:
        super().__init__()
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        p = self.patch
        x = x.reshape(b, c, hh // p, p, ww // p, p).permute(0, 3, 5, 1, 2, 4)
        return x.reshape(b, p * p * c, hh // p, ww // p)


class _SpatialMean(nn.Module):
    """``Reduce('b c h w -> b c', 'mean')``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def _to_blocks(x: torch.Tensor, n: int) -> torch.Tensor:
    """``'b c (b1 h) (b2 w) -> (b b1 b2) c h w'`` with ``b1 = b2 = n``."""
    b, c, hh, ww = x.shape
    x = x.reshape(b, c, n, hh // n, n, ww // n).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b * n * n, c, hh // n, ww // n)


def _from_blocks(x: torch.Tensor, n: int) -> torch.Tensor:
    """``'(b b1 b2) c h w -> b c (b1 h) (b2 w)'`` with ``b1 = b2 = n``."""
    bb, c, h, w = x.shape
    x = x.reshape(bb // (n * n), n, n, c, h, w).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(bb // (n * n), c, n * h, n * w)


class HTNet(nn.Module):
    """HTNet (hierarchical transformer network).

    Parameters
    ----------
    n_classes : int
        Number of output classes (3 upstream: negative, positive, surprise).
    in_channels : int
        Input channels (3: u, v, optical strain).
    input_size : int
        Side of the square input (28 upstream); a multiple of ``patch_size * 2 ** (num_hierarchies -
        1)`` (28 with the official settings), so every level's map splits into whole blocks.
    patch_size : int
        Side of the embedded patches (7).
    dim : int
        Width of the finest level (256); it doubles per level.
    heads : int
        Attention heads of the finest level (3); they double per level.
    num_hierarchies : int
        Number of levels (3).
    block_repeats : int or sequence of int
        Transformer blocks per level, finest first ((2, 2, 10); an int repeats on every level).
    mlp_mult : int
        Feed-forward expansion (4).
    dropout : float
        Dropout in attention and feed-forward (0).

    Shapes
    ------
    ``(N, in_channels, input_size, input_size)`` float32 (the tiled four-area flow image of
    :func:`four_area_image`) -> ``(N, n_classes)`` logits.
    """

    def __init__(
        self,
        n_classes: int = 3,
        in_channels: int = 3,
        input_size: int = 28,
        patch_size: int = 7,
        dim: int = 256,
        heads: int = 3,
        num_hierarchies: int = 3,
        block_repeats: int | Sequence[int] = (2, 2, 10),
        mlp_mult: int = 4,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value in (
            ("n_classes", n_classes),
            ("in_channels", in_channels),
            ("input_size", input_size),
            ("patch_size", patch_size),
            ("dim", dim),
            ("heads", heads),
            ("num_hierarchies", num_hierarchies),
            ("mlp_mult", mlp_mult),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if heads > dim:
            raise ValueError(f"heads ({heads}) must not exceed dim ({dim})")
        repeats = (
            (block_repeats,) * num_hierarchies
            if isinstance(block_repeats, int)
            else tuple(block_repeats)
        )
        if len(repeats) != num_hierarchies or not all(
            isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in repeats
        ):
            raise ValueError(
                f"block_repeats must be {num_hierarchies} positive integers, got {block_repeats!r}"
            )
        step = patch_size * 2 ** (num_hierarchies - 1)
        if input_size % step:
            raise ValueError(
                f"input_size must be a multiple of patch_size * 2 ** (num_hierarchies - 1) = {step},"
                f" got {input_size}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.in_channels = in_channels
        self.input_size = input_size
        fmap = input_size // patch_size
        blocks = 2 ** (num_hierarchies - 1)
        seq_len = (fmap // blocks) ** 2  # tokens per block, the same at every level
        mults = [2**i for i in range(num_hierarchies)]
        dims = [m * dim for m in mults]
        self.to_patch_embedding = nn.Sequential(
            _PatchToChannels(patch_size), nn.Conv2d(in_channels * patch_size**2, dims[0], 1)
        )
        self.layers = nn.ModuleList()
        for i in range(num_hierarchies):
            last = i == num_hierarchies - 1
            self.layers.append(
                nn.ModuleList(
                    [
                        _Transformer(
                            dims[i], seq_len, repeats[i], heads * mults[i], mlp_mult, dropout
                        ),
                        nn.Identity()
                        if last
                        else nn.Sequential(
                            nn.Conv2d(dims[i], dims[i + 1], 3, padding=1),
                            _ChannelLayerNorm(dims[i + 1]),
                            nn.MaxPool2d(3, stride=2, padding=1),
                        ),
                    ]
                )
            )
        self.mlp_head = nn.Sequential(
            _ChannelLayerNorm(dims[-1]), _SpatialMean(), nn.Linear(dims[-1], n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify a batch of tiled four-area flow images.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, in_channels, input_size, input_size)`` float32.

        Returns
        -------
        torch.Tensor
            ``(N, n_classes)`` float32 logits.
        """
        expected = (self.in_channels, self.input_size, self.input_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"x must have shape (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}"
            )
        x = self.to_patch_embedding(x)
        n = len(self.layers)
        for i, (transformer, aggregate) in enumerate(self.layers):
            size = 2 ** (n - 1 - i)  # blocks per side: 4, 2, 1 with three levels
            x = _from_blocks(transformer(_to_blocks(x, size)), size)
            x = aggregate(x)
        return self.mlp_head(x)
