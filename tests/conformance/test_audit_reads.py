"""Query and Scan as DynamoDB pages them: Limit and the 1 MB page, LastEvaluatedKey and
ExclusiveStartKey on tables and indexes, key-condition forms, Select and projections, parallel
scans and the read capacity they report."""
from __future__ import annotations

from decimal import Decimal

import pytest

from conformance.cfutil import raises

V = "ValidationException"
P = {":p": {"S": "a"}}


def _n(x):
    return {"N": str(x)}


def _pages(call, **kw):
    """Every page of a Query/Scan (`call`), following LastEvaluatedKey."""
    out = []
    while True:
        r = call(**kw)
        out.append(r)
        if "LastEvaluatedKey" not in r:
            return out
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]


@pytest.fixture
def nt(ddb, mk):
    """pk:S / sk:N with ten items in partition "a" (x = sk % 3) and one in "b"."""
    t = mk("pk", "sk:N")
    for i in range(10):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": _n(i), "x": _n(i % 3)})
    ddb.put_item(TableName=t, Item={"pk": {"S": "b"}, "sk": _n(0), "x": _n(0)})
    return t


@pytest.fixture
def it(ddb, mk):
    """A table with a KEYS_ONLY GSI (g, gs:N), an INCLUDE GSI (g; x), an ALL GSI (g) and a KEYS_ONLY
    LSI (l); six items in partition "a", all in GSI partition "G"."""
    t = mk("pk", "sk:N", gsi={"keys": ("g:S", "gs:N", "KEYS_ONLY"), "incl": ("g:S", None, ["x"]), "all": ("g:S",)},
           lsi={"loc": ("pk", "l:S", "KEYS_ONLY")})
    for i in range(6):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": _n(i), "g": {"S": "G"}, "gs": _n(i % 2),
                                        "l": {"S": f"l{5 - i}"}, "x": _n(i), "y": {"S": "y" * 10}})
    return t


# --- Select checks come before the table lookup ------------------------------------------------------
@pytest.mark.parametrize("op,extra,message", [
    ("query", {"Select": "SPECIFIC_ATTRIBUTES"},
     "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"),
    ("query", {"Select": "COUNT", "ProjectionExpression": "x"},
     "Cannot specify the ProjectionExpression when choosing to get only the Count"),
    ("query", {"Select": "ALL_ATTRIBUTES", "ProjectionExpression": "x"},
     "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"),
    ("query", {"Select": "ALL_PROJECTED_ATTRIBUTES"}, ("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using "
                                                       "an IndexName")),
    ("scan", {"Select": "SPECIFIC_ATTRIBUTES"},
     "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"),
    ("scan", {"Select": "COUNT", "AttributesToGet": ["x"]},
     "Cannot specify the AttributesToGet when choosing to get only the Count"),
    ("scan", {"Select": "ALL_PROJECTED_ATTRIBUTES"}, ("ALL_PROJECTED_ATTRIBUTES can be used only when Scanning using "
                                                      "an IndexName")),
])
def test_select_checks_come_before_the_table_lookup(ddb, op, extra, message):
    # request-level checks, like the expressions': a missing table does not hide them
    args = {"TableName": "no-such-table-for-select", **extra}
    if op == "query":
        args.update(KeyConditionExpression="pk = :p", ExpressionAttributeValues=P)
    with raises(V, f"^1 validation error detected: {message}$"):
        getattr(ddb, op)(**args)


def test_a_valid_select_on_a_missing_table_is_resource_not_found(ddb):
    with raises("ResourceNotFoundException"):
        ddb.query(TableName="no-such-table-for-select", KeyConditionExpression="pk = :p", ExpressionAttributeValues=P,
                  Select="ALL_PROJECTED_ATTRIBUTES", IndexName="idx")
    with raises("ResourceNotFoundException"):
        ddb.scan(TableName="no-such-table-for-select", Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="x")


# --- Limit, filter, Count and ScannedCount ------------------------------------------------------------
def test_limit_counts_items_evaluated_and_the_filter_runs_after(ddb, nt):
    r = ddb.query(TableName=nt, KeyConditionExpression="pk = :p", FilterExpression="x = :z", Limit=5,
                  ExpressionAttributeValues={**P, ":z": _n(0)})
    assert [i["sk"]["N"] for i in r["Items"]] == ["0", "3"]
    assert (r["Count"], r["ScannedCount"]) == (2, 5)
    # the key of the fifth item evaluated, which the filter dropped
    assert r["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": _n(4)}


def test_select_count_with_limit_and_filter(ddb, nt):
    r = ddb.query(TableName=nt, KeyConditionExpression="pk = :p", FilterExpression="x = :z", Limit=4,
                  Select="COUNT", ExpressionAttributeValues={**P, ":z": _n(1)})
    assert "Items" not in r
    assert (r["Count"], r["ScannedCount"]) == (1, 4)
    assert r["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": _n(3)}
    r = ddb.scan(TableName=nt, Limit=3, Select="COUNT")
    assert "Items" not in r and (r["Count"], r["ScannedCount"]) == (3, 3) and "LastEvaluatedKey" in r


def test_a_filter_that_drops_every_item_still_pages(ddb, nt):
    pages = _pages(ddb.query, TableName=nt, KeyConditionExpression="pk = :p", FilterExpression="x = :z", Limit=3,
                   ExpressionAttributeValues={**P, ":z": _n(7)})
    assert [(p["Count"], p["ScannedCount"]) for p in pages] == [(0, 3), (0, 3), (0, 3), (0, 1)]
    assert all(p["Items"] == [] for p in pages)


def test_no_last_evaluated_key_when_the_data_ends_before_the_limit(ddb, nt):
    r = ddb.query(TableName=nt, KeyConditionExpression="pk = :p", Limit=11, ExpressionAttributeValues=P)
    assert r["Count"] == 10 and "LastEvaluatedKey" not in r
    r = ddb.query(TableName=nt, KeyConditionExpression="pk = :p AND sk > :s", Limit=1,
                  ExpressionAttributeValues={**P, ":s": _n(9)})
    assert r["Count"] == 0 and r["Items"] == [] and "LastEvaluatedKey" not in r


@pytest.mark.parametrize("op", ["query", "scan"])
def test_a_page_stops_after_1mb_even_when_the_filter_drops_everything(ddb, mk, op):
    t = mk("pk", "sk:N")
    big = "x" * (100 * 1024)
    for i in range(25):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": _n(i), "d": {"S": big}, "f": _n(1)})
    kw = {"TableName": t, "FilterExpression": "f = :z", "ExpressionAttributeValues": {":z": _n(2)}}
    if op == "query":
        kw["KeyConditionExpression"] = "pk = :p"
        kw["ExpressionAttributeValues"].update(P)
    pages = _pages(getattr(ddb, op), **kw)
    assert len(pages) == 3
    # about 100 KB an item: a page holds ten or eleven of them, never all 25
    assert all(10 <= p["ScannedCount"] <= 11 for p in pages[:2])
    assert sum(p["ScannedCount"] for p in pages) == 25
    assert all(p["Count"] == 0 for p in pages)
    assert "LastEvaluatedKey" in pages[0] and "LastEvaluatedKey" not in pages[-1]


# --- LastEvaluatedKey / ExclusiveStartKey on indexes --------------------------------------------------
def test_index_last_evaluated_keys_carry_the_index_and_table_keys(ddb, it):
    g = {":g": {"S": "G"}}
    r = ddb.query(TableName=it, IndexName="keys", KeyConditionExpression="g = :g", Limit=1, ExpressionAttributeValues=g)
    assert r["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": _n(0), "g": {"S": "G"}, "gs": _n(0)}
    r = ddb.query(TableName=it, IndexName="incl", KeyConditionExpression="g = :g", Limit=1, ExpressionAttributeValues=g)
    assert r["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": _n(0), "g": {"S": "G"}}
    r = ddb.query(TableName=it, IndexName="loc", KeyConditionExpression="pk = :p", Limit=1, ExpressionAttributeValues=P)
    assert r["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": _n(5), "l": {"S": "l0"}}
    r = ddb.scan(TableName=it, IndexName="keys", Limit=1)
    assert set(r["LastEvaluatedKey"]) == {"pk", "sk", "g", "gs"}


@pytest.mark.parametrize("index,forward", [("keys", True), ("keys", False), ("incl", True), ("loc", False)])
def test_index_paging_returns_every_entry_once_in_order(ddb, it, index, forward):
    hk, hv = ("pk", P[":p"]) if index == "loc" else ("g", {"S": "G"})
    whole = ddb.query(TableName=it, IndexName=index, KeyConditionExpression=f"{hk} = :h", ScanIndexForward=forward,
                      ExpressionAttributeValues={":h": hv})["Items"]
    pages = _pages(ddb.query, TableName=it, IndexName=index, KeyConditionExpression=f"{hk} = :h", Limit=2,
                   ScanIndexForward=forward, ExpressionAttributeValues={":h": hv})
    assert [i for p in pages for i in p["Items"]] == whole and len(whole) == 6


def test_gsi_sort_key_order_forward_and_backward(ddb, it):
    r = ddb.query(TableName=it, IndexName="keys", KeyConditionExpression="g = :g AND gs > :z", ScanIndexForward=False,
                  ExpressionAttributeValues={":g": {"S": "G"}, ":z": _n(0)})
    assert [i["gs"]["N"] for i in r["Items"]] == ["1", "1", "1"]
    r = ddb.query(TableName=it, IndexName="keys", KeyConditionExpression="g = :g", ScanIndexForward=False,
                  ExpressionAttributeValues={":g": {"S": "G"}})
    assert [i["gs"]["N"] for i in r["Items"]] == ["1", "1", "1", "0", "0", "0"]


_BAD_START = "^The provided starting key is invalid: The provided key element does not match the schema$"


@pytest.mark.parametrize("esk", [
    {"g": {"S": "G"}, "gs": _n(0)},                                        # no table key
    {"pk": {"S": "a"}, "sk": _n(0)},                                       # no index key
    {"pk": {"S": "a"}, "sk": _n(0), "g": {"S": "G"}},                      # half the index key
    {"pk": {"S": "a"}, "sk": _n(0), "g": {"S": "G"}, "gs": _n(0), "x": _n(0)},  # one too many
    {"pk": {"S": "a"}, "sk": _n(0), "g": {"S": "G"}, "gs": {"S": "0"}},   # wrong type
])
def test_index_exclusive_start_key_must_have_the_index_and_table_keys(ddb, it, esk):
    with raises(V, _BAD_START):
        ddb.query(TableName=it, IndexName="keys", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "G"}}, ExclusiveStartKey=esk)
    with raises(V, _BAD_START):
        ddb.scan(TableName=it, IndexName="keys", ExclusiveStartKey=esk)


def test_index_exclusive_start_key_outside_the_key_condition(ddb, it):
    start = {"pk": {"S": "a"}, "sk": _n(0), "g": {"S": "H"}, "gs": _n(0)}
    with raises(V, "^The provided starting key is outside query boundaries based on provided conditions$"):
        ddb.query(TableName=it, IndexName="keys", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "G"}}, ExclusiveStartKey=start)
    start["g"] = {"S": "G"}
    with raises(V, "^The provided starting key does not match the range key predicate$"):
        ddb.query(TableName=it, IndexName="keys", KeyConditionExpression="g = :g AND gs > :z",
                  ExpressionAttributeValues={":g": {"S": "G"}, ":z": _n(0)}, ExclusiveStartKey=start)
    # a table key with the index's sort key: the LSI's, not the table's, is required
    with raises(V, _BAD_START):
        ddb.query(TableName=it, IndexName="loc", KeyConditionExpression="pk = :p", ExpressionAttributeValues=P,
                  ExclusiveStartKey={"pk": {"S": "a"}, "sk": _n(1)})


def test_table_exclusive_start_key_with_an_index_key_is_invalid(ddb, it):
    with raises(V, _BAD_START):
        ddb.query(TableName=it, KeyConditionExpression="pk = :p", ExpressionAttributeValues=P,
                  ExclusiveStartKey={"pk": {"S": "a"}, "sk": _n(1), "l": {"S": "l4"}})


def test_exclusive_start_key_values_are_validated(ddb, nt):
    q = {"TableName": nt, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P}
    with raises(V, "^The provided starting key is invalid: The parameter cannot be converted to a numeric value: one$"):
        ddb.query(**q, ExclusiveStartKey={"pk": {"S": "a"}, "sk": {"N": "one"}})
    with raises(V, "^The provided starting key is invalid: One or more parameter values are not valid. The "
                   "AttributeValue for a key attribute cannot contain an empty string value. Key: pk$"):
        ddb.scan(TableName=nt, ExclusiveStartKey={"pk": {"S": ""}, "sk": _n(1)})
    with raises(V, _BAD_START):
        ddb.query(**q, ExclusiveStartKey={})


def test_exclusive_start_key_need_not_be_an_existing_item(ddb, nt):
    r = ddb.query(TableName=nt, KeyConditionExpression="pk = :p", ExpressionAttributeValues=P,
                  ExclusiveStartKey={"pk": {"S": "a"}, "sk": _n("6.5")})
    assert [i["sk"]["N"] for i in r["Items"]] == ["7", "8", "9"]
    r = ddb.query(TableName=nt, KeyConditionExpression="pk = :p", ExpressionAttributeValues=P, ScanIndexForward=False,
                  ExclusiveStartKey={"pk": {"S": "a"}, "sk": _n("2.5")})
    assert [i["sk"]["N"] for i in r["Items"]] == ["2", "1", "0"]


# --- ScanIndexForward on N and B sort keys ------------------------------------------------------------
def test_number_sort_key_descends_by_value_across_pages(ddb, mk):
    t = mk("pk", "sk:N")
    nums = ["-1E+10", "-2.5", "-1", "0", "0.25", "1", "2", "10", "1E+3"]
    for v in nums:
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": v}})
    pages = _pages(ddb.query, TableName=t, KeyConditionExpression="pk = :p", ScanIndexForward=False, Limit=2,
                   ExpressionAttributeValues=P)
    got = [Decimal(i["sk"]["N"]) for p in pages for i in p["Items"]]
    assert got == sorted((Decimal(v) for v in nums), reverse=True)


def test_binary_sort_key_descends_in_unsigned_byte_order(ddb, mk):
    t = mk("pk", "sk:B")
    bins = [b"\x00", b"\x01", b"\x7f", b"\x80", b"\x80\x00", b"\xfe", b"\xff", b"\xff\x01"]
    for b in bins:
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"B": b}})
    pages = _pages(ddb.query, TableName=t, KeyConditionExpression="pk = :p", ScanIndexForward=False, Limit=3,
                   ExpressionAttributeValues=P)
    assert [i["sk"]["B"] for p in pages for i in p["Items"]] == bins[::-1]
    r = ddb.query(TableName=t, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                  ExpressionAttributeValues={**P, ":a": {"B": b"\x7f"}, ":b": {"B": b"\xfe"}})
    assert [i["sk"]["B"] for i in r["Items"]] == [b"\x7f", b"\x80", b"\x80\x00", b"\xfe"]
    r = ddb.query(TableName=t, KeyConditionExpression="pk = :p AND begins_with(sk, :a)", ScanIndexForward=False,
                  ExpressionAttributeValues={**P, ":a": {"B": b"\xff"}})
    assert [i["sk"]["B"] for i in r["Items"]] == [b"\xff\x01", b"\xff"]


# --- KeyConditionExpression forms ---------------------------------------------------------------------
@pytest.mark.parametrize("expr,values,skeys", [
    ("sk BETWEEN :a AND :b AND pk = :p", {":a": _n(2), ":b": _n(4)}, ["2", "3", "4"]),
    ("pk = :p AND sk BETWEEN :a AND :a", {":a": _n(2)}, ["2"]),
    ("(pk = :p) AND (sk >= :a)", {":a": _n(8)}, ["8", "9"]),
    ("pk = :p and sk < :a", {":a": _n(2)}, ["0", "1"]),
])
def test_key_condition_forms_that_work(ddb, nt, expr, values, skeys):
    r = ddb.query(TableName=nt, KeyConditionExpression=expr, ExpressionAttributeValues={**P, **values})
    assert [i["sk"]["N"] for i in r["Items"]] == skeys


@pytest.mark.parametrize("expr,values,message", [
    ("pk = :p AND begins_with(sk, :a)", {":a": _n(1)},
     ("^Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: "
     "begins_with, operand type: N$")),
    ("pk = :p AND pk = :p", {}, ("^Invalid KeyConditionExpression: KeyConditionExpressions must only contain one "
                                "condition per key$")),
    ("pk = :p AND sk > :a AND sk < :a", {":a": _n(1)},
     "^Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key$"),
    ("pk > :p", {}, "^Query key condition not supported$"),
    ("pk = :p AND sk <> :a", {":a": _n(1)}, "^Invalid operator used in KeyConditionExpression: <>$"),
    ("pk = :p AND sk IN (:a)", {":a": _n(1)}, "^Invalid operator used in KeyConditionExpression: IN$"),
    ("pk = :p OR sk = :a", {":a": _n(1)}, "^Invalid operator used in KeyConditionExpression: OR$"),
    ("pk = :p AND attribute_exists(sk)", {}, "^Invalid operator used in KeyConditionExpression: attribute_exists$"),
    ("pk = :p AND x = :a", {":a": _n(1)}, "^Query condition missed key schema element: sk$"),
    ("sk = :a", {":a": _n(1)}, "^Query condition missed key schema element: pk$"),
    ("pk = :p AND sk > :a", {":a": {"S": "1"}},
     "^One or more parameter values were invalid: Condition parameter type does not match schema type$"),
])
def test_key_condition_forms_that_are_rejected(ddb, nt, expr, values, message):
    with raises(V, message):
        ddb.query(TableName=nt, KeyConditionExpression=expr, ExpressionAttributeValues={**P, **values})


# --- consistent reads, Select and projections on indexes ----------------------------------------------
def test_consistent_read_on_a_gsi_is_rejected_and_on_an_lsi_allowed(ddb, it):
    msg = "^Consistent reads are not supported on global secondary indexes$"
    with raises(V, msg):
        ddb.query(TableName=it, IndexName="all", KeyConditionExpression="g = :g", ConsistentRead=True,
                  ExpressionAttributeValues={":g": {"S": "G"}})
    with raises(V, msg):
        ddb.scan(TableName=it, IndexName="keys", ConsistentRead=True)
    r = ddb.query(TableName=it, IndexName="loc", KeyConditionExpression="pk = :p", ConsistentRead=True,
                  ExpressionAttributeValues=P)
    assert r["Count"] == 6
    assert ddb.scan(TableName=it, IndexName="loc", ConsistentRead=True)["Count"] == 6


@pytest.mark.parametrize("index", ["keys", "incl"])
def test_select_all_attributes_needs_a_gsi_projecting_all(ddb, it, index):
    msg = (f"^One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global "
           f"secondary index {index} because its projection type is not ALL$")
    with raises(V, msg):
        ddb.query(TableName=it, IndexName=index, KeyConditionExpression="g = :g", Select="ALL_ATTRIBUTES",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    with raises(V, msg):
        ddb.scan(TableName=it, IndexName=index, Select="ALL_ATTRIBUTES")


def test_select_on_indexes_returns_what_each_projects(ddb, it):
    g = {":g": {"S": "G"}}
    full = {"pk", "sk", "g", "gs", "l", "x", "y"}
    r = ddb.query(TableName=it, IndexName="all", KeyConditionExpression="g = :g", Select="ALL_ATTRIBUTES",
                  ExpressionAttributeValues=g)
    assert all(set(i) == full for i in r["Items"]) and r["Count"] == 6
    r = ddb.query(TableName=it, IndexName="incl", KeyConditionExpression="g = :g", ExpressionAttributeValues=g)
    assert all(set(i) == {"pk", "sk", "g", "x"} for i in r["Items"])
    r = ddb.query(TableName=it, IndexName="loc", KeyConditionExpression="pk = :p", Select="ALL_PROJECTED_ATTRIBUTES",
                  ExpressionAttributeValues=P)
    assert all(set(i) == {"pk", "sk", "l"} for i in r["Items"])
    # an LSI fetches what it does not project from the table
    r = ddb.query(TableName=it, IndexName="loc", KeyConditionExpression="pk = :p", Select="ALL_ATTRIBUTES",
                  ExpressionAttributeValues=P)
    assert [i["l"]["S"] for i in r["Items"]] == [f"l{k}" for k in range(6)]
    assert all(set(i) == full for i in r["Items"])
    r = ddb.scan(TableName=it, IndexName="loc", ProjectionExpression="y, l", Limit=1)
    assert r["Items"] == [{"y": {"S": "y" * 10}, "l": {"S": "l0"}}]


@pytest.mark.parametrize("select,proj,ok", [
    ("SPECIFIC_ATTRIBUTES", "x", True), ("SPECIFIC_ATTRIBUTES", None, False),
    ("ALL_ATTRIBUTES", "x", False), ("ALL_PROJECTED_ATTRIBUTES", "x", False), ("COUNT", "x", False),
    ("ALL_PROJECTED_ATTRIBUTES", None, True), ("COUNT", None, True),
])
def test_select_and_projection_expression_on_an_index(ddb, it, select, proj, ok):
    kw = {"TableName": it, "IndexName": "incl", "KeyConditionExpression": "g = :g", "Select": select,
          "ExpressionAttributeValues": {":g": {"S": "G"}}}
    if proj:
        kw["ProjectionExpression"] = proj
    if ok:
        r = ddb.query(**kw)
        assert r["Count"] == 6
        assert ("Items" in r) is (select != "COUNT")
        if proj:
            assert r["Items"][0] == {"x": _n(0)}
    else:
        with raises(V, "^1 validation error detected: (Must specify|Cannot specify the ProjectionExpression)"):
            ddb.query(**kw)


# --- parallel Scan -----------------------------------------------------------------------------------
@pytest.mark.parametrize("extra,message", [
    ({"Segment": 0}, ("^The TotalSegments parameter is required but was not present in the request when Segment "
                     "parameter is present$")),
    ({"TotalSegments": 2}, ("^The Segment parameter is required but was not present in the request when parameter "
                           "TotalSegments is present$")),
    ({"Segment": 3, "TotalSegments": 3}, ("^The Segment parameter is zero-based and must be less than parameter "
                                         "TotalSegments: Segment: 3 is not less than TotalSegments: 3$")),
    ({"Segment": 0, "TotalSegments": 1000001}, ("^1 validation error detected: Value '1000001' at 'totalSegments' "
                                               "failed to satisfy constraint: Member must have value less than or "
                                               "equal to 1000000$")),
    ({"Segment": 1000000, "TotalSegments": 1000000}, ("^1 validation error detected: Value '1000000' at 'segment' "
                                                     "failed to satisfy constraint: Member must have value less than "
                                                     "or equal to 999999$")),
    ({"Segment": -1, "TotalSegments": 0}, "^2 validation errors detected: "),
])
def test_parallel_scan_parameter_errors(ddb, nt, extra, message):
    with raises(V, message):
        ddb.scan(TableName=nt, **extra)


@pytest.mark.parametrize("index", [None, "all"])
def test_parallel_scan_segments_cover_every_item_exactly_once(ddb, mk, index):
    t = mk("pk", "sk:N", gsi={"all": ("g:S",)})
    for i in range(60):
        ddb.put_item(TableName=t, Item={"pk": {"S": f"p{i % 17}"}, "sk": _n(i), "g": {"S": f"g{i % 7}"}})
    seen = []
    for seg in range(7):
        kw = {"TableName": t, "Segment": seg, "TotalSegments": 7, "Limit": 4}
        if index:
            kw["IndexName"] = index
        seen += [(i["pk"]["S"], i["sk"]["N"]) for p in _pages(ddb.scan, **kw) for i in p["Items"]]
    assert len(seen) == 60 and len(set(seen)) == 60
    r = ddb.scan(TableName=t, Segment=999999, TotalSegments=1000000)
    assert r["Count"] == r["ScannedCount"] <= 60


# --- ReturnConsumedCapacity ---------------------------------------------------------------------------
def test_query_capacity_is_the_summed_size_in_4kb_units_halved_when_eventually_consistent(ddb, mk):
    t = mk("pk", "sk:N")
    for i in range(3):   # three items of a little over 3 KB: ~9.3 KB in all, 3 units (not 3 x 1)
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": _n(i), "d": {"S": "x" * 3100}})
    q = {"TableName": t, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P,
         "ReturnConsumedCapacity": "TOTAL"}
    assert ddb.query(**q, ConsistentRead=True)["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 3.0}
    assert ddb.query(**q)["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 1.5}
    # the filter and Select=COUNT do not lower what was read
    r = ddb.query(**{**q, "ExpressionAttributeValues": {**P, ":z": {"S": "z"}}}, Select="COUNT",
                  FilterExpression="d = :z")
    assert r["Count"] == 0 and r["ConsumedCapacity"]["CapacityUnits"] == 1.5
    # Limit does
    assert ddb.query(**q, Limit=1)["ConsumedCapacity"]["CapacityUnits"] == 0.5
    # nothing read still costs the minimum
    empty = ddb.query(**{**q, "ExpressionAttributeValues": {":p": {"S": "none"}}}, ConsistentRead=True)
    assert empty["ConsumedCapacity"]["CapacityUnits"] == 1.0
    r = ddb.scan(TableName=t, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 1.5, "Table": {"CapacityUnits": 1.5}}


def test_index_read_capacity_breakdown(ddb, it):
    r = ddb.query(TableName=it, IndexName="keys", KeyConditionExpression="g = :g", ReturnConsumedCapacity="INDEXES",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    assert r["ConsumedCapacity"] == {"TableName": it, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.0},
                                     "GlobalSecondaryIndexes": {"keys": {"CapacityUnits": 0.5}}}
    r = ddb.scan(TableName=it, IndexName="loc", ReturnConsumedCapacity="INDEXES", ConsistentRead=True)
    assert r["ConsumedCapacity"] == {"TableName": it, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 0.0},
                                     "LocalSecondaryIndexes": {"loc": {"CapacityUnits": 1.0}}}
    r = ddb.scan(TableName=it, IndexName="loc", ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": it, "CapacityUnits": 0.5}


def test_a_gsi_keyed_on_the_table_keys_swapped_pages_on_them_alone(ddb, mk):
    t = mk("pk", "sk", gsi={"inv": ("sk:S", "pk:S")})
    for i in range(7):
        for s in ("A", "B"):
            ddb.put_item(TableName=t, Item={"pk": {"S": f"p{i}"}, "sk": {"S": s}})
    for forward in (True, False):
        pages = _pages(ddb.query, TableName=t, IndexName="inv", KeyConditionExpression="sk = :s", Limit=2,
                       ScanIndexForward=forward, ExpressionAttributeValues={":s": {"S": "A"}})
        assert all(set(p["LastEvaluatedKey"]) == {"pk", "sk"} for p in pages[:-1])
        got = [i["pk"]["S"] for p in pages for i in p["Items"]]
        assert got == sorted((f"p{i}" for i in range(7)), reverse=not forward)


def test_a_hash_only_table_pages_by_partition(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": _n(1)})
    r = ddb.query(TableName=t, KeyConditionExpression="pk = :p", Limit=1, ExpressionAttributeValues=P)
    assert r["Count"] == 1 and r["LastEvaluatedKey"] == {"pk": {"S": "a"}}
    r = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExclusiveStartKey=r["LastEvaluatedKey"],
                  ExpressionAttributeValues=P)
    assert (r["Count"], r["ScannedCount"], r["Items"]) == (0, 0, []) and "LastEvaluatedKey" not in r
    with raises(V, "^The provided starting key is outside query boundaries based on provided conditions$"):
        ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExclusiveStartKey={"pk": {"S": "b"}},
                  ExpressionAttributeValues=P)


@pytest.mark.parametrize("limit", [2**31, 2**63, 10**30])
def test_a_limit_beyond_64_bits_reads_like_no_limit(ddb, it, limit):
    # a page stops at 1 MB long before such a Limit; it used to overflow the storage's row limit (a 500)
    q = {"KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "G"}}}
    for r in (ddb.query(TableName=it, KeyConditionExpression="pk = :p", ExpressionAttributeValues=P, Limit=limit),
              ddb.query(TableName=it, IndexName="keys", Limit=limit, **q),
              ddb.scan(TableName=it, Limit=limit),
              ddb.scan(TableName=it, IndexName="loc", Limit=limit, Segment=0, TotalSegments=1)):
        assert (r["Count"], r["ScannedCount"]) == (6, 6) and "LastEvaluatedKey" not in r


def test_an_execute_statement_limit_beyond_64_bits_reads_like_no_limit(ddb, nt):
    r = ddb.execute_statement(Statement=f'SELECT * FROM "{nt}" WHERE pk = \'a\'', Limit=2**63)
    assert len(r["Items"]) == 10 and "NextToken" not in r


def test_ttl_hide_expired_hides_from_counts_projections_and_index_reads(tmp_path):
    # the opt-in extension: an expired, not yet deleted item reads as absent everywhere, not only
    # when the returned item still carries its TTL attribute
    import time

    import eddydb

    d = eddydb.open(str(tmp_path / "hide"), background=False, ttl_hide_expired=True)
    try:
        c = d.client("dynamodb")
        attrs = [("pk", "S"), ("sk", "S"), ("l", "S"), ("g", "S")]
        c.create_table(TableName="hide", BillingMode="PAY_PER_REQUEST",
                       KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                       AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attrs],
                       LocalSecondaryIndexes=[{"IndexName": "loc", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                             {"AttributeName": "l", "KeyType": "RANGE"}]}],
                       GlobalSecondaryIndexes=[{"IndexName": "glob", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
        c.update_time_to_live(TableName="hide", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        past = str(int(time.time()) - 60)
        c.put_item(TableName="hide", Item={"pk": {"S": "a"}, "sk": {"S": "gone"}, "l": {"S": "1"}, "g": {"S": "G"},
                                           "exp": {"N": past}})
        c.put_item(TableName="hide", Item={"pk": {"S": "a"}, "sk": {"S": "here"}, "l": {"S": "2"}, "g": {"S": "G"}})
        q = {"TableName": "hide", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P}
        g = {"TableName": "hide", "IndexName": "glob", "KeyConditionExpression": "g = :g",
             "ExpressionAttributeValues": {":g": {"S": "G"}}}
        for r in (c.scan(TableName="hide", Select="COUNT"), c.query(**q, Select="COUNT"),
                  c.query(**{**g, "Select": "COUNT"})):
            assert (r["Count"], r["ScannedCount"]) == (1, 2)
        for r in (c.scan(TableName="hide", ProjectionExpression="sk"), c.query(**q, ProjectionExpression="sk"),
                  c.query(**q, IndexName="loc"), c.query(**g), c.scan(TableName="hide", IndexName="glob")):
            assert [i["sk"]["S"] for i in r["Items"]] == ["here"] and r["Count"] == 1
    finally:
        d.close()
