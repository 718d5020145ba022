"""The decoder-only transformer of VideoAR.

It maps embedded tokens to hidden states; it knows nothing about tokenizers, scales, CFG or
sampling. The caller (``VideoAR``) supplies the attention mask, the rotary tables of the tokens
and, in AdaLN mode, the pooled condition. For sampling the caller also supplies a
:class:`~videoar.models.transformers.KVCache` it owns.

Conditioning modes:

* ``cond_mode='prefix'`` (VideoAR): condition tokens are part of the sequence; ``cond`` is
  ignored and the blocks are plain pre-norm LLaMA blocks.
* ``cond_mode='adaln'`` (VAR): the pooled condition ``(B, C)`` modulates every block's norms and
  gates its residual branches, through one shared ``SiLU -> Linear(C, 6C)``
  (``adaln_mode='shared'``, VAR's ``shared_aln``) or one per block (``'block'``, DiT). The final
  norm is AdaLN too (VAR's ``AdaLNBeforeHead``).
"""

from __future__ import annotations

import math
import warnings

import torch
import torch._dynamo
from torch import nn
from torch.utils.checkpoint import checkpoint

from videoar.models.pos_encodings import rotary_tables
from videoar.registry import MODELS
from videoar.utils import ConfigError, check_choice, check_divisible, check_positive

from .attention import Attention
from .layers import RMSNorm, TransformerBlock, ffn_hidden_dim, modulate


@MODELS.register_module()
class ARTransformer(nn.Module):
    """A stack of LLaMA-style blocks with an optional AdaLN condition.

    Args:
        dim: width ``C``.
        depth: number of blocks.
        num_heads: attention heads (``dim`` must be divisible by it; ``head_dim`` even).
        ffn_dim: SwiGLU hidden width; default ``8/3 * dim`` rounded up to a multiple of 8.
        qk_norm: RMS-normalise queries and keys per head.
        norm_eps: epsilon of the RMS norms.
        cond_mode: ``'prefix'`` or ``'adaln'`` (see the module docstring).
        adaln_mode: ``'shared'`` or ``'block'`` modulation (only for ``cond_mode='adaln'``).
        grad_checkpointing: recompute each block in the backward pass
            (``torch.utils.checkpoint`` with ``use_reentrant=False``) to save activation memory.
        init_std: std of the normal init of the linear layers; residual output projections
            use ``init_std / sqrt(2 * depth)`` (GPT-2).
        attn_backend: ``'sdpa'`` (default) or ``'flex'`` (FlexAttention with block masks; see
            :mod:`~videoar.models.transformers.attention`).
        attn_precision: ``'auto'`` (fp32 attention inside bf16 autocast on CPU, native on
            CUDA), ``'fp32'`` or ``'native'``.
        flex_compile: run the flex backend through ``torch.compile`` (False: eager reference).
        compile_blocks: run each block through ``torch.compile`` in full forwards (training and
            scoring; cached sampling forwards stay eager). Off by default: on CPU it needs a C++
            compiler and costs about 15 s of compilation per process, so it pays only in long
            trainings (the main job's stage 3: ``docs/performance.md``). When compilation fails
            (e.g. no working C++ compiler) a warning says why and the blocks run eagerly.
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        ffn_dim: int | None = None,
        qk_norm: bool = False,
        norm_eps: float = 1e-6,
        cond_mode: str = 'prefix',
        adaln_mode: str = 'shared',
        grad_checkpointing: bool = False,
        init_std: float = 0.02,
        attn_backend: str = 'sdpa',
        attn_precision: str = 'auto',
        flex_compile: bool = True,
        compile_blocks: bool = False,
    ) -> None:
        super().__init__()
        check_positive(dim, 'ARTransformer.dim')
        check_positive(depth, 'ARTransformer.depth')
        check_positive(num_heads, 'ARTransformer.num_heads')
        check_divisible(dim, num_heads, 'ARTransformer.dim', 'num_heads')
        if (dim // num_heads) % 2:
            raise ConfigError(
                f'ARTransformer: head_dim = dim / num_heads = {dim // num_heads} must be even '
                f'for rotary embeddings; change dim={dim} or num_heads={num_heads}.'
            )
        check_choice(cond_mode, ('prefix', 'adaln'), 'ARTransformer.cond_mode')
        check_choice(adaln_mode, ('shared', 'block'), 'ARTransformer.adaln_mode')
        self.dim = dim
        self.depth = depth
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.ffn_dim = int(ffn_dim) if ffn_dim else ffn_hidden_dim(dim)
        self.cond_mode = cond_mode
        self.adaln_mode = adaln_mode
        self.grad_checkpointing = grad_checkpointing
        self.init_std = init_std

        adaln = None if cond_mode == 'prefix' else adaln_mode
        self.attention = Attention(attn_backend, attn_precision, flex_compile)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                dim, num_heads, self.ffn_dim, qk_norm, norm_eps, adaln, i, self.attention
            )
            for i in range(depth)
        )
        self.compile_blocks = bool(compile_blocks)
        # compiled wrappers share the blocks' parameters; kept outside the module tree so the
        # state dict keys do not change
        self._compiled = [torch.compile(b) for b in self.blocks] if compile_blocks else None
        if cond_mode == 'adaln':
            if adaln_mode == 'shared':
                self.shared_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
            self.final_norm = RMSNorm(dim, norm_eps, elementwise_affine=False)
            self.final_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        else:
            self.final_norm = RMSNorm(dim, norm_eps)
        self.init_weights()

    @property
    def uses_cond(self) -> bool:
        """Whether ``forward`` needs the pooled condition."""
        return self.cond_mode == 'adaln'

    def init_weights(self) -> None:
        """Explicit local init: normal linears, scaled residual projections, zero AdaLN."""
        residual_std = self.init_std / math.sqrt(2 * self.depth)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                std = residual_std if name.endswith(('attn.proj', 'ffn.w2')) else self.init_std
                nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, RMSNorm) and module.weight is not None:
                nn.init.ones_(module.weight)
        # AdaLN: zero modulation, so every block starts as the identity and the final norm is
        # a plain RMS norm (DiT's initialize_weights).
        for name, module in self.named_modules():
            if name.endswith('modulation') and isinstance(module, nn.Sequential):
                nn.init.zeros_(module[-1].weight)
                nn.init.zeros_(module[-1].bias)

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        rotary: tuple[torch.Tensor, torch.Tensor] | None = None,
        cond: torch.Tensor | None = None,
        cache=None,
        block_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run the blocks.

        Args:
            x: ``(B, L, C)`` embedded tokens.
            attn_mask: bool ``(B|1, L, Lk)``, True = the query (row) may attend to the key
                (column); ``None`` = full attention. Every row needs at least one True.
            rotary: ``(cos, sin)``, each ``(L, head_dim)``, or ``None`` (converted once to the
                compute dtype, the autocast dtype inside autocast).
            cond: ``(B, C)`` pooled condition (required when ``cond_mode='adaln'``).
            cache: a ``KVCache`` or ``None``; with a cache the keys/values of ``x`` are appended
                after the ``cache.length`` cached ones, ``Lk = cache.length + L``, and the cache
                length advances by ``L``.
            block_bias: optional ``(B|1, L, C)`` added to the input of every block (e.g. a scale
                embedding applied before each block).

        Returns:
            ``(B, L, C)`` hidden states after the final norm (AdaLN-modulated in adaln mode).
        """
        if self.uses_cond:
            if cond is None:
                raise ValueError("ARTransformer(cond_mode='adaln') needs cond of shape (B, C).")
            if self.adaln_mode == 'shared':
                block_cond = self.shared_modulation(cond).unflatten(-1, (6, -1))  # (B, 6, C)
            else:
                block_cond = cond  # each block computes its own modulation
        else:
            block_cond = None
        use_checkpoint = self.grad_checkpointing and self.training and torch.is_grad_enabled()
        if rotary is not None:
            rotary = rotary_tables(*rotary, compute_dtype(x))
        args = (attn_mask, rotary, block_cond, cache, block_bias, use_checkpoint)
        if self._compiled is not None and cache is None:
            try:
                x = self._run_blocks(self._compiled, x, *args)
            except torch._dynamo.exc.TorchDynamoException as err:
                # e.g. no working C++ compiler on a CPU machine: the same blocks run eagerly
                # (the compiled path is pure without a cache, so running again is safe)
                warnings.warn(
                    f'ARTransformer(compile_blocks=True): torch.compile failed '
                    f'({type(err).__name__}: {str(err).strip().splitlines()[0]}); running the '
                    f'blocks eagerly from now on. Set compile_blocks=False to skip the attempt.',
                    stacklevel=2,
                )
                self._compiled = None
                x = self._run_blocks(self.blocks, x, *args)
        else:
            x = self._run_blocks(self.blocks, x, *args)
        if cache is not None:
            cache.advance(x.shape[1])
        x = self.final_norm(x)
        if self.uses_cond:
            shift, scale = self.final_modulation(cond).chunk(2, dim=-1)
            x = modulate(x, shift, scale)
        return x

    @staticmethod
    def _run_blocks(blocks, x, attn_mask, rotary, block_cond, cache, block_bias, use_checkpoint):
        for block in blocks:
            if block_bias is not None:
                x = x + block_bias
            if use_checkpoint and cache is None:
                x = checkpoint(block, x, attn_mask, rotary, block_cond, None, use_reentrant=False)
            else:
                x = block(x, attn_mask, rotary, block_cond, cache)
        return x

    def extra_repr(self) -> str:
        return (
            f'dim={self.dim}, depth={self.depth}, heads={self.num_heads}, ffn_dim={self.ffn_dim}, '
            f'cond_mode={self.cond_mode!r}, attention={self.attention!r}'
        )


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype the linear layers produce for ``x``: the autocast dtype inside autocast."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype
