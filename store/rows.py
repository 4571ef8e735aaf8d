"""Many rows at a time: a batch of rows written in one statement, and a column compared with
many values, each in the form its database runs best.

PostgreSQL takes a batch by COPY, where executemany sends a statement a row (pipelined, but
each one still bound, sent and planned); COPY fires the same triggers and checks as INSERT. It
compares a column with `= ANY(array)`, the array one parameter: the statement's text and
SQLAlchemy's compiled form stay the same from batch to batch, where `IN (...)` makes a new
statement for each length, which the driver converts anew, placeholder by placeholder. The
array goes typed, so the server holds it as a constant (a text literal cast to an array would be
parsed again for every row it filters). SQLite takes a batch as one JSON array inserted in one
statement, and compares with `IN`.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ARRAY, Column, Connection, String, Table, any_, bindparam
from sqlalchemy.exc import DBAPIError

Row = dict[str, Any]


def insert_rows(connection: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`, in their order."""
    if not rows:
        return
    names = list(rows[0])
    if connection.dialect.name != "postgresql":
        _insert_from_json(connection, table, names, rows)
        return
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
    except driver_error as error:  # as SQLAlchemy raises it for its own statements: IntegrityError, ...
        raise DBAPIError.instance(statement, None, error, driver_error) from error


def _insert_from_json(connection: Connection, table: Table, names: list[str], rows: Sequence[Row]) -> None:
    """One INSERT of all `rows`, sent as one JSON array that SQLite reads with `json_each`: the
    driver binds one parameter instead of each value of each row, which cost more than the
    insert itself. Values are converted by their columns' types, as SQLAlchemy would."""
    by_column = []
    for name in names:
        values = [row[name] for row in rows]
        to_sql = _converter(table.c[name], connection.dialect)
        by_column.append(values if to_sql is None else list(map(to_sql, values)))
    columns = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {columns} FROM json_each(?)"
    connection.exec_driver_sql(statement, (json.dumps(list(zip(*by_column, strict=True)), ensure_ascii=False),))


def _converter(column: Column, dialect) -> Callable[[Any], Any] | None:
    """The column type's conversion of a value for `dialect`, done once per distinct value: a
    batch's rows share their few dates and their one time of recording."""
    to_sql = column.type.dialect_impl(dialect).bind_processor(dialect)
    if to_sql is None:
        return None
    converted: dict[Any, Any] = {None: None}

    def convert(value: Any) -> Any:
        if value not in converted:
            converted[value] = to_sql(value)
        return converted[value]

    return convert


def one_of(connection: Connection, column: Column, values: Sequence[int] | Sequence[str]):
    """The condition that `column` (of integers or of text) is one of `values`."""
    if connection.dialect.name != "postgresql":
        return column.in_(values)
    element = String() if isinstance(column.type, String) else column.type
    return column == any_(bindparam(None, list(values), type_=ARRAY(element)))
