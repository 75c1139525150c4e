"""What the README counts of the shipped catalog is what the catalog holds."""

import re
from collections import Counter

from mlcc_ci.catalog import load_valid_catalog
from tests.conftest import REPO


def test_the_quota_list_counts_every_supported_configuration_by_instance_type():
    text = (REPO / "README.md").read_text()
    quotas = re.search(
        r"^- SageMaker: \"<instance type> for endpoint usage\".*?;\n", text, re.M | re.S
    )
    assert quotas, "README, Deploy to AWS: the SageMaker quotas to check"
    said = quotas.group(0)
    listed = {kind: int(n) for kind, n in re.findall(r"`(ml\.[\w.]+)` \((\d+)", said)}
    supported = [e for e in load_valid_catalog().entries if e.supported]
    assert listed == Counter(e.config["instanceType"] for e in supported)
    total = re.search(r"the catalog's (\d+)\s+supported configurations", said)
    assert total and int(total.group(1)) == len(supported) == sum(listed.values())
