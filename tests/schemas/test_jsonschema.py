"""The committed JSON Schema files match the pydantic models."""

from schemas.export import main


def test_committed_json_schemas_are_up_to_date() -> None:
    assert main(["--check"]) == 0, "run `python -m schemas.export` and commit schemas/jsonschema/"
