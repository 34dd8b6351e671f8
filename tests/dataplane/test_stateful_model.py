"""Stateful differential test of the data plane: hypothesis drives random sequences of PutItem,
UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, GetItem, Query (table and GSI) and Scan
through boto3, against a small reference model of DynamoDB's documented semantics (a dict of
items keyed by (pk, sk value)). After every step a consistent Scan must equal the model; every
ConditionalCheckFailedException, ValidationException and TransactionCanceledException (with its
reasons, in order) must be exactly the model's. With a stream (NEW_AND_OLD_IMAGES), replaying the
stream's records over an empty dict must reproduce the model.

The subset is deliberately small: table pk S + sk N, one GSI on gsi_pk S (projection ALL);
attribute types are fixed per name (s: S, n: N, ss: SS, l: L of S, m: M of N, gsi_pk: S), so the
only runtime type question is a missing attribute. Numbers compare by value ("1.50" = "1.5",
"1E1" = "10") and must come back normalised.
"""
from __future__ import annotations

import itertools
import json
import os
import time
import urllib.request
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from streams.streamutil import read_stream, stream_arn
from util import client_config, wait_for

Key = tuple[str, Decimal]
Item = dict[str, dict]

TABLE_SPEC: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "N"},
                             {"AttributeName": "gsi_pk", "AttributeType": "S"}],
    "GlobalSecondaryIndexes": [
        {"IndexName": "byg", "KeySchema": [{"AttributeName": "gsi_pk", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "ALL"}},
        # the same key with narrower projections: an index entry must follow changes of what it projects
        {"IndexName": "byg_s", "KeySchema": [{"AttributeName": "gsi_pk", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["s", "m"]}},
        {"IndexName": "byg_keys", "KeySchema": [{"AttributeName": "gsi_pk", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "KEYS_ONLY"}},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

# --- values ---------------------------------------------------------------------------------


def norm(d: Decimal) -> str:
    """DynamoDB's canonical text of a number: no exponent, no trailing zeros."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def N(text: str) -> dict:
    return {"N": norm(Decimal(text))}


def canon(av: dict) -> Any:
    """A hashable, order-free form of an attribute value (numbers by value, sets unordered)."""
    (t, v), = av.items()
    if t == "N":
        return ("N", Decimal(v))
    if t == "SS":
        return ("SS", frozenset(v))
    if t == "L":
        return ("L", tuple(canon(x) for x in v))
    if t == "M":
        return ("M", frozenset((k, canon(x)) for k, x in v.items()))
    return (t, v)


def canon_item(item: Item | None) -> Any:
    return None if item is None else {k: canon(v) for k, v in item.items()}


def bag(items: Any) -> list[str]:
    """A multiset of items, comparable whatever the order of items and of their attributes."""
    return sorted(repr(sorted(canon_item(i).items())) for i in items)


def assert_normalised(item: Item) -> None:
    """Numbers come back in canonical text, at any depth."""
    def walk(av: dict) -> None:
        (t, v), = av.items()
        if t == "N":
            assert v == norm(Decimal(v)), f"number {v!r} not normalised in {item}"
        elif t == "L":
            for x in v:
                walk(x)
        elif t == "M":
            for x in v.values():
                walk(x)
    for av in item.values():
        walk(av)


def key_of(item: Item) -> Key:
    return item["pk"]["S"], Decimal(item["sk"]["N"])


def wire_key(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"N": sk}}


# --- strategies -----------------------------------------------------------------------------
pks = st.sampled_from(["a", "b"])
# 6 distinct values, several spellings: "1" = "1.0", "1.5" = "1.50", "10" = "1E1"
sks = st.sampled_from(["1", "1.0", "1.5", "1.50", "2", "10", "1E1", "-3", "0.5"])
numbers = st.sampled_from(["0", "1", "1.50", "-2", "3.25", "100", "0.5", "2.0", "-0", "0.000", "-1.5"])
s_values = st.sampled_from(["x", "y", "zz", ""])
gsi_values = st.sampled_from(["g1", "g2", "g1", "g2", ""])  # "" is an invalid index key
members = st.lists(st.sampled_from(["p", "q", "r"]), min_size=1, max_size=3, unique=True)

# TTL on `exp`: the background sweeper (real clock) never gets to these; a sweep at SWEEP_AT expires
# EXP_SOON (a Number) and nothing else (a later Number, or a String, never expires)
_BASE = int(time.time())
EXP_SOON, EXP_LATER, SWEEP_AT = _BASE + 10**6, _BASE + 10**8, _BASE + 2 * 10**6
SERVICE = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}

VALUE = {
    "s": s_values.map(lambda s: {"S": s}),
    "n": numbers.map(lambda n: {"N": n}),
    "ss": members.map(lambda m: {"SS": m}),
    "l": st.lists(st.sampled_from(["p", "q"]), max_size=2).map(lambda xs: {"L": [{"S": x} for x in xs]}),
    "m": st.dictionaries(st.sampled_from(["x", "y"]), numbers.map(lambda n: {"N": n}), max_size=2)
           .map(lambda d: {"M": d}),
    "gsi_pk": gsi_values.map(lambda s: {"S": s}),
    "exp": st.sampled_from([{"N": str(EXP_SOON)}, {"N": str(EXP_LATER)}, {"S": str(EXP_SOON)}]),
}
attrs = st.fixed_dictionaries({}, optional=VALUE)
attr_and_value = st.sampled_from(sorted(VALUE)).flatmap(lambda a: st.tuples(st.just(a), VALUE[a]))

CMP_OPS = ["=", "<>", "<", "<=", ">", ">="]
comparisons = st.one_of(
    st.tuples(st.just("n"), st.sampled_from(CMP_OPS), numbers.map(lambda n: {"N": n})),
    st.tuples(st.just("s"), st.sampled_from(CMP_OPS), s_values.map(lambda s: {"S": s})),
)
functions = st.one_of(
    st.tuples(st.just("m.x"), st.sampled_from(CMP_OPS), numbers.map(lambda n: {"N": n})),
    # size() of a missing attribute: no value to compare (DynamoDB does not say what <> does then)
    st.tuples(st.just("size_ss"), st.sampled_from(CMP_OPS[:1] + CMP_OPS[2:]), st.integers(0, 3).map(lambda n: {"N": str(n)})),
    st.tuples(st.just("contains_ss"), st.just("contains"), st.sampled_from(["p", "q"]).map(lambda x: {"S": x})),
    st.tuples(st.just("contains_l"), st.just("contains"), st.sampled_from(["p", "q"]).map(lambda x: {"S": x})),
    st.tuples(st.just("s"), st.just("begins_with"), st.sampled_from(["z", "x"]).map(lambda x: {"S": x})),
    st.tuples(st.just("n"), st.just("IN"), st.lists(numbers, min_size=1, max_size=2).map(
        lambda ns: [{"N": n} for n in ns])),
)
# None, "exists", "not_exists" (on pk), a comparison or a function (attr, op, value)
conditions = st.one_of(st.none(), st.sampled_from(["exists", "not_exists"]), comparisons, functions)

update_actions = st.one_of(
    st.tuples(st.just("set"), attr_and_value),
    st.tuples(st.just("incr"), numbers),
    st.tuples(st.just("setmap"), st.sampled_from(["x", "y"]), numbers),
    st.tuples(st.just("remove"), st.sampled_from(sorted(VALUE))),
    st.tuples(st.just("add_n"), numbers),
    st.tuples(st.just("add_ss"), members),
    st.tuples(st.just("del_ss"), members),
    st.tuples(st.just("ifne"), numbers),                       # SET n = if_not_exists(n, :v)
    st.tuples(st.just("append"), st.lists(st.sampled_from(["p", "q"]), max_size=2)),   # list_append(l, :v)
    st.tuples(st.just("prepend"), st.lists(st.sampled_from(["p", "q"]), max_size=2)),  # list_append(:v, l)
    st.tuples(st.just("remidx"), st.integers(0, 2)),            # REMOVE l[i]
)

# --- model semantics ------------------------------------------------------------------------


def cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def condition_holds(cond: Any, old: Item | None) -> bool:
    item = old or {}
    if cond is None:
        return True
    if cond == "exists":
        return "pk" in item
    if cond == "not_exists":
        return "pk" not in item
    attr, op, value = cond
    if attr == "m.x":
        sub = item.get("m", {}).get("M", {})
        return condition_holds(("n", op, value), {"n": sub["x"]} if "x" in sub else {})
    if attr == "size_ss":
        if "ss" not in item:
            return False   # size() of a missing attribute: the comparison is false
        return condition_holds(("n", op, value), {"n": {"N": str(len(item["ss"]["SS"]))}})
    if attr == "contains_ss":
        return "ss" in item and value["S"] in item["ss"]["SS"]
    if attr == "contains_l":
        return "l" in item and value in item["l"]["L"]
    if op == "begins_with":
        return attr in item and item[attr]["S"].startswith(value["S"])
    if op == "IN":
        return attr in item and any(Decimal(item[attr]["N"]) == Decimal(v["N"]) for v in value)
    if attr not in item:
        return op == "<>"  # a missing attribute makes every comparison false, except <>
    have, want = item[attr], value
    (t, hv), = have.items()
    x = Decimal(hv) if t == "N" else hv.encode()
    y = Decimal(want["N"]) if t == "N" else want["S"].encode()
    c = cmp(x, y)
    return {"=": c == 0, "<>": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


def add_condition(kw: dict[str, Any], cond: Any, names: dict, values: dict) -> None:
    """Put `cond` (and the names/values it and earlier expressions used) into request `kw`."""
    expr = condition_expr(cond, names, values)
    if expr:
        kw["ConditionExpression"] = expr
    if names:
        kw["ExpressionAttributeNames"] = names
    if values:
        kw["ExpressionAttributeValues"] = values


def condition_expr(cond: Any, names: dict, values: dict, tag: str = "") -> str | None:
    if cond is None:
        return None
    if cond == "exists":
        return "attribute_exists(pk)"
    if cond == "not_exists":
        return "attribute_not_exists(pk)"
    attr, op, value = cond
    if op == "IN":
        names[f"#c{tag}"] = attr
        values.update({f":c{tag}_{i}": v for i, v in enumerate(value)})
        return f"#c{tag} IN ({', '.join(f':c{tag}_{i}' for i in range(len(value)))})"
    values[f":c{tag}"] = value
    if attr == "m.x":
        return f"m.x {op} :c{tag}"
    if attr == "size_ss":
        return f"size(ss) {op} :c{tag}"
    if attr in ("contains_ss", "contains_l"):
        return f"contains({attr.split('_')[1]}, :c{tag})"
    names[f"#c{tag}"] = attr
    if op == "begins_with":
        return f"begins_with(#c{tag}, :c{tag})"
    return f"#c{tag} {op} :c{tag}"


def bad_index_key(item: Item | None, s_indexed: bool = False) -> bool:
    """An empty string as an index key value (gsi_pk, and s while the index on s exists)."""
    return item is not None and (item.get("gsi_pk") == {"S": ""} or (s_indexed and item.get("s") == {"S": ""}))


def normalise_item(item: Item) -> Item:
    def walk(av: dict) -> dict:
        (t, v), = av.items()
        if t == "N":
            return N(v)
        if t == "M":
            return {"M": {k: walk(x) for k, x in v.items()}}
        if t == "L":
            return {"L": [walk(x) for x in v]}
        return {t: v}
    return {k: walk(v) for k, v in item.items()}


ONLY_DELETES = ("remove", "del_ss", "remidx")


def apply_action(action: tuple, cur: Item) -> tuple[Item | None, Item]:
    """(new item, UPDATED_NEW attributes) of one update action on `cur` (a copy of the old item or
    the bare key); (None, {}) when DynamoDB answers ValidationException."""
    new = dict(cur)
    kind = action[0]
    if kind == "set":
        attr, value = action[1]
        new[attr] = normalise_item({attr: value})[attr]
        return new, {attr: new[attr]}
    if kind == "incr":
        if "n" not in cur:  # the operand refers to a missing attribute
            return None, {}
        new["n"] = {"N": norm(Decimal(cur["n"]["N"]) + Decimal(action[1]))}
        return new, {"n": new["n"]}
    if kind == "setmap":
        if "m" not in cur:  # the document path is invalid for update
            return None, {}
        sub, value = action[1], N(action[2])
        new["m"] = {"M": {**cur["m"]["M"], sub: value}}
        return new, {"m": {"M": {sub: value}}}
    if kind == "remove":
        new.pop(action[1], None)
        return new, {}
    if kind == "add_n":
        base = Decimal(cur["n"]["N"]) if "n" in cur else Decimal(0)
        new["n"] = {"N": norm(base + Decimal(action[1]))}
        return new, {"n": new["n"]}
    if kind == "add_ss":
        have = set(cur["ss"]["SS"]) if "ss" in cur else set()
        new["ss"] = {"SS": sorted(have | set(action[1]))}
        return new, {"ss": new["ss"]}
    if kind == "ifne":
        new["n"] = cur["n"] if "n" in cur else N(action[1])
        return new, {"n": new["n"]}
    if kind in ("append", "prepend"):
        if "l" not in cur:   # list_append of a missing attribute: the operand does not exist
            return None, {}
        more = [{"S": x} for x in action[1]]
        new["l"] = {"L": cur["l"]["L"] + more if kind == "append" else more + cur["l"]["L"]}
        return new, {"l": new["l"]}
    if kind == "remidx":
        if "l" not in cur:   # the path's parent is missing: invalid for update
            return None, {}
        if action[1] < len(cur["l"]["L"]):
            new["l"] = {"L": [x for i, x in enumerate(cur["l"]["L"]) if i != action[1]]}
        return new, {}
    if kind == "del_ss":
        if "ss" not in cur:
            return new, {}
        left = set(cur["ss"]["SS"]) - set(action[1])
        if left:
            new["ss"] = {"SS": sorted(left)}
            return new, {"ss": new["ss"]}
        del new["ss"]  # a set never becomes empty: the attribute goes
        return new, {}
    raise AssertionError(kind)


def target(action: tuple) -> tuple[str, ...]:
    """The document path an action writes."""
    kind = action[0]
    if kind == "set":
        return (action[1][0],)
    if kind == "remove":
        return (action[1],)
    if kind == "setmap":
        return ("m", action[1])
    if kind == "remidx":
        return ("l", action[1])
    return ({"ifne": "n", "append": "l", "prepend": "l", "incr": "n", "add_n": "n", "add_ss": "ss", "del_ss": "ss"}[kind],)


def merge(into: Item, more: Item) -> None:
    """Merge UPDATED_* attributes; two updated paths inside one map meet in one map."""
    for k, v in more.items():
        if k in into and "M" in into[k] and "M" in v:
            into[k] = {"M": {**into[k]["M"], **v["M"]}}
        else:
            into[k] = v


def updated_old(action: tuple, old: Item | None) -> Item:
    """UPDATED_OLD: the old values of what the action touched (only those that existed)."""
    if old is None:
        return {}
    kind = action[0]
    attr = target(action)[0]
    if attr not in old:
        return {}
    if kind == "remidx":
        items = old["l"]["L"]
        return {"l": {"L": [items[action[1]]]}} if action[1] < len(items) else {}
    if kind == "setmap":
        sub = old["m"]["M"]
        return {"m": {"M": {action[1]: sub[action[1]]}}} if action[1] in sub else {}
    return {attr: old[attr]}


def action_expr(action: tuple, names: dict, values: dict, tag: str = "") -> str:
    kind = action[0]
    if kind == "set":
        attr, value = action[1]
        names[f"#a{tag}"] = attr
        values[f":v{tag}"] = value
        return f"SET #a{tag} = :v{tag}"
    if kind == "incr":
        values[f":v{tag}"] = {"N": action[1]}
        return f"SET n = n + :v{tag}"
    if kind == "setmap":
        names[f"#a{tag}"] = action[1]
        values[f":v{tag}"] = {"N": action[2]}
        return f"SET m.#a{tag} = :v{tag}"
    if kind == "remove":
        names[f"#a{tag}"] = action[1]
        return f"REMOVE #a{tag}"
    if kind == "add_n":
        values[f":v{tag}"] = {"N": action[1]}
        return f"ADD n :v{tag}"
    if kind == "add_ss":
        values[f":v{tag}"] = {"SS": action[1]}
        return f"ADD ss :v{tag}"
    if kind == "del_ss":
        values[f":v{tag}"] = {"SS": action[1]}
        return f"DELETE ss :v{tag}"
    if kind == "ifne":
        values[f":v{tag}"] = {"N": action[1]}
        return f"SET n = if_not_exists(n, :v{tag})"
    if kind in ("append", "prepend"):
        values[f":v{tag}"] = {"L": [{"S": x} for x in action[1]]}
        return f"SET l = list_append(l, :v{tag})" if kind == "append" else f"SET l = list_append(:v{tag}, l)"
    if kind == "remidx":
        return f"REMOVE l[{action[1]}]"
    raise AssertionError(kind)


_alternate = itertools.cycle([True, False])


def on_fail_item(kw: dict, old: Item | None) -> Any:
    """Every other conditional write asks for ReturnValuesOnConditionCheckFailure=ALL_OLD; returns
    the check of a ConditionalCheckFailedException: the old item exactly when asked for and present."""
    if "ConditionExpression" not in kw:
        return None
    asked = next(_alternate)
    if asked:
        kw["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"

    def check(e: ClientError) -> None:
        if error_code(e) == "ConditionalCheckFailedException":
            assert canon_item(e.response.get("Item")) == canon_item(old if asked else None), e.response
    return check


def project(item: Item, projection: str) -> Item:
    """ProjectionExpression over top-level names, `m.<key>` and `l[<i>]`: what is present, nested as it was."""
    out: Item = {}
    for path in (p.strip() for p in projection.split(",")):
        if "." in path:
            name, sub = path.split(".")
            if name in item and sub in item[name]["M"]:
                out.setdefault(name, {"M": {}})["M"][sub] = item[name]["M"][sub]
        elif "[" in path:
            name, i = path[:-1].split("[")
            if name in item and int(i) < len(item[name]["L"]):
                out.setdefault(name, {"L": []})["L"].append(item[name]["L"][int(i)])
        elif path in item:
            out[path] = item[path]
    return out


def error_code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def expect_error(expected: set[str], call: Any, check: Any = None) -> dict | None:
    """Run `call`; with an expected error code set, it must fail with one of them (returns None);
    without, it must succeed (returns the response); "" in the set allows success too. `check(error)`
    looks at the error further."""
    try:
        resp = call()
    except ClientError as e:
        assert expected, f"unexpected {error_code(e)}: {e.response['Error'].get('Message')}"
        assert error_code(e) in expected, f"{error_code(e)} ({e.response['Error'].get('Message')}), want {expected}"
        if check is not None:
            check(e)
        return None
    assert not expected or "" in expected, f"expected {expected}, the request succeeded: {resp}"
    return resp


# --- the machine ----------------------------------------------------------------------------


class DataPlane(RuleBasedStateMachine):
    """One fresh table per example; `self.model` is what DynamoDB would hold."""

    ddb: Any = None
    streams: Any = None   # a dynamodbstreams client when the table has a stream
    sweep: Callable[[str, float], int] | None = None   # TTL sweep of a table at a given time -> deleted

    def __init__(self) -> None:
        super().__init__()
        self.table = f"sm-{uuid.uuid4().hex[:10]}"
        spec = dict(TABLE_SPEC)
        if self.streams is not None:
            spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        self.ddb.create_table(TableName=self.table, **spec)
        self.ddb.update_time_to_live(TableName=self.table,
                                     TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        self.model: dict[Key, Item] = {}
        self.expired = 0
        self.s_index = False   # a GSI on s, created and deleted by UpdateTable as the test goes

    def teardown(self) -> None:
        try:
            for (pk, sk), want in self.model.items():
                got = self.ddb.get_item(TableName=self.table, Key=wire_key(pk, norm(sk)), ConsistentRead=True)
                assert canon_item(got.get("Item")) == canon_item(want)
            if self.streams is not None:
                self._check_stream_replay()
        finally:
            self.ddb.delete_table(TableName=self.table)

    def _check_stream_replay(self) -> None:
        records = read_stream(self.streams, stream_arn(self.ddb, self.table))
        replay: dict[Key, Item] = {}
        expired = 0
        for r in records:
            d = r["dynamodb"]
            k = key_of(d["Keys"])
            before = replay.get(k)
            assert canon_item(d.get("OldImage")) == canon_item(before), r
            if r["eventName"] == "REMOVE":
                assert before is not None and "NewImage" not in d, r
                del replay[k]
                if "userIdentity" in r:
                    assert r["userIdentity"] == SERVICE, r
                    expired += 1
            else:
                assert "userIdentity" not in r, r
                assert r["eventName"] == ("INSERT" if before is None else "MODIFY"), r
                assert canon_item(d["NewImage"]) != canon_item(before), f"a record for a no-op write: {r}"
                assert_normalised(d["NewImage"])
                replay[k] = d["NewImage"]
        assert {k: canon_item(v) for k, v in replay.items()} == {k: canon_item(v) for k, v in self.model.items()}
        assert expired == self.expired, "one service REMOVE per TTL deletion, and only those"

    # --- writes ---------------------------------------------------------------------------
    @rule(pk=pks, sk=sks, item=attrs, cond=conditions, all_old=st.booleans())
    def put(self, pk: str, sk: str, item: Item, cond: Any, all_old: bool) -> None:
        item = {**wire_key(pk, sk), **item}
        key = (pk, Decimal(sk))
        old = self.model.get(key)
        names: dict = {}
        values: dict = {}
        kw: dict[str, Any] = {"TableName": self.table, "Item": item}
        add_condition(kw, cond, names, values)
        if all_old:
            kw["ReturnValues"] = "ALL_OLD"
        # when both apply, DynamoDB does not document which error wins: either will do
        expected = set()
        if bad_index_key(item, self.s_index):
            expected.add("ValidationException")
        if not condition_holds(cond, old):
            expected.add("ConditionalCheckFailedException")
        resp = expect_error(expected, lambda: self.ddb.put_item(**kw), on_fail_item(kw, old))
        if resp is None:
            return
        self.model[key] = normalise_item(item)
        if all_old:
            assert canon_item(resp.get("Attributes")) == canon_item(old)
        else:
            assert "Attributes" not in resp

    @rule(pk=pks, sk=sks, actions=st.lists(update_actions, min_size=1, max_size=3), cond=conditions,
          rv=st.sampled_from(["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]))
    def update(self, pk: str, sk: str, actions: list[tuple], cond: Any, rv: str) -> None:
        key = (pk, Decimal(sk))
        old = self.model.get(key)
        paths = [target(a) for a in actions]
        overlap = any(p[:len(q)] == q or q[:len(p)] == p for i, p in enumerate(paths) for q in paths[:i])
        new: Item | None = dict(old) if old else normalise_item(wire_key(pk, sk))
        updated: Item = {}
        for a in actions:
            if new is not None:
                new, upd = apply_action(a, new)
                merge(updated, upd)
        only_deletes = all(a[0] in ONLY_DELETES for a in actions)
        invalid_path = new is None
        if old is None and only_deletes:
            new, updated = None, {}   # REMOVE/DELETE alone on a missing item: it stays missing
        names: dict = {}
        values: dict = {}
        clauses: dict[str, list[str]] = {}
        for i, a in enumerate(actions):
            word, _, body = action_expr(a, names, values, tag=str(i)).partition(" ")
            clauses.setdefault(word, []).append(body)
        kw: dict[str, Any] = {"TableName": self.table, "Key": wire_key(pk, sk), "ReturnValues": rv,
                              "UpdateExpression": " ".join(f"{w} {', '.join(b)}" for w, b in clauses.items())}
        add_condition(kw, cond, names, values)
        expected = set()
        if overlap:   # "Two document paths overlap": the expression is rejected before anything is read
            expected = {"ValidationException"}
        else:
            if (new is None and not only_deletes) or bad_index_key(new, self.s_index) or (old is not None and invalid_path):
                expected.add("ValidationException")
            elif old is None and invalid_path:   # REMOVE l[i] of a missing item: error or nothing happens
                expected.add("ValidationException")
                expected.add("")
            if not condition_holds(cond, old):
                expected.add("ConditionalCheckFailedException")
        resp = expect_error(expected, lambda: self.ddb.update_item(**kw), on_fail_item(kw, old))
        if resp is None:
            return
        if new is not None:
            self.model[key] = new
        updated_before: Item = {}
        for a in actions:
            merge(updated_before, updated_old(a, old))
        want = {"NONE": None, "ALL_OLD": old, "UPDATED_NEW": updated or None, "ALL_NEW": new,
                "UPDATED_OLD": updated_before or None}[rv]
        assert canon_item(resp.get("Attributes")) == canon_item(want), (kw["UpdateExpression"], resp)
        if "Attributes" in resp:
            assert_normalised(resp["Attributes"])

    @rule(pk=pks, sk=sks, cond=conditions, all_old=st.booleans())
    def delete(self, pk: str, sk: str, cond: Any, all_old: bool) -> None:
        key = (pk, Decimal(sk))
        old = self.model.get(key)
        names: dict = {}
        values: dict = {}
        kw: dict[str, Any] = {"TableName": self.table, "Key": wire_key(pk, sk)}
        add_condition(kw, cond, names, values)
        if all_old:
            kw["ReturnValues"] = "ALL_OLD"
        expected = set() if condition_holds(cond, old) else {"ConditionalCheckFailedException"}
        resp = expect_error(expected, lambda: self.ddb.delete_item(**kw), on_fail_item(kw, old))
        if resp is None:
            return
        self.model.pop(key, None)
        assert canon_item(resp.get("Attributes")) == canon_item(old if all_old else None)

    @rule(requests=st.lists(st.one_of(st.tuples(st.just("put"), pks, sks, attrs),
                                      st.tuples(st.just("delete"), pks, sks, st.just(None))),
                            min_size=1, max_size=5))
    def batch_write(self, requests: list[tuple]) -> None:
        wire = []
        for kind, pk, sk, item in requests:
            if kind == "put":
                wire.append({"PutRequest": {"Item": {**wire_key(pk, sk), **item}}})
            else:
                wire.append({"DeleteRequest": {"Key": wire_key(pk, sk)}})
        keys = [(pk, Decimal(sk)) for _, pk, sk, _ in requests]
        expected = set()
        if len(set(keys)) < len(keys) or any(kind == "put" and bad_index_key(item, self.s_index) for kind, _, _, item in requests):
            expected.add("ValidationException")   # duplicate keys ("1.5" = "1.50") or an invalid index key
        resp = expect_error(expected, lambda: self.ddb.batch_write_item(RequestItems={self.table: wire}))
        if resp is None:
            return
        assert not resp.get("UnprocessedItems")
        for (kind, pk, sk, item), key in zip(requests, keys):
            if kind == "put":
                self.model[key] = normalise_item({**wire_key(pk, sk), **item})
            else:
                self.model.pop(key, None)

    @rule(ops=st.lists(st.one_of(
        st.tuples(st.just("put"), pks, sks, attrs, conditions),
        st.tuples(st.just("update"), pks, sks, st.one_of(st.tuples(st.just("set"), st.tuples(st.just("s"), VALUE["s"])),
                                                          st.tuples(st.just("add_n"), numbers)), conditions),
        st.tuples(st.just("delete"), pks, sks, st.none(), conditions),
        st.tuples(st.just("check"), pks, sks, st.none(), conditions.filter(lambda c: c is not None)),
    ), min_size=1, max_size=4), repeat=st.booleans())
    def transact_write(self, ops: list[tuple], repeat: bool) -> None:
        items = []
        keys = [(pk, Decimal(sk)) for _, pk, sk, _, _ in ops]
        reasons = []
        after = dict(self.model)
        invalid = len(set(keys)) < len(keys)
        rejected: set[int] = set()   # updates writing an invalid index key: reason ValidationError
        for i, ((kind, pk, sk, arg, cond), key) in enumerate(zip(ops, keys)):
            names: dict = {}
            values: dict = {}
            expr = condition_expr(cond, names, values, tag=str(i))
            body: dict[str, Any] = {"TableName": self.table}
            old = self.model.get(key)
            if kind == "put":
                body["Item"] = {**wire_key(pk, sk), **arg}
                invalid |= bad_index_key(arg, self.s_index)
                after[key] = normalise_item(body["Item"])
            elif kind == "update":
                body["Key"] = wire_key(pk, sk)
                body["UpdateExpression"] = action_expr(arg, names, values, tag=str(i))
                new, _ = apply_action(arg, dict(old) if old else normalise_item(wire_key(pk, sk)))
                assert new is not None
                after[key] = new
                rejected |= {i} if bad_index_key(new, self.s_index) else set()
            else:
                body["Key"] = wire_key(pk, sk)
                if kind == "delete":
                    after.pop(key, None)
            asked = False
            if expr:
                body["ConditionExpression"] = expr
                asked = next(_alternate)
                if asked:
                    body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            if names:
                body["ExpressionAttributeNames"] = names
            if values:
                body["ExpressionAttributeValues"] = values
            items.append({{"put": "Put", "update": "Update", "delete": "Delete", "check": "ConditionCheck"}[kind]: body})
            if condition_holds(cond, old):
                reasons.append(("ValidationError" if i in rejected else "None", None))
            else:   # the old item comes with the reason when asked for (and there is one)
                reasons.append(("ConditionalCheckFailed", canon_item(old) if asked else None))
        token = uuid.uuid4().hex
        try:
            self.ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
        except ClientError as e:
            code = error_code(e)
            if invalid:
                assert code == "ValidationException", e.response
                return
            assert code == "TransactionCanceledException", e.response
            got = [(r.get("Code"), canon_item(r.get("Item"))) for r in e.response.get("CancellationReasons", [])]
            assert got == reasons, (got, reasons)
            return
        assert not invalid, "an invalid transaction succeeded"
        assert all(r[0] == "None" for r in reasons), f"the transaction should have been cancelled: {reasons}"
        self.model = after
        if repeat:   # the same ClientRequestToken and request again: idempotent, nothing changes
            self.ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)

    @precondition(lambda self: not self.s_index)
    @rule()
    def create_index_on_s(self) -> None:
        """A GSI created on a table with items: the backfill leaves out items whose s is "" (index key
        violations); from now on a write of s = "" is a ValidationException."""
        self.ddb.update_table(TableName=self.table, AttributeDefinitions=[{"AttributeName": "s", "AttributeType": "S"}],
                              GlobalSecondaryIndexUpdates=[{"Create": {
                                  "IndexName": "bys", "KeySchema": [{"AttributeName": "s", "KeyType": "HASH"}],
                                  "Projection": {"ProjectionType": "ALL"}}}])
        wait_for(lambda: all(i["IndexStatus"] == "ACTIVE" for i in self.ddb.describe_table(
            TableName=self.table)["Table"]["GlobalSecondaryIndexes"]), timeout=30)
        self.s_index = True

    @precondition(lambda self: self.s_index)
    @rule()
    def delete_index_on_s(self) -> None:
        self.ddb.update_table(TableName=self.table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "bys"}}])
        wait_for(lambda: "bys" not in {i["IndexName"] for i in self.ddb.describe_table(
            TableName=self.table)["Table"]["GlobalSecondaryIndexes"]}, timeout=30)
        self.s_index = False

    @precondition(lambda self: self.s_index)
    @rule(v=st.sampled_from(["x", "y", "zz"]), limit=st.one_of(st.none(), st.integers(1, 3)))
    def query_index_on_s(self, v: str, limit: int | None) -> None:
        kw: dict[str, Any] = {"TableName": self.table, "IndexName": "bys", "KeyConditionExpression": "s = :v",
                              "ExpressionAttributeValues": {":v": {"S": v}}}
        got, _, _ = self._pages(self.ddb.query, kw, limit)
        assert bag(got) == bag(x for x in self.model.values() if x.get("s") == {"S": v})

    @rule()
    def ttl_sweep(self) -> None:
        due = [k for k, v in self.model.items() if "N" in v.get("exp", {}) and Decimal(v["exp"]["N"]) <= SWEEP_AT]
        assert self.sweep is not None
        assert self.sweep(self.table, SWEEP_AT) == len(due)
        for k in due:
            del self.model[k]
        self.expired += len(due)

    # --- reads ----------------------------------------------------------------------------
    @rule(pk=pks, sk=sks, projection=st.sampled_from([None, "s, m.x", "sk, l[0], ss", "m.y, l[1], n"]))
    def get(self, pk: str, sk: str, projection: str | None) -> None:
        kw: dict[str, Any] = {"TableName": self.table, "Key": wire_key(pk, sk), "ConsistentRead": True}
        if projection:
            kw["ProjectionExpression"] = projection
        resp = self.ddb.get_item(**kw)
        want = self.model.get((pk, Decimal(sk)))
        if want is not None and projection:
            want = project(want, projection)
        assert canon_item(resp.get("Item")) == canon_item(want), (projection, resp.get("Item"))
        if "Item" in resp:
            assert_normalised(resp["Item"])

    @rule(pk=pks, op=st.sampled_from(["=", "<", "<=", ">", ">=", "BETWEEN"]), lo=sks, hi=sks,
          forward=st.booleans(), limit=st.one_of(st.none(), st.integers(1, 4)),
          filt=st.sampled_from([None, "n_gt", "has_s", "contains_ss"]))
    def query(self, pk: str, op: str, lo: str, hi: str, forward: bool, limit: int | None, filt: str | None) -> None:
        values: dict = {":pk": {"S": pk}, ":lo": {"N": lo}}
        if op == "BETWEEN":
            cond = "pk = :pk AND sk BETWEEN :lo AND :hi"
            values[":hi"] = {"N": hi}
        else:
            cond = f"pk = :pk AND sk {op} :lo"
        kw: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": cond, "ScanIndexForward": forward,
                              "ConsistentRead": True}
        a, b = Decimal(lo), Decimal(hi)
        in_range = {"=": lambda x: x == a, "<": lambda x: x < a, "<=": lambda x: x <= a, ">": lambda x: x > a,
                    ">=": lambda x: x >= a, "BETWEEN": lambda x: a <= x <= b}[op]
        rows = sorted(((k[1], v) for k, v in self.model.items() if k[0] == pk and in_range(k[1])),
                      key=lambda kv: kv[0], reverse=not forward)
        scanned = [v for _, v in rows]
        if filt == "n_gt":
            kw["FilterExpression"] = "n > :f"
            values[":f"] = {"N": "0.5"}
            passes = [v for v in scanned if "n" in v and Decimal(v["n"]["N"]) > Decimal("0.5")]
        elif filt == "has_s":
            kw["FilterExpression"] = "attribute_exists(s)"
            passes = [v for v in scanned if "s" in v]
        elif filt == "contains_ss":
            kw["FilterExpression"] = "contains(ss, :f)"
            values[":f"] = {"S": "q"}
            passes = [v for v in scanned if "ss" in v and "q" in v["ss"]["SS"]]
        else:
            passes = scanned
        kw["ExpressionAttributeValues"] = values
        if op == "BETWEEN" and a > b:
            expect_error({"ValidationException"}, lambda: self.ddb.query(**kw))
            return
        got, count, scanned_count = self._pages(self.ddb.query, kw, limit)
        assert [canon_item(i) for i in got] == [canon_item(i) for i in passes]
        assert count == len(passes)
        assert scanned_count == len(scanned)

    @rule(pk=pks, forward=st.booleans(), limit=st.integers(1, 3), respell=st.booleans(),
          meddle=st.lists(st.one_of(st.just(("delete_last", None)), st.tuples(st.just("put"), sks)), max_size=3))
    def query_pages_while_writing(self, pk: str, forward: bool, limit: int, respell: bool, meddle: list) -> None:
        """Each page is the next `limit` items after ExclusiveStartKey in the table as it is then: the
        key given back may be spelled differently ("1.5" as "15E-1") or its item deleted meanwhile."""
        kw: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk", "Limit": limit,
                              "ExpressionAttributeValues": {":pk": {"S": pk}}, "ScanIndexForward": forward,
                              "ConsistentRead": True}
        last: Decimal | None = None
        meddle = list(meddle)
        for _ in range(100):
            resp = self.ddb.query(**kw)
            rows = sorted((k[1] for k in self.model if k[0] == pk), reverse=not forward)
            if last is not None:
                rows = [x for x in rows if (x > last if forward else x < last)]
            assert [key_of(i) for i in resp["Items"]] == [(pk, x) for x in rows[:limit]]
            for it in resp["Items"]:
                assert canon_item(it) == canon_item(self.model[key_of(it)])
            if "LastEvaluatedKey" not in resp:
                assert len(rows) <= limit
                return
            lek = resp["LastEvaluatedKey"]
            assert resp["Items"] and key_of(lek) == key_of(resp["Items"][-1])
            last = key_of(lek)[1]
            if respell:
                lek = {"pk": lek["pk"], "sk": {"N": format(last.scaleb(1), "f") + "E-1"}}
            if meddle:
                kind, sk = meddle.pop(0)
                if kind == "delete_last":
                    self.ddb.delete_item(TableName=self.table, Key=lek)
                    self.model.pop((pk, last), None)
                else:
                    item = {**wire_key(pk, sk), "s": {"S": "mid-query"}}
                    self.ddb.put_item(TableName=self.table, Item=item)
                    self.model[(pk, Decimal(sk))] = normalise_item(item)
            kw["ExclusiveStartKey"] = lek
        raise AssertionError("paging did not end")

    @rule(keys=st.lists(st.tuples(pks, sks), min_size=1, max_size=4))
    def batch_get(self, keys: list[tuple[str, str]]) -> None:
        wanted = [(pk, Decimal(sk)) for pk, sk in keys]
        call = lambda: self.ddb.batch_get_item(
            RequestItems={self.table: {"Keys": [wire_key(pk, sk) for pk, sk in keys], "ConsistentRead": True}})
        if len(set(wanted)) < len(wanted):   # "1.5" and "1.50" are the same key
            expect_error({"ValidationException"}, call)
            return
        resp = call()
        assert not resp.get("UnprocessedKeys")
        assert bag(resp["Responses"][self.table]) == bag(self.model[k] for k in wanted if k in self.model)

    @rule(keys=st.lists(st.tuples(pks, sks), min_size=1, max_size=4))
    def transact_get(self, keys: list[tuple[str, str]]) -> None:
        wanted = [(pk, Decimal(sk)) for pk, sk in keys]
        call = lambda: self.ddb.transact_get_items(
            TransactItems=[{"Get": {"TableName": self.table, "Key": wire_key(pk, sk)}} for pk, sk in keys])
        if len(set(wanted)) < len(wanted):
            expect_error({"ValidationException"}, call)
            return
        resp = call()
        assert [canon_item(r.get("Item")) for r in resp["Responses"]] == [canon_item(self.model.get(k)) for k in wanted]

    @rule(g=st.sampled_from(["g1", "g2"]), limit=st.one_of(st.none(), st.integers(1, 4)), forward=st.booleans(),
          index=st.sampled_from(["byg", "byg_s", "byg_keys"]))
    def query_gsi(self, g: str, limit: int | None, forward: bool, index: str) -> None:
        kw: dict[str, Any] = {"TableName": self.table, "IndexName": index, "KeyConditionExpression": "gsi_pk = :g",
                              "ExpressionAttributeValues": {":g": {"S": g}}, "ScanIndexForward": forward}
        got, count, scanned = self._pages(self.ddb.query, kw, limit)
        keep = {"byg": None, "byg_s": {"pk", "sk", "gsi_pk", "s", "m"}, "byg_keys": {"pk", "sk", "gsi_pk"}}[index]
        want = [{k: x for k, x in v.items() if keep is None or k in keep}
                for v in self.model.values() if v.get("gsi_pk") == {"S": g}]
        assert bag(got) == bag(want)
        assert count == scanned == len(want)

    @rule(segments=st.integers(1, 4), limit=st.one_of(st.none(), st.integers(1, 5)), filtered=st.booleans())
    def scan(self, segments: int, limit: int | None, filtered: bool) -> None:
        got: list[Item] = []
        counts = scans = 0
        for seg in range(segments):
            kw: dict[str, Any] = {"TableName": self.table, "Segment": seg, "TotalSegments": segments,
                                  "ConsistentRead": True}
            if filtered:
                kw["FilterExpression"] = "attribute_exists(gsi_pk) OR size(l) > :one"
                kw["ExpressionAttributeValues"] = {":one": {"N": "1"}}
            items, count, scanned = self._pages(self.ddb.scan, kw, limit)
            assert count == len(items)
            got += items
            counts += count
            scans += scanned
        want = [v for v in self.model.values() if not filtered or "gsi_pk" in v or len(v.get("l", {}).get("L", [])) > 1]
        assert bag(got) == bag(want)
        assert scans == len(self.model)

    def _pages(self, call: Any, kw: dict, limit: int | None) -> tuple[list[Item], int, int]:
        """Every page until LastEvaluatedKey is absent: (items, sum of Count, sum of ScannedCount)."""
        items: list[Item] = []
        count = scanned = 0
        kw = dict(kw)
        if limit is not None:
            kw["Limit"] = limit
        for _ in range(100):
            resp = call(**kw)
            assert resp["Count"] == len(resp["Items"])
            if limit is not None:
                assert resp["ScannedCount"] <= limit
                if "LastEvaluatedKey" in resp:
                    assert resp["ScannedCount"] == limit, "a page stopped before Limit without reaching 1 MB"
            for it in resp["Items"]:
                assert_normalised(it)
            items += resp["Items"]
            count += resp["Count"]
            scanned += resp["ScannedCount"]
            if "LastEvaluatedKey" not in resp:
                return items, count, scanned
            kw["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        raise AssertionError("paging did not end")

    # --- after every step -----------------------------------------------------------------
    @invariant()
    def table_equals_model(self) -> None:
        got, _, _ = self._pages(self.ddb.scan, {"TableName": self.table, "ConsistentRead": True}, None)
        assert {key_of(i): canon_item(i) for i in got} == {k: canon_item(v) for k, v in self.model.items()}
        assert len(got) == len(self.model)


# EDDYDB_STATEFUL_EXAMPLES=500 explores further (random seeds) than the suite's fixed 50 examples.
_EXPLORE = int(os.environ.get("EDDYDB_STATEFUL_EXAMPLES", "0"))
SETTINGS = settings(max_examples=_EXPLORE or 50, stateful_step_count=40 if _EXPLORE else 30, deadline=None,
                    derandomize=not _EXPLORE, report_multiple_bugs=False,
                    phases=[p for p in Phase if p is not Phase.shrink or not _EXPLORE],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _run(ddb: Any, streams: Any, sweep: Callable[[str, float], int]) -> None:
    machine = type("Machine", (DataPlane,), {"ddb": ddb, "streams": streams, "sweep": staticmethod(sweep)})
    run_state_machine_as_test(machine, settings=SETTINGS)


def remote_sweep(url: str) -> Callable[[str, float], int]:
    """The server's EddydbTtlSweep extension operation (what `eddydb ttl sweep` sends)."""
    def sweep(table: str, now: float) -> int:
        req = urllib.request.Request(url + "/", data=json.dumps({"TableName": table, "Now": now}).encode(), headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.EddydbTtlSweep",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
            "Authorization": "AWS4-HMAC-SHA256 Credential=eddydb/20000101/us-east-1/dynamodb/aws4_request, "
                             "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(json.loads(resp.read())["Deleted"])
    return sweep


@pytest.fixture
def sweeper(request: pytest.FixtureRequest, dynamodb: Any) -> Callable[[str, float], int]:
    if request.node.callspec.params.get("dynamodb") == "server":
        return remote_sweep(request.getfixturevalue("eddy_server").url)
    db = request.getfixturevalue("eddy_embedded")
    return lambda table, now: db.ttl_sweep(table, now)


@pytest.fixture
def streams_client(request: pytest.FixtureRequest, dynamodb: Any) -> Any:
    if request.node.callspec.params.get("dynamodb") == "server":
        return request.getfixturevalue("streams")
    return request.getfixturevalue("eddy_embedded").client("dynamodbstreams", config=client_config())


def test_data_plane_matches_the_model(dynamodb, sweeper):
    _run(dynamodb, None, sweeper)


def test_stream_replay_reproduces_the_model(dynamodb, streams_client, sweeper):
    _run(dynamodb, streams_client, sweeper)
