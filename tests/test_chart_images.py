"""The Helm charts' own images (Traefik, Kyverno, the AWS Load Balancer Controller) are pinned by digest in
production and reach the charts under the values keys each chart version reads (issue 16)."""

from __future__ import annotations

import json

import pytest

from odoo_platform.config import ChartImage, KyvernoImages, parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.offline.stackfiles import load_project, read_stack_config
from tests.conftest import AWS_CREATED, DIGEST, PINNED_OPERATIONS_IMAGES, ROOT, estate, resources_of
from tests.stack_plans import plan_of

PROD_STACKS = ("prod", "hybrid-prod", "dedicated-prod", "aws-hybrid-prod")
PINNED = "registry.example.com/mirror/traefik:v3.4.3@sha256:" + "4c1e8a2f6b3d9e05" * 4
# Paths into each chart's values where an image goes, and how the chart assembles the reference from it
# (traefik 36.3.0 `traefik.image-name`, kyverno 3.3.4 `kyverno.image`: registry/repository:tag;
# aws-load-balancer-controller 1.13.4 deployment.yaml: repository:tag).
KYVERNO_PATHS = {
    "admissionController": ("admissionController", "container", "image"),
    "init": ("admissionController", "initContainer", "image"),
    "backgroundController": ("backgroundController", "image"),
    "cleanupController": ("cleanupController", "image"),
    "reportsController": ("reportsController", "image"),
    "cli": ("crds", "migration", "image"),
    "kubectl": ("webhooksCleanup", "image"),
    "kubectlReports": ("policyReportsCleanup", "image"),
}


def _release(plan: dict, chart: str) -> dict:
    (release,) = [r for r in resources_of(plan, "kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == chart]
    return release["inputs"]["values"]


def _at(values: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        values = values[key]
    return values


def _rendered(image: dict) -> str:
    """The reference the chart's image helper prints for these values."""
    if "registry" in image:
        return f"{image['registry']}/{image['repository']}:{image['tag']}"
    return f"{image['repository']}:{image['tag']}"


def _prod(**changes) -> dict:
    return estate(environment="prod", image=DIGEST, **changes)


@pytest.mark.parametrize("stack", PROD_STACKS)
def test_production_stacks_hand_every_chart_its_mirrored_image_by_digest(stack):
    plan = plan_of(stack)
    traefik = _release(plan, "traefik")["image"]
    assert set(traefik) == {"registry", "repository", "tag"}
    assert _rendered(traefik) == PINNED
    kyverno = _release(plan, "kyverno")
    expected = PINNED_OPERATIONS_IMAGES["kyvernoImages"]
    for name, path in KYVERNO_PATHS.items():
        image = _at(kyverno, path)
        assert set(image) == {"registry", "repository", "tag"}, (stack, path)
        assert _rendered(image) == expected[name.removesuffix("Reports")], (stack, path)
        assert "@sha256:" in image["tag"] and image["registry"] == "registry.example.com"
    # The Kyverno settings the chart takes are the ones the config model has: none is left out.
    assert {name.removesuffix("Reports") for name in KYVERNO_PATHS} == {
        field.alias for field in KyvernoImages.model_fields.values()}
    controllers = [r for r in resources_of(plan, "kubernetes:helm.sh/v3:Release")
                   if r["inputs"]["chart"] == "aws-load-balancer-controller"]
    assert len(controllers) == (stack == "aws-hybrid-prod")
    for release in controllers:
        image = release["inputs"]["values"]["image"]
        assert set(image) == {"repository", "tag"}
        assert _rendered(image) == PINNED_OPERATIONS_IMAGES["loadBalancerControllerImage"]


def test_the_shipped_prod_stacks_carry_the_same_pins_as_the_test_estates():
    project = load_project(ROOT)
    for stack in PROD_STACKS:
        settings = json.loads(read_stack_config(project, project.stack_file(stack)).values["odoo-platform:kubernetes"])
        assert settings["traefikImage"] == PINNED_OPERATIONS_IMAGES["traefikImage"]
        assert settings["kyvernoImages"] == PINNED_OPERATIONS_IMAGES["kyvernoImages"]
        assert ("loadBalancerControllerImage" in settings) == (stack == "aws-hybrid-prod")


@pytest.mark.parametrize(("setting", "path"), [
    ({"traefikImage": ""}, "kubernetes.traefikImage"),
    ({"kyvernoImages": {k: v for k, v in PINNED_OPERATIONS_IMAGES["kyvernoImages"].items() if k != "init"}},
     "kubernetes.kyvernoImages.init"),
])
def test_production_refuses_a_chart_left_to_its_own_image(setting, path):
    with pytest.raises(EstateConfigError) as refused:
        parse_estate(_prod(kubernetes=setting))
    assert str(refused.value) == (f"{path}: is required in prod: the chart would run its own image by tag (mirror it "
                                  "and set registry/repository:tag@sha256:<64 hex>)")


def test_production_refuses_a_chart_image_by_tag():
    kyverno = dict(PINNED_OPERATIONS_IMAGES["kyvernoImages"], kubectl="registry.example.com/mirror/bitnami/kubectl:1.30.2")
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.kyvernoImages\.kubectl: 'registry.example.com/mirror/"
                                                r"bitnami/kubectl:1.30.2' is a tag; prod runs images pinned by digest"):
        parse_estate(_prod(kubernetes={"kyvernoImages": kyverno}))
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.traefikImage: '.*:v3.4.3' is a tag; prod"):
        parse_estate(_prod(kubernetes={"traefikImage": "registry.example.com/mirror/traefik:v3.4.3"}))


def test_the_load_balancer_controller_image_is_asked_for_only_where_the_estate_installs_it():
    aws = dict(cloud="aws", region="eu-central-1", aws=AWS_CREATED)
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.loadBalancerControllerImage: is required in prod"):
        parse_estate(_prod(**aws, kubernetes={"createCluster": True, "loadBalancerControllerImage": ""}))
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.loadBalancerControllerImage: '.*:v2.13.4' is a tag"):
        parse_estate(_prod(**aws, kubernetes={
            "createCluster": True,
            "loadBalancerControllerImage": "registry.example.com/mirror/eks/aws-load-balancer-controller:v2.13.4"}))
    # Azure, and AWS on an existing cluster, never install the controller.
    assert parse_estate(_prod(kubernetes={"loadBalancerControllerImage": ""}))
    assert "kubernetes.loadBalancerControllerImage" not in parse_estate(_prod()).chart_image_settings()


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_chart_images_come_from_approved_registries(environment):
    image = DIGEST if environment == "prod" else "docker.io/library/odoo:17.0"
    unapproved = "ghcr.io/kyverno/kyverno:v1.13.2@sha256:" + "1a3c5e7f9b2d4f60" * 4
    kyverno = dict(PINNED_OPERATIONS_IMAGES["kyvernoImages"], admissionController=unapproved)
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.kyvernoImages\.admissionController: 'ghcr.io/kyverno/"
                                                r"kyverno:.*' is not from an approved registry \(add its registry"):
        parse_estate(estate(environment=environment, image=image, kubernetes={"kyvernoImages": kyverno}))
    # Checked even where it is not installed: a setting in the stack file names an image someone meant to run.
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.loadBalancerControllerImage: .* not from an approved"):
        parse_estate(estate(environment=environment, image=image,
                            kubernetes={"loadBalancerControllerImage": "public.ecr.aws/eks/aws-load-balancer-"
                                                                       "controller:v2.13.4"}))


def test_a_chart_image_is_parsed_and_needs_a_tag_beside_its_digest():
    digest_only = "registry.example.com/mirror/traefik@sha256:" + "4c1e8a2f6b3d9e05" * 4
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.traefikImage: .* has a digest but no tag; the chart "
                                                r"renders repository:tag, so give both"):
        parse_estate(_prod(kubernetes={"traefikImage": digest_only}))
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.kyvernoImages\.cli: 'registry.example.com/../kyverno' "
                                                r"is not an image reference"):
        parse_estate(estate(kubernetes={"kyvernoImages": {"cli": "registry.example.com/../kyverno"}}))


def test_chart_image_splits_as_the_charts_take_it():
    image = ChartImage.of("registry.example.com:5000/mirror/kyverno/kyverno:v1.13.2@sha256:" + "ab" * 32)
    assert image.registry_values() == {"registry": "registry.example.com:5000", "repository": "mirror/kyverno/kyverno",
                                       "tag": "v1.13.2@sha256:" + "ab" * 32}
    assert image.repository_values() == {"repository": "registry.example.com:5000/mirror/kyverno/kyverno",
                                         "tag": "v1.13.2@sha256:" + "ab" * 32}
    assert ChartImage.of("registry.example.com/mirror/traefik:v3.4.3").tag == "v3.4.3"


def test_outside_production_the_charts_choose_their_images_unless_told(plan_for):
    plan = plan_for(estate())
    assert "image" not in _release(plan, "traefik")
    kyverno = _release(plan, "kyverno")
    for path in KYVERNO_PATHS.values():
        with pytest.raises(KeyError):
            _at(kyverno, path)
    tagged = plan_for(estate(kubernetes={"traefikImage": "registry.example.com/mirror/traefik:v3.4.3",
                                         "kyvernoImages": {"kubectl": "registry.example.com/mirror/bitnami/kubectl:1.30.2"}}))
    assert _release(tagged, "traefik")["image"] == {"registry": "registry.example.com", "repository": "mirror/traefik",
                                                   "tag": "v3.4.3"}
    kyverno = _release(tagged, "kyverno")
    for path in (KYVERNO_PATHS["kubectl"], KYVERNO_PATHS["kubectlReports"]):
        assert _rendered(_at(kyverno, path)) == "registry.example.com/mirror/bitnami/kubectl:1.30.2"
    # The values the component always sets are kept beside the images.
    assert kyverno["admissionController"] == {"replicas": 1}
