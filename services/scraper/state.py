"""The scraper's crawl state (`seen`, `later`, `feeds`): a store per frontier partition, a
changelog per table, restored in bulk.

Why not faust tables: faust restores a table through its stream machinery, one changelog
event at a time (measured on this project's 2-core machine: 700–2,000 records a second, so a
million seen URLs took over ten minutes before the scraper was ready). Here a restore reads
the changelog with a plain consumer and writes each fetched batch with one RocksDB write
batch; a million URLs come back in well under a minute (bench/bench_seen_state.py).

- One key-value store per frontier partition: RocksDB on disk (`RocksStore`, one block cache
  and one write-buffer budget shared by all partitions, so memory stays bounded however many
  URLs there are) or a dict (`MemoryStore`, for tests and throw-away runs). Both tables live
  in it under key prefixes, next to the changelog offset up to which each table is known.
- The changelog topics are the ones faust used (`<app id>-seen-changelog`,
  `<app id>-later-changelog`, `<app id>-feeds-changelog`, compacted, partitioned like the
  frontier), with the same JSON keys and values, so a changelog written by an earlier version
  restores as it is.
- The frontier partition being handled is a context variable (`CrawlState.handling`); the host
  scheduler copies it into every request of a task, so each write goes to the store and the
  changelog partition of the task that made it, also when it runs much later.
- Writes go to the local store at once and to an outbox; `flush()` returns when every record
  written before the call is confirmed by the broker. The wiring awaits it before it
  acknowledges a frontier task, so a committed task's state is on Kafka.
- After a restore and after every confirmed write the known changelog offset is kept in the
  store, so a restart on the same disk reads only what it has not seen.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from services.common.logs import get_logger

log = get_logger(__name__)

TABLES = ("seen", "later", "feeds")
_OFFSET_PREFIX = b"\x00offset\x00"

Record = tuple[int, bytes, bytes | None]
"""A changelog record: (offset, key, value or None for a tombstone)."""

TablePartition = tuple[str, int]


class ChangelogReader(Protocol):
    """Reads the tables' changelog topics (Kafka in production: services/scraper/changelog.py)."""

    async def end_offsets(self, partitions: list[TablePartition]) -> dict[TablePartition, int]:
        """The offset after the last record of each (table, partition)."""

    def read(self, starts: dict[TablePartition, int], ends: dict[TablePartition, int]) -> AsyncIterator[tuple[str, int, list[Record]]]:
        """(table, partition, records in offset order) from each start up to (not including) its end."""

Deliver = Callable[[str, int, bytes, bytes | None], Awaitable[int | None]]
"""deliver(table, partition, key, value) → the record's offset once the broker confirmed it."""

_handling: contextvars.ContextVar[int | None] = contextvars.ContextVar("newsflow_state_partition", default=None)


class KeyValueStore(Protocol):
    """Bytes to bytes; one per frontier partition."""

    def get(self, key: bytes) -> bytes | None: ...

    def write(self, changes: list[tuple[bytes, bytes | None]], *, bulk: bool = False) -> None:
        """Apply puts (value) and deletes (None) atomically; `bulk` for restores (may skip the WAL)."""

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...

    def settle(self) -> None:
        """Make bulk writes durable (RocksDB: flush the memtables written without a WAL)."""

    def close(self) -> None: ...


class MemoryStore:
    """A dict: the state is rebuilt from the changelog after every start."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def write(self, changes: list[tuple[bytes, bytes | None]], *, bulk: bool = False) -> None:
        for key, value in changes:
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return iter([(k, v) for k, v in self.data.items() if k.startswith(prefix)])

    def settle(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class RocksResources:
    """What every partition's RocksDB shares: one block cache, one memtable budget.

    RocksDB's memory is then about `cache_bytes` + `write_buffer_bytes` (+ index and bloom
    filter blocks, ~1.5 MB per million keys), whatever the number of partitions or URLs.
    """

    cache_bytes: int = 32 * 1024 * 1024
    write_buffer_bytes: int = 32 * 1024 * 1024
    _cache: Any = field(default=None, init=False, repr=False)
    _buffers: Any = field(default=None, init=False, repr=False)

    def options(self) -> Any:
        import rocksdict

        if self._cache is None:
            self._cache = rocksdict.Cache(self.cache_bytes)
            # Memtables are charged to the cache too, so the cache size is the one bound.
            self._buffers = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
                self.write_buffer_bytes, False, self._cache)
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(256)
        options.set_write_buffer_size(min(16 * 1024 * 1024, self.write_buffer_bytes // 2))
        options.set_max_write_buffer_number(2)
        options.set_write_buffer_manager(self._buffers)
        options.set_target_file_size_base(32 * 1024 * 1024)
        options.set_max_background_jobs(2)
        options.set_compression_type(rocksdict.DBCompressionType.lz4())
        table = rocksdict.BlockBasedOptions()
        table.set_block_cache(self._cache)
        # Most lookups are for URLs never seen: a bloom filter answers those without a read.
        table.set_bloom_filter(10, False)
        options.set_block_based_table_factory(table)
        return options


class RocksStore:
    """One RocksDB database (a folder) for one partition."""

    def __init__(self, path: Path, resources: RocksResources) -> None:
        import rocksdict

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = rocksdict.Rdict(str(path), options=resources.options())
        self._bulk = rocksdict.WriteOptions()
        self._bulk.disable_wal = True
        self._batch = rocksdict.WriteBatch

    def get(self, key: bytes) -> bytes | None:
        return self.db.get(key)

    def write(self, changes: list[tuple[bytes, bytes | None]], *, bulk: bool = False) -> None:
        batch = self._batch(raw_mode=True)
        for key, value in changes:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        if bulk:
            self.db.write(batch, write_opt=self._bulk)
        else:
            self.db.write(batch)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self.db.items(from_key=prefix):
            if not key.startswith(prefix):
                return
            yield key, value

    def settle(self) -> None:
        self.db.flush(True)

    def close(self) -> None:
        self.db.close()


def _key_prefix(table: str) -> bytes:
    return table.encode() + b"\x00"


def _apply_batch(store: KeyValueStore, table: str, records: list[Record]) -> None:
    """Write changelog records and the offset after them to a store, in one batch."""
    prefix = _key_prefix(table)
    changes: list[tuple[bytes, bytes | None]] = [(prefix + key, value) for _, key, value in records]
    changes.append((_OFFSET_PREFIX + table.encode(), str(records[-1][0] + 1).encode()))
    store.write(changes, bulk=True)


def encode_key(key: str) -> bytes:
    """A table key as faust wrote it to the changelog (a JSON string)."""
    return json.dumps(key).encode()


def encode_value(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class _Partition:
    store: KeyValueStore
    generation: int
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when restored, and when the partition is taken away (waiters then find it gone)."""
    known: dict[str, int] = field(default_factory=dict)
    """Per table: the next changelog offset not yet reflected in the store."""
    contiguous: dict[str, bool] = field(default_factory=dict)
    """Per table: every confirmed write so far followed on from `known` (no foreign records between)."""


class CrawlState:
    """The partitioned state of one scraper process; see the module docstring.

    `open_store(partition)` opens (or creates) the store of a partition; `deliver` publishes a
    changelog record and returns its offset when confirmed (raising when it cannot be).
    """

    def __init__(self, open_store: Callable[[int], KeyValueStore], deliver: Deliver, *, tables: tuple[str, ...] = TABLES) -> None:
        self._open_store = open_store
        self._deliver = deliver
        self.table_names = tables
        self._partitions: dict[int, _Partition] = {}
        self._stores: dict[int, KeyValueStore] = {}
        self._generation = 0
        self._outbox: list[tuple[str, int, bytes, bytes | None]] = []
        self._written = 0
        self._confirmed = 0
        self._progress: asyncio.Condition | None = None
        self._sender: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._restores: set[asyncio.Task[int]] = set()
        self._writer: ThreadPoolExecutor | None = None
        self._failure: Exception | None = None
        self.restored_records = 0

    # ------------------------------------------------------------------ tables

    def table(self, name: str) -> StateTable:
        if name not in self.table_names:
            raise KeyError(name)
        return StateTable(self, name)

    @contextmanager
    def handling(self, partition: int) -> Iterator[None]:
        """Writes in this context (and in tasks started from it) go to `partition`."""
        token = _handling.set(partition)
        try:
            yield
        finally:
            _handling.reset(token)

    @staticmethod
    def current_partition() -> int | None:
        return _handling.get()

    # ------------------------------------------------------------------ assignment

    def store(self, partition: int) -> KeyValueStore | None:
        """The open store of a partition (assigned now or earlier in this process), if any."""
        return self._stores.get(partition)

    @property
    def assigned(self) -> set[int]:
        return set(self._partitions)

    def ready_partitions(self) -> list[int]:
        return sorted(p for p, part in self._partitions.items() if part.ready.is_set())

    @property
    def ready(self) -> bool:
        """Every assigned partition is restored (trivially true with none assigned)."""
        return all(part.ready.is_set() for part in self._partitions.values())

    def assign(self, partitions: set[int]) -> set[int]:
        """The frontier partitions this process owns now; returns the ones it must restore.

        Partitions kept from the previous assignment stay as they are. A store stays open when
        its partition goes to another worker (RocksDB keeps a lock on its folder until every
        handle is gone, and the partition may come back): it is only not read or written, and
        when the partition comes back, the restore reads what the other worker wrote meanwhile.
        """
        for partition in sorted(set(self._partitions) - partitions):
            self._partitions.pop(partition).ready.set()
        new = partitions - set(self._partitions)
        for partition in sorted(new):
            self._generation += 1
            store = self._stores.get(partition)
            if store is None:
                store = self._stores[partition] = self._open_store(partition)
            part = _Partition(store, self._generation)
            for table in self.table_names:
                stored = store.get(_OFFSET_PREFIX + table.encode())
                part.known[table] = int(stored) if stored else 0
                part.contiguous[table] = True
            self._partitions[partition] = part
        return new

    async def wait_ready(self, partition: int) -> bool:
        """Wait until `partition` is restored; False when this process does not own it (any more)."""
        part = self._partitions.get(partition)
        if part is None:
            return False
        await part.ready.wait()
        return self._partitions.get(partition) is part

    def start_restore(self, partitions: set[int], reader: ChangelogReader) -> asyncio.Task[int]:
        """Restore `partitions` in the background (they are not ready until it ends)."""
        task = asyncio.ensure_future(self.restore(partitions, reader))
        self._restores.add(task)
        task.add_done_callback(self._restores.discard)
        return task

    def _current(self, partition: int, generation: int) -> _Partition | None:
        part = self._partitions.get(partition)
        return part if part is not None and part.generation == generation else None

    async def restore(self, partitions: set[int], reader: ChangelogReader) -> int:
        """Read each table's changelog for `partitions` from the known offset to its end into
        the stores, then mark them ready. Returns the number of records applied.

        A store that knows more than the changelog holds (the topic was deleted and created
        again) is emptied and restored from the start. Raises what the reader raises.
        """
        generations = {p: self._partitions[p].generation for p in partitions if p in self._partitions}
        wanted = [(table, p) for p in sorted(generations) for table in self.table_names]
        ends = await reader.end_offsets(wanted)
        starts: dict[TablePartition, int] = {}
        for table, partition in wanted:
            part = self._current(partition, generations[partition])
            if part is None:
                continue
            if part.known[table] > ends[(table, partition)]:
                log.warning("crawl state is ahead of its changelog; restoring it from the start",
                            table=table, partition=partition, known=part.known[table], end=ends[(table, partition)])
                self._wipe(part, table)
            starts[(table, partition)] = part.known[table]
        applied = 0
        async for table, partition, records in reader.read(starts, ends):
            part = self._current(partition, generations[partition])
            if part is None or not records:
                continue  # taken away (or taken away and given back) while this restore ran
            # In the state's writer thread: RocksDB releases the GIL while it writes, so the
            # event loop (heartbeats, /livez, the other partitions' work) keeps running.
            await self._in_writer(_apply_batch, part.store, table, records)
            part.known[table] = records[-1][0] + 1
            applied += len(records)
            self.restored_records += len(records)
        for partition, generation in generations.items():
            part = self._current(partition, generation)
            if part is None:
                continue
            changes = []
            for table in self.table_names:
                # Past the last record: compaction and control records leave gaps before the end.
                part.known[table] = max(part.known[table], ends[(table, partition)])
                changes.append((_OFFSET_PREFIX + table.encode(), str(part.known[table]).encode()))
            await self._in_writer(part.store.write, changes, bulk=True)
            await self._in_writer(part.store.settle)
            part.ready.set()
        return applied

    async def _in_writer(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawl-state")
        return await asyncio.wrap_future(self._writer.submit(functools.partial(function, *args, **kwargs)))

    def _wipe(self, part: _Partition, table: str) -> None:
        """Delete a table's values in one partition's store (before a restore from the start)."""
        keys = [key for key, _ in part.store.scan(_key_prefix(table))]
        for start in range(0, len(keys), 10_000):
            part.store.write([(key, None) for key in keys[start:start + 10_000]], bulk=True)
        part.known[table] = 0

    async def close(self) -> None:
        """Stop restores and the outbox; close the stores (unconfirmed writes are not waited for)."""
        for task in list(self._restores):
            task.cancel()
        if self._sender is not None:
            self._sender.cancel()
        for part in self._partitions.values():
            part.ready.set()
        self._partitions.clear()
        if self._writer is not None:
            # A store must not close under a write still running in the writer thread.
            await asyncio.to_thread(self._writer.shutdown, wait=True)
            self._writer = None
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    # ------------------------------------------------------------------ reads and writes

    def _partition_for_write(self, table: str, key: bytes) -> int:
        partition = _handling.get()
        if partition is not None:
            return partition
        holders = [p for p, part in self._partitions.items() if part.store.get(_key_prefix(table) + key) is not None]
        if len(holders) == 1:
            return holders[0]
        raise RuntimeError(f"{table} state written outside the handling of a frontier partition")

    def get(self, table: str, key: bytes) -> bytes | None:
        partition = _handling.get()
        full = _key_prefix(table) + key
        if partition is not None:
            part = self._partitions.get(partition)
            return part.store.get(full) if part is not None else None
        for part in self._partitions.values():
            value = part.store.get(full)
            if value is not None:
                return value
        return None

    def put(self, table: str, key: bytes, value: bytes | None) -> None:
        """Write (None: delete) in the store of the partition being handled, and to the changelog."""
        partition = self._partition_for_write(table, key)
        part = self._partitions.get(partition)
        if part is not None:
            part.store.write([(_key_prefix(table) + key, value)])
        # Also for a partition revoked meanwhile: its new owner reads the record when it restores.
        self._outbox.append((table, partition, key, value))
        self._written += 1
        self._start_sender()

    def delete_everywhere(self, table: str, key: bytes) -> int:
        """Delete `key` from every assigned partition that holds it (a sweep, outside any event)."""
        removed = 0
        full = _key_prefix(table) + key
        for partition, part in self._partitions.items():
            if part.store.get(full) is not None:
                part.store.write([(full, None)])
                self._outbox.append((table, partition, key, None))
                self._written += 1
                removed += 1
        if removed:
            self._start_sender()
        return removed

    def items(self, table: str) -> Iterator[tuple[int, bytes, bytes]]:
        """(partition, key, value) of a table in the restored partitions."""
        prefix = _key_prefix(table)
        for partition in self.ready_partitions():
            part = self._partitions.get(partition)
            if part is None:
                continue
            for key, value in part.store.scan(prefix):
                yield partition, key[len(prefix):], value

    # ------------------------------------------------------------------ the changelog outbox

    def _start_sender(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
            self._progress = asyncio.Condition()
        self._wake.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_loop())

    async def _send_loop(self) -> None:
        assert self._wake is not None and self._progress is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch, self._outbox = self._outbox, []
                try:
                    # Started in write order; the producer keeps that order within a partition.
                    offsets = await asyncio.gather(*(self._deliver(*record) for record in batch))
                except Exception as exc:  # noqa: BLE001 - `deliver` should stop the service itself; never hang `flush`
                    log.error("crawl state could not be written to its changelog", error=repr(exc))
                    async with self._progress:
                        self._failure = exc
                        self._progress.notify_all()
                    return
                self._note_offsets(batch, offsets)
                async with self._progress:
                    self._confirmed += len(batch)
                    self._progress.notify_all()

    def _note_offsets(self, batch: list[tuple[str, int, bytes, bytes | None]], offsets: list[int | None]) -> None:
        """Advance each partition's known offset over our own confirmed writes, while they follow
        on without a gap (a gap is someone else's record, which only a restore may skip)."""
        confirmed: dict[tuple[str, int], list[int]] = {}
        for (table, partition, _, _), offset in zip(batch, offsets):
            if offset is not None:
                confirmed.setdefault((table, partition), []).append(offset)
        for (table, partition), found in confirmed.items():
            part = self._partitions.get(partition)
            if part is None or not part.ready.is_set() or not part.contiguous[table]:
                continue
            known = part.known[table]
            for offset in sorted(found):
                if offset == known:
                    known += 1
                elif offset > known:
                    part.contiguous[table] = False
                    break
            if known != part.known[table]:
                part.known[table] = known
                part.store.write([(_OFFSET_PREFIX + table.encode(), str(known).encode())])

    async def flush(self) -> None:
        """Return once every write made before this call is confirmed by the broker.

        Raises what `deliver` raised when a write could not be confirmed (nothing is
        confirmed after that: the state of the tasks not yet acknowledged is not on Kafka).
        """
        target = self._written
        if self._confirmed >= target:
            return
        if self._failure is None:
            self._start_sender()
        assert self._progress is not None
        async with self._progress:
            await self._progress.wait_for(lambda: self._confirmed >= target or self._failure is not None)
        if self._confirmed < target and self._failure is not None:
            raise self._failure


class StateTable(MutableMapping[str, Any]):
    """One table of a `CrawlState` as a mapping of str keys to JSON values (what the crawler uses)."""

    def __init__(self, state: CrawlState, name: str) -> None:
        self.state = state
        self.name = name

    def __getitem__(self, key: str) -> Any:
        raw = self.state.get(self.name, encode_key(key))
        if raw is None:
            raise KeyError(key)
        return json.loads(raw)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        raw = self.state.get(self.name, encode_key(key))
        return default if raw is None else json.loads(raw)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.state.get(self.name, encode_key(key)) is not None

    def __setitem__(self, key: str, value: Any) -> None:
        self.state.put(self.name, encode_key(key), encode_value(value))

    def __delitem__(self, key: str) -> None:
        encoded = encode_key(key)
        if self.state.current_partition() is None:
            if not self.state.delete_everywhere(self.name, encoded):
                raise KeyError(key)
            return
        if self.state.get(self.name, encoded) is None:
            raise KeyError(key)
        self.state.put(self.name, encoded, None)

    def __iter__(self) -> Iterator[str]:
        for _, key, _ in self.state.items(self.name):
            yield json.loads(key)

    def __len__(self) -> int:
        return sum(1 for _ in self.state.items(self.name))

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        for _, key, value in self.state.items(self.name):
            try:
                yield json.loads(key), json.loads(value)
            except ValueError:
                continue
