"""The scanner over 10,000 records with 10 due: DynamoDB requests by operation (moto),
first as it counts running records on the status index, then holding concurrency slots and
charging the day's spend by conditional writes (issue 29): what the hard limits cost.

Run: .venv/bin/python benchmarks/bench_scanner.py [N]
"""

import contextlib
import io
import json
import os
import sys
import time
from collections import Counter

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
DUE = 10


def one_scan(hard_limits: bool) -> tuple[int, float, Counter[str]]:
    import boto3
    from moto import mock_aws

    from mlcc_ci import clock
    from mlcc_ci.aws.scanner import limits_from, scan
    from mlcc_ci.models import Record
    from mlcc_ci.selection import Policy
    from mlcc_ci.stores.dynamodb import DynamoStore

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoStore(
            client, table="mlcc-ci-table", runs_table="mlcc-ci-runs", region="us-east-1"
        )
        store.create_tables()
        client.create_table(
            TableName="mlcc-ci-slots",
            KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        fresh = clock.iso(clock.now())
        items = []
        for i in range(N):
            due = i < DUE
            record = Record(
                configId=f"{i:016x}",
                configJson=json.dumps(
                    {
                        "projectName": f"p{i}",
                        "instanceType": "ml.g5.xlarge",
                        "awsRegion": "us-east-1",
                    }
                ),
                deploymentConfig=f"cfg-{i}",
                buildStrategy="codebuild-submit",
                projectName=f"p{i}",
                createdAt=fresh,
                source="catalog",
                version=1,
                testStatus="untested" if due else "pass",
                lastTestTimestamp="1970-01-01T00:00:00Z" if due else fresh,
            )
            items.append({"PutRequest": {"Item": store._item(record.to_item())}})
        for start in range(0, len(items), 25):  # real DynamoDB takes at most 25 per batch
            client.batch_write_item(RequestItems={"mlcc-ci-table": items[start : start + 25]})

        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="mlcc-ci-orchestrator",
            roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        calls: Counter[str] = Counter()
        client.meta.events.register(
            "before-call.dynamodb", lambda model, **kw: calls.update([model.name])
        )
        policy = Policy(max_concurrency=50)
        now = clock.now()
        env = {"SLOTS_TABLE_NAME": "mlcc-ci-slots", "DAILY_SPEND_CAP": "100000"}
        limits = limits_from(env if hard_limits else {}, client, policy, now)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's JSON log lines
            result = scan(store, sfn, arn, policy, now, limits=limits)
        return len(result["executionArns"]), time.perf_counter() - started, calls


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    figures = {}
    for label, hard in (("index count", False), ("slots and spend", True)):
        started, elapsed, calls = one_scan(hard)
        figures[label] = sum(calls.values())
        print(
            f"{label}: {N} records, {DUE} due: started {started} executions in "
            f"{elapsed:.2f}s (moto); DynamoDB requests "
            + ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
            + f"; Scans: {calls['Scan']}"
        )
    ratio = figures["slots and spend"] / figures["index count"]
    print(f"requests with hard limits / without: {ratio:.2f}x")


if __name__ == "__main__":
    main()
