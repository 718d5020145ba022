"""One training run per work dir: a lock file ``<work_dir>/.videoar.lock``.

The file holds the holder's pid, host, start time (and the SLURM job id). A second run on the
same work dir stops at once with :class:`WorkDirLockedError` naming the holder. A lock left by a
process that died without releasing it (SIGKILL, power loss) is *stale* and is reclaimed with a
message when that can be decided: same host and the pid is gone (or now belongs to a process
started later), or the same SLURM job id (a requeued job: its previous incarnation has ended).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import os.path as osp
import socket
import sys

LOCK_FILE = '.videoar.lock'


class WorkDirLockedError(RuntimeError):
    """Another run holds the work dir's lock."""


def _process_start_ticks(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), or None."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return int(f.read().rsplit(')', 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _describe(holder: dict) -> str:
    return (
        f'pid {holder.get("pid")} on host {holder.get("host")!r}, started '
        f'{holder.get("started", "?")}'
        + (f', SLURM job {holder["slurm_job_id"]}' if holder.get('slurm_job_id') else '')
    )


def stale_reason(holder: dict) -> str | None:
    """Why the lock ``holder`` is stale, or None when it may be alive."""
    job = os.environ.get('SLURM_JOB_ID')
    if job and holder.get('slurm_job_id') == job and holder.get('pid') != os.getpid():
        return f'SLURM job {job} was requeued; its previous run has ended'
    if holder.get('host') != socket.gethostname():
        return None
    pid = holder.get('pid')
    if not isinstance(pid, int) or not _pid_alive(pid):
        return f'process {pid} no longer exists'
    ticks = _process_start_ticks(pid)
    if (
        holder.get('start_ticks') is not None
        and ticks is not None
        and ticks != holder['start_ticks']
    ):
        return f'pid {pid} now belongs to another process'
    return None


class WorkDirLock:
    """Context manager holding ``<work_dir>/.videoar.lock`` for the duration of a run.

    ``enabled=False`` (ranks other than 0) makes it a no-op. Released on exit, also after an
    exception; only a lock this process holds is removed.
    """

    def __init__(self, work_dir: str, enabled: bool = True) -> None:
        self.path = osp.join(osp.abspath(work_dir), LOCK_FILE)
        self.enabled = enabled
        self.held = False

    def _record(self) -> dict:
        return dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
            start_ticks=_process_start_ticks(os.getpid()),
            slurm_job_id=os.environ.get('SLURM_JOB_ID'),
            argv=sys.argv,
        )

    def _read(self) -> dict:
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        if not self.enabled or self.held:
            return
        os.makedirs(osp.dirname(self.path), exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._read()
                if not holder:  # being written this very moment, or garbage: retry once more
                    holder = self._read() or dict(pid=None, host='?')
                reason = stale_reason(holder)
                if reason is None:
                    raise WorkDirLockedError(
                        f'work dir {osp.dirname(self.path)} is in use by another training run '
                        f'({_describe(holder)}). Wait for it to finish, use another --work-dir, '
                        f'or, if that run is dead (e.g. on another host), delete {self.path}.'
                    ) from None
                print(
                    f'[videoar] reclaiming the stale lock {self.path} of {_describe(holder)}: '
                    f'{reason}.',
                    file=sys.stderr,
                    flush=True,
                )
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path)
                continue
            with os.fdopen(fd, 'w') as f:
                json.dump(self._record(), f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return
        raise WorkDirLockedError(
            f'could not take the lock {self.path}; another run keeps taking it.'
        )

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if self._read().get('pid') == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)

    def __enter__(self) -> WorkDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


__all__ = ['LOCK_FILE', 'WorkDirLock', 'WorkDirLockedError', 'stale_reason']
