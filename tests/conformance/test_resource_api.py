"""boto3's resource API (Table, conditions, batch_writer, Decimal/Binary types) end to end, server and embedded."""
from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import Binary
from util import REGION, client_config


@pytest.fixture(params=["server", "embedded"])
def resource(request):
    if request.param == "server":
        srv = request.getfixturevalue("eddy_server")
        request.getfixturevalue("dynamodb_server")
        return boto3.session.Session().resource("dynamodb", endpoint_url=srv.url, region_name=REGION,
                                                aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                                config=client_config())
    db = request.getfixturevalue("eddy_embedded")
    return db.resource("dynamodb", config=client_config())


def test_resource_end_to_end(resource, make_table):
    name = make_table("pk", "sk:N", client=resource.meta.client, gsi={"byg": ("g:S", "sk:N")})
    table = resource.Table(name)
    assert table.table_status == "ACTIVE"
    table.put_item(Item={"pk": "a", "sk": 1, "g": "x", "d": Decimal("1.5"), "b": Binary(b"\x00"),
                         "l": [1, "two", {"m": True}], "ss": {"p", "q"}, "n": None})
    with table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as bw:
        for i in range(2, 40):
            bw.put_item(Item={"pk": "a", "sk": i, "g": "x" if i % 2 else "y"})
        bw.put_item(Item={"pk": "a", "sk": 39, "g": "z"})
        bw.delete_item(Key={"pk": "a", "sk": 38})
    item = table.get_item(Key={"pk": "a", "sk": 1})["Item"]
    assert item["d"] == Decimal("1.5") and item["b"] == Binary(b"\x00") and item["ss"] == {"p", "q"}
    assert item["l"] == [Decimal(1), "two", {"m": True}] and item["n"] is None
    r = table.query(KeyConditionExpression=Key("pk").eq("a") & Key("sk").between(5, 9),
                    FilterExpression=Attr("g").eq("x"))
    assert [int(i["sk"]) for i in r["Items"]] == [5, 7, 9]
    r = table.query(IndexName="byg", KeyConditionExpression=Key("g").eq("z"))
    assert [int(i["sk"]) for i in r["Items"]] == [39]
    r = table.scan(FilterExpression=Attr("sk").gte(30) & Attr("g").begins_with("y"))
    assert sorted(int(i["sk"]) for i in r["Items"]) == [30, 32, 34, 36]
    table.update_item(Key={"pk": "a", "sk": 1}, UpdateExpression="SET d = d + :x REMOVE n",
                      ExpressionAttributeValues={":x": Decimal("0.25")},
                      ConditionExpression=Attr("g").eq("x") & Attr("n").exists())
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["d"] == Decimal("1.75")
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.delete_item(Key={"pk": "a", "sk": 1}, ConditionExpression=Attr("nothere").exists())
    got = resource.batch_get_item(RequestItems={name: {"Keys": [{"pk": "a", "sk": 2}, {"pk": "a", "sk": 3}]}})
    assert len(got["Responses"][name]) == 2
    assert table.item_count >= 0


def test_waiters_and_paginators(resource):
    import uuid
    client = resource.meta.client
    name = "cf-res-" + uuid.uuid4().hex[:8]
    table = resource.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                  BillingMode="PAY_PER_REQUEST")
    table.wait_until_exists()
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    for i in range(30):
        table.put_item(Item={"pk": f"k{i}", "v": i})
    pages = list(client.get_paginator("scan").paginate(TableName=name, PaginationConfig={"PageSize": 7}))
    assert sum(p["Count"] for p in pages) == 30 and len(pages) >= 5
    got = list(client.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 1}))
    assert any(name in p["TableNames"] for p in got)
    table.delete()
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})


def test_resource_conditions(resource, make_table):
    name = make_table("pk", "sk", client=resource.meta.client)
    table = resource.Table(name)
    table.put_item(Item={"pk": "a", "sk": "abc", "n": 5, "l": [1, 2, 3], "ss": {"x", "y"}, "s": "hello"})
    table.put_item(Item={"pk": "a", "sk": "abd", "n": 7})
    table.put_item(Item={"pk": "a", "sk": "b", "n": 9, "s": "bye"})

    def q(key=None, flt=None):
        kw = {"KeyConditionExpression": key if key is not None else Key("pk").eq("a")}
        if flt is not None:
            kw["FilterExpression"] = flt
        return [i["sk"] for i in table.query(**kw)["Items"]]
    assert q(Key("pk").eq("a") & Key("sk").begins_with("ab")) == ["abc", "abd"]
    assert q(Key("pk").eq("a") & Key("sk").gt("abc")) == ["abd", "b"]
    assert q(flt=Attr("n").is_in([5, 9])) == ["abc", "b"]
    assert q(flt=Attr("l").size().gte(3)) == ["abc"]
    assert q(flt=Attr("ss").contains("x")) == ["abc"]
    assert q(flt=Attr("s").attribute_type("S")) == ["abc", "b"]
    assert q(flt=Attr("s").not_exists()) == ["abd"]
    assert q(flt=Attr("n").ne(7) & ~Attr("s").begins_with("h")) == ["b"]
    assert q(flt=Attr("n").between(6, 9) | Attr("l[0]").eq(1)) == ["abc", "abd", "b"]
    assert q(flt=Attr("n").lt(6)) == ["abc"]
