"""MMNet: muscle motion-guided network on the onset and apex frames.

References
----------
.. [1] H. Li, M. Sui, Z. Zhu and F. Zhao, "MMNet: Muscle motion-guided network for micro-expression
   recognition", IJCAI 2022 (arXiv:2201.05297). Official code: https://github.com/muse1998/MMNet
   (``CASME2_5.py``, ``CASME2_3.py``, ``CA_block.py``, ``PC_module.py``).

Follows the official code (``CASME2_5.py``, class ``MMNet``) layer by layer. Two branches read the
onset frame ``x1`` and the apex frame ``x5`` (RGB, 224x224, ImageNet-normalised):

1. *Motion pattern* (``conv_act``): the difference ``apex - onset`` (``act = x5 - x1``) goes through
   ``Conv3x3(3 -> 180, stride 2, pad 1, no bias) -> BN -> ReLU`` (224 -> 112).
2. *Main branch* (``main_branch``, ``CA_block.resnet18_pos_attention``: a ResNet with one block per
   stage): ``conv1 3x3 (180 -> 128, stride 1, no bias) -> bn1 -> ReLU``, then four continuous-attention
   (CA) blocks of 128, 128, 256, 512 channels, strides 1, 2, 2, 2 (112 -> 14). A CA block is
   ``conv1 3x3 (stride s) -> bn1 -> ReLU -> conv2 1x1 -> bn2``, plus the shortcut (``downsample`` =
   1x1 conv stride s + BN where the shape changes), ReLU; then a spatial attention map
   ``sigmoid(BN(Conv1x1(2 -> 1)([mean_c, max_c])))`` (``attn``), multiplied by the previous block's map
   max-pooled (3x3, stride 2, pad 1) to the new size, and the features are multiplied by it.
3. *Position calibration* (``vit_pos``, ``PC_module.VisionTransformer_POS``): the onset frame is
   resized (bilinear, no antialiasing) to 14x14, embedded per pixel (``patch_embed.proj``: 1x1 conv
   3 -> 512 with bias, 196 tokens), plus a learned position embedding ``pos_embed`` (1, 196, 512), then
   2 pre-norm transformer blocks (512 wide, 4 heads, MLP ratio 4 with GELU, qkv bias, LayerNorm eps
   1e-6, no dropout, no drop-path) and a final LayerNorm; the tokens are reshaped to (512, 14, 14).
4. *Fusion*: the 512x14x14 main-branch features plus the position embeddings are flattened (100352)
   and classified by one fully connected layer (``main_branch.fc``; no dropout before it).

Initialisation as in the official code: Kaiming-normal (fan-out) for every conv of the main branch,
BN weight 1 / bias 0; truncated-normal (std .02) for the transformer's linear layers and ``pos_embed``,
zero biases, LayerNorm 1 / 0; PyTorch defaults for ``conv_act``, ``patch_embed.proj`` and the fc.
With 5 classes and 224x224 RGB input the network has 9,438,841 trainable parameters (the paper gives
no count). State-dict keys match the official ``MMNet`` (``conv_act.0``, ``vit_pos.blocks.0.attn.qkv``,
``main_branch.layer2.0.downsample.0``, ``main_branch.fc``, ...), so an official checkpoint loads with
``strict=False`` (the unexpected keys are the unused layers listed below).

Which frame feeds the position calibration: the issue that asked for this port describes the PC
branch as working "on the apex frame"; the official ``MMNet.forward`` (``CASME2_5.py``: ``POS =
self.vit_pos(self.resize(x1))``, with the comment "onset:x1 apex:x5") feeds it the *onset* frame. We
follow the official code (onset) and record the discrepancy here and in ``docs/deep_mer.md``.

Differences from the official code:

- *Pretraining*: none here. The brief for this port assumed an MS-Celeb-1M ResNet-18 initialisation;
  the official scripts do not load one (their ``--pretrained`` block refers to an undefined ``res18``
  and is off by default; ``resnet18_pos_attention()`` is called with ``pretrained=False``). The main
  branch is not a torchvision ResNet-18 anyway (3x3 stem on 180 channels, 1x1 second convs, widths
  128/128/256/512, one block per stage), so torchvision-layout ResNet-18 weights would not fit its
  shapes even though the key names (``conv1``, ``bn1``, ``layer1.0.conv1``, ...) follow that layout.
- *Unused official layers are left out* (they never reach the output and get no gradient): ``pos``
  (1x1 conv 3 -> 512 + BN), ``head`` (Dropout + Linear 12544 -> 38), ``timeembed`` (1, 4, 111, 111),
  ``avgpool``, ``vit_pos.cls_token``, ``vit_pos.head`` (Linear 512 -> 5), ``vit_pos.to_Mask``
  (Linear 512 -> 1 + sigmoid), ``main_branch.drop`` and ``main_branch.maxpool1``; with them the official
  5-class model holds 9,970,947 parameters.
- *One input tensor*: the official ``forward(x1, ..., x9, if_shuffle)`` takes nine frames (onset, three
  onset-apex frames, apex, four apex-offset frames) and a flag, but uses only ``x1`` (onset) and ``x5``
  (apex) and ignores the flag; here the onset and apex frames arrive stacked on the channel axis.
- *Classes and size are parameters*: the official fc width is hard-coded (5 outputs in one stored
  version of ``CA_block.py``, 30 in another; the 3-class script trains with it unchanged); here it is
  ``n_classes``. Other input sizes are allowed: the token grid becomes ``ceil(input_size / 16)`` (the
  main branch's output side), the onset frame is resized to it and ``pos_embed`` and the fc shrink
  accordingly; 224 gives the official 14x14 grid.
- ``CASME2_3.py`` (3 classes) builds ``conv_act`` with ``groups=2`` on 3 input channels, which PyTorch
  rejects; only its transformer settings (``vit_depth=3, vit_mlp_ratio=2, drop_path_rate=.3``) can be
  reproduced here.
- Training-time augmentation and frame sampling belong to the data pipeline, not this module (see the
  recipe below).

Official training recipe (``CASME2_5.py``, 5 classes: happiness, repression, disgust, surprise,
others; leave-one-subject-out over the 26 CASME II subjects, a fresh model per fold): cropped
``reg_img`` frames, BGR -> RGB, ``Resize((224, 224))``, ``ToTensor`` and ImageNet
``Normalize(mean=(.485, .456, .406), std=(.229, .224, .225))``; for training only, the same
``RandomHorizontalFlip(.5)``, ``RandomRotation(3)`` and ``RandomCrop(224, padding=15)`` applied jointly
to all frames of a sample, and temporal jitter (onset drawn from the first ``.15 (apex - onset) / 4``
frames after the onset, apex from the same span before the apex); test uses the annotated onset and
apex. Cross-entropy loss (no label smoothing, no class weights); AdamW, lr 8e-4, weight decay .6;
``ExponentialLR(gamma=.987)`` stepped once per epoch for the first 50 epochs, then constant; 74 epochs
(``range(1, 75)``); batch size 32 (the ``--batch_size`` default 34 is unused). The script reports,
per fold, the best test accuracy and F1 over the epochs. ``CASME2_3.py`` (3 classes: happiness,
surprise, negative = repression/disgust/fear/sadness; 25 subjects): batch 24, AdamW lr 8e-4,
weight decay .7, same scheduler, 99 epochs, ``RandomRotation(4)``, ``RandomCrop(224, padding=4)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MMNet"]

_EMBED_DIM = 512  # the transformer width must equal the main branch's last stage for the fusion sum


def _grid_side(input_size: int) -> int:
    """Side of the main branch's output map: four stride-2 stages, each ``ceil(n / 2)``."""
    side = input_size
    for _ in range(4):
        side = (side + 1) // 2
    return side


def _drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    if p == 0.0 or not training:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask / keep


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        # scaled dot-product with the default 1/sqrt(head_dim) scale, as the official Attention
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, t, c))


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + _drop_path(self.attn(self.norm1(x)), self.drop_path, self.training)
        return x + _drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class _PatchEmbed(nn.Module):
    def __init__(self, in_channels: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=1)  # patch size 1: one token per pixel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class _PositionCalibration(nn.Module):
    """PC module: a small vision transformer on the downsized onset frame."""

    def __init__(
        self,
        in_channels: int,
        grid: int,
        depth: int,
        heads: int,
        mlp_ratio: float,
        drop_path: float,
    ) -> None:
        super().__init__()
        self.grid = grid
        self.patch_embed = _PatchEmbed(in_channels, _EMBED_DIM)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, _EMBED_DIM))
        rates = torch.linspace(0, drop_path, depth).tolist()  # stochastic-depth decay rule
        self.blocks = nn.ModuleList(_Block(_EMBED_DIM, heads, mlp_ratio, r) for r in rates)
        self.norm = nn.LayerNorm(_EMBED_DIM, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, onset: torch.Tensor) -> torch.Tensor:
        # torchvision's tensor Resize of the official code's era: bilinear, no antialiasing
        x = F.interpolate(
            onset,
            size=(self.grid, self.grid),
            mode="bilinear",
            align_corners=False,
            antialias=False,
        )
        x = self.patch_embed(x) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return x.transpose(1, 2).reshape(x.shape[0], _EMBED_DIM, self.grid, self.grid)


class _CABlock(nn.Module):
    """Continuous-attention block: residual unit followed by a spatial attention map."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.attn = nn.Sequential(
            nn.Conv2d(2, 1, kernel_size=1, bias=False), nn.BatchNorm2d(1), nn.Sigmoid()
        )
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(
        self, x: torch.Tensor, prior: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)) + identity)
        a = self.attn(torch.cat([out.mean(1, keepdim=True), out.amax(1, keepdim=True)], dim=1))
        if prior is not None:
            # the previous block's map carries forward, so attention accumulates across stages
            a = prior * a
        return out * a, a


class _MainBranch(nn.Module):
    """CA-block ResNet on the motion pattern (official ``resnet18_pos_attention``)."""

    def __init__(self, n_classes: int, grid: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(180, 128, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(128)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        # one block per stage, wrapped in Sequential so keys read layerK.0.* as in the official code
        self.layer1 = nn.Sequential(_CABlock(128, 128, 1))
        self.layer2 = nn.Sequential(_CABlock(128, 128, 2))
        self.layer3 = nn.Sequential(_CABlock(128, 256, 2))
        self.layer4 = nn.Sequential(_CABlock(256, _EMBED_DIM, 2))
        self.fc = nn.Linear(_EMBED_DIM * grid * grid, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, act: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(act)))
        a: torch.Tensor | None = None
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            if a is not None:
                a = self.maxpool(a)  # bring the previous map to this stage's resolution
            x, a = layer[0](x, a)
        return x

    def forward(self, act: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.features(act) + pos, 1))


class MMNet(nn.Module):
    """MMNet (muscle motion-guided network).

    Parameters
    ----------
    n_classes : int
        Number of output classes (5 in ``CASME2_5.py``, 3 in ``CASME2_3.py``).
    in_channels : int
        Channels per frame (3: RGB, as in the official code; 1 for grey frames).
    input_size : int
        Side of the square frames (224 officially; any size >= 16 works, the token grid is
        ``ceil(input_size / 16)``).
    vit_depth : int
        Transformer blocks in the position-calibration module (2; 3 in ``CASME2_3.py``).
    vit_heads : int
        Attention heads (4); must divide 512.
    vit_mlp_ratio : float
        MLP hidden width / 512 (4; 2 in ``CASME2_3.py``).
    drop_path_rate : float
        Largest stochastic-depth rate, linearly spread over the blocks (0; .3 in ``CASME2_3.py``).

    Shapes
    ------
    ``x``: ``(N, 2 * in_channels, input_size, input_size)`` float32, channels ``[:in_channels]`` the
    onset frame and ``[in_channels:]`` the apex frame, each RGB normalised with the ImageNet mean and
    std (values about -2.1 to 2.6) -> ``(N, n_classes)`` logits.
    """

    def __init__(
        self,
        n_classes: int = 5,
        in_channels: int = 3,
        input_size: int = 224,
        vit_depth: int = 2,
        vit_heads: int = 4,
        vit_mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("n_classes", n_classes, 1),
            ("in_channels", in_channels, 1),
            ("input_size", input_size, 16),
            ("vit_depth", vit_depth, 1),
            ("vit_heads", vit_heads, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if _EMBED_DIM % vit_heads:
            raise ValueError(f"vit_heads must divide {_EMBED_DIM}, got {vit_heads}")
        if not (math.isfinite(vit_mlp_ratio) and int(_EMBED_DIM * vit_mlp_ratio) >= 1):
            raise ValueError(f"vit_mlp_ratio must be positive, got {vit_mlp_ratio!r}")
        if not 0.0 <= drop_path_rate < 1.0:
            raise ValueError(f"drop_path_rate must be in [0, 1), got {drop_path_rate!r}")
        self.in_channels = in_channels
        self.input_size = input_size
        grid = _grid_side(input_size)
        self.conv_act = nn.Sequential(
            nn.Conv2d(in_channels, 180, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(180),
            nn.ReLU(inplace=True),
        )
        self.vit_pos = _PositionCalibration(
            in_channels, grid, vit_depth, vit_heads, vit_mlp_ratio, drop_path_rate
        )
        self.main_branch = _MainBranch(n_classes, grid)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        expected = (2 * self.in_channels, self.input_size, self.input_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"x must have shape (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}"
            )
        return x[:, : self.in_channels], x[:, self.in_channels :]

    def motion_features(self, x: torch.Tensor) -> torch.Tensor:
        """Main-branch features of the motion pattern ``apex - onset``, before the fusion.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, 2 * in_channels, input_size, input_size)`` float32 onset and apex frames.

        Returns
        -------
        torch.Tensor
            ``(N, 512, g, g)`` float32, ``g = ceil(input_size / 16)`` (14 at 224).
        """
        onset, apex = self._split(x)
        return self.main_branch.features(self.conv_act(apex - onset))

    def position_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """Position embeddings of the PC module, computed from the onset frame only.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, 2 * in_channels, input_size, input_size)`` float32 onset and apex frames.

        Returns
        -------
        torch.Tensor
            ``(N, 512, g, g)`` float32, ``g = ceil(input_size / 16)``.
        """
        onset, _ = self._split(x)
        return self.vit_pos(onset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify a batch of onset/apex pairs.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, 2 * in_channels, input_size, input_size)`` float32: onset frame, then apex frame.

        Returns
        -------
        torch.Tensor
            ``(N, n_classes)`` float32 logits.
        """
        onset, apex = self._split(x)
        pos = self.vit_pos(onset)
        return self.main_branch(self.conv_act(apex - onset), pos)
