"""Config overrides (``--cfg-options``) that address hooks by their type instead of a list index.

``custom_hooks`` is a list, so mmengine's dotted keys address a hook by position
(``custom_hooks.3.evaluate_at_end=False``); the position changes whenever a config adds a hook.
:func:`merge_options` also accepts the hook's type name in place of the index::

    custom_hooks.GenerationEvaluationHook.evaluate_at_end=False
    custom_hooks.EMAHook.momentum=0.001

The name must match exactly one hook of the list (the error names the types present);
integer indices keep working. Options may be dotted keys or nested dicts, as for
``Config.merge_from_dict``.

Two more rules make command-line overrides safe (:mod:`.option_checks`):

* **type swap**: ``model.corrector.type=NoCorrection`` replaces the component; the old type's
  arguments that the new type does not take are dropped (and named in one printed line), the
  ones it takes are kept, and arguments given alongside (``model.corrector.p=0.1``) apply;
* **value types**: a value whose type differs from the config's (``depth=eight`` where the config
  has an int, ``lr=1e-3,2e-3`` where it has a float) and a key that does not exist but is close
  to one that does (``train_cfg.max_iter``) raise a :class:`ConfigError` naming the key, the value
  and what is expected.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from mmengine.config import Config, ConfigDict

from videoar.utils import ConfigError

from .option_checks import check_option_types, swap_types

#: keys whose value is a list of hook configs that may be addressed by type name
HOOK_LISTS = ('custom_hooks',)


def hook_type(hook) -> str | None:
    """The type name of a hook config (``dict(type='Name')`` or ``dict(type=Class)``) or hook."""
    if isinstance(hook, Mapping):
        kind = hook.get('type')
        return kind if isinstance(kind, str) else getattr(kind, '__name__', None)
    return type(hook).__name__


def find_hooks(hooks, type_name: str) -> list[int]:
    """Indices of the hooks in ``hooks`` whose type is ``type_name``."""
    return [i for i, hook in enumerate(hooks or []) if hook_type(hook) == type_name]


def hook_index(hooks, type_name: str, where: str = 'custom_hooks') -> int:
    """The index of the one hook of type ``type_name`` in ``hooks``.

    Raises:
        ConfigError: no hook or several hooks of that type (the message names the types).
    """
    found = find_hooks(hooks, type_name)
    if len(found) == 1:
        return found[0]
    present = [hook_type(hook) for hook in hooks or []]
    if not found:
        raise ConfigError(
            f'{where}.{type_name}: the config has no hook of type {type_name!r}; the hooks '
            f'present are {present}. Address a hook by one of these type names (or an index).'
        )
    raise ConfigError(
        f'{where}.{type_name}: {len(found)} hooks have type {type_name!r} (at indices {found}, '
        f'hooks present: {present}); address the one you mean by its index, e.g. '
        f'{where}.{found[0]}.'
    )


def _is_index(segment: str) -> bool:
    return segment.isdigit()


def _child(node, segment: str):
    """``node[segment]`` for a dict or a list (``None`` when absent)."""
    if isinstance(node, Mapping):
        return node.get(segment)
    if isinstance(node, (list, tuple)) and _is_index(segment) and int(segment) < len(node):
        return node[int(segment)]
    return None


def _resolve_segments(node, segments: list[str], where: str = '') -> tuple[list[str], object]:
    """Replace hook type names after a hook-list key by indices; return ``(segments, node)``."""
    out: list[str] = []
    parent_key = None
    for segment in segments:
        segment = str(segment)
        if parent_key in HOOK_LISTS and not _is_index(segment):
            hooks = node if isinstance(node, (list, tuple)) else []
            segment = str(hook_index(hooks, segment, where=where + '.'.join(out)))
        out.append(segment)
        node = _child(node, segment)
        parent_key = segment
    return out, node


def _resolve_value(node, parent_key: str, value, where: str):
    """Nested-dict values: resolve their keys relative to ``node`` the same way."""
    if not isinstance(value, Mapping):
        return value
    resolved = {}
    for key, item in value.items():
        segment = str(key)
        if parent_key in HOOK_LISTS and not _is_index(segment):
            hooks = node if isinstance(node, (list, tuple)) else []
            segment = str(hook_index(hooks, segment, where=where))
        resolved[segment] = _resolve_value(
            _child(node, segment), segment, item, f'{where}.{segment}'
        )
    return resolved


def resolve_options(cfg: Config, options: Mapping) -> dict:
    """``options`` with every hook type name (after ``custom_hooks``) replaced by its index.

    Args:
        cfg: the config the options will be merged into (its hook lists are looked up).
        options: ``{dotted key: value}``, values may be nested dicts.

    Returns:
        A new dict for ``cfg.merge_from_dict``.
    """
    root = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    resolved = {}
    for key, value in options.items():
        segments, node = _resolve_segments(root, str(key).split('.'))
        full_key = '.'.join(segments)
        value = _to_plain(value)
        resolved[full_key] = _resolve_value(node, segments[-1], value, full_key)
    return resolved


def _to_plain(value):
    if isinstance(value, ConfigDict):
        return value.to_dict()
    return copy.deepcopy(value)


def merge_options(cfg: Config, options: Mapping | None) -> None:
    """Merge ``options`` into ``cfg`` in place, like ``cfg.merge_from_dict(options)``.

    A key segment after ``custom_hooks`` may be a hook type name instead of a list index
    (``custom_hooks.GenerationEvaluationHook.evaluate_at_end``); see the module docstring.

    A ``...type=NEW`` option swaps the component (arguments NEW does not take are dropped), and
    values are checked against the types of the values they replace (module docstring).

    Raises:
        ConfigError: a type name matches no hook or several hooks; a value of the wrong type; a
            key that does not exist but resembles one that does.
    """
    if options:
        resolved = resolve_options(cfg, options)
        root = cfg._cfg_dict if isinstance(cfg, Config) else cfg
        check_option_types(root, resolved)
        for key, replacement in swap_types(root, resolved).items():
            cfg.merge_from_dict({key: dict(replacement, _delete_=True)})
        cfg.merge_from_dict(resolved)


__all__ = ['find_hooks', 'hook_index', 'hook_type', 'merge_options', 'resolve_options']
