"""Writes check-jsonschema's builtin Azure Pipelines schema plus the AdvancedSecurity-Publish@1
task, which that schema (built from Azure DevOps' in-box tasks) lacks, with the inputs
documented for it (learn.microsoft.com: advanced-security-publish-v1). Any other unknown task
or input is still refused.   python3 azure-schema.py OUT.json"""
import json
import sys
from importlib import resources

schema = json.loads(
    resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("azure-pipelines.json").read_text()
)
task = schema["definitions"]["task"]
name = "AdvancedSecurity-Publish@1"
task["properties"]["task"]["anyOf"].append(
    {"description": "Advanced Security Publish Results", "ignoreCase": "value", "enum": [name]}
)
string = {"type": "string"}
boolean = {"type": ["boolean", "string"]}
task["anyOf"].append({
    "properties": {
        "task": {"pattern": f"^{name}$", "ignoreCase": "value"},
        "inputs": {
            "properties": {
                "SarifsInputDirectory": string,
                "EnableRecursiveScanning": boolean,
                "Category": string,
                "WaitForProcessing": boolean,
                "WaitForProcessingInterval": string,
                "WaitForProcessingTimeout": string,
            },
            "additionalProperties": False,
        },
    },
    "required": ["task"],
})
json.dump(schema, open(sys.argv[1], "w"))
