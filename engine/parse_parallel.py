"""Parsing many files on several cores: the files a load must parse are shared out between this process and
forked workers, each worker sends its results back as parse cache entries, and the results are put back in
file order.

Parsing is pure Python and single-threaded, so on a machine with more than one core a large project checks
faster when its files are parsed in parallel. A worker is a fork of this process (it has the parser tables
already built, nothing is started or imported again); it writes each result as the bytes of a parse cache
entry into a temporary file, which this process reads once the worker has exited. Reading an entry back costs
about a tenth of parsing its text (see :mod:`kpl.engine.parse_cache`).

The result never depends on how the work was shared: any file a worker did not deliver (it crashed, an entry
would not encode or decode) is parsed here, and a load that is too small to gain from a worker, a platform
without ``fork`` or a process running other threads (forking those is unsafe) parses everything here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import struct
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import BinaryIO

from kpl.dsl.parser import ParseResult, parse_source
from kpl.dsl.source import Source
from kpl.engine.parse_cache import ParseCache, cache_key, decode, encode

__all__ = ["MIN_PARALLEL_CHARS", "available_cores", "parse_all"]

MIN_PARALLEL_CHARS = 64 * 1024
"""Below this many characters to parse, a worker costs more than it saves (a fork and a reply to read)."""

_FRAME = struct.Struct("<IQ")  # file index, entry length


def available_cores() -> int:
    """The cores this process may run on, less the ones other work keeps busy (the load average of the
    last minute, as ``make -l`` reads it); at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    with contextlib.suppress(AttributeError, OSError):
        cores -= int(os.getloadavg()[0])
    return max(1, cores)


def parse_all(sources: Sequence[Source], cache: ParseCache | None = None, jobs: int | None = None) -> list[ParseResult]:
    """``parse_cached`` of every source, in order: answered from ``cache`` where it can be, the rest parsed on
    up to ``jobs`` cores (default: the idle ones, see :func:`available_cores`; 1: this process only)."""
    results: list[ParseResult | None] = [None] * len(sources)
    keys = [cache_key(source.text) if cache is not None else "" for source in sources]
    missing: list[int] = []
    for index, source in enumerate(sources):
        found = cache.load(source) if cache is not None else None
        if found is None:
            missing.append(index)
        results[index] = found
    groups = _share_out([len(sources[i].text) for i in missing], jobs or available_cores())
    delivered = _parse_with_workers([[missing[i] for i in group] for group in groups], sources, keys, cache)
    for index, result in delivered.items():
        results[index] = result
    for index in missing:
        if results[index] is None:
            results[index] = _parse_and_store(sources[index], keys[index], cache)
    return [result for result in results if result is not None]


def _share_out(sizes: Sequence[int], jobs: int) -> list[list[int]]:
    """Positions in ``sizes`` grouped for ``jobs`` processes of about equal work (largest first to the least
    loaded; ties to the lowest group), each group in file order; one group when parallel work cannot pay."""
    total = sum(sizes)
    count = max(1, min(jobs, len(sizes), total // MIN_PARALLEL_CHARS))
    if count == 1 or not _can_fork():
        return [list(range(len(sizes)))]
    loads = [0] * count
    groups: list[list[int]] = [[] for _ in range(count)]
    for position in sorted(range(len(sizes)), key=lambda p: (-sizes[p], p)):
        lightest = loads.index(min(loads))
        loads[lightest] += sizes[position]
        groups[lightest].append(position)
    return [sorted(group) for group in groups]


def _can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def _parse_with_workers(groups: list[list[int]], sources: Sequence[Source], keys: list[str],
                        cache: ParseCache | None) -> dict[int, ParseResult]:
    """The first group parsed here, every other one in a forked worker; what the workers delivered."""
    delivered: dict[int, ParseResult] = {}
    workers: list[tuple[int, BinaryIO]] = []
    try:
        for group in groups[1:]:
            started = _start_worker(functools.partial(_work, group, sources, keys))
            if started is not None:
                workers.append(started)
        for index in groups[0]:
            delivered[index] = _parse_and_store(sources[index], keys[index], cache)
        for pid, reply in workers:
            if _finished_cleanly(pid):
                delivered.update(_read_reply(reply, sources, keys, cache))
    finally:
        for _, reply in workers:
            reply.close()
    return delivered


def _start_worker(job: Callable[[BinaryIO], None]) -> tuple[int, BinaryIO] | None:
    """Fork a worker running ``job`` into a temporary file; None (and no worker) when forking fails."""
    reply: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
    try:
        pid = os.fork()
    except OSError:
        reply.close()
        return None
    if pid == 0:  # the worker: never returns into the caller's code
        code = 1
        try:
            job(reply)
            reply.flush()
            code = 0
        finally:
            os._exit(code)
    return pid, reply


def _work(group: list[int], sources: Sequence[Source], keys: list[str], out: BinaryIO) -> None:
    """A worker's job: each file of ``group`` parsed and written to ``out`` as (index, length, entry)."""
    for index in group:
        source = sources[index]
        try:
            data = encode(parse_source(source), keys[index])
        except Exception:  # the parent parses this file again and reports what is wrong with it
            continue
        out.write(_FRAME.pack(index, len(data)))
        out.write(data)


def _finished_cleanly(pid: int) -> bool:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return False
    return os.waitstatus_to_exitcode(status) == 0


def _read_reply(reply: BinaryIO, sources: Sequence[Source], keys: list[str],
                cache: ParseCache | None) -> dict[int, ParseResult]:
    reply.seek(0)
    data = reply.read()
    found: dict[int, ParseResult] = {}
    offset = 0
    while offset + _FRAME.size <= len(data):
        index, length = _FRAME.unpack_from(data, offset)
        offset += _FRAME.size
        entry = data[offset:offset + length]
        offset += length
        if index >= len(sources) or len(entry) != length:
            break
        result = decode(entry, keys[index], sources[index])
        if result is not None:
            found[index] = result
            if cache is not None:
                cache.write(keys[index], entry)
    return found


def _parse_and_store(source: Source, key: str, cache: ParseCache | None) -> ParseResult:
    result = parse_source(source)
    if cache is not None:
        cache.store(result, key)
    return result
