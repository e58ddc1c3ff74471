// Every object a system is made of on a cluster, in a form two clusters can be compared by:
// what the platform's `systems` Kustomization applied for it (namespace, accounts, bindings, sync
// objects, sealed credentials), what the team's own Kustomization applied, and every Secret of the
// namespace (the unsealed ones). Kept: kind, name, namespace, labels, annotations and the content
// (spec, data, rules, ...); dropped: what a cluster assigns (uid, resourceVersion, timestamps,
// generation, managed fields, status, owner uids). Secret values become SHA-256 digests, so a
// difference can be named without being shown.
import { createHash } from 'node:crypto';
import type { KubeApi, KubeObject } from '../platform/kube-api';

export type SystemObjects = Record<string, Record<string, unknown>>;

const ASSIGNED_ANNOTATIONS = /^(reconcile\.fluxcd\.io\/|kubectl\.kubernetes\.io\/last-applied-configuration$|deployment\.kubernetes\.io\/revision$)/;

const digest = (value: string) => `sha256:${createHash('sha256').update(value).digest('hex')}`;

function comparable(o: KubeObject): Record<string, unknown> {
  const { metadata, status: _status, ...content } = o as KubeObject & { status?: unknown; data?: Record<string, string>; stringData?: unknown };
  const annotations = Object.fromEntries(Object.entries(metadata.annotations ?? {}).filter(([k]) => !ASSIGNED_ANNOTATIONS.test(k)));
  const owners = (metadata as { ownerReferences?: { kind: string; name: string; controller?: boolean }[] }).ownerReferences;
  const result: Record<string, unknown> = {
    ...content,
    metadata: {
      name: metadata.name, namespace: metadata.namespace, labels: metadata.labels ?? {}, annotations,
      ...(owners ? { owners: owners.map((r) => `${r.kind}/${r.name}${r.controller ? ' (controller)' : ''}`) } : {}),
    },
  };
  if (o.kind === 'Secret' && content.data) result.data = Object.fromEntries(Object.entries(content.data).map(([k, v]) => [k, digest(v)]));
  return result;
}

interface InventoryEntry { namespace: string; name: string; group: string; kind: string; version: string }

/** Flux's inventory id: `<namespace>_<name>_<group>_<kind>` (names hold no underscore). */
function inventoryOf(sync: KubeObject | undefined): InventoryEntry[] {
  const entries = (sync?.status as { inventory?: { entries?: { id: string; v: string }[] } } | undefined)?.inventory?.entries ?? [];
  return entries.map(({ id, v }) => {
    const [namespace = '', name = '', group = '', kind = ''] = id.split('_');
    return { namespace, name, group, kind, version: v };
  });
}

const keyOf = (o: { kind: string; namespace?: string; name: string }) => `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** The objects of each system on the cluster `api` reaches, by `Kind/namespace/name`. */
export async function systemObjects(api: KubeApi, systems: string[]): Promise<Record<string, SystemObjects>> {
  const platform = inventoryOf(await api.find('/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/systems'));
  const result: Record<string, SystemObjects> = {};
  for (const system of systems) {
    const team = inventoryOf(await api.find(`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${system}/kustomizations/${system}`));
    const entries = [...platform.filter((e) => e.namespace === system || (e.kind === 'Namespace' && e.name === system)), ...team];
    const objects: SystemObjects = {};
    for (const e of entries) {
      const path = await api.pathOf({ apiVersion: e.group ? `${e.group}/${e.version}` : e.version, kind: e.kind, namespace: e.namespace || undefined, name: e.name });
      const o = await api.find<KubeObject>(path);
      if (o) objects[keyOf({ kind: e.kind, namespace: e.namespace, name: e.name })] = comparable(o);
    }
    const secrets = await api.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${system}/secrets`);
    for (const s of secrets.items) objects[keyOf({ kind: 'Secret', namespace: system, name: s.metadata.name })] = comparable({ ...s, apiVersion: 'v1', kind: 'Secret' });
    result[system] = objects;
  }
  return result;
}

/** Top-level fields (and metadata fields) that differ between two forms of one object. */
function differingFields(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ''): string[] {
  const fields: string[] = [];
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[key];
    const y = b[key];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    if (!prefix && (key === 'metadata' || key === 'data') && x && y && typeof x === 'object' && typeof y === 'object') {
      fields.push(...differingFields(x as Record<string, unknown>, y as Record<string, unknown>, `${key}.`));
    } else fields.push(`${prefix}${key}`);
  }
  return fields;
}

/** What differs between two snapshots, one line each, naming fields, never values. */
export function compareSystemObjects(before: Record<string, SystemObjects>, after: Record<string, SystemObjects>): string[] {
  const differences: string[] = [];
  for (const system of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[system] ?? {};
    const b = after[system] ?? {};
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (!b[key]) differences.push(`${system}: ${key} is gone`);
      else if (!a[key]) differences.push(`${system}: ${key} is new`);
      else {
        const fields = differingFields(a[key]!, b[key]!);
        if (fields.length) differences.push(`${system}: ${key} differs in ${fields.join(', ')}`);
      }
    }
  }
  return differences;
}

/** Objects per system and kind, e.g. "payments: 13 (ConfigMap 1, Secret 2, ...)". */
export function describeSystemObjects(snapshot: Record<string, SystemObjects>): string[] {
  return Object.entries(snapshot).map(([system, objects]) => {
    const kinds = new Map<string, number>();
    for (const key of Object.keys(objects)) kinds.set(key.split('/')[0]!, (kinds.get(key.split('/')[0]!) ?? 0) + 1);
    return `${system}: ${Object.keys(objects).length} objects (${[...kinds].sort().map(([k, n]) => `${k} ${n}`).join(', ')})`;
  });
}
