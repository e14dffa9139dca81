"""Offline schema check of the AWS resources and data sources in slipway's Terraform.

`terraform validate` needs the AWS provider plugin, which cannot be installed here. This script
gets the provider's schema from another source that can: the cdktf bindings on PyPI
(`cdktf-cdktf-provider-aws`), generated from the provider's own schema. Their wheel carries a jsii
assembly (`_jsii/provider-aws@VERSION.jsii.tgz`, member `package/.jsii`, one JSON file).

    extract --wheel-dir DIR --out FILE
        Reads the wheel in DIR and writes a compact schema of every aws_* resource and data
        source: its arguments and nested blocks, recursively, with their required flags.
    check --schema FILE DIR...
        Parses every *.tf under the DIRs (python-hcl2, a real HCL parser) and reports, for each
        `resource "aws_*"` and `data "aws_*"` block: unknown resource types, unknown arguments
        and blocks, an argument written as a block or a block written as an argument, a block
        that may appear once written several times, an argument set twice, and missing required
        arguments and blocks. One line per finding, `path:line: address: message`; exit 1 when
        there is any, 0 when clean.

How the assembly maps to Terraform (checked against the 21.22.1 bindings, provider 6.25.0):
  * a resource is a class whose base is cdktf.TerraformResource (data source:
    cdktf.TerraformDataSource); its doc summary links to the registry page and names the
    Terraform type, e.g. `{@link .../docs/resources/ecs_service aws_ecs_service}`;
  * its arguments are the properties of the struct its initializer takes as `config`
    (`EcsServiceConfig`; a clashing name gets a suffix, `Wafv2WebAclAssociationConfigA`);
    Terraform's meta-arguments are not among them (they come from cdktf.TerraformMetaArguments,
    which lives in another assembly);
  * each property's docs link to `...#<argument_name>`, the Terraform spelling (camelCase does
    not always convert back: addressLine1 is address_line_1, selfAttribute is self, fetchUserData
    is get_user_data);
  * a property is required unless marked `optional`; it is a nested block when its summary is
    "<name> block."; a block whose type is the struct itself (not a list of it) is at most one;
    a block typed `any` (cdktf gave up on a schema that deep: wafv2 `statement`, quicksight
    `definition`) is kept as opaque and its content is not checked;
  * a struct-typed property that is not a block is an argument whose value is an object or a list
    of objects (plugin-framework nested attributes, SDKv2 "attributes as blocks" such as
    aws_route_table's `route`). Terraform accepts block syntax for the latter and not for the
    former, and the assembly cannot tell them apart: block syntax is accepted and its content
    checked against the object's keys.

Limits: no types or values are checked, nor expressions (an object or list written as an argument's
value is not looked into); conflicts, "exactly one of" and other provider-side validation are not
known; a `dynamic` block counts as one block even when its for_each may be empty; the provider
block, modules and *.tf.json files are not checked; override files are not merged.
"""

import argparse
import difflib
import io
import json
import re
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

# DocumentView directly: in python-hcl2 8.1.4 `hcl2.query()` works once, then the hcl2.query
# subpackage shadows it ("'module' object is not callable").
from hcl2.query.body import DocumentView
from lark.exceptions import LarkError, UnexpectedInput

WHEEL_GLOB = "cdktf_cdktf_provider_aws-*.whl"
JSII_MEMBER = "package/.jsii"
BASE_KINDS = {"cdktf.TerraformResource": "resource", "cdktf.TerraformDataSource": "data"}
URL_KINDS = {"resources": "resource", "data-sources": "data"}
# `Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/ecs_service aws_ecs_service}.`
TYPE_LINK = re.compile(r"\{@link https://registry\.terraform\.io/providers/([\w-]+/[\w-]+)/([^/]+)/docs/([\w-]+)/\w+ (aws_\w+)\}")
ARGUMENT_LINK = re.compile(r"\{@link \S+#([a-z0-9_]+) ")

# Terraform's own arguments and blocks of a resource or data block (not the provider's).
META_ARGUMENTS = frozenset({"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"})


# --- extract ------------------------------------------------------------------------------------


def find_wheel(wheel_dir: Path) -> Path:
    """Return the one cdktf-cdktf-provider-aws wheel in wheel_dir, or exit naming the problem."""
    wheels = sorted(wheel_dir.glob(WHEEL_GLOB))
    if len(wheels) != 1:
        found = ", ".join(w.name for w in wheels) or "none"
        sys.exit(f"tf_schema: expected exactly one {WHEEL_GLOB} in {wheel_dir}, found {found}")
    return wheels[0]


def load_assembly(wheel: Path) -> dict:
    """Read the jsii assembly (package/.jsii inside the wheel's *.jsii.tgz) as JSON."""
    with zipfile.ZipFile(wheel) as whl:
        tgz_names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(tgz_names) != 1:
            sys.exit(f"tf_schema: expected one *.jsii.tgz in {wheel.name}, found {tgz_names}")
        tgz = whl.read(tgz_names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        return json.load(tar.extractfile(JSII_MEMBER))


def struct_in(type_ref: dict, types: dict):
    """Return the fqn of the struct a property's type refers to, through unions and collections."""
    if "fqn" in type_ref:
        return type_ref["fqn"] if types.get(type_ref["fqn"], {}).get("datatype") else None
    if "collection" in type_ref:
        return struct_in(type_ref["collection"]["elementtype"], types)
    for member in type_ref.get("union", {}).get("types", []):
        fqn = struct_in(member, types)
        if fqn:
            return fqn
    return None


def terraform_name(prop: dict) -> str:
    """The Terraform spelling of a property: its registry docs anchor, else camelCase to snake_case."""
    docs = prop.get("docs", {})
    match = ARGUMENT_LINK.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
    if match:
        return match.group(1)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()


def body_schema(fqn: str, types: dict) -> dict:
    """Arguments and nested blocks of the struct fqn, recursively.

    {"arguments": {name: {"required": bool[, "object": <body>]}},
     "blocks": {name: {"required": bool[, "max_one": true][, "opaque": true], "arguments", "blocks"}}}
    """
    arguments, blocks = {}, {}
    for prop in types[fqn].get("properties", []):
        name = terraform_name(prop)
        entry = {"required": not prop.get("optional", False)}
        struct = struct_in(prop["type"], types)
        if prop.get("docs", {}).get("summary") == f"{name} block.":
            if "fqn" in prop["type"]:
                entry["max_one"] = True
            if struct:
                entry.update(body_schema(struct, types))
            else:
                entry["opaque"] = True
            blocks[name] = entry
        else:
            if struct:
                entry["object"] = body_schema(struct, types)
            arguments[name] = entry
    return {"arguments": arguments, "blocks": blocks}


def extract(assembly: dict) -> dict:
    """The compact schema of every aws_* resource and data source in the assembly."""
    types = assembly["types"]
    schema = {"resource": {}, "data": {}}
    providers = set()
    for cls in types.values():
        base_kind = BASE_KINDS.get(cls.get("base"))
        if base_kind is None:
            continue
        link = TYPE_LINK.search(cls.get("docs", {}).get("summary", ""))
        if not link or URL_KINDS.get(link.group(3)) != base_kind:
            sys.exit(f"tf_schema: {cls['fqn']}: no registry link naming its {base_kind} type in its docs")
        provider, provider_version, _, type_name = link.groups()
        providers.add((provider, provider_version))
        config = [p for p in cls["initializer"]["parameters"] if p["name"] == "config"]
        if len(config) != 1 or struct_in(config[0]["type"], types) is None:
            sys.exit(f"tf_schema: {cls['fqn']}: its initializer takes no config struct")
        if type_name in schema[base_kind]:
            sys.exit(f"tf_schema: {base_kind} {type_name} is defined twice ({cls['fqn']})")
        schema[base_kind][type_name] = body_schema(config[0]["type"]["fqn"], types)
    if len(providers) != 1:
        sys.exit(f"tf_schema: expected one provider version in the assembly, found {sorted(providers)}")
    provider, provider_version = providers.pop()
    schema["source"] = {
        "bindings": f"{assembly['name']}@{assembly['version']}",
        "provider": provider,
        "provider_version": provider_version,
    }
    return schema


def cmd_extract(args) -> int:
    """`extract`: wheel -> schema JSON file."""
    started = time.monotonic()
    wheel = find_wheel(args.wheel_dir)
    schema = extract(load_assembly(wheel))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True))
    src = schema["source"]
    print(
        f"{args.out}: {len(schema['resource'])} resources, {len(schema['data'])} data sources of "
        f"{src['provider']} {src['provider_version']} (from {wheel.name}), "
        f"{args.out.stat().st_size / 1e6:.1f} MB in {time.monotonic() - started:.1f} s"
    )
    return 0


# --- check --------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Finding:
    """One problem, printed as `path:line: address: message` (no address for a file's own)."""

    path: str
    line: int
    address: str
    message: str

    def __str__(self) -> str:
        prefix = f"{self.path}:{self.line}:"
        return f"{prefix} {self.address}: {self.message}" if self.address else f"{prefix} {self.message}"


def line_of(view, fallback: int) -> int:
    """Line where the parsed element starts (lark positions), else fallback."""
    return getattr(view.raw.to_lark().meta, "line", fallback)


def suggestion(name: str, candidates) -> str:
    """` (did you mean "x"?)` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def where(path: tuple) -> str:
    """` in a.b` for a nested block path, nothing at the top level."""
    return f" in {'.'.join(path)}" if path else ""


class Checker:
    """Checks resource and data blocks against the schema, collecting findings."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.findings: list[Finding] = []
        self.blocks_checked = 0

    def report(self, file: str, line: int, address: str, message: str) -> None:
        """Record one finding."""
        self.findings.append(Finding(file, line, address, message))

    def check_file(self, path: Path) -> None:
        """Parse one .tf file and check its aws_* resource and data blocks (also those in checks)."""
        display = str(path)
        try:
            doc = DocumentView.parse(path.read_text(encoding="utf-8"))
        except (LarkError, UnicodeDecodeError) as err:
            line = err.line if isinstance(err, UnexpectedInput) else 1
            self.report(display, line, "", f"cannot parse: {str(err).splitlines()[0]}")
            return
        for block in doc.body.blocks():
            if block.block_type == "check":
                candidates = block.body.blocks("data")
            else:
                candidates = [block]
            for candidate in candidates:
                self.check_top_block(candidate, display)

    def check_top_block(self, block, file: str) -> None:
        """Check one `resource "aws_*" "name"` or `data "aws_*" "name"` block; skip anything else."""
        kind, labels = block.block_type, block.name_labels
        if kind not in ("resource", "data") or len(labels) != 2 or not labels[0].startswith("aws_"):
            return
        type_name, name = labels
        address = f"{type_name}.{name}" if kind == "resource" else f"data.{type_name}.{name}"
        line = line_of(block, 1)
        self.blocks_checked += 1
        types = self.schema[kind]
        if type_name not in types:
            noun = "resource type" if kind == "resource" else "data source"
            self.report(file, line, address, f'unknown {noun} "{type_name}"{suggestion(type_name, types)}')
            return
        self.check_body(block.body, types[type_name], (), line, file, address)

    def check_body(self, body, spec: dict, path: tuple, line: int, file: str, address: str) -> None:
        """Check a block body against spec; path names the nested blocks above it, line its start."""
        arguments, blocks = spec["arguments"], spec["blocks"]
        at_top = not path
        set_names = set()
        for attr in body.attributes():
            name, attr_line = attr.name, line_of(attr, line)
            if at_top and name in META_ARGUMENTS:
                continue
            if name in set_names:
                self.report(file, attr_line, address, f'argument "{name}" is set more than once{where(path)}')
            set_names.add(name)
            if name in blocks:
                self.report(file, attr_line, address, f'"{name}" is a block, not an argument{where(path)}: write {name} {{ ... }}')
            elif name not in arguments:
                hint = suggestion(name, set(arguments) | set(blocks))
                self.report(file, attr_line, address, f'unknown argument "{name}"{where(path)}{hint}')

        static_counts: dict[str, int] = {}
        for child in body.blocks():
            child_line = line_of(child, line)
            if child.block_type == "dynamic":
                # dynamic "x" { for_each = ...  content { ... } } stands for blocks x with that content.
                name = child.name_labels[0] if child.name_labels else ""
                contents = child.body.blocks("content")
                if contents:
                    child_body, child_line = contents[0].body, line_of(contents[0], child_line)
                else:
                    child_body = None
                    self.report(file, child_line, address, f'dynamic "{name}"{where(path)} has no content block')
            else:
                name, child_body = child.block_type, child.body
                static_counts[name] = static_counts.get(name, 0) + 1
            if at_top and name in META_ARGUMENTS:
                continue
            set_names.add(name)
            if name in blocks:
                if child_body is not None and not blocks[name].get("opaque"):
                    self.check_body(child_body, blocks[name], path + (name,), child_line, file, address)
            elif "object" in arguments.get(name, {}):
                if child_body is not None:
                    self.check_body(child_body, arguments[name]["object"], path + (name,), child_line, file, address)
            elif name in arguments:
                self.report(file, child_line, address, f'"{name}" is an argument, not a block{where(path)}: write {name} = ...')
            else:
                hint = suggestion(name, set(blocks) | set(arguments))
                self.report(file, child_line, address, f'unknown block "{name}"{where(path)}{hint}')

        for name, count in sorted(static_counts.items()):
            if count > 1 and blocks.get(name, {}).get("max_one"):
                self.report(file, line, address, f'block "{name}"{where(path)} may appear at most once, found {count}')
        for name, entry in sorted(arguments.items()):
            if entry["required"] and name not in set_names:
                self.report(file, line, address, f'missing required argument "{name}"{where(path)}')
        for name, entry in sorted(blocks.items()):
            if entry["required"] and name not in set_names:
                self.report(file, line, address, f'missing required block "{name}"{where(path)}')


def tf_files(roots: list[Path]) -> list[Path]:
    """Every *.tf file under the roots (a root may be a file), outside .terraform/ directories."""
    files = set()
    for root in roots:
        if root.is_file():
            files.add(root)
        elif root.is_dir():
            files.update(p for p in root.rglob("*.tf") if ".terraform" not in p.parts and p.is_file())
        else:
            sys.exit(f"tf_schema: {root}: no such file or directory")
    return sorted(files)


def cmd_check(args) -> int:
    """`check`: report schema problems in the *.tf files under the given directories."""
    schema = json.loads(args.schema.read_text())
    if not {"resource", "data", "source"} <= schema.keys():
        sys.exit(f"tf_schema: {args.schema} is not a schema written by `tf_schema.py extract`")
    checker = Checker(schema)
    files = tf_files(args.dirs)
    for path in files:
        checker.check_file(path)
    for finding in sorted(checker.findings):
        print(finding)
    src = schema["source"]
    print(
        f"{checker.blocks_checked} blocks checked across {len(files)} files, {len(checker.findings)} findings "
        f"(schema: {src['provider']} {src['provider_version']}, {src['bindings']})"
    )
    return 1 if checker.findings else 0


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="write the compact schema from the cdktf-cdktf-provider-aws wheel")
    ext.add_argument("--wheel-dir", type=Path, required=True, help="directory holding the downloaded wheel")
    ext.add_argument("--out", type=Path, required=True, help="schema JSON file to write")
    ext.set_defaults(run=cmd_extract)
    chk = sub.add_parser("check", help="check aws_* resource and data blocks of *.tf files against the schema")
    chk.add_argument("--schema", type=Path, required=True, help="schema JSON file written by extract")
    chk.add_argument("dirs", type=Path, nargs="+", help="directories (or .tf files) to check")
    chk.set_defaults(run=cmd_check)
    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
