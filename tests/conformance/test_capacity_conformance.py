"""ConsumedCapacity arithmetic and shapes per operation (item size, rounding, index units, the
transactional Read/WriteCapacityUnits breakdown), beyond the basics of test_indexes_capacity.py."""
from __future__ import annotations

S = {"S": "x"}


def _big(n):
    return {"S": "y" * n}


# --- item size -----------------------------------------------------------------------------------------
def test_a_number_costs_one_byte_per_pair_of_digits_aligned_at_the_decimal_point(ddb, mk):
    # DynamoDB stores numbers in base 100, pairs of digits aligned at the decimal point: 1.2 is
    # "01" "20", two bytes plus one, where 12 is one byte plus one (dynalite's figure)
    t = mk()
    # 3 (pk) + 1 + 3 (n) + 1 + 1017 (x) = 1025 bytes: two write units
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "n": {"N": "1.2"}, "x": _big(1017)},
                     ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 2.0
    # 3 + 1 + 2 + 1 + 1017 = 1024 bytes: one write unit
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "b"}, "n": {"N": "12"}, "x": _big(1017)},
                     ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_item_size_counts_names_containers_and_utf8(ddb, mk):
    t = mk()
    # pk: 2+1; m: 1 + 3 + (1 + 1 + 1) [map, one element "k": BOOL]; l: 1 + 3 + (1 + 1) [list, NULL];
    # s: 1 + 2 ("é" is two UTF-8 bytes); x: 1 + n  ->  1024 with n = 1004
    item = {"pk": {"S": "a"}, "m": {"M": {"k": {"BOOL": True}}}, "l": {"L": [{"NULL": True}]},
            "s": {"S": "\u00e9"}, "x": _big(1004)}
    r = ddb.put_item(TableName=t, Item=item, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0
    r = ddb.put_item(TableName=t, Item={**item, "pk": {"S": "b"}, "x": _big(1005)}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 2.0


# --- single-item operations -------------------------------------------------------------------------
def test_writes_cost_the_larger_of_the_old_and_new_item(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": _big(3000)})
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 3.0
    r = ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0
    r = ddb.delete_item(TableName=t, Key={"pk": {"S": "missing"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 1.0}
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "missing"}}, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}}


def test_an_update_that_moves_an_index_key_costs_the_index_a_delete_and_a_put(ddb, mk):
    t = mk(gsi={"gsi": ("g:S", None, "KEYS_ONLY")})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "1"}})
    r = ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET g = :g",
                        ExpressionAttributeValues={":g": {"S": "2"}}, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                                     "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 2.0}}}
    # an attribute the KEYS_ONLY index does not project: the index is not written
    r = ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET z = :z",
                        ExpressionAttributeValues={":z": S}, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
    r = ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE g",
                        ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"]["GlobalSecondaryIndexes"] == {"gsi": {"CapacityUnits": 1.0}}


# --- query and scan ---------------------------------------------------------------------------------
def _three_3k_items(ddb, t):
    for i in range(3):
        ddb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": str(i)}, "g": {"S": "G"}, "l": {"S": "L"},
                                        "x": _big(3000)})


def test_query_rounds_the_sum_of_the_evaluated_items_once_per_page(ddb, mk):
    t = mk("pk", "sk")
    _three_3k_items(ddb, t)
    q = {"TableName": t, "KeyConditionExpression": "pk = :p", "ReturnConsumedCapacity": "TOTAL"}
    v = {":p": {"S": "p"}}
    # ~9 KB: three 4 KB units, half for an eventually consistent read (not 3 x 0.5 per item)
    assert ddb.query(**q, ExpressionAttributeValues=v)["ConsumedCapacity"]["CapacityUnits"] == 1.5
    assert ddb.query(**q, ExpressionAttributeValues=v, ConsistentRead=True)["ConsumedCapacity"]["CapacityUnits"] == 3.0
    # the filter, Select COUNT and a projection do not reduce what was read
    r = ddb.query(**q, FilterExpression="x = :n", ExpressionAttributeValues={**v, ":n": S})
    assert r["Count"] == 0 and r["ConsumedCapacity"]["CapacityUnits"] == 1.5
    assert ddb.query(**q, ExpressionAttributeValues=v, Select="COUNT")["ConsumedCapacity"]["CapacityUnits"] == 1.5
    r = ddb.query(**q, ExpressionAttributeValues=v, ProjectionExpression="sk")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.5
    r = ddb.scan(TableName=t, Limit=1, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_an_index_query_costs_the_size_of_the_index_entries(ddb, mk):
    t = mk("pk", "sk", gsi={"gsi": ("g:S", None, "KEYS_ONLY")})
    _three_3k_items(ddb, t)
    r = ddb.query(TableName=t, IndexName="gsi", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "G"}}, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.0},
                                     "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 0.5}}}


def test_an_lsi_query_fetching_unprojected_attributes_also_reads_the_table(ddb, mk):
    # "you are charged for read capacity units for every base table item fetched ... reading each
    # entire item from the table" (LSI provisioned throughput considerations); dynalite sums the
    # fetched items and reports them under Table, the index entries under the index
    t = mk("pk", "sk", lsi={"lsi": ("pk", "l:S", "KEYS_ONLY")})
    _three_3k_items(ddb, t)
    q = {"TableName": t, "IndexName": "lsi", "KeyConditionExpression": "pk = :p",
         "ExpressionAttributeValues": {":p": {"S": "p"}}, "ReturnConsumedCapacity": "INDEXES"}
    r = ddb.query(**q, Select="ALL_ATTRIBUTES")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 2.0, "Table": {"CapacityUnits": 1.5},
                                     "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 0.5}}}
    r = ddb.query(**q)
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.0},
                                     "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 0.5}}}
    r = ddb.query(**q, ProjectionExpression="sk, l")   # projected attributes only: no fetch
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5
    r = ddb.query(**{**q, "ReturnConsumedCapacity": "TOTAL"}, ProjectionExpression="x", ConsistentRead=True)
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 4.0}


# --- batches and transactions ---------------------------------------------------------------------------
def test_batch_get_rounds_each_item(ddb, mk):
    t = mk()
    for k in ("a", "b"):
        ddb.put_item(TableName=t, Item={"pk": {"S": k}, "x": _big(100)})
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}, {"pk": {"S": "c"}}]}},
                           ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 1.5, "Table": {"CapacityUnits": 1.5}}]


def test_transact_write_reports_write_capacity_units(ddb, mk):
    # The AWS CLI reference's TransactWriteItems example: {"TableName", "CapacityUnits": 10.0,
    # "WriteCapacityUnits": 10.0}
    t = mk(gsi={"gsi": ("g:S",)})
    r = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}}}],
                                 ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}]
    r = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "b"}, "g": S}}}],
                                 ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == [{
        "TableName": t, "CapacityUnits": 4.0, "WriteCapacityUnits": 4.0,
        "Table": {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0},
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}}}]
    r = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "c"}}}}])
    assert "ConsumedCapacity" not in r


def test_transact_get_reports_read_capacity_units(ddb, mk):
    # The AWS CLI reference's TransactGetItems example: {"TableName", "CapacityUnits": 4.0,
    # "ReadCapacityUnits": 4.0}: two units per item read (up to 4 KB), a missing item too
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": _big(5000)})
    gets = [{"Get": {"TableName": t, "Key": {"pk": {"S": "a"}}}}, {"Get": {"TableName": t, "Key": {"pk": {"S": "z"}}}}]
    r = ddb.transact_get_items(TransactItems=gets, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 6.0, "ReadCapacityUnits": 6.0}]
    r = ddb.transact_get_items(TransactItems=gets, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 6.0, "ReadCapacityUnits": 6.0,
                                      "Table": {"CapacityUnits": 6.0, "ReadCapacityUnits": 6.0}}]


def test_execute_transaction_reports_the_transactional_breakdown(ddb, mk):
    t = mk()
    r = ddb.execute_transaction(TransactStatements=[{"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'a'}}"}],
                                ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}]
    r = ddb.execute_transaction(TransactStatements=[{"Statement": f"SELECT * FROM \"{t}\" WHERE pk = 'a'"}],
                                ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}]


def test_non_transactional_operations_have_no_breakdown(ddb, mk):
    t = mk()
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
    r = ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]},
                             ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 1.0}]
    r = ddb.execute_statement(Statement=f"SELECT * FROM \"{t}\" WHERE pk = 'a'", ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 0.5}
