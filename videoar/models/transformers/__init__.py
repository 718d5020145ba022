"""The decoder-only transformer, its layers and the explicit KV cache."""

from .ar_transformer import ARTransformer
from .kv_cache import KVCache
from .layers import RMSNorm, SelfAttention, SwiGLU, TransformerBlock, ffn_hidden_dim

__all__ = [
    'ARTransformer',
    'KVCache',
    'RMSNorm',
    'SelfAttention',
    'SwiGLU',
    'TransformerBlock',
    'ffn_hidden_dim',
]
