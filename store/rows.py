"""Many rows at a time: a batch of rows written in one statement, and a column compared with
many values, each in the form its database runs best.

PostgreSQL takes a batch by COPY, where executemany sends a statement a row (pipelined, but
each one still bound, sent and planned); COPY fires the same triggers and checks as INSERT. It
compares a column with `= ANY(array)`, the array sent as one text parameter: the statement's
text, SQLAlchemy's compiled form and the server's prepared plan stay the same from batch to
batch, where `IN (...)` makes a new statement for each length, and the driver dumps one string
instead of checking every element. SQLite, in process, gets executemany and `IN`.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Column, Connection, String, Table, any_, bindparam, cast, insert
from sqlalchemy.exc import DBAPIError

Row = dict[str, Any]


def insert_rows(connection: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`, in their order."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
    except driver_error as error:  # as SQLAlchemy raises it for its own statements: IntegrityError, ...
        raise DBAPIError.instance(statement, None, error, driver_error) from error


def one_of(connection: Connection, column: Column, ids: Sequence[int]):
    """The condition that the integer `column` is one of `ids`."""
    if connection.dialect.name == "postgresql":
        array = "{" + ",".join(str(int(i)) for i in ids) + "}"
        return column == any_(cast(bindparam(None, array, type_=String), ARRAY(column.type)))
    return column.in_(ids)
