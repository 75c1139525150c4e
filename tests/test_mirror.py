"""Docker Hub base images through the account's ECR pull-through cache."""

from mlcc_ci.mirror import MIRROR_ENV, through
from tests.test_lifecycle import claimed, runner, store  # noqa: F401  (fixture)

MIRROR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub"


def test_docker_hub_images_go_through_the_cache_and_others_do_not():
    assert through("vllm/vllm-openai:v0.10.1", MIRROR) == f"{MIRROR}/vllm/vllm-openai:v0.10.1"
    assert through("python:3.12-slim", MIRROR) == f"{MIRROR}/library/python:3.12-slim"
    for elsewhere in (
        "nvcr.io/nvidia/tritonserver:24.08-py3",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu126",
        "localhost/x:1",
        "registry:5000/x:1",
    ):
        assert through(elsewhere, MIRROR) == elsewhere
    assert through("python:3.12-slim", "") == "python:3.12-slim"


def test_a_run_names_its_base_image_through_the_cache(store, tmp_path):  # noqa: F811
    record, entry = claimed(store, "http-flask")
    report = runner(store, tmp_path, {MIRROR_ENV: MIRROR}).run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    assert report.notes == [f"base image python:3.12-slim pulled through {MIRROR}"]
    handed = (report.work_dir / "config.json").read_text()
    assert f'"baseImage": "{MIRROR}/library/python:3.12-slim"' in handed
    # what the generated Dockerfile says, the run proved
    assert store.get(record.configId).provenImage == f"{MIRROR}/library/python:3.12-slim"
