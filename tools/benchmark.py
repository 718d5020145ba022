"""Speed and memory measurements of videoar (the numbers quoted in notes and the README).

    python tools/benchmark.py                # the one performance table (= --only summary)
    python tools/benchmark.py --all          # every benchmark, one block each
    python tools/benchmark.py --var-repo /path/to/VAR   # ours beside the official VAR code
    python tools/benchmark.py --only moving_digits i3d --quick --threads 2 --out bench.json

Each module of ``tools/benchmarks/`` (one per area: data, tokenizer, sequence, model,
generation, evaluation, kernels, resume) exposes ``BENCHMARKS = {'name': fn}``, where
``fn(quick: bool) -> dict`` returns measured numbers. Timings use ``benchmarks.timing.time_call``
(warm-up, then min and median); the thread count is fixed so numbers are comparable.
"""

import argparse
import importlib
import json
import os.path as osp
import platform
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the repository
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/, for the benchmarks package

from benchmarks.summary import table as summary_table  # noqa: E402
from benchmarks.var_compare import compare as var_compare  # noqa: E402

MODULES = [
    'benchmarks.data',
    'benchmarks.tokenizer',
    'benchmarks.sequence',
    'benchmarks.model',
    'benchmarks.generation',
    'benchmarks.evaluation',
    'benchmarks.kernels',
    'benchmarks.resume',
    'benchmarks.stages',
    'benchmarks.rolling',
    'benchmarks.summary',
]


def collect() -> dict:
    found = {}
    for module_name in MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        for name, fn in getattr(module, 'BENCHMARKS', {}).items():
            found[name] = fn
    return found


def readable(name: str, numbers: dict) -> str:
    """One benchmark's numbers as aligned ``key  value`` lines, 4 significant digits."""
    lines = [f'{name}:']
    for key, value in numbers.items():
        shown = f'{value:.4g}' if isinstance(value, float) else str(value)
        lines.append(f'  {key:<36} {shown}')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='+', help='names of the benchmarks to run')
    parser.add_argument('--quick', action='store_true', help='fewer repetitions, smaller inputs')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    parser.add_argument('--out', help='also write the results to this json file')
    parser.add_argument('--all', action='store_true', help='run every benchmark')
    parser.add_argument(
        '--var-repo',
        help='a local checkout of the official VAR code: time ours beside it at matched size '
        '(tools/benchmarks/var_compare.py; VAR is imported from there at run time only)',
    )
    parser.add_argument('--list', action='store_true', help='list the benchmarks and exit')
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    available = collect()
    if args.list:
        print('\n'.join(sorted(available)))
        return {}
    if args.var_repo:
        available['var_compare'] = lambda quick: var_compare(args.var_repo, quick)
    default = ['var_compare'] if args.var_repo else ['summary']
    names = args.only or (sorted(available) if args.all else default)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f'unknown benchmark(s) {unknown}; available: {sorted(available)}')
    results = {
        '_machine': dict(
            python=platform.python_version(),
            torch=torch.__version__,
            threads=args.threads,
            cpu=platform.processor() or platform.machine(),
        )
    }
    for name in names:
        start = time.perf_counter()
        results[name] = available[name](args.quick)
        results[name]['_wall_s'] = round(time.perf_counter() - start, 2)
        if name == 'summary':
            print(summary_table(results[name]), flush=True)
        else:
            print(readable(name, results[name]), flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
        print(f'[videoar] results written to {osp.abspath(args.out)}')
    return results


if __name__ == '__main__':
    main()
