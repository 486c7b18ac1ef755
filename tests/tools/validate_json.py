#!/usr/bin/env python3
"""Validate JSON documents against a JSON Schema, offline.

usage: validate_json.py SCHEMA FILE...

FILE may be '-' for standard input. A file that holds one JSON value is one
document; otherwise every non-empty line must be a document of its own (JSON
Lines, as `hoist-pull --json` prints).

$refs are resolved among the *.json files in SCHEMA's directory (schemas/),
by each file's "$id" and by its path; nothing is ever fetched from the network.
"format" keywords are checked where python's jsonschema can check them.

Exit status: 0 every document is valid; 1 some document is invalid; 2 usage
error, unreadable file or broken schema; 77 python3-jsonschema is not
installed (the project's "skipped" code).

Works with Debian 12's python3-jsonschema (4.10, RefResolver) and with
jsonschema >= 4.18 (the `referencing` library).
"""

import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("validate_json.py: python3-jsonschema is not installed "
          "(apt-get install python3-jsonschema)", file=sys.stderr)
    sys.exit(77)


def die(message, status=2):
    print(f"validate_json.py: {message}", file=sys.stderr)
    sys.exit(status)


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die(f"cannot read schema '{path}': {e}")


def load_schemas(schema_path):
    """Every schema beside schema_path, keyed by the URIs a $ref may use."""
    store = {}
    for p in sorted(schema_path.resolve().parent.glob("*.json")):
        doc = load_json(p)
        if not isinstance(doc, dict):
            continue
        store[p.resolve().as_uri()] = doc
        if isinstance(doc.get("$id"), str):
            store[doc["$id"].rstrip("#")] = doc
    return store


def make_validator(schema_path):
    schema = load_json(schema_path)
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        die(f"'{schema_path}' is not a valid schema: {e.message}")
    store = load_schemas(schema_path)
    base = schema.get("$id") or schema_path.resolve().as_uri()
    checker = jsonschema.FormatChecker()
    try:
        import referencing
        import referencing.jsonschema
    except ImportError:
        referencing = None
    if referencing is not None:
        spec = referencing.jsonschema.specification_with(
            schema.get("$schema", "https://json-schema.org/draft/2020-12/schema"))
        resources = [(uri, referencing.Resource.from_contents(doc, default_specification=spec))
                     for uri, doc in store.items()]

        def no_network(uri):
            raise referencing.exceptions.NoSuchResource(ref=uri)

        registry = referencing.Registry(retrieve=no_network).with_resources(resources)
        if "$id" not in schema:
            schema = dict(schema, **{"$id": base})
        return cls(schema, registry=registry, format_checker=checker), referencing.exceptions.Unresolvable

    def no_network(uri):
        raise jsonschema.exceptions.RefResolutionError(f"'{uri}' is not a schema in {schema_path.parent}")

    resolver = jsonschema.RefResolver(base, schema, store=store,
                                      handlers={"http": no_network, "https": no_network,
                                                "file": no_network, "": no_network})
    return cls(schema, resolver=resolver, format_checker=checker), jsonschema.exceptions.RefResolutionError


def documents(name):
    """Yields (label, value) for each document in the file."""
    try:
        text = sys.stdin.read() if name == "-" else pathlib.Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        die(f"cannot read '{name}': {e}")
    label = "<stdin>" if name == "-" else name
    try:
        yield label, json.loads(text)
        return
    except ValueError as whole_error:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            die(f"'{label}' is not valid JSON: {whole_error}", 1)
    for n, line in lines:
        try:
            yield f"{label}:{n}", json.loads(line)
        except ValueError as e:
            die(f"'{label}' line {n} is not valid JSON: {e}", 1)


def pointer(path):
    return "/" + "/".join(str(p) for p in path)


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    schema_path = pathlib.Path(argv[1])
    validator, unresolvable = make_validator(schema_path)
    bad = 0
    for name in argv[2:]:
        for label, value in documents(name):
            try:
                errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
            except unresolvable as e:
                die(f"cannot resolve a $ref in '{schema_path}': {e}")
            for e in errors:
                print(f"{label}: at {pointer(e.absolute_path)}: {e.message}", file=sys.stderr)
            if errors:
                bad += 1
    if bad:
        print(f"validate_json.py: {bad} document(s) do not match '{schema_path.name}'", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
