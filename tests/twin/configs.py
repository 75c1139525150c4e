"""SageMaker's endpoint configs and models, which hold no state that moves with time, and
the benchmarking calls do/clean all makes (nothing is ever there): the part of `Hosting`
that only stores."""

from typing import Any

from tests.twin.account import ACCOUNT, ApiError, missing
from tests.twin.clock import Clock


class ConfigsAndModels:
    configs: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    clock: Clock

    def _CreateEndpointConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name = p["EndpointConfigName"]
        if name in self.configs:
            raise ApiError(
                "ValidationException",
                f'Cannot create already existing endpoint configuration "{name}".',
            )
        for variant in p.get("ProductionVariants", []):
            model = variant.get("ModelName")
            if model and model not in self.models:
                raise missing("model", model, region)
        arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint-config/{name.lower()}"
        self.configs[name] = {**p, "EndpointConfigArn": arn, "CreationTime": self.clock.stamp()}
        return {"EndpointConfigArn": arn}

    def _DescribeEndpointConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name = p["EndpointConfigName"]
        if name not in self.configs:
            raise missing("endpoint-config", name, region)
        return self.configs[name]

    def _DeleteEndpointConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        if self.configs.pop(p["EndpointConfigName"], None) is None:
            raise missing("endpoint-config", p["EndpointConfigName"], region)
        return {}

    def _ListEndpointConfigs(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {
            "EndpointConfigs": [
                {
                    "EndpointConfigName": n,
                    "EndpointConfigArn": c["EndpointConfigArn"],
                    "CreationTime": c["CreationTime"],
                }
                for n, c in sorted(self.configs.items())
                if p.get("NameContains", "") in n
            ]
        }

    def _CreateModel(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:model/{p['ModelName'].lower()}"
        self.models[p["ModelName"]] = {**p, "ModelArn": arn, "CreationTime": self.clock.stamp()}
        return {"ModelArn": arn}

    def _DescribeModel(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        if p["ModelName"] not in self.models:
            raise missing("model", p["ModelName"], region)
        return self.models[p["ModelName"]]

    def _DeleteModel(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        if self.models.pop(p["ModelName"], None) is None:
            raise missing("model", p["ModelName"], region)
        return {}

    def _ListModels(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {
            "Models": [
                {"ModelName": n, "ModelArn": m["ModelArn"], "CreationTime": m["CreationTime"]}
                for n, m in sorted(self.models.items())
                if p.get("NameContains", "") in n
            ]
        }

    def _ListAIBenchmarkJobs(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {"AIBenchmarkJobs": []}

    def _DescribeAIWorkloadConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        raise ApiError("ResourceNotFound", "AI workload config not found.")

    def _DeleteAIWorkloadConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        raise ApiError("ResourceNotFound", "AI workload config not found.")
