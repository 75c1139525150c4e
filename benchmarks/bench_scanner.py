"""The scanner over 10,000 records with 10 due: DynamoDB requests by operation (moto).

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


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import boto3
    from moto import mock_aws

    from mlcc_ci import clock
    from mlcc_ci.aws.scanner import scan
    from mlcc_ci.models import Record
    from mlcc_ci.selection import Policy
    from mlcc_ci.stores.dynamodb import DynamoStore

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoStore(
            client, table="mlcc-ci-table", runs_table="mlcc-ci-runs", region="us-east-1"
        )
        store.create_tables()
        fresh = clock.iso(clock.now())
        items = []
        for i in range(N):
            due = i < DUE
            record = Record(
                configId=f"{i:016x}",
                configJson=json.dumps({"projectName": f"p{i}"}),
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
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's JSON log lines
            result = scan(store, sfn, arn, Policy(max_concurrency=50), clock.now())
        elapsed = time.perf_counter() - started
        print(
            f"{N} records, {DUE} due: started {len(result['executionArns'])} executions "
            f"in {elapsed:.2f}s (moto)"
        )
        print("DynamoDB requests: " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())))
        print(f"Scans: {calls['Scan']}")


if __name__ == "__main__":
    main()
