"""Checks and rewrites of ``--cfg-options`` before they are merged (used by
:func:`videoar.engine.config_options.merge_options`): component type swaps and value types."""

from __future__ import annotations

import difflib
import inspect
import os
import os.path as osp
from collections.abc import Mapping

from videoar import registry as registries
from videoar.utils import ConfigError

_MISSING = object()


def _lookup(root, key: str):
    """``(parent node, leaf value or _MISSING)`` of a dotted key in nested dicts/lists."""
    node = root
    segments = key.split('.')
    for segment in segments[:-1]:
        if isinstance(node, Mapping) and segment in node:
            node = node[segment]
        elif isinstance(node, (list, tuple)) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None, _MISSING
    leaf = segments[-1]
    if isinstance(node, Mapping):
        return node, node.get(leaf, _MISSING)
    if isinstance(node, (list, tuple)) and leaf.isdigit() and int(leaf) < len(node):
        return node, node[int(leaf)]
    return node, _MISSING


def _kind(value) -> str:
    if isinstance(value, bool):
        return 'a bool (True/False)'
    if isinstance(value, int):
        return 'an int'
    if isinstance(value, float):
        return 'a float'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, (list, tuple)):
        return 'a list (comma-separated, e.g. 1,2)'
    if isinstance(value, Mapping):
        return 'a dict'
    return type(value).__name__


def _compatible(old, new) -> bool:
    """Whether ``new`` may replace ``old`` (None on either side always may)."""
    if old is None or new is None:
        return True
    if isinstance(old, bool):
        return isinstance(new, bool) or (type(new) is int and new in (0, 1))
    if isinstance(old, float):
        return isinstance(new, (int, float)) and not isinstance(new, bool)
    if isinstance(old, int):
        return type(new) is int
    if isinstance(old, str):
        return isinstance(new, str)
    if isinstance(old, (list, tuple)):  # a dict {index: ...} merges into a list
        return isinstance(new, (list, tuple, Mapping))
    if isinstance(old, Mapping):
        return isinstance(new, Mapping)
    return True


def _flatten(root, options: Mapping):
    """``(dotted key, value)`` pairs; a dict value that merges into an existing dict or list is
    followed down to its leaves (so those are checked too)."""
    for key, value in options.items():
        _, old = _lookup(root, key)
        if isinstance(value, Mapping) and isinstance(old, (Mapping, list, tuple)):
            nested = {f'{key}.{k}': v for k, v in value.items() if k != '_delete_'}
            if value.get('_delete_'):
                continue  # a replacement, not a merge: nothing to compare with
            yield from _flatten(root, nested)
        else:
            yield key, value


def check_option_types(root, options: Mapping) -> None:
    """Raise a :class:`ConfigError` for a value of the wrong type or a misspelt key.

    Args:
        root: the config's dict (``cfg._cfg_dict``).
        options: ``{dotted key: value}`` as they will be merged (hook names already resolved).
    """
    for key, value in _flatten(root, options):
        parent, old = _lookup(root, key)
        leaf = key.rsplit('.', 1)[-1]
        if old is _MISSING:
            if isinstance(parent, Mapping) and leaf != 'type':
                close = difflib.get_close_matches(leaf, [str(k) for k in parent], n=1, cutoff=0.8)
                if close:
                    prefix = key[: -len(leaf)]
                    raise ConfigError(
                        f'--cfg-options {key}={value!r}: the config has no key {key!r}; did you '
                        f'mean {prefix}{close[0]}? (its value is {parent[close[0]]!r})'
                    )
            continue
        if leaf == 'type' or _compatible(old, value):
            continue
        raise ConfigError(
            f'--cfg-options {key}={value!r}: expected {_kind(old)} (the config has '
            f'{key}={old!r}), got {_kind(value)}. Write e.g. {key}={old!r}'
            + (' (lists: 1,2,3 or [1,2,3])' if isinstance(old, (list, tuple)) else '')
            + '.'
        )


def find_component_class(type_name: str):
    """The class registered as ``type_name`` in any videoar registry, or None."""
    for candidate in vars(registries).values():
        if not isinstance(candidate, registries.Registry):
            continue
        try:
            found = candidate.get(type_name)
        except Exception:  # noqa: BLE001  (an unknown name in this registry: try the next one)
            found = None
        if found is not None:
            return found
    return None


def accepted_arguments(cls) -> set[str] | None:
    """The keyword arguments ``cls`` takes (None: it takes any, through ``**kwargs``)."""
    target = cls.__init__ if inspect.isclass(cls) else cls
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.name != 'self'}


def swap_types(root, options: Mapping) -> dict[str, dict]:
    """Component replacements for the ``...type=NEW`` options that change a component's type.

    Returns ``{dotted key of the component: its new dict}``: the new type with the old
    arguments it accepts (all of them when its constructor takes ``**kwargs``; none when the
    type is not registered). Dropped arguments are printed in one line.
    """
    swaps = {}
    for key, new_type in options.items():
        if not key.endswith('.type') or not isinstance(new_type, str):
            continue
        component_key = key[: -len('.type')]
        _, component = _lookup(root, component_key)
        if not isinstance(component, Mapping) or component.get('type') == new_type:
            continue
        cls = find_component_class(new_type)
        accepted = accepted_arguments(cls) if cls is not None else set()
        old = {k: v for k, v in component.items() if k not in ('type', '_delete_')}
        kept = {k: v for k, v in old.items() if accepted is None or k in accepted}
        dropped = sorted(set(old) - set(kept))
        if dropped:
            print(
                f'[videoar] {component_key}: {component.get("type")} -> {new_type}; dropped '
                f'the arguments {new_type} does not take: {dropped}',
                flush=True,
            )
        swaps[component_key] = dict(kept, type=new_type)
    return swaps


def _component_problem(registry, entry: Mapping, where: str) -> str | None:
    """What is wrong with one ``dict(type=..., ...)`` entry of ``registry``, or None."""
    type_name = entry.get('type')
    if not isinstance(type_name, str):
        return None
    try:
        cls = registry.get(type_name)
    except Exception:  # noqa: BLE001  (e.g. 'mmengine.X' with a scope prefix: left to the Runner)
        return None
    if cls is None:
        names = sorted(registry.module_dict)
        close = difflib.get_close_matches(type_name, names, n=3)
        hint = f'did you mean {close}?' if close else f'registered: {names}'
        return f'{where}.type={type_name!r} is not a registered {registry.name}; {hint}'
    accepted = accepted_arguments(cls)
    if accepted is None:
        return None
    unknown = sorted(set(entry) - accepted - {'type'})
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, sorted(accepted), n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        return (
            f'{where}: {type_name} has no argument {key!r}{hint}; it takes {sorted(accepted)}. '
            f'Remove or rename it in the config (or --cfg-options).'
        )
    signature = inspect.signature(cls.__init__ if inspect.isclass(cls) else cls)
    for name, param in signature.parameters.items():
        required = param.default is inspect.Parameter.empty and param.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)  # fmt: skip
        if name != 'self' and required and name not in entry:
            return (
                f'{where}: {type_name} needs {name!r}; set it in the config or with '
                f'--cfg-options {where}.{name}=...'
            )
    return None


#: dataset arguments that name input data on disk (checked to exist before anything is built)
DATASET_INPUT_PATHS = ('data_root', 'root', 'ann_file', 'shards')


def _argument_value(cls, entry: Mapping, name: str):
    """``entry[name]``, else the default of ``cls``'s argument ``name`` (None if it has none)."""
    if name in entry:
        return entry[name]
    try:
        param = inspect.signature(cls.__init__ if inspect.isclass(cls) else cls).parameters.get(
            name
        )
    except (TypeError, ValueError):
        return None
    return None if param is None or param.default is inspect.Parameter.empty else param.default


def _input_path_problem(registry, entry: Mapping, where: str) -> str | None:
    """A missing input path (``data_root``, ``root``, ``ann_file``, ``shards``) of a dataset
    entry, given in the config or by the class's default; None when all exist. A brace or glob
    pattern is checked by its folder."""
    type_name = entry.get('type')
    try:
        cls = registry.get(type_name) if isinstance(type_name, str) else None
    except Exception:  # noqa: BLE001  (a scoped name: left to the Runner)
        cls = None
    if cls is None:
        return None
    for key in DATASET_INPUT_PATHS:
        value = _argument_value(cls, entry, key)
        paths = [value] if isinstance(value, str) else value
        if not isinstance(paths, (list, tuple)):
            continue
        for path in paths:
            if not isinstance(path, str) or not path:
                continue
            checked = osp.dirname(path) if any(c in path for c in '{*?[') else path
            if checked and not osp.exists(osp.expanduser(checked)):
                relative = '' if osp.isabs(path) else f' (relative to {os.getcwd()})'
                return (
                    f'{where}.{key}={path!r}: {osp.abspath(osp.expanduser(checked))} does not '
                    f'exist{relative}. Put the data there, or give its path with --cfg-options '
                    f'{where}.{key}=PATH.'
                )
    return None


def _dataset_entries(node, where: str):
    """``(where, dataset dict)`` of a dataset config and the datasets it wraps."""
    if not isinstance(node, Mapping):
        return
    yield where, node
    inner = node.get('dataset')
    if isinstance(inner, Mapping):
        yield from _dataset_entries(inner, f'{where}.dataset')
    for n, item in enumerate(node.get('datasets') or []):
        yield from _dataset_entries(item, f'{where}.datasets.{n}')


def preflight_components(cfg) -> None:
    """Check the dataloaders' datasets and ``custom_hooks`` without building them: a registered
    type, known argument names, the arguments without a default and the datasets' input paths
    (:data:`DATASET_INPUT_PATHS`, from the config or the class's default). Raises one
    :class:`ConfigError` naming the key and the fix."""
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if isinstance(loader, Mapping) and isinstance(loader.get('dataset'), Mapping):
            for where, entry in _dataset_entries(loader['dataset'], f'{split}.dataset'):
                problem = _component_problem(
                    registries.DATASETS, entry, where
                ) or _input_path_problem(registries.DATASETS, entry, where)
                if problem:
                    raise ConfigError(problem)
    for n, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, Mapping):
            problem = _component_problem(registries.HOOKS, hook, f'custom_hooks.{n}')
            if problem:
                raise ConfigError(problem)


__all__ = [
    'DATASET_INPUT_PATHS',
    'accepted_arguments',
    'check_option_types',
    'find_component_class',
    'preflight_components',
    'swap_types',
]
