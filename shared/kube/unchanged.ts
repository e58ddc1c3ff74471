import { groupOf, type KubeObject } from './objects';

/** A managedFields entry's field set (fieldsV1): "f:name", "k:{list-map key}", "v:set value", "." for the item itself. */
type FieldSet = { [key: string]: FieldSet };

export type LocalVerdict = { unchanged: true } | { unchanged: false; reason: string };

const unsure = (reason: string): LocalVerdict => ({ unchanged: false, reason });

/**
 * Whether a server-side apply of `applied` by `fieldManager` would certainly leave `live` as it
 * is, judged without asking the server: our manager's Apply entry owns exactly the fields of the
 * manifest (so no field would be pruned), each of them has our value, and no other manager shares
 * any of them. Anything the comparison cannot be sure of (values the server normalizes, list-map
 * keys it defaults, fields applied at another apiVersion and so converted) is "not certain", and
 * the caller asks the server with a dry-run, which judges defaulting and conversion the way the
 * apply would. CustomResourceDefinitions are judged like any object: their schema is stored as
 * given, and a field the server defaulted is not ours, so it is not compared.
 */
export function judgeLocally(applied: KubeObject, live: KubeObject, fieldManager: string): LocalVerdict {
  if (live.metadata.deletionTimestamp) return unsure('the object is being deleted');
  const entries = (live.metadata.managedFields ?? []) as ManagedEntry[];
  const ours = entries.filter((e) => e.manager === fieldManager && !e.subresource);
  const content = contentOf(applied);
  // A manifest that sets no field (a bare Namespace) leaves no entry behind, and its apply sets nothing.
  if (!ours.length && !Object.keys(content).length) return { unchanged: true };
  if (ours.length !== 1 || ours[0].operation !== 'Apply') return unsure(`${fieldManager} does not own the fields by one apply`);
  const entry = ours[0];
  if (entry.apiVersion !== applied.apiVersion) return unsure(`the fields were applied as ${entry.apiVersion}`);
  if (entry.fieldsType !== 'FieldsV1' || !isMap(entry.fieldsV1)) return unsure('unknown managedFields format');
  const view = secretView(applied, live, content);
  if (typeof view === 'string') return unsure(view);
  const reason = compare(content, view, entry.fieldsV1 as FieldSet, builtIn(applied.apiVersion), '');
  if (reason) return unsure(reason);
  const shared = sharedField(entry, entries.filter((e) => e !== entry));
  return shared ? unsure(`${shared.manager} also owns ${shared.path}`) : { unchanged: true };
}

interface ManagedEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

/** The fields an apply sets: the manifest without identity (apiVersion, kind, name, namespace) and status. */
function contentOf(applied: KubeObject): Record<string, unknown> {
  const { apiVersion: _v, kind: _k, status: _s, metadata, ...rest } = applied;
  const { name: _n, namespace: _ns, resourceVersion: _rv, managedFields: _mf, ...meta } = metadata;
  return Object.keys(meta).length ? { ...rest, metadata: meta } : rest;
}

/**
 * A Secret's stringData is write-only: the server stores it base64-encoded in data, and the apply
 * owns f:stringData. Compare it against data, decoded; a key in both data and stringData is left
 * to the server.
 */
function secretView(applied: KubeObject, live: KubeObject, content: Record<string, unknown>): KubeObject | string {
  if (applied.kind !== 'Secret' || applied.apiVersion !== 'v1' || !isMap(content.stringData)) return live;
  const data = isMap(live.data) ? live.data : {};
  const stringData: Record<string, unknown> = {};
  for (const key of Object.keys(content.stringData)) {
    if (isMap(content.data) && key in content.data) return `data and stringData both set ${key}`;
    if (typeof data[key] === 'string') stringData[key] = Buffer.from(data[key] as string, 'base64').toString('utf8');
  }
  return { ...live, stringData };
}

/** Defaults of list-map key fields the API server sets on built-in kinds (container, service and endpoint ports). */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/** Groups Kubernetes itself serves (Gateway API's gateway.networking.k8s.io, say, is a CRD's and keeps what it is given). */
const BUILT_IN_GROUPS = new Set(['admissionregistration', 'apiextensions', 'apiregistration', 'authentication', 'authorization', 'certificates', 'coordination',
  'discovery', 'events', 'flowcontrol.apiserver', 'internal.apiserver', 'networking', 'node', 'rbac.authorization', 'resource', 'scheduling', 'storage', 'storagemigration']
  .map((g) => `${g}.k8s.io`));

const builtIn = (apiVersion: string) => {
  const group = groupOf(apiVersion);
  return !group.includes('.') || BUILT_IN_GROUPS.has(group);
};

/** Why `ours` is not certainly `live` with exactly `owned` as our fields; undefined when it is. */
function compare(ours: unknown, live: unknown, owned: FieldSet, builtInKind: boolean, path: string): string | undefined {
  const keys = Object.keys(owned).filter((k) => k !== '.');
  if (ours === null || ours === undefined) return `${path} is null`;
  // A leaf, or an atomic map or list (the object itself, when we own none of its fields, is not one).
  if (!keys.length && path) return equal(ours, live) || (builtInKind && live === undefined && isEmpty(ours)) ? undefined : `${path} differs`;
  if (isMap(ours)) {
    if (!isMap(live)) return `${path} differs`;
    // An empty list or map leaves no owned field behind (initContainers: []); on a built-in kind
    // it is the same as absent when the server shows none.
    const ourKeys = Object.keys(ours).filter((k) => !(builtInKind && !(`f:${k}` in owned) && isEmpty(ours[k]) && (live[k] === undefined || isEmpty(live[k]))));
    if (ourKeys.length !== keys.length || !ourKeys.every((k) => `f:${k}` in owned)) return `${path || 'the object'}: the fields owned are not those of the manifest`;
    for (const k of ourKeys) {
      const reason = compare(ours[k], live[k], owned[`f:${k}`], builtInKind, `${path}.${k}`);
      if (reason) return reason;
    }
    return undefined;
  }
  if (!Array.isArray(ours) || !Array.isArray(live) || ours.length !== keys.length) return `${path}: the items owned are not those of the manifest`;
  if (keys.every((k) => k.startsWith('k:'))) return compareListMap(ours, live, owned, keys, builtInKind, path);
  if (keys.every((k) => k.startsWith('v:'))) return compareSet(ours, live, keys, path);
  return `${path}: unknown list ownership`;
}

/** A list of maps keyed by some of their fields (containers by name, ports by port and protocol). */
function compareListMap(ours: unknown[], live: unknown[], owned: FieldSet, keys: string[], builtInKind: boolean, path: string): string | undefined {
  const parsed = keys.map((k) => ({ key: k, fields: JSON.parse(k.slice(2)) as Record<string, unknown> }));
  const used = new Set<string>();
  let lastLive = -1;
  for (const item of ours) {
    if (!isMap(item)) return `${path}: an item is not a map`;
    const matches = parsed.filter((p) => Object.entries(p.fields).every(([f, v]) => (f in item ? equal(item[f], v) : builtInKind && KEY_DEFAULTS[f] === v)));
    if (matches.length !== 1 || used.has(matches[0].key)) return `${path}: an item's key cannot be matched`;
    const { key, fields } = matches[0];
    used.add(key);
    const at = live.findIndex((l) => isMap(l) && Object.entries(fields).every(([f, v]) => equal(l[f], v)));
    // The apply would move an item that is out of our order; leave that to the server.
    if (at <= lastLive) return `${path}: item ${key.slice(2)} is missing or out of order`;
    lastLive = at;
    const reason = compare(item, live[at], owned[key], builtInKind, `${path}[${key.slice(2)}]`);
    if (reason) return reason;
  }
  return undefined;
}

/** A list of unique scalars (e.g. finalizers). */
function compareSet(ours: unknown[], live: unknown[], keys: string[], path: string): string | undefined {
  const owned = new Set(keys.map((k) => k.slice(2)));
  let lastLive = -1;
  for (const item of ours) {
    const json = JSON.stringify(item);
    if (item === null || typeof item === 'object' || !owned.delete(json)) return `${path}: the values owned are not those of the manifest`;
    const at = live.findIndex((l) => l === item);
    if (at <= lastLive) return `${path}: ${json} is missing or out of order`;
    lastLive = at;
  }
  return undefined;
}

/** The first field our entry owns that another entry owns too (the same field, or one inside the other). */
function sharedField(ours: ManagedEntry, others: ManagedEntry[]): { manager: string; path: string } | undefined {
  const mine = new Set(leaves(ours.fieldsV1 as FieldSet, '').filter(Boolean));
  const ancestorsOfMine = new Set([...mine].flatMap(ancestors));
  for (const other of others) {
    if (!isMap(other.fieldsV1)) return { manager: other.manager ?? 'a manager', path: 'fields in an unknown format' };
    for (const leaf of leaves(other.fieldsV1 as FieldSet, '').filter(Boolean)) {
      if (mine.has(leaf) || ancestorsOfMine.has(leaf) || ancestors(leaf).some((a) => mine.has(a))) {
        return { manager: other.manager ?? 'a manager', path: leaf.split('\u0000').filter(Boolean).join('.') };
      }
    }
  }
  return undefined;
}

function leaves(set: FieldSet, prefix: string): string[] {
  const keys = Object.keys(set);
  if (!keys.length) return [prefix];
  return keys.flatMap((k) => leaves(set[k], `${prefix}\u0000${k}`));
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf('\u0000'); i > 0; i = path.lastIndexOf('\u0000', i - 1)) out.push(path.slice(0, i));
  return out;
}

/**
 * An empty map or list that a built-in kind does not show (annotations: {}): its field is
 * omitempty, so the server cannot tell it from absent and an apply of it changes nothing.
 */
function isEmpty(v: unknown): boolean {
  return Array.isArray(v) ? !v.length : isMap(v) && !Object.keys(v).length;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Same JSON value, same types (80 is not "80"), map key order aside. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return false;
}
