"""Hot queries compiled once: the ORM builds and compiles them the first time, with
placeholder ids, and every later call runs the same SQL with its own ids.

Building and compiling a queryset with a few annotated subqueries costs about
2 to 3 ms of Python; running it costs a fraction of a millisecond. The handshake of
every room socket runs one such query (``selectors.room_get_for_user``), so a
thousand sockets reconnecting after a restart would spend seconds compiling the
same SQL. ``CompiledQuery`` keeps what the compiler produced: the SQL, where
each id goes among its parameters, which columns make the model, its
annotations and its ``select_related`` relations, and the database converters
of each column; it builds the same model instances as the queryset would.

Only for querysets whose parameters are these ids (or, named in ``strings``,
text values such as a token's key) and constants: the first compile checks that
every placeholder reaches the parameters (never the SQL text), and the tests
compare the results with the ORM's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet, sql

M = TypeVar("M", bound=Model)

PLACEHOLDER_BASE = -2_000_000_000  # ids no row has, each seen only where it was put
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1  # what an id column holds


@dataclass(frozen=True)
class _Part:
    """One model of a row: its columns, and where it hangs on the main object."""

    model: type[Model]
    field_names: list[str]
    columns: list[int]
    field: Any  # the relation that reaches it (None for the main model)


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: list[Any]
    slots: list[tuple[int, str]]  # (parameter index, id name)
    main: _Part
    related: list[_Part]
    annotations: list[tuple[str, int]]
    converters: list[tuple[int, list[Any], Any]]  # (column, converters, expression)


def _placeholders(names: tuple[str, ...], strings: frozenset[str]) -> dict[str, int | str]:
    return {
        name: f"compiled-placeholder-{n}" if name in strings else PLACEHOLDER_BASE - n
        for n, name in enumerate(names)
    }


def _slots(placeholders: dict[str, int | str], sql: str, params: Any) -> list[tuple[int, str]]:
    """Where each placeholder went among ``params``; ValueError if one is missing
    there or written into the SQL. Ids may come back as int subclasses the backend
    casts with (psycopg's Int4 in arithmetic)."""
    slots = [
        (index, name)
        for index, value in enumerate(params)
        for name, placeholder in placeholders.items()
        if value == placeholder
        and (type(value) is str if isinstance(placeholder, str) else isinstance(value, int))
        and not isinstance(value, bool)
    ]
    missing = set(placeholders) - {name for _, name in slots}
    inlined = [str(value) for value in placeholders.values() if str(value) in sql]
    if missing or inlined:
        raise ValueError(f"ids not passed as parameters: {sorted(missing) or inlined}")
    return slots


def _filled(params: list[Any], slots: list[tuple[int, str]], values: dict[str, Any]) -> list[Any]:
    """``params`` with each slot's value, in the type the compiler gave it."""
    filled = list(params)
    for index, name in slots:
        filled[index] = type(params[index])(values[name])
    return filled


class _PlanCache:
    """Plans built once per key (the database vendor, ...), under a lock."""

    def __init__(self) -> None:
        self._plans: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def _cached(self, key: Any, compile_: Callable[[], Any]) -> Any:
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key) or compile_()
                self._plans[key] = plan
        return plan


class CompiledQuery(_PlanCache, Generic[M]):
    """``build(**ids)`` returns the queryset for those ids; ``first(**ids)`` runs it
    compiled once (on the database alias ``using``) and returns its first object.
    The values of the names in ``strings`` are text, the others ids."""

    def __init__(
        self,
        build: Callable[..., QuerySet[M]],
        names: tuple[str, ...],
        using: str = "default",
        *,
        strings: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.build = build
        self.names = names
        self.strings = frozenset(strings)
        self.using = using

    def _plan(self, *, paged: bool = False) -> _Plan:
        """Per database vendor and kind (one row, or rows by LIMIT/OFFSET)."""
        plan: _Plan = self._cached(
            (connections[self.using].vendor, paged), lambda: self._compile(paged)
        )
        return plan

    def _compile(self, paged: bool) -> _Plan:
        placeholders = _placeholders(self.names, self.strings)
        queryset = self.build(**placeholders).using(self.using)
        if not paged:
            queryset = queryset[:1]
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql(with_limits=not paged)
        if paged:
            if not queryset.ordered:
                raise ValueError("rows by LIMIT/OFFSET need an ordered queryset")
            sql += " LIMIT %s OFFSET %s"  # both PostgreSQL and SQLite read it so
        slots = _slots(placeholders, sql, params)
        klass_info = compiler.klass_info
        assert klass_info is not None
        select = compiler.select

        def part(info: dict[str, Any], field: Any) -> _Part:
            columns = list(info["select_fields"])
            names = [select[column][0].target.attname for column in columns]
            return _Part(info["model"], names, columns, field)

        nested = klass_info.get("related_klass_infos", [])
        related = [part(info, info["field"]) for info in nested]
        if any(info.get("related_klass_infos") for info in nested):
            raise ValueError("only one level of select_related")
        converters = [
            (column, functions, expression)
            for column, (functions, expression) in compiler.get_converters(
                [item[0] for item in select]
            ).items()
        ]
        return _Plan(
            sql=sql,
            params=list(params),
            slots=slots,
            main=part(klass_info, None),
            related=related,
            annotations=list(compiler.annotation_col_map.items()),
            converters=converters,
        )

    def _params(self, plan: _Plan, ids: dict[str, int | str]) -> list[Any] | None:
        """The plan's parameters with these values, or None when no row can match."""
        for name, value in ids.items():
            if name in self.strings:
                if not isinstance(value, str):
                    raise TypeError(f"{name} must be text")
            elif not isinstance(value, int) or not BIGINT_MIN <= value <= BIGINT_MAX:
                return None  # no row has such an id (the ORM answers nothing for it too)
        return _filled(plan.params, plan.slots, ids)

    def first(self, **ids: int | str) -> M | None:
        plan = self._plan()
        params = self._params(plan, ids)
        if params is None:
            return None
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            found = cursor.fetchone()
        return None if found is None else self._object(plan, found, connection)

    def rows(self, limit: int, offset: int = 0, **ids: int | str) -> list[M]:
        """The queryset's rows ``offset`` to ``offset + limit`` (it must be ordered)."""
        plan = self._plan(paged=True)
        params = self._params(plan, ids)
        if params is None or limit <= 0:
            return []
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, [*params, limit, max(offset, 0)])
            found = cursor.fetchall()
        return [self._object(plan, row, connection) for row in found]

    def _object(self, plan: _Plan, found: Any, connection: Any) -> M:
        row = list(found)
        for column, functions, expression in plan.converters:
            value = row[column]
            for function in functions:
                value = function(value, expression, connection)
            row[column] = value
        main = plan.main
        obj: Any = main.model.from_db(
            self.using, main.field_names, [row[column] for column in main.columns]
        )
        for name, column in plan.annotations:
            setattr(obj, name, row[column])
        for part in plan.related:
            values = [row[column] for column in part.columns]
            related = (
                None
                if values[0] is None
                else part.model.from_db(self.using, part.field_names, values)
            )
            part.field.set_cached_value(obj, related)
        return obj


class CompiledRows(Generic[M]):
    """A compiled query's rows for a paginator (``django.core.paginator``): slices
    run the compiled SQL with LIMIT and OFFSET; ``count()`` calls ``count``
    (the same rows counted through the ORM) when the paginator needs the total."""

    def __init__(self, query: CompiledQuery[M], count: Callable[[], int], **ids: int | str) -> None:
        self.query = query
        self._count = count
        self.ids = ids

    def count(self) -> int:
        return self._count()

    def __getitem__(self, index: slice) -> list[M]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("CompiledRows takes slices only")
        start = index.start or 0
        if index.stop is None or start < 0 or index.stop < 0:
            raise ValueError("CompiledRows takes bounded, non-negative slices")
        return self.query.rows(index.stop - start, start, **self.ids)


# --- inserts ------------------------------------------------------------------------------

_INSERTS: dict[tuple[str, type[Model], int], tuple[str, list[Any]]] = {}
INSERT_ROWS_MAX = 128  # more at once: bulk_create (it splits what the database cannot take)


def insert_new(objs: list[M], using: str = "default") -> list[M]:
    """Insert new rows (no primary key yet) of one model in one statement and give
    each its key: what ``bulk_create`` does for them, with the statement built
    once per model and row count.

    Every send inserts its messages and their events; ``bulk_create`` builds,
    compiles and quotes a new insert query each time, most of a write's CPU
    after the queries themselves. The values go through each field's
    ``pre_save`` and ``get_db_prep_save`` as ``bulk_create``'s do. Without
    ``INSERT ... RETURNING`` (old SQLite), or for more than ``INSERT_ROWS_MAX``
    rows, ``bulk_create`` itself."""
    if not objs:
        return objs
    model = type(objs[0])
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert or len(objs) > INSERT_ROWS_MAX:
        return list(model._default_manager.using(using).bulk_create(objs))
    key = (connection.vendor, model, len(objs))
    statement = _INSERTS.get(key)
    if statement is None:
        opts = model._meta
        fields = [
            field for field in opts.concrete_fields if not field.generated and field is not opts.pk
        ]
        quote = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        columns = ", ".join(quote(str(field.column)) for field in fields)
        sql = (
            f"INSERT INTO {quote(opts.db_table)} ({columns}) "
            f"VALUES {', '.join([row] * len(objs))} RETURNING {quote(str(opts.pk.column))}"
        )
        statement = _INSERTS[key] = (sql, fields)
    sql, fields = statement
    params = []
    for obj in objs:
        if obj.pk is not None:
            raise ValueError("insert_new inserts new rows only")
        instance: Any = obj  # Django's own check of related objects, as bulk_create's
        instance._prepare_related_fields_for_save(operation_name="insert_new")
        params += [
            field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
            for field in fields
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    for obj, (pk,) in zip(objs, keys, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
    return objs


class CompiledUpdate(_PlanCache):
    """``run(**ids)`` runs ``build(**ids).update(**changes(**ids))``, its SQL built
    and compiled once: the ORM builds and compiles an update anew on every call.
    The same rules as ``CompiledQuery`` (ids only, checked at the first compile);
    answers the number of rows updated."""

    def __init__(
        self,
        build: Callable[..., QuerySet[Any]],
        changes: Callable[..., dict[str, Any]],
        names: tuple[str, ...],
        using: str = "default",
    ) -> None:
        super().__init__()
        self.build = build
        self.changes = changes
        self.names = names
        self.using = using

    def _compile(self) -> tuple[str, list[Any], list[tuple[int, str]]]:
        placeholders = _placeholders(self.names, frozenset())
        queryset = self.build(**placeholders).using(self.using)
        query: Any = queryset.query.chain(sql.UpdateQuery)
        query.add_update_values(self.changes(**placeholders))
        text, params = query.get_compiler(self.using).as_sql()
        return text, list(params), _slots(placeholders, text, params)

    def run(self, **ids: int) -> int:
        if any(not isinstance(value, int) for value in ids.values()):
            raise TypeError("CompiledUpdate takes ids")
        text, params, slots = self._cached(connections[self.using].vendor, self._compile)
        with connections[self.using].cursor() as cursor:
            cursor.execute(text, _filled(params, slots, ids))
            return int(cursor.rowcount)
