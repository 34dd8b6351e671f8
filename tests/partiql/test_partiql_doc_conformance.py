"""PartiQL as the DynamoDB developer guide documents it ("PartiQL - a SQL-compatible query language for
Amazon DynamoDB": the SELECT, INSERT, UPDATE and DELETE pages, the functions, the batch and transaction
pages) and as botocore's model describes ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.
The statements are the guide's own examples where it has them (the "Music", "Orders" and "WatchList"
tables)."""
from __future__ import annotations

from typing import Any

import pytest
from pqutil import error_of, run

ACME = "Artist = 'Acme Band' AND SongTitle = 'PartiQL Rocks'"


@pytest.fixture
def music(dynamodb: Any, make_table: Any) -> str:
    name = make_table(("Artist", "S"), ("SongTitle", "S"))
    dynamodb.put_item(TableName=name, Item={"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "PartiQL Rocks"},
                                            "Awards": {"N": "1"}, "Genre": {"NULL": True}})
    dynamodb.put_item(TableName=name, Item={"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "Best Song"},
                                            "Genre": {"S": "Rock"}})
    dynamodb.put_item(TableName=name, Item={"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}})
    return name


@pytest.fixture
def orders(dynamodb: Any, make_table: Any) -> str:
    name = make_table(("OrderID", "N"))
    for i, (address, total) in enumerate([("7834 24th St, Kirkland", 10), ("1 Main St, Seattle", 20),
                                          ("7834 24th Ave, Redmond", 30), ("9 Elm St, Kirkland", 40)], start=1):
        dynamodb.put_item(TableName=name, Item={"OrderID": {"N": str(i)}, "Address": {"S": address},
                                                "Total": {"N": str(total)}, "Image": {"B": b"x" * i}})
    return name


def get(client: Any, table: str, artist: str, song: str) -> dict | None:
    key = {"Artist": {"S": artist}, "SongTitle": {"S": song}}
    return client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def ids(out: dict) -> list[int]:
    return [int(i["OrderID"]["N"]) for i in out["Items"]]


# --- SELECT ------------------------------------------------------------------------------------------------
def test_select_in_on_the_partition_key_ordered_by_it_descending(dynamodb: Any, orders: str) -> None:
    out = run(dynamodb, f'SELECT OrderID, Total FROM "{orders}" WHERE OrderID IN [1, 2, 3] ORDER BY OrderID DESC')
    assert out["Items"] == [{"OrderID": {"N": str(i)}, "Total": {"N": str(i * 10)}} for i in (3, 2, 1)]


@pytest.mark.parametrize(("where", "expected"), [
    ("OrderID = 1", [1]),
    ("OrderID = 1 and Address = '7834 24th St, Kirkland'", [1]),
    ("OrderID = 2 or OrderID = 4", [2, 4]),
    ("OrderID IN [4, 3, 2]", [4, 3, 2]),
])
def test_where_with_the_partition_key_by_equality_or_in_is_not_a_full_table_scan(
        dynamodb: Any, orders: str, where: str, expected: list[int]) -> None:
    # the guide lists these as the forms that do not scan: the partitions are read in the order written
    out = run(dynamodb, f'SELECT OrderID FROM "{orders}" WHERE {where}')
    assert ids(out) == expected


def test_or_of_partition_key_equalities_reads_only_those_partitions(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("pk", "S"))
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    for i in range(4):   # 14 KB elsewhere: a Scan would consume 4 units for it
        dynamodb.put_item(TableName=name, Item={"pk": {"S": f"big{i}"}, "filler": {"S": "x" * 3500}})
    for where in ("pk = 'b' OR pk = 'a'", "(pk = 'b' OR pk = 'a') AND attribute_not_exists(filler)"):
        out = run(dynamodb, f'SELECT pk FROM "{name}" WHERE {where}', ConsistentRead=True,
                  ReturnConsumedCapacity="TOTAL")
        assert out["Items"] == [{"pk": {"S": "b"}}, {"pk": {"S": "a"}}], where
        assert out["ConsumedCapacity"]["CapacityUnits"] == 1.0, where
    # "OrderID = 100 OR Address='some address'" is one of the guide's full table scans
    out = run(dynamodb, f"SELECT pk FROM \"{name}\" WHERE pk = 'a' OR filler = 'y'", ConsistentRead=True,
              ReturnConsumedCapacity="TOTAL")
    assert out["Items"] == [{"pk": {"S": "a"}}]
    assert out["ConsumedCapacity"]["CapacityUnits"] == 4.0


def test_or_of_partition_key_equalities_pages_with_limit_per_partition(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("pk", "S"), ("sk", "N"))
    for p in ("a", "b", "c"):
        for i in range(2):
            dynamodb.put_item(TableName=name, Item={"pk": {"S": p}, "sk": {"N": str(i)}})
    stmt = f"SELECT pk, sk FROM \"{name}\" WHERE pk = 'c' OR pk = 'a' ORDER BY pk DESC, sk DESC"
    first = run(dynamodb, stmt, Limit=1)
    assert first["Items"] == [{"pk": {"S": "c"}, "sk": {"N": "1"}}]
    assert first["LastEvaluatedKey"] == {"pk": {"S": "c"}, "sk": {"N": "1"}}
    rest = run(dynamodb, stmt, Limit=10, NextToken=first["NextToken"])
    assert [(i["pk"]["S"], i["sk"]["N"]) for i in rest["Items"]] == [("c", "0"), ("a", "1"), ("a", "0")]
    assert "NextToken" not in rest


@pytest.mark.parametrize(("where", "expected"), [
    ("OrderID > 1", [2, 3, 4]),
    ("Address = '1 Main St, Seattle'", [2]),
    ("OrderID = 1 OR Address = '1 Main St, Seattle'", [1, 2]),
    ("Total BETWEEN 15 AND 35", [2, 3]),
])
def test_where_without_a_partition_key_equality_scans_the_whole_table(
        dynamodb: Any, orders: str, where: str, expected: list[int]) -> None:
    assert sorted(ids(run(dynamodb, f'SELECT OrderID FROM "{orders}" WHERE {where}'))) == expected


def test_select_without_where_retrieves_every_item(dynamodb: Any, orders: str) -> None:
    assert sorted(ids(run(dynamodb, f'SELECT * FROM "{orders}"'))) == [1, 2, 3, 4]


def test_select_from_a_quoted_table_and_index(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("pk", "S"), gsi={"by-genre": ("genre:S", "year:N")})
    for pk, genre, year in (("a", "rock", 1990), ("b", "rock", 1980), ("c", "jazz", 1970), ("d", None, 1)):
        item: dict[str, Any] = {"pk": {"S": pk}, "year": {"N": str(year)}}
        if genre is not None:
            item["genre"] = {"S": genre}
        dynamodb.put_item(TableName=name, Item=item)
    out = run(dynamodb, f"SELECT pk, \"year\" FROM \"{name}\".\"by-genre\" WHERE genre = 'rock' ORDER BY \"year\"")
    assert out["Items"] == [{"pk": {"S": "b"}, "year": {"N": "1980"}}, {"pk": {"S": "a"}, "year": {"N": "1990"}}]
    out = run(dynamodb, f'SELECT pk FROM "{name}"."by-genre"')   # an index holds only the items it projects
    assert sorted(i["pk"]["S"] for i in out["Items"]) == ["a", "b", "c"]


@pytest.mark.parametrize(("where", "expected"), [
    ("\"OrderID\" = 1 AND begins_with(\"Address\", '7834 24th')", [1]),
    ("begins_with(\"Address\", '7834 24th')", [1, 3]),
    ("contains(\"Address\", 'Kirkland')", [1, 4]),
    ("\"OrderID\" = 4 AND contains(\"Address\", 'Kirkland')", [4]),
    ("size(\"Image\") > 2", [3, 4]),
    ("size(Address) = 18", [2, 4]),
    ("attribute_type(\"Total\", 'N')", [1, 2, 3, 4]),
    ("attribute_type(\"Total\", 'S')", []),
    ("\"Gift\" IS MISSING", [1, 2, 3, 4]),
    ("\"Gift\" IS NOT MISSING", []),
    ("Total + 0 > 1", None),   # arithmetic belongs to UPDATE's SET, not to a WHERE
])
def test_functions_in_where(dynamodb: Any, orders: str, where: str, expected: list[int] | None) -> None:
    stmt = f'SELECT OrderID FROM "{orders}" WHERE {where}'
    if expected is None:
        assert error_of(run, dynamodb, stmt)["Code"] == "ValidationException"
    else:
        assert sorted(ids(run(dynamodb, stmt))) == expected


@pytest.mark.parametrize("typ", ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"])
def test_attribute_type_accepts_every_data_type_descriptor(dynamodb: Any, orders: str, typ: str) -> None:
    expected = {"N": [1, 2, 3, 4]}.get(typ, [])
    assert sorted(ids(run(dynamodb, f"SELECT OrderID FROM \"{orders}\" WHERE attribute_type(Total, '{typ}')"))) == expected
    assert sorted(ids(run(dynamodb, f'SELECT OrderID FROM "{orders}" WHERE attribute_type(Total, ?)', {"S": typ}))) \
        == expected


_BAD_NAME = "Invalid attribute type name found; type: {}, valid types: { B, NULL, SS, BOOL, L, BS, N, NS, S, M }"
_BAD_OPERAND = "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: "


@pytest.mark.parametrize(("operand", "params", "message"), [
    ("'STRING'", (), _BAD_NAME.replace("{}", "STRING", 1)),
    ("?", ({"S": "s"},), _BAD_NAME.replace("{}", "s", 1)),
    ("?", ({"N": "1"},), _BAD_OPERAND + "N"),
    ("Address", (), _BAD_OPERAND + "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"),
])
def test_attribute_type_of_something_but_a_type_name_is_rejected(
        dynamodb: Any, orders: str, operand: str, params: tuple, message: str) -> None:
    err = error_of(run, dynamodb, f'SELECT * FROM "{orders}" WHERE OrderID = 1 AND attribute_type(Total, {operand})',
                   *params)
    assert (err["Code"], err["Message"]) == ("ValidationException", message)


def test_nested_document_paths_in_where_and_projection(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("CustomerID", "S"), ("MovieID", "S"))
    watched = {"M": {"FireStick": {"M": {"DateWatched": {"L": [{"S": "12/12/19"}, {"S": "11/11/19"}]}}}}}
    dynamodb.put_item(TableName=name, Item={"CustomerID": {"S": "C1"}, "MovieID": {"S": "M1"}, "Devices": watched})
    where = "CustomerID = 'C1' AND MovieID = 'M1'"
    out = run(dynamodb, f"SELECT CustomerID FROM \"{name}\" WHERE {where} AND Devices.FireStick.DateWatched[0] "
                        ">= '12/12/19'")
    assert out["Items"] == [{"CustomerID": {"S": "C1"}}]
    out = run(dynamodb, f"SELECT CustomerID FROM \"{name}\" WHERE {where} AND Devices['FireStick'].DateWatched[1] "
                        "= '12/12/19'")
    assert out["Items"] == []
    out = run(dynamodb, f'SELECT Devices FROM "{name}" WHERE {where}')
    assert out["Items"] == [{"Devices": watched}]


# --- NULL and MISSING ---------------------------------------------------------------------------------------
# Decided (the guide does not spell it out): `= NULL` compares with DynamoDB's NULL value as a
# ConditionExpression would (a missing attribute is not equal to it); `IS NULL` follows PartiQL, for which
# MISSING IS NULL is true; `IS MISSING` (and `= MISSING`) is the MISSING function: "TRUE if the item does not
# contain the attribute specified".
@pytest.mark.parametrize(("where", "expected"), [
    ("Genre = NULL", ["PartiQL Rocks"]),
    ("Genre <> NULL", ["Best Song", "Call Me Today"]),
    ("Genre IS NULL", ["Call Me Today", "PartiQL Rocks"]),
    ("Genre IS NOT NULL", ["Best Song"]),
    ("Genre IS MISSING", ["Call Me Today"]),
    ("Genre = MISSING", ["Call Me Today"]),
    ("Genre IS NOT MISSING", ["Best Song", "PartiQL Rocks"]),
    ("attribute_type(Genre, 'NULL')", ["PartiQL Rocks"]),
])
def test_null_and_missing(dynamodb: Any, music: str, where: str, expected: list[str]) -> None:
    out = run(dynamodb, f'SELECT SongTitle FROM "{music}" WHERE {where}')
    assert sorted(i["SongTitle"]["S"] for i in out["Items"]) == sorted(expected)


def test_missing_is_only_compared_with_equality_or_inequality(dynamodb: Any, music: str) -> None:
    err = error_of(run, dynamodb, f'SELECT * FROM "{music}" WHERE Genre > MISSING')
    assert err["Code"] == "ValidationException"


# --- wrong-type key values ------------------------------------------------------------------------------------
def test_select_with_a_key_value_of_another_type_matches_nothing(dynamodb: Any, orders: str) -> None:
    assert run(dynamodb, f"SELECT * FROM \"{orders}\" WHERE OrderID = '1'")["Items"] == []
    assert run(dynamodb, f'SELECT * FROM "{orders}" WHERE OrderID IN [?, 2]', {"S": "1"})["Items"] == [
        run(dynamodb, f'SELECT * FROM "{orders}" WHERE OrderID = 2')["Items"][0]]


@pytest.mark.parametrize("stmt", [
    "UPDATE \"{t}\" SET Total = 1 WHERE OrderID = '1'",
    "DELETE FROM \"{t}\" WHERE OrderID = '1'",
    "DELETE FROM \"{t}\" WHERE OrderID = TRUE",
])
def test_write_with_a_key_value_of_another_type_does_not_match_the_schema(dynamodb: Any, orders: str, stmt: str) -> None:
    err = error_of(run, dynamodb, stmt.format(t=orders))
    assert (err["Code"], err["Message"]) == ("ValidationException", "The provided key element does not match the schema")
    assert len(run(dynamodb, f'SELECT * FROM "{orders}"', ConsistentRead=True)["Items"]) == 4


def test_batch_and_transaction_key_of_another_type(dynamodb: Any, orders: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{orders}\" WHERE OrderID = '1'"},
        {"Statement": f'SELECT Total FROM "{orders}" WHERE OrderID = 1'}])
    assert out["Responses"][0]["Error"] == {"Code": "ValidationError",
                                            "Message": "The provided key element does not match the schema"}
    assert out["Responses"][1]["Item"] == {"Total": {"N": "10"}}
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"DELETE FROM \"{orders}\" WHERE OrderID = '1'"},
        {"Statement": f'DELETE FROM "{orders}" WHERE OrderID = 2'}])
    assert err["Code"] == "ValidationException"
    assert len(run(dynamodb, f'SELECT * FROM "{orders}"', ConsistentRead=True)["Items"]) == 4


# --- INSERT ----------------------------------------------------------------------------------------------------
def test_insert_value_as_in_the_guide(dynamodb: Any, music: str) -> None:
    out = run(dynamodb, f"INSERT INTO \"{music}\" value {{'Artist' : 'Acme Band 2','SongTitle' : 'PartiQL Rocks'}}")
    assert out["Items"] == []
    assert get(dynamodb, music, "Acme Band 2", "PartiQL Rocks") == {
        "Artist": {"S": "Acme Band 2"}, "SongTitle": {"S": "PartiQL Rocks"}}


def test_insert_normalises_number_literals(dynamodb: Any, orders: str) -> None:
    run(dynamodb, f"INSERT INTO \"{orders}\" VALUE {{'OrderID': 5.0, 'a': 1e0, 'b': -0.50, 'c': 1.5E2}}")
    out = run(dynamodb, f'SELECT a, b, c FROM "{orders}" WHERE OrderID = 5 AND a = 1 AND c = 150')
    assert out["Items"] == [{"a": {"N": "1"}, "b": {"N": "-0.5"}, "c": {"N": "150"}}]


def test_insert_of_an_existing_item_is_a_duplicate_item_exception(dynamodb: Any, music: str) -> None:
    err = error_of(run, dynamodb, f"INSERT INTO \"{music}\" VALUE {{'Artist': 'Acme Band', "
                                  "'SongTitle': 'PartiQL Rocks', 'Awards': 9}", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert (err["Code"], err["Message"]) == ("DuplicateItemException", "Duplicate primary key exists in table")
    assert "Item" not in err
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks")["Awards"] == {"N": "1"}  # type: ignore[index]


# --- UPDATE ----------------------------------------------------------------------------------------------------
def test_update_examples_of_the_guide(dynamodb: Any, music: str) -> None:
    t = f'"{music}"'
    out = run(dynamodb, f"UPDATE {t} SET AwardsWon=1 SET AwardDetail={{'Grammys':[2020, 2018]}} WHERE {ACME}")
    assert out["Items"] == []
    out = run(dynamodb, f"UPDATE {t} SET AwardDetail.BillBoard=[2020] WHERE {ACME} RETURNING ALL NEW *")
    assert out["Items"][0]["AwardDetail"] == {"M": {"Grammys": {"L": [{"N": "2020"}, {"N": "2018"}]},
                                                    "BillBoard": {"L": [{"N": "2020"}]}}}
    run(dynamodb, f"UPDATE {t} SET AwardDetail.Grammys =list_append(AwardDetail.Grammys,[2016]) WHERE {ACME}")
    run(dynamodb, f"UPDATE {t} REMOVE AwardDetail.Grammys[2] WHERE {ACME}")
    run(dynamodb, f"UPDATE {t} SET AwardDetail.BillBoard=list_append(AwardDetail.BillBoard,[2019]) WHERE {ACME}")
    run(dynamodb, f"UPDATE {t} SET BandMembers =<<'member1', 'member2'>> WHERE {ACME}")
    out = run(dynamodb, f"UPDATE {t} SET BandMembers =set_add(BandMembers, <<'newmember'>>) WHERE {ACME} "
                        "RETURNING MODIFIED NEW *")
    assert sorted(out["Items"][0]["BandMembers"]["SS"]) == ["member1", "member2", "newmember"]
    item = get(dynamodb, music, "Acme Band", "PartiQL Rocks")
    assert item is not None
    assert item["AwardsWon"] == {"N": "1"}
    assert item["AwardDetail"] == {"M": {"Grammys": {"L": [{"N": "2020"}, {"N": "2018"}]},
                                         "BillBoard": {"L": [{"N": "2020"}, {"N": "2019"}]}}}


def test_update_set_delete_and_remove(dynamodb: Any, music: str) -> None:
    t = f'"{music}"'
    run(dynamodb, f"UPDATE {t} SET Tags = <<1, 2, 3>>, Extra = 'x' WHERE {ACME}")
    out = run(dynamodb, f"UPDATE {t} SET Tags = set_delete(Tags, <<2, 9>>) REMOVE Extra WHERE {ACME} "
                        "RETURNING MODIFIED OLD *")
    assert out["Items"][0]["Extra"] == {"S": "x"}
    assert sorted(out["Items"][0]["Tags"]["NS"]) == ["1", "2", "3"]
    run(dynamodb, f"UPDATE {t} SET Tags = set_delete(Tags, <<1, 3>>) WHERE {ACME}")
    item = get(dynamodb, music, "Acme Band", "PartiQL Rocks")
    assert item is not None and "Tags" not in item and "Extra" not in item   # an emptied set is removed


def test_update_arithmetic_adds_and_subtracts(dynamodb: Any, music: str) -> None:
    out = run(dynamodb, f'UPDATE "{music}" SET Awards = Awards + 2 WHERE {ACME} RETURNING MODIFIED NEW *')
    assert out["Items"] == [{"Awards": {"N": "3"}}]
    out = run(dynamodb, f'UPDATE "{music}" SET Awards = Awards - ?, Plays = 10 - 4 WHERE {ACME} RETURNING ALL OLD *',
              {"N": "0.5"})
    assert out["Items"][0]["Awards"] == {"N": "3"}
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks")["Awards"] == {"N": "2.5"}  # type: ignore[index]
    err = error_of(run, dynamodb, f'UPDATE "{music}" SET Nothing = Nothing + 1 WHERE {ACME}')
    assert err["Message"] == "The provided expression refers to an attribute that does not exist in the item"


def test_update_of_a_missing_item_is_a_conditional_check_failure(dynamodb: Any, music: str) -> None:
    # "If the WHERE clause of the UPDATE statement does not evaluate to true for any item ..."
    for extra in ("", " AND Awards = 1"):
        err = error_of(run, dynamodb, f"UPDATE \"{music}\" SET Awards = 2 WHERE Artist = 'Nobody' "
                                      f"AND SongTitle = 'Nothing'{extra}", ReturnValuesOnConditionCheckFailure="ALL_OLD")
        assert (err["Code"], err["Message"]) == ("ConditionalCheckFailedException", "The conditional request failed")
        assert "Item" not in err
    assert get(dynamodb, music, "Nobody", "Nothing") is None


def test_update_whose_condition_is_false_returns_the_item_when_asked(dynamodb: Any, music: str) -> None:
    err = error_of(run, dynamodb, f'UPDATE "{music}" SET Awards = 2 WHERE {ACME} AND Awards > 5',
                   ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert err["Code"] == "ConditionalCheckFailedException"
    assert err["Item"] == get(dynamodb, music, "Acme Band", "PartiQL Rocks")


# --- DELETE ----------------------------------------------------------------------------------------------------
def test_delete_of_a_missing_item_succeeds_even_with_a_condition(dynamodb: Any, music: str) -> None:
    # "If the DynamoDB table does not have any item with the same primary key ... SUCCESS is returned"
    out = run(dynamodb, f"DELETE FROM \"{music}\" WHERE Artist = 'Nobody' AND SongTitle = 'Nothing' AND Awards = 1 "
                        "RETURNING ALL OLD *", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert out["Items"] == []
    assert get(dynamodb, music, "Nobody", "Nothing") is None


def test_delete_whose_condition_is_false_is_a_conditional_check_failure(dynamodb: Any, music: str) -> None:
    # "... but the condition in the WHERE clause ... evaluates to false, ConditionalCheckFailedException"
    err = error_of(run, dynamodb, f'DELETE FROM "{music}" WHERE {ACME} AND Awards = 2',
                   ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert err["Code"] == "ConditionalCheckFailedException"
    assert err["Item"] == get(dynamodb, music, "Acme Band", "PartiQL Rocks")
    out = run(dynamodb, f'DELETE FROM "{music}" WHERE {ACME} AND Awards = 1 RETURNING ALL OLD *')
    assert out["Items"][0]["Awards"] == {"N": "1"}
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks") is None


# --- parameters ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("stmt", "params"), [
    ("SELECT * FROM \"{t}\" WHERE Artist = ? AND SongTitle = ?", [{"S": "Acme Band"}]),
    ("SELECT * FROM \"{t}\" WHERE Artist = ?", [{"S": "Acme Band"}, {"S": "x"}]),
    ("SELECT * FROM \"{t}\" WHERE Artist = 'Acme Band'", [{"S": "Acme Band"}]),
    ("INSERT INTO \"{t}\" VALUE {{'Artist': ?, 'SongTitle': ?}}", None),
    ("UPDATE \"{t}\" SET Awards = ? WHERE Artist = ? AND SongTitle = ?", [{"N": "1"}, {"S": "a"}]),
])
def test_parameter_count_mismatch(dynamodb: Any, music: str, stmt: str, params: list | None) -> None:
    kw = {} if params is None else {"Parameters": params}
    err = error_of(dynamodb.execute_statement, Statement=stmt.format(t=music), **kw)
    assert (err["Code"], err["Message"]) == ("ValidationException",
                                             "Number of parameters in request and statement don't match.")


def test_parameters_are_bound_in_order(dynamodb: Any, music: str) -> None:
    run(dynamodb, f'INSERT INTO "{music}" VALUE {{\'Artist\': ?, \'SongTitle\': ?, \'Payload\': ?, \'Tags\': ?}}',
        {"S": "P"}, {"S": "Q"}, {"B": b"\x00\xff"}, {"SS": ["x"]})
    out = run(dynamodb, f'SELECT Payload, Tags FROM "{music}" WHERE Artist = ? AND SongTitle = ?', {"S": "P"}, {"S": "Q"})
    assert out["Items"] == [{"Payload": {"B": b"\x00\xff"}, "Tags": {"SS": ["x"]}}]


# --- Limit, NextToken, LastEvaluatedKey, ConsistentRead, ReturnConsumedCapacity --------------------------------------
def test_limit_is_the_number_of_items_evaluated(dynamodb: Any, orders: str) -> None:
    stmt = f'SELECT OrderID FROM "{orders}" WHERE OrderID IN [1, 2, 3, 4] AND Total >= 30'
    first = run(dynamodb, stmt, Limit=2)
    assert first["Items"] == []                  # two items read, neither matched
    assert "NextToken" in first
    second = run(dynamodb, stmt, Limit=2, NextToken=first["NextToken"])
    assert ids(second) == [3, 4]


def test_next_token_round_trip_of_a_filtered_scan_sees_each_match_once(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("pk", "S"), ("sk", "N"))
    for p in range(5):
        for i in range(4):
            dynamodb.put_item(TableName=name, Item={"pk": {"S": f"p{p}"}, "sk": {"N": str(i)}, "odd": {"BOOL": i % 2 == 1}})
    stmt = f'SELECT pk, sk FROM "{name}" WHERE odd = ?'
    seen: list[tuple[str, str]] = []
    kw: dict[str, Any] = {}
    while True:
        out = run(dynamodb, stmt, {"BOOL": True}, Limit=3, **kw)
        seen += [(i["pk"]["S"], i["sk"]["N"]) for i in out["Items"]]
        if "NextToken" not in out:
            break
        assert "LastEvaluatedKey" in out
        kw["NextToken"] = out["NextToken"]
    assert sorted(seen) == [(f"p{p}", str(i)) for p in range(5) for i in (1, 3)]
    err = error_of(run, dynamodb, stmt, {"BOOL": False}, NextToken=kw["NextToken"])   # other parameters
    assert err["Code"] == "ValidationException"


def test_a_page_stops_after_1_mb(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("pk", "S"))
    for i in range(5):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "filler": {"S": "x" * 300_000}})
    first = run(dynamodb, f'SELECT pk FROM "{name}"')
    assert len(first["Items"]) < 5 and "NextToken" in first
    rest = run(dynamodb, f'SELECT pk FROM "{name}"', NextToken=first["NextToken"])
    assert sorted(i["pk"]["S"] for i in first["Items"] + rest["Items"]) == [f"k{i}" for i in range(5)]


def test_consistent_read_and_consumed_capacity_of_reads(dynamodb: Any, orders: str) -> None:
    stmt = f'SELECT * FROM "{orders}" WHERE OrderID = 1'
    assert run(dynamodb, stmt, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"] == {
        "TableName": orders, "CapacityUnits": 1.0}
    assert run(dynamodb, stmt, ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"] == {
        "TableName": orders, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}}
    assert "ConsumedCapacity" not in run(dynamodb, stmt, ReturnConsumedCapacity="NONE")
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": stmt, "ConsistentRead": True},
        {"Statement": f'SELECT * FROM "{orders}" WHERE OrderID = 2'},
        {"Statement": f'SELECT * FROM "{orders}" WHERE OrderID = 99'}], ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [{"TableName": orders, "CapacityUnits": 2.0}]
    assert out["Responses"][2] == {"TableName": orders}


def test_consumed_capacity_of_writes(dynamodb: Any, music: str) -> None:
    out = run(dynamodb, f"UPDATE \"{music}\" SET Awards = 5 WHERE {ACME}", ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"] == {"TableName": music, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
    out = dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"DELETE FROM \"{music}\" WHERE {ACME}"},
        {"Statement": f"INSERT INTO \"{music}\" VALUE {{'Artist': 'x', 'SongTitle': 'y'}}"}],
        ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [{"TableName": music, "CapacityUnits": 4.0, "WriteCapacityUnits": 4.0}]


# --- BatchExecuteStatement -------------------------------------------------------------------------------------
def test_batch_of_the_guide_runs_each_write(dynamodb: Any, music: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO \"{music}\" value {{'Artist':?,'SongTitle':?}}",
         "Parameters": [{"S": "Acme Band 3"}, {"S": "Best Song"}]},
        {"Statement": f"UPDATE \"{music}\" SET AwardsWon=1 SET AwardDetail={{'Grammys':[2020, 2018]}} WHERE {ACME}"},
    ])
    assert out["Responses"] == [{"TableName": music}, {"TableName": music}]
    assert get(dynamodb, music, "Acme Band 3", "Best Song") is not None
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks")["AwardsWon"] == {"N": "1"}  # type: ignore[index]


def test_batch_statement_errors_carry_the_documented_codes(dynamodb: Any, music: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"DELETE FROM \"{music}\" WHERE {ACME} AND Awards = 7",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"Statement": f"UPDATE \"{music}\" SET x = 1 WHERE Artist = 'Nobody' AND SongTitle = 'Nothing'",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"Statement": f"INSERT INTO \"{music}\" VALUE {{'Artist': 'No One You Know', 'SongTitle': 'Call Me Today'}}",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"Statement": "DELETE FROM \"no-such-table-here\" WHERE Artist = 'a' AND SongTitle = 'b'"},
        {"Statement": f"UPDATE \"{music}\" SET Awards = Awards + 'one' WHERE {ACME}"},
        {"Statement": f"DELETE FROM \"{music}\" WHERE Artist = 'Nobody' AND SongTitle = 'Nothing' AND Awards = 1"},
    ])
    r = out["Responses"]
    assert r[0]["Error"] == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
                             "Item": get(dynamodb, music, "Acme Band", "PartiQL Rocks")}
    assert r[1]["Error"] == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    assert r[2]["Error"] == {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
    assert r[3]["Error"]["Code"] == "ResourceNotFound"
    assert r[4]["Error"] == {"Code": "ValidationError",
                             "Message": "An operand in the update expression has an incorrect data type"}
    assert r[5] == {"TableName": music}
    codes = {"ConditionalCheckFailed", "ItemCollectionSizeLimitExceeded", "RequestLimitExceeded", "ValidationError",
             "ProvisionedThroughputExceeded", "TransactionConflict", "ThrottlingError", "InternalServerError",
             "ResourceNotFound", "AccessDenied", "DuplicateItem"}   # BatchStatementErrorCodeEnum
    assert all(x["Error"]["Code"] in codes for x in r[:5])


@pytest.mark.parametrize("order", ["read first", "write first"])
def test_batch_mixing_reads_and_writes_is_rejected_whole(dynamodb: Any, music: str, order: str) -> None:
    stmts = [{"Statement": f"SELECT * FROM \"{music}\" WHERE {ACME}"},
             {"Statement": f"DELETE FROM \"{music}\" WHERE {ACME}"}]
    err = error_of(dynamodb.batch_execute_statement, Statements=stmts if order == "read first" else stmts[::-1])
    assert err["Code"] == "ValidationException"
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks") is not None


def test_batch_select_must_pin_every_key_attribute(dynamodb: Any, music: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{music}\" WHERE Artist = 'Acme Band'"},
        {"Statement": f"SELECT * FROM \"{music}\" WHERE Artist = 'Acme Band' OR SongTitle = 'x'"},
        {"Statement": f"SELECT Awards FROM \"{music}\" WHERE {ACME}"}])
    assert [x.get("Error", {}).get("Code") for x in out["Responses"]] == ["ValidationError", "ValidationError", None]
    assert out["Responses"][2]["Item"] == {"Awards": {"N": "1"}}


# --- ExecuteTransaction ----------------------------------------------------------------------------------------
def test_write_transaction_of_the_guide(dynamodb: Any, music: str) -> None:
    dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"EXISTS(SELECT * FROM \"{music}\" where Artist='No One You Know' and "
                      "SongTitle='Call Me Today' and Awards is  MISSING)"},
        {"Statement": f"INSERT INTO \"{music}\" value {{'Artist':?,'SongTitle':?}}",
         "Parameters": [{"S": "Acme Band"}, {"S": "Best Song 2"}]},
        {"Statement": f"UPDATE \"{music}\" SET AwardsWon=1 SET AwardDetail={{'Grammys':[2020, 2018]}}  where "
                      "Artist='Acme Band' and SongTitle='PartiQL Rocks'"},
    ])
    assert get(dynamodb, music, "Acme Band", "Best Song 2") is not None
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks")["AwardsWon"] == {"N": "1"}  # type: ignore[index]


def test_read_transaction_of_the_guide(dynamodb: Any, music: str) -> None:
    out = dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"SELECT * FROM \"{music}\" where Artist='No One You Know' and SongTitle='Call Me Today'"},
        {"Statement": f"SELECT Awards FROM \"{music}\" WHERE {ACME}"},
        {"Statement": f"SELECT * FROM \"{music}\" WHERE Artist = 'Nobody' AND SongTitle = 'x'"},
    ], ReturnConsumedCapacity="TOTAL")
    assert out["Responses"] == [{"Item": {"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}}},
                                {"Item": {"Awards": {"N": "1"}}}, {}]
    assert out["ConsumedCapacity"] == [{"TableName": music, "CapacityUnits": 6.0, "ReadCapacityUnits": 6.0}]


def test_transaction_cancellation_reasons_in_statement_order(dynamodb: Any, music: str) -> None:
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"INSERT INTO \"{music}\" VALUE {{'Artist': 'No One You Know', 'SongTitle': 'Call Me Today'}}",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"Statement": f"UPDATE \"{music}\" SET Awards = 2 WHERE {ACME} AND Awards = 5",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"Statement": f"DELETE FROM \"{music}\" WHERE Artist = 'Nobody' AND SongTitle = 'x' AND Awards = 1"},
        {"Statement": f"UPDATE \"{music}\" SET Plays = Plays + 1 WHERE Artist = 'Acme Band' AND SongTitle = 'Best Song'"},
    ])
    assert err["Code"] == "TransactionCanceledException"
    reasons = err["CancellationReasons"]
    assert reasons[0] == {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
    assert reasons[1] == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
                          "Item": get(dynamodb, music, "Acme Band", "PartiQL Rocks")}
    assert reasons[2] == {"Code": "None"}      # deleting a missing item is no failure
    assert reasons[3] == {"Code": "ValidationError",
                          "Message": "The provided expression refers to an attribute that does not exist in the item"}
    assert err["Message"] == ("Transaction cancelled, please refer cancellation reasons for specific reasons "
                              "[DuplicateItem, ConditionalCheckFailed, None, ValidationError]")
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks")["Awards"] == {"N": "1"}  # type: ignore[index]


@pytest.mark.parametrize("second", [
    "DELETE FROM \"{t}\" WHERE Artist = 'Acme Band' AND SongTitle = 'PartiQL Rocks'",
    "EXISTS(SELECT * FROM \"{t}\" WHERE SongTitle = 'PartiQL Rocks' AND Artist = 'Acme Band')",
    "INSERT INTO \"{t}\" VALUE {{'Artist': 'Acme Band', 'SongTitle': 'PartiQL Rocks'}}",
])
def test_transaction_with_two_statements_on_one_item_is_rejected(dynamodb: Any, music: str, second: str) -> None:
    # as TransactWriteItems: a ValidationException before anything runs, not a cancellation
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"UPDATE \"{music}\" SET Awards = 3 WHERE {ACME}"},
        {"Statement": second.format(t=music)}])
    assert (err["Code"], err["Message"]) == ("ValidationException",
                                             "Transaction request cannot include multiple operations on one item")
    assert get(dynamodb, music, "Acme Band", "PartiQL Rocks")["Awards"] == {"N": "1"}  # type: ignore[index]


def test_transaction_takes_at_most_100_statements(ddb: Any, music: str) -> None:
    stmts = [{"Statement": f"SELECT * FROM \"{music}\" WHERE Artist = 'a' AND SongTitle = '{i}'"} for i in range(101)]
    err = error_of(ddb.execute_transaction, TransactStatements=stmts)
    assert err["Code"] == "ValidationException"
    assert "length less than or equal to 100" in err["Message"]
    assert len(ddb.execute_transaction(TransactStatements=stmts[:100])["Responses"]) == 100


def test_exists_outside_a_transaction_is_rejected(dynamodb: Any, music: str) -> None:
    stmt = f"EXISTS(SELECT * FROM \"{music}\" WHERE {ACME})"
    assert error_of(run, dynamodb, stmt)["Code"] == "ValidationException"
    out = dynamodb.batch_execute_statement(Statements=[{"Statement": stmt}])
    assert out["Responses"][0]["Error"]["Code"] == "ValidationError"
