// Validates rendered objects against the Kubernetes API schemas: the OpenAPI schemas of a
// current Kubernetes release (kubernetes-models) and the prometheus-operator CRDs
// (@kubernetes-models/prometheus-operator).
//
// Those schemas leave unknown fields open (the API server prunes them or, with kubectl's
// default strict field validation, rejects them), so a misspelt field such as `readinesProbe`
// would pass a plain schema check. findUnknownFields closes that gap: a field is known when
// the schema constrains its value, so the check replaces each field's value with one that no
// typed schema accepts (a function) and expects the validation to fail.

const modelModules = {
  v1: (kind) => `kubernetes-models/v1/${kind}`,
  'apps/v1': (kind) => `kubernetes-models/apps/v1/${kind}`,
  'batch/v1': (kind) => `kubernetes-models/batch/v1/${kind}`,
  'networking.k8s.io/v1': (kind) => `kubernetes-models/networking.k8s.io/v1/${kind}`,
  'rbac.authorization.k8s.io/v1': (kind) => `kubernetes-models/rbac.authorization.k8s.io/v1/${kind}`,
  'policy/v1': (kind) => `kubernetes-models/policy/v1/${kind}`,
  'autoscaling/v2': (kind) => `kubernetes-models/autoscaling/v2/${kind}`,
  'monitoring.coreos.com/v1': (kind) => `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`,
};

async function modelFor(object) {
  const modulePath = modelModules[object.apiVersion]?.(object.kind);
  if (!modulePath) throw new Error(`no schema known for apiVersion ${object.apiVersion}`);
  let module;
  try {
    module = await import(modulePath);
  } catch (error) {
    throw new Error(`no schema for ${object.apiVersion} ${object.kind} (${error.message})`);
  }
  const Model = module[object.kind];
  if (typeof Model !== 'function') throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return Model;
}

function schemaErrors(Model, data) {
  try {
    new Model(data).validate();
    return null;
  } catch (error) {
    return error.message;
  }
}

/** Every object-key path in `value`, parents before children. */
function* fieldPaths(value, path = []) {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) yield* fieldPaths(value[index], [...path, index]);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      yield [...path, key];
      yield* fieldPaths(child, [...path, key]);
    }
  }
}

const startsWith = (path, prefix) => prefix.every((segment, index) => path[index] === segment);

function withValueAt(data, path, value) {
  const copy = JSON.parse(JSON.stringify(data));
  let parent = copy;
  for (const segment of path.slice(0, -1)) parent = parent[segment];
  parent[path.at(-1)] = value;
  return copy;
}

/** Paths of fields the schema does not define (only the outermost of nested unknown fields). */
export function findUnknownFields(Model, data) {
  const unknown = [];
  const notAValueOfAnyType = () => undefined;
  for (const path of fieldPaths(data)) {
    if (unknown.some((prefix) => startsWith(path, prefix))) continue;
    if (schemaErrors(Model, withValueAt(data, path, notAValueOfAnyType)) === null) unknown.push(path);
  }
  return unknown.map((path) => path.join('.'));
}

// DNS-1123 names, which the API server checks (the OpenAPI schemas do not).
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabel = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const kindsNamedByLabel = new Set(['Service']);

function nameProblems(object) {
  const name = object.metadata?.name;
  if (typeof name !== 'string') return ['metadata.name is missing'];
  if (kindsNamedByLabel.has(object.kind)) {
    return name.length <= 63 && dnsLabel.test(name) ? [] : [`metadata.name "${name}" is not a DNS-1035 label`];
  }
  return name.length <= 253 && dnsSubdomain.test(name) ? [] : [`metadata.name "${name}" is not a DNS-1123 subdomain`];
}

/**
 * The problems of one object: schema violations, unknown fields and invalid names; an empty
 * list when the object is valid.
 */
export async function validateKubernetesObject(object) {
  const Model = await modelFor(object);
  const problems = [...nameProblems(object)];
  const errors = schemaErrors(Model, object);
  if (errors !== null) problems.push(errors);
  for (const path of findUnknownFields(Model, object)) problems.push(`unknown field ${path}`);
  return problems;
}

/** Problems of many objects, keyed "Kind/name". */
export async function validateKubernetesObjects(objects) {
  const problems = {};
  for (const object of objects) {
    const found = await validateKubernetesObject(object);
    if (found.length > 0) problems[`${object.kind}/${object.metadata?.name}`] = found;
  }
  return problems;
}
