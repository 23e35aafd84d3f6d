"""Steps → DynamoDB requests: the operation and parameters that carry out each step. Pure.

The only place a CreateTable request is built, for apply and for restore alike.
"""

from __future__ import annotations

from typing import Any, assert_never

from snapinfra_db.catalog import Capacity, Encryption, GlobalIndex, Projection, TableSpec
from snapinfra_db.reconcile.plan import (
    CreateGsi,
    CreateTable,
    DeleteGsi,
    DisableStream,
    DisableTtl,
    EnableStream,
    EnableTtl,
    Step,
    TagTable,
    UpdateBilling,
    UpdateDeletionProtection,
    UpdateEncryption,
    UpdateGsiCapacity,
    UpdatePitr,
    UpdateTableClass,
)


def _key_schema(partition: Any, sort: Any) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def _projection(projection: Projection) -> dict[str, Any]:
    out: dict[str, Any] = {"ProjectionType": projection.type}
    if projection.attributes:
        out["NonKeyAttributes"] = list(projection.attributes)
    return out


def _throughput(capacity: Capacity, provisioned: bool) -> dict[str, Any]:
    if provisioned:
        return {
            "ProvisionedThroughput": {
                "ReadCapacityUnits": capacity.read,
                "WriteCapacityUnits": capacity.write,
            }
        }
    maxima = {}
    if capacity.max_read:
        maxima["MaxReadRequestUnits"] = capacity.max_read
    if capacity.max_write:
        maxima["MaxWriteRequestUnits"] = capacity.max_write
    return {"OnDemandThroughput": maxima} if maxima else {}


def _gsi(name: str, gsi: GlobalIndex, provisioned: bool) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": _key_schema(gsi.partition_key, gsi.sort_key),
        "Projection": _projection(gsi.projection),
        **_throughput(gsi, provisioned),
    }


def sse_specification(encryption: Encryption) -> dict[str, Any]:
    if encryption.type == "AWS_OWNED":
        return {"Enabled": False}
    spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if encryption.kms_key:
        spec["KMSMasterKeyId"] = encryption.kms_key
    return spec


def create_table_request(spec: TableSpec) -> dict[str, Any]:
    provisioned = spec.billing.mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": spec.name,
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in sorted(spec.attribute_types().items())
        ],
        "KeySchema": _key_schema(spec.partition_key, spec.sort_key),
        "BillingMode": spec.billing.mode,
        **_throughput(spec.billing, provisioned),
        "StreamSpecification": (
            {"StreamEnabled": True, "StreamViewType": spec.stream.view_type}
            if spec.stream.enabled
            else {"StreamEnabled": False}
        ),
        "SSESpecification": sse_specification(spec.encryption),
        "TableClass": spec.table_class,
        "DeletionProtectionEnabled": spec.deletion_protection,
    }
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]
    if spec.global_indexes:
        request["GlobalSecondaryIndexes"] = [_gsi(n, g, provisioned) for n, g in spec.global_indexes.items()]
    if spec.local_indexes:
        request["LocalSecondaryIndexes"] = [
            {
                "IndexName": n,
                "KeySchema": _key_schema(spec.partition_key, lsi.sort_key),
                "Projection": _projection(lsi.projection),
            }
            for n, lsi in spec.local_indexes.items()
        ]
    return request


def step_request(table: str, arn: str, step: Step) -> tuple[str, dict[str, Any]]:
    """The DynamoDB operation (client method name) and parameters that carry out one step."""
    match step:
        case CreateTable(spec=spec):
            return "create_table", create_table_request(spec)
        case DeleteGsi(index=index):
            return "update_table", {
                "TableName": table,
                "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": index}}],
            }
        case CreateGsi(index=index, spec=gsi, attribute_types=types, provisioned=provisioned):
            return "update_table", {
                "TableName": table,
                "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(types.items())],
                "GlobalSecondaryIndexUpdates": [{"Create": _gsi(index, gsi, provisioned)}],
            }
        case UpdateGsiCapacity(index=index, after=after):
            provisioned = after.read is not None
            update = {"IndexName": index, **_throughput(after, provisioned)}
            if not provisioned and "OnDemandThroughput" not in update:
                update["OnDemandThroughput"] = {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
            return "update_table", {"TableName": table, "GlobalSecondaryIndexUpdates": [{"Update": update}]}
        case UpdateBilling(after=after, index_capacity=indexes):
            provisioned = after.mode == "PROVISIONED"
            params: dict[str, Any] = {
                "TableName": table,
                "BillingMode": after.mode,
                **_throughput(after, provisioned),
            }
            if not provisioned and "OnDemandThroughput" not in params and step.before.mode == after.mode:
                params["OnDemandThroughput"] = {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
            if indexes:
                params["GlobalSecondaryIndexUpdates"] = [
                    {"Update": {"IndexName": n, **_throughput(c, provisioned)}} for n, c in indexes.items()
                ]
            return "update_table", params
        case UpdateTableClass(after=after):
            return "update_table", {"TableName": table, "TableClass": after}
        case UpdateDeletionProtection(after=after):
            return "update_table", {"TableName": table, "DeletionProtectionEnabled": after}
        case DisableStream():
            return "update_table", {"TableName": table, "StreamSpecification": {"StreamEnabled": False}}
        case EnableStream(view_type=view_type):
            return "update_table", {
                "TableName": table,
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": view_type},
            }
        case UpdateEncryption(after=after):
            return "update_table", {"TableName": table, "SSESpecification": sse_specification(after)}
        case DisableTtl(attribute=attribute):
            return "update_time_to_live", {
                "TableName": table,
                "TimeToLiveSpecification": {"Enabled": False, "AttributeName": attribute},
            }
        case EnableTtl(attribute=attribute):
            return "update_time_to_live", {
                "TableName": table,
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": attribute},
            }
        case UpdatePitr(after=after):
            pitr: dict[str, Any] = {"PointInTimeRecoveryEnabled": after.enabled}
            if after.enabled:
                pitr["RecoveryPeriodInDays"] = after.recovery_period_days
            return "update_continuous_backups", {"TableName": table, "PointInTimeRecoverySpecification": pitr}
        case TagTable(tags=tags):
            return "tag_resource", {
                "ResourceArn": arn,
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            }
        case _:
            assert_never(step)


