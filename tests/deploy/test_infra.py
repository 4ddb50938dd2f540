"""infra/ and azure.yaml: the azd template parses, and holds what a secure Flex Consumption deploy needs.

Parsed offline with pycep-parser (see bicep.py); no Bicep compiler or Azure validation runs here, so
these tests check structure and values, not resource-provider schemas or role assignment rights.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from lark.exceptions import UnexpectedInput

from . import bicep
from .packaging import ROOT

MAIN = bicep.parse("main.bicep")
RESOURCES = bicep.parse("resources.bicep")

STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"


def resources_of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES["resources"].items() if r["type"] == kind}


def only(kind: str) -> dict[str, Any]:
    (resource,) = resources_of_type(kind).values()
    return bicep.resource_body(resource)


def function_app() -> dict[str, Any]:
    (resource,) = resources_of_type("Microsoft.Web/sites").values()
    return resource


def test_every_template_parses() -> None:
    names = sorted(path.name for path in bicep.INFRA.glob("*.bicep"))

    assert names == ["main.bicep", "resources.bicep"]
    for name in names:
        assert bicep.parse(name)["resources"]


def test_a_syntax_error_fails_the_parse() -> None:
    text = (bicep.INFRA / "resources.bicep").read_text(encoding="utf-8")
    broken = text.replace("allowSharedKeyAccess: false", "allowSharedKeyAccess false", 1)

    with pytest.raises(UnexpectedInput):
        bicep.parse_text(broken)


def test_azd_provisions_main_bicep_at_subscription_scope_in_its_own_resource_group() -> None:
    azure_yaml = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))

    assert azure_yaml["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert MAIN["globals"]["scope"]["value"] == "subscription"
    assert [r["type"] for r in MAIN["resources"].values()] == ["Microsoft.Resources/resourceGroups"]
    module = MAIN["modules"]["resources"]
    assert module["detail"]["path"] == "resources.bicep"
    assert module["config"]["scope"] == "rg"


def test_the_module_gets_every_parameter_it_declares() -> None:
    passed = set(MAIN["modules"]["resources"]["config"]["params"])

    assert passed == set(RESOURCES["parameters"])


def test_main_parameters_json_maps_azd_variables_to_declared_parameters() -> None:
    document = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    mapped = {name: entry["value"] for name, entry in document["parameters"].items()}
    declared = MAIN["parameters"]
    required = {name for name, p in declared.items() if p.get("default") is None and name != "principalId"}

    assert set(mapped) <= set(declared)
    assert required <= set(mapped)
    assert mapped["environmentName"] == "${AZURE_ENV_NAME}"
    assert mapped["location"] == "${AZURE_LOCATION}"
    assert mapped["principalId"] == "${AZURE_PRINCIPAL_ID}"


def test_parameters_and_outputs_are_documented() -> None:
    for template in (MAIN, RESOURCES):
        for kind in ("parameters", "outputs"):
            undocumented = [n for n, d in template[kind].items() if "description" not in bicep.decorators(d)]
            assert undocumented == [], f"{kind} without @description: {undocumented}"


def test_main_outputs_read_outputs_the_module_has() -> None:
    module_outputs = set(RESOURCES["outputs"])
    for name, output in MAIN["outputs"].items():
        value = bicep.render(output["value"])
        if isinstance(value, str) and value.startswith("resources.outputs."):
            assert value.removeprefix("resources.outputs.") in module_outputs, name


def test_the_plan_is_flex_consumption_on_linux() -> None:
    plan = only("Microsoft.Web/serverfarms")

    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True


def test_the_function_app_runs_python_from_a_blob_container_with_its_identity() -> None:
    app = bicep.resource_body(function_app())
    config = bicep.render(app["properties"]["functionAppConfig"])

    assert app["kind"] == "functionapp,linux"
    assert app["properties"]["httpsOnly"] is True
    assert config["runtime"] == {"name": "python", "version": "pythonVersion"}
    assert config["deployment"]["storage"] == {
        "type": "blobContainer",
        "value": "${storage.properties.primaryEndpoints.blob}${deploymentContainerName}",
        "authentication": {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identity.id"},
    }
    assert set(config["scaleAndConcurrency"]) == {"instanceMemoryMB", "maximumInstanceCount"}
    assert app["identity"]["type"] == "UserAssigned"
    assert list(app["identity"]["userAssignedIdentities"]) == ["'${identity.id}'"]
    container = only("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["name"] == "deploymentContainerName"


def test_the_function_app_is_tagged_for_the_azd_service() -> None:
    azure_yaml = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    tags = bicep.resource_body(function_app())["tags"]["function"]

    assert tags["type"] == "union"
    assert tags["parameters"] == {"arg_1": "tags", "arg_2": {"'azd-service-name'": "serviceName"}}
    assert list(azure_yaml["services"]) == [RESOURCES["variables"]["serviceName"]["value"]]
    assert azure_yaml["services"]["api"]["project"] == "."


def test_azure_web_jobs_storage_is_an_identity_based_connection() -> None:
    settings = bicep.app_settings(function_app())
    storage = {name: value for name, value in settings.items() if name.startswith("AzureWebJobsStorage")}

    assert storage == {
        "AzureWebJobsStorage__accountName": "storage.name",
        "AzureWebJobsStorage__blobServiceUri": "storage.properties.primaryEndpoints.blob",
        "AzureWebJobsStorage__queueServiceUri": "storage.properties.primaryEndpoints.queue",
        "AzureWebJobsStorage__tableServiceUri": "storage.properties.primaryEndpoints.table",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "identity.properties.clientId",
    }


def test_no_setting_that_flex_consumption_rejects_or_that_holds_a_secret() -> None:
    settings = bicep.app_settings(function_app())
    text = json.dumps(settings)

    rejected = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"}
    assert not (rejected | {"SCM_DO_BUILD_DURING_DEPLOYMENT", "AzureWebJobsStorage"}) & set(settings)
    assert not re.search(r"AccountKey|listKeys|InstrumentationKey", text)


def test_app_settings_the_app_reads_are_set() -> None:
    settings = bicep.app_settings(function_app())
    names = (ROOT / "orchestrators" / "names.py").read_text(encoding="utf-8")

    for setting in ("RESERVATION_DEADLINE_SECONDS", "CITY_SELECTION_DEADLINE_SECONDS"):
        assert f'"{setting}"' in names
        assert setting in settings


def test_storage_accepts_no_shared_key_and_no_public_blobs() -> None:
    storage = only("Microsoft.Storage/storageAccounts")["properties"]

    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["supportsHttpsTrafficOnly"] is True


def test_application_insights_has_local_auth_off_and_the_app_authenticates_with_its_identity() -> None:
    insights = only("Microsoft.Insights/components")["properties"]
    settings = bicep.app_settings(function_app())

    assert insights["DisableLocalAuth"] is True
    assert bicep.render(insights["WorkspaceResourceId"]) == "logAnalytics.id"
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == "appInsights.properties.ConnectionString"
    assert (
        settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == "ClientId=${identity.properties.clientId};Authorization=AAD"
    )


def role_assignments() -> dict[str, dict[str, Any]]:
    return resources_of_type("Microsoft.Authorization/roleAssignments")


def test_the_identity_gets_blob_queue_and_table_data_roles_on_the_storage_account() -> None:
    assignment = role_assignments()["appStorageRoles"]
    loop = assignment["config"]["loop_type"]["detail"]
    body = bicep.render(bicep.resource_body(assignment))

    assert RESOURCES["variables"]["storageRoleIds"]["value"] == [
        STORAGE_BLOB_DATA_OWNER,
        STORAGE_QUEUE_DATA_CONTRIBUTOR,
        STORAGE_TABLE_DATA_CONTRIBUTOR,
    ]
    assert loop == {"item_name": "roleId", "array_name": "storageRoleIds"}
    assert body["scope"] == "storage"
    assert body["name"] == "guid(storage.id, identity.id, roleId)"
    assert body["properties"] == {
        "roleDefinitionId": "subscription_resource_id(Microsoft.Authorization/roleDefinitions, roleId)",
        "principalId": "identity.properties.principalId",
        "principalType": "ServicePrincipal",
    }


def test_the_identity_may_publish_telemetry_to_application_insights() -> None:
    body = bicep.render(bicep.resource_body(role_assignments()["appMonitoringRole"]))

    assert RESOURCES["variables"]["monitoringMetricsPublisherRoleId"]["value"] == MONITORING_METRICS_PUBLISHER
    assert body["scope"] == "appInsights"
    assert body["properties"]["principalId"] == "identity.properties.principalId"
    assert body["properties"]["roleDefinitionId"].endswith("monitoringMetricsPublisherRoleId)")


def test_the_deploying_user_gets_the_storage_roles_only_when_known() -> None:
    assignment = role_assignments()["userStorageRoles"]
    loop = bicep.render(assignment["config"]["loop_type"]["detail"])

    assert loop["array_name"] == "empty(principalId) ? [] : storageRoleIds"
    assert bicep.render(bicep.resource_body(assignment))["properties"]["principalId"] == "principalId"


def test_the_function_app_waits_for_its_role_assignments() -> None:
    depends_on = set(bicep.resource_body(function_app())["dependsOn"])

    assert {"appStorageRoles", "appMonitoringRole"} <= depends_on


def test_the_python_version_is_the_same_in_bicep_readme_and_pyproject() -> None:
    version = MAIN["parameters"]["pythonVersion"]["default"]
    # The pages that say which Python to run the app with: the README and the deploy, Core Tools and
    # troubleshooting pages it links.
    pages = ["README.md", "docs/deploy.md", "docs/core-tools.md", "docs/troubleshooting.md"]
    readme = "\n".join((ROOT / page).read_text(encoding="utf-8") for page in pages)
    # tomllib is not in Python 3.10, which the project still supports: two lines read by pattern.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (minimum,) = re.findall(r'^requires-python = ">=(3\.\d+)"$', pyproject, re.M)
    (checked,) = re.findall(r'^python_version = "(3\.\d+)"$', pyproject, re.M)

    assert set(re.findall(r"[Pp]ython ?(3\.\d+)", readme)) == {version}
    assert checked == version
    assert tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))
    assert version in bicep.decorators(MAIN["parameters"]["pythonVersion"])["allowed"]
