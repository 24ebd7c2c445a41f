#!/usr/bin/env python3
"""Checks the millisampler chart without helm: python3 deploy/helm/check.py (exit 1 on any problem).

What it checks, since neither helm nor a cluster is at hand here:
  1. values.yaml parses (PyYAML when installed; otherwise this and the YAML-based checks are skipped), and
     every duration value is a quoted string (YAML 1.1 reads an unquoted 00:05:00 as the number 300).
  2. Every leaf value in values.yaml has a comment above it (free-form maps and lists excepted).
  3. Every .Values path a template uses, directly or through a variable ($a := .Values.agent), exists.
  4. No template hard-codes a namespace: each namespaced resource sets namespace: {{ .Release.Namespace }}.
  5. Every Agent__* / Coordinator__* setting the templates or the settings maps in values.yaml produce names a
     real property of the options classes in src/ (a misspelt agent key is silently ignored; a misspelt
     coordinator key stops it with exit 2).
  6. Where values.yaml restates a program default, it equals the default in the C# source.
Not a template renderer: conditionals, loops and helm functions are not evaluated.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHART = HERE / "millisampler"
REPO = HERE.parent.parent
TEMPLATES = sorted(p for p in (CHART / "templates").iterdir() if p.suffix in (".yaml", ".tpl", ".txt"))

try:
    import yaml  # type: ignore
except ImportError:  # pragma: no cover - depends on the machine
    yaml = None

problems: list[str] = []


def problem(text: str) -> None:
    problems.append(text)


# ---------------------------------------------------------------------------------------------- values.yaml
values_text = (CHART / "values.yaml").read_text()
values: dict | None = None
if yaml is None:
    print("check: PyYAML is not installed; skipping the checks that parse values.yaml")
else:
    try:
        values = yaml.safe_load(values_text)
    except yaml.YAMLError as e:
        problem(f"values.yaml does not parse: {e}")

TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")
DURATION_KEY = re.compile(r"(period|jitter|interval|after|floor|ceiling|binwidth|timeout|delay|grace|lead)$", re.I)


def walk(node, path=()):
    """Yields (path, value) of every leaf."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (str(k),))
    else:
        yield path, node


if values is not None:
    for path, v in walk(values):
        if DURATION_KEY.search(path[-1]) and path[-1] != "binWidths" and not path[-1].endswith("Seconds"):
            if not isinstance(v, str) or not TIMESPAN.match(v):
                problem(f"values.yaml {'.'.join(path)}: {v!r} must be a quoted TimeSpan like \"00:05:00\"")

# 2. Comments: a key whose value is a scalar or a list/map literal needs a comment line right above it.
FREEFORM = {"racks", "interfaces", "resources", "nodeSelector", "tolerations", "affinity", "seccompProfile",
            "accessModes", "settings", "extraEnv", "podAnnotations", "podLabels", "annotations",
            "imagePullSecrets", "commonLabels"}
lines = values_text.splitlines()
stack: list[tuple[int, str]] = []  # (indent, key) of enclosing keys
for i, line in enumerate(lines):
    m = re.match(r"^(\s*)(-\s+)?([A-Za-z_][\w.-]*):(.*)$", line)
    if not m or line.lstrip().startswith("#"):
        continue
    indent = len(m.group(1)) + (len(m.group(2)) if m.group(2) else 0)
    while stack and stack[-1][0] >= indent:
        stack.pop()
    key, rest = m.group(3), m.group(4).strip()
    inside_freeform = any(k in FREEFORM for _, k in stack)
    is_section = rest == "" and key not in FREEFORM
    stack.append((indent, key))
    if inside_freeform or is_section:
        continue
    prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
    if not prev.strip().startswith("#"):
        problem(f"values.yaml line {i + 1}: '{key}' has no comment above it (say what it is, with its unit)")

# ---------------------------------------------------------------------------------------------- templates
VALUES_REF = re.compile(r"(?:\$|\$root|\.root|\$\.root)?\.Values((?:\.[A-Za-z_]\w*)+)")
ALIAS = re.compile(r"(\$[A-Za-z_]\w*)\s*:?=\s*\(?\s*(?:\$|\$root|\.root)?\.Values((?:\.[A-Za-z_]\w*)+)")


def exists(path: list[str]) -> bool:
    node = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


value_paths_used: dict[str, set[str]] = {}  # env key -> values path, from the settings helpers
for t in TEMPLATES:
    text = t.read_text()
    # Variables bound to a values path; not `range $x := .Values.list`, whose $x is one element.
    aliases = {m.group(1): m.group(2).strip(".").split(".") for m in ALIAS.finditer(text)
               if not text[:m.start()].rstrip().endswith("range")}
    refs: set[tuple[str, ...]] = set()
    for m in VALUES_REF.finditer(text):
        refs.add(tuple(m.group(1).strip(".").split(".")))
    for name, base in aliases.items():
        for m in re.finditer(re.escape(name) + r"((?:\.[A-Za-z_]\w*)+)", text):
            refs.add(tuple(base + m.group(1).strip(".").split(".")))
    if values is not None:
        for ref in sorted(refs):
            if not exists(list(ref)):
                problem(f"{t.name}: .Values.{'.'.join(ref)} is not in values.yaml")

    # Settings the helpers set: set $env "Agent__X" (... $a.path ...)
    for m in re.finditer(r'set \$env "((?:Agent|Coordinator)__\w+)"\s+(.*?)\s*-?}}', text):
        key, expr = m.group(1), m.group(2)
        for name, base in aliases.items():
            am = re.search(re.escape(name) + r"((?:\.[A-Za-z_]\w*)+)", expr)
            if am and "printf" not in expr:
                path = ".".join(base + am.group(1).strip(".").split("."))
                value_paths_used[key] = path + (" [seconds]" if "timespan" in expr else "")
                break

    # 4. Namespaces: a literal namespace anywhere, or a resource without the release namespace.
    for i, line in enumerate(text.splitlines(), 1):
        nm = re.match(r"^\s*namespace:\s*(.*)$", line)
        if nm and not re.fullmatch(r"\{\{-?\s*\$?\.Release\.Namespace\s*-?\}\}", nm.group(1).strip()):
            problem(f"{t.name}:{i}: namespace must be {{{{ .Release.Namespace }}}}, not {nm.group(1).strip()!r}")
    if t.suffix == ".yaml":
        for doc in re.split(r"^---\s*$", text, flags=re.M):
            kind = re.search(r"^kind:\s*(\w+)", doc, re.M)
            if kind and kind.group(1) not in {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                                             "StorageClass", "PriorityClass"}:
                if not re.search(r"^  namespace:\s*\{\{-?\s*\$?\.Release\.Namespace", doc, re.M):
                    problem(f"{t.name}: {kind.group(1)} has no metadata.namespace: {{{{ .Release.Namespace }}}}")
    if re.search(r"namespace:\s*[\"']?(default|kube-system|millisampler)\b", text):
        problem(f"{t.name}: a fixed namespace")

# ---------------------------------------------------------------------------------------------- option classes
OPTION_FILES = [
    "src/Agent/Service/AgentOptions.cs",
    "src/Agent/Storage/RunStoreOptions.cs",
    "src/Coordinator/Api/EndpointOptions.cs",
    "src/Coordinator/Membership/MembershipOptions.cs",
    "src/Coordinator/Captures/CaptureOptions.cs",
    "src/Coordinator/Storage/StorageOptions.cs",
]
# Configuration section of each options class, as the services bind them (AgentServiceCollectionExtensions binds
# RunStoreOptions under Agent:RunStore; ScheduleOptions is AgentOptions.Schedule).
SECTIONS = {
    "AgentOptions": "Agent",
    "ScheduleOptions": "Agent:Schedule",
    "RunStoreOptions": "Agent:RunStore",
    "EndpointOptions": "Coordinator:Endpoints",
    "MembershipOptions": "Coordinator:Membership",
    "CaptureOptions": "Coordinator:Captures",
    "StorageOptions": "Coordinator:Storage",
}
PROP = re.compile(r"public\s+([\w<>?,\s]+?)\s+(\w+)\s*\{\s*get;\s*set;\s*\}(?:\s*=\s*([^;]+);)?")
options: dict[str, dict[str, tuple[str, str | None]]] = {}  # section -> property -> (type, initializer)
for rel in OPTION_FILES:
    src = (REPO / rel).read_text()
    for cm in re.finditer(r"public sealed class (\w+)\b(.*?)(?=\npublic |\ninternal |\Z)", src, re.S):
        cls, body = cm.group(1), cm.group(2)
        if cls in SECTIONS:
            props = options.setdefault(SECTIONS[cls], {})
            for pm in PROP.finditer(body):
                props[pm.group(2)] = (pm.group(1).strip(), pm.group(3).strip() if pm.group(3) else None)

if "Agent" not in options or "Coordinator:Captures" not in options:
    problem("could not read the options classes from src/ (moved?); update OPTION_FILES in check.py")


def check_key(where: str, env_key: str) -> None:
    parts = [p for p in env_key.split("__") if p]
    while parts and parts[-1].isdigit():  # list index, e.g. Agent__Interfaces__0
        parts.pop()
    for cut in range(len(parts) - 1, 0, -1):
        section, prop = ":".join(parts[:cut]), parts[cut:]
        if section in options:
            if len(prop) == 1 and prop[0] in options[section]:
                return
            break
    problem(f"{where}: {env_key} ({':'.join(parts)}) is no setting of the agent or the coordinator")


for t in TEMPLATES:
    code = "\n".join(l for l in t.read_text().splitlines() if not l.lstrip().startswith("#"))
    for m in re.finditer(r"\b((?:Agent|Coordinator)__\w+)", code):
        key = m.group(1)
        if "%" in key or key.endswith("__"):
            continue
        check_key(t.name, key)
for key in value_paths_used:
    check_key("settings helper", key)
if values is not None:
    for section, prefix, maps in (
        ("agent", "Agent", [values["agent"].get("settings") or {}] + [r.get("settings") or {} for r in values["agent"].get("racks") or []]),
        ("coordinator", "Coordinator", [values["coordinator"].get("settings") or {}]),
    ):
        for m in maps:
            for k in m:
                check_key(f"values.yaml {section}.settings", prefix + "__" + str(k).replace(":", "__"))

# 6. Defaults restated in values.yaml equal the C# initializers.
UNITS = {"FromDays": 86400.0, "FromHours": 3600.0, "FromMinutes": 60.0, "FromSeconds": 1.0,
         "FromMilliseconds": 1e-3, "FromMicroseconds": 1e-6}


def cs_default(init: str | None):
    if init is None:
        return None
    init = init.strip()
    if m := re.fullmatch(r"TimeSpan\.(From\w+)\(([\d_.]+)\)", init):
        return ("s", float(m.group(2).replace("_", "")) * UNITS[m.group(1)]) if m.group(1) in UNITS else None
    if init == "TimeSpan.Zero":
        return ("s", 0.0)
    if m := re.fullmatch(r"(\d[\d_]*)L?\s*<<\s*(\d+)", init):
        return ("n", float(int(m.group(1).replace("_", "")) << int(m.group(2))))
    if re.fullmatch(r"-?[\d_]+(\.\d+)?[LUu]*", init):
        return ("n", float(init.rstrip("LUu").replace("_", "")))
    if init in ("true", "false"):
        return ("b", init == "true")
    if m := re.fullmatch(r'"(.*)"', init):
        return ("t", m.group(1))
    return None


def chart_value(path: str):
    seconds = path.endswith(" [seconds]")
    node = values
    for part in path.replace(" [seconds]", "").split("."):
        node = node[part]
    if seconds:
        return ("s", float(node))
    if isinstance(node, bool):
        return ("b", node)
    if isinstance(node, (int, float)):
        return ("n", float(node))
    if isinstance(node, str) and (m := TIMESPAN.match(node)):
        d, h, mi, s, frac = m.groups()
        return ("s", int(d or 0) * 86400 + int(h) * 3600 + int(mi) * 60 + int(s) + float("0." + (frac or "0")))
    return ("t", node)


if values is not None:
    for key, path in sorted(value_paths_used.items()):
        parts = key.split("__")
        section, prop = ":".join(parts[:-1]), parts[-1]
        if section not in options or prop not in options[section]:
            continue
        expected = cs_default(options[section][prop][1])
        if expected is None or not exists(path.replace(" [seconds]", "").split(".")):
            continue
        actual = chart_value(path)
        if actual[0] != expected[0] or (actual[1] != expected[1] if actual[0] != "s" else abs(actual[1] - expected[1]) > 1e-9):
            problem(f"values.yaml {path.replace(' [seconds]', '')} = {actual[1]!r} but the program's default of "
                    f"{section}:{prop} is {options[section][prop][1]} (change both, or say why in values.yaml)")

# ---------------------------------------------------------------------------------------------- result
if problems:
    for p in problems:
        print("check: " + p)
    print(f"check: {len(problems)} problem(s)")
    sys.exit(1)
print(f"check: ok ({len(TEMPLATES)} templates, {len(value_paths_used)} settings mapped to values, "
      f"{sum(len(v) for v in options.values())} option properties read)")
