// Validates rendered Kubernetes objects offline against the API's OpenAPI schemas (kubernetes-models, and the
// cert-manager and prometheus-operator models for those custom resources).
// Usage: helm template ... | node validate.mjs [--json]
// Prints "valid: N objects (kinds)" (with --json: the objects as one JSON array, the summary on stderr) and exits 0,
// or one line per problem ("Kind/name: path message") and exits 1. A kind it has no schema for is a problem too.
import { parseAllDocuments } from "yaml";

const groups = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "rbac.authorization.k8s.io/v1": "kubernetes-models/rbac.authorization.k8s.io/v1",
  "batch/v1": "kubernetes-models/batch/v1",
  "cert-manager.io/v1": "@kubernetes-models/cert-manager/cert-manager.io/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

const text = await new Promise((resolve, reject) => {
  let data = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (c) => (data += c));
  process.stdin.on("end", () => resolve(data));
  process.stdin.on("error", reject);
});

const problems = [];
const kinds = new Map();
const objects = [];
let count = 0;
for (const doc of parseAllDocuments(text)) {
  if (doc.errors.length > 0) {
    problems.push(`YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    continue;
  }
  const obj = doc.toJS();
  if (obj === null || obj === undefined) continue; // an empty document between separators
  const id = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
  const module = groups[obj.apiVersion];
  if (!module) {
    problems.push(`${id}: no schema for apiVersion ${obj.apiVersion}`);
    continue;
  }
  let Model;
  try {
    Model = (await import(`${module}/${obj.kind}`))[obj.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    problems.push(`${id}: no schema for kind ${obj.kind} in ${obj.apiVersion}`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    problems.push(`${id}: ${e.message}`);
    continue;
  }
  count++;
  objects.push(obj);
  kinds.set(obj.kind, (kinds.get(obj.kind) ?? 0) + 1);
}

if (problems.length > 0) {
  for (const p of problems) console.log(p);
  process.exit(1);
}
const summary = `valid: ${count} objects (${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")})`;
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(objects));
  console.error(summary);
} else {
  console.log(summary);
}
