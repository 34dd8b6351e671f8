"""Property: Query's sort-key ranges, order and paging agree with a plain Python model of
DynamoDB's ordering (numbers by value, strings by UTF-8 bytes, binary by bytes)."""
from __future__ import annotations

import base64
import decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eddydb.config import Settings
from eddydb.engine import reads
from eddydb.engine.catalog import KeySchema, TableMeta
from eddydb.engine.database import Engine
from eddydb.engine.items import PutOp, execute
from eddydb.model.values import normalize_number
from eddydb.storage import open_store

_numbers = st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False,
                       places=3).map(lambda d: normalize_number(str(d)))
_strings = st.text(min_size=1, max_size=6)
_binaries = st.binary(min_size=1, max_size=6).map(lambda b: base64.b64encode(b).decode())


def _order(typ: str, v: str):
    if typ == "N":
        return decimal.Decimal(v)
    if typ == "S":
        return v.encode("utf-8", "surrogatepass")
    return base64.b64decode(v)


@pytest.fixture(scope="module")
def engine():
    s = Settings(data=None)
    store = open_store(s)
    eng = Engine(store, s)
    yield eng
    eng.close()
    store.close()


_counter = [0]


def _table(eng: Engine, typ: str) -> TableMeta:
    _counter[0] += 1
    name = f"m{_counter[0]}"

    def fn(txn):
        eng.save_table(txn, TableMeta(name=name, table_id=txn.next_id("table"), key=KeySchema("pk", "S", "sk", typ),
                                      attribute_definitions=[], arn="arn", created=0.0))
    eng.writer.run(fn)
    return eng.table(name)


def _matches(op: str, x, args) -> bool:
    if op == "=":
        return x == args[0]
    if op == "<":
        return x < args[0]
    if op == "<=":
        return x <= args[0]
    if op == ">":
        return x > args[0]
    if op == ">=":
        return x >= args[0]
    if op == "BETWEEN":
        return args[0] <= x <= args[1]
    return x.startswith(args[0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), typ=st.sampled_from(["N", "S", "B"]),
       op=st.sampled_from(["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"]),
       forward=st.booleans(), limit=st.integers(1, 7))
def test_query_ranges_order_and_paging_match_the_model(engine, data, typ, op, forward, limit):
    if op == "begins_with" and typ == "N":
        op = "BETWEEN"
    values = {"N": _numbers, "S": _strings, "B": _binaries}[typ]
    keys = data.draw(st.lists(values, min_size=0, max_size=25, unique_by=lambda v: _order(typ, v)))
    nargs = 2 if op == "BETWEEN" else 1
    args = data.draw(st.lists(values, min_size=nargs, max_size=nargs))
    if op == "BETWEEN":
        args.sort(key=lambda v: _order(typ, v))
    if op == "begins_with":
        args = [args[0][:2]] if typ == "S" else args
    t = _table(engine, typ)
    for k in keys:
        item = {"pk": {"S": "p"}, "sk": {typ: k}}
        engine.writer.run(lambda txn, item=item: execute(txn, PutOp(t, item)))

    model_args = [_order(typ, a) for a in args]
    expected = sorted((k for k in keys if _matches(op, _order(typ, k), model_args)),
                      key=lambda v: _order(typ, v), reverse=not forward)
    got, start = [], None
    r = engine.read()
    for _ in range(100):
        page = reads.query(r, t, None, {"S": "p"}, op, [{typ: a} for a in args], forward=forward, limit=limit,
                           start_key=start)
        got += [i["sk"][typ] for i in page.items]
        start = page.last_key
        if start is None:
            break
    assert [_order(typ, v) for v in got] == [_order(typ, v) for v in expected]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), forward=st.booleans(), limit=st.integers(1, 5), with_range=st.booleans())
def test_index_paging_visits_every_entry_once_in_order(engine, data, forward, limit, with_range):
    """Many items share one index key: the table key orders them and makes LastEvaluatedKey resumable."""
    from eddydb.engine.catalog import IndexMeta

    _counter[0] += 1
    name = f"g{_counter[0]}"

    def fn(txn):
        meta = TableMeta(name=name, table_id=txn.next_id("table"), key=KeySchema("pk", "S", "sk", "N"),
                         attribute_definitions=[], arn="arn", created=0.0)
        meta.indexes["g"] = IndexMeta("g", "GSI", txn.next_id("index"),
                                      KeySchema("g", "S", "r", "N") if with_range else KeySchema("g", "S"))
        engine.save_table(txn, meta)
    engine.writer.run(fn)
    t = engine.table(name)
    index = t.indexes["g"]
    rows = data.draw(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3), st.integers(0, 2)),
                              min_size=0, max_size=20, unique_by=lambda x: (x[0], x[1])))
    for pk, sk, r in rows:
        item = {"pk": {"S": pk}, "sk": {"N": str(sk)}, "g": {"S": "G"}, "r": {"N": str(r)}}
        engine.writer.run(lambda txn, item=item: execute(txn, PutOp(t, item)))
    expected = sorted(rows, key=lambda x: ((x[2],) if with_range else ()) + (x[0].encode(), x[1]),
                      reverse=not forward)
    got, start = [], None
    reader = engine.read()
    for _ in range(100):
        page = reads.query(reader, t, index, {"S": "G"}, forward=forward, limit=limit, start_key=start)
        got += [(i["pk"]["S"], int(i["sk"]["N"]), int(i["r"]["N"])) for i in page.items]
        start = page.last_key
        if start is None:
            break
    assert got == expected
