// Deep merge of ManagedCluster models: objects merge key by key, arrays are replaced, except node
// pools, which are matched by name (a pool is an entity, not a list value).

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** `over` wins; undefined values in `over` leave `base` alone. Neither argument is modified. */
export function mergeModels<T>(base: T, over: unknown): T {
  return merge(base, over, '') as T;
}

function merge(base: unknown, over: unknown, key: string): unknown {
  if (over === undefined) return structuredClone(base);
  if (key === 'agentPoolProfiles' && Array.isArray(base) && Array.isArray(over)) return mergePools(base, over);
  if (!isObject(base) || !isObject(over)) return structuredClone(over);
  const out: Json = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v, k);
  return out;
}

function mergePools(base: unknown[], over: unknown[]): unknown[] {
  const out = base.map((p) => structuredClone(p));
  for (const pool of over) {
    const name = isObject(pool) ? pool.name : undefined;
    const at = out.findIndex((p) => isObject(p) && p.name === name);
    if (at >= 0) out[at] = merge(out[at], pool, '');
    else out.push(structuredClone(pool));
  }
  return out;
}
