import { ChangeSet, type ChangeAction } from './changeset';
import { resourcePath, type ResourceInfo } from './discovery';
import type { Engine } from './engine';
import { KubeApiError } from './errors';
import { isRetryableDryRun } from './retry';
import { isCrd, isNamespace, refOf, type KubeObject } from './objects';
import { forEachLimited, settleLimited } from './pool';
import { sortForApply } from './sort';
import { judgeLocally } from './unchanged';
import { waitForReady } from './wait';

export interface ApplyOptions {
  /** Take fields over from other managers instead of failing on a conflict. */
  force?: boolean;
  signal?: AbortSignal;
  /** Time for the whole apply, including waiting for CRDs and namespaces. */
  timeoutMs?: number;
}

/** The objects could not be validated; nothing (or, when stage is 2, only CRDs and namespaces) was written. */
export class ApplyValidationError extends Error {
  override readonly name = 'ApplyValidationError';
  constructor(
    readonly failures: { ref: string; error: Error }[],
    readonly stage: 1 | 2,
  ) {
    const refused = failures.filter((f) => isRefusal(f.error)).length;
    // A refusal needs the manifest mended; a server that failed or was not reached needs a re-run.
    const what = refused === failures.length ? `${failures.length} object(s) failed server-side validation`
      : refused === 0 ? `${failures.length} object(s) could not be validated because the API server failed or could not be reached (run the step again)`
      : `${failures.length} object(s) could not be applied: ${refused} failed server-side validation, ${failures.length - refused} could not be validated because the API server failed or could not be reached`;
    super(
      `${what}; ${stage === 1 ? 'nothing was changed' : 'only CustomResourceDefinitions and Namespaces were applied'}:\n`
      + failures.map((f) => `  ${f.error.message}`).join('\n'),
    );
  }
}

/** The server judged the object and refused it (as opposed to failing, throttling or not answering). */
function isRefusal(error: Error): boolean {
  if (!(error instanceof KubeApiError)) return false;
  return (error.status >= 400 && error.status < 500 && error.status !== 429 && error.status !== 408) || (error.status === 500 && !isRetryableDryRun(error));
}

interface Planned {
  object: KubeObject;
  ref: string;
  info?: ResourceInfo;
  existing?: KubeObject;
  /** Known not to exist (its namespace is new), so there is nothing to read. */
  isNew?: boolean;
  action?: ChangeAction;
}

/**
 * Applies objects the way Flux's ResourceManager does: every object is first validated by a
 * server-side dry-run (nothing is written if one fails), CRDs and Namespaces go first and are
 * waited for, then the rest in Flux's kind order; objects that did not drift are not written.
 * An existing object that our field manager already applied exactly as the manifest says
 * (unchanged.ts) is not sent at all, not even as a dry-run.
 */
export async function applyStaged(engine: Engine, objects: KubeObject[], options: ApplyOptions = {}): Promise<ChangeSet> {
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000);
  const planned = sortForApply(dedupe(objects)).map((object) => ({ object, ref: refOf(object) }) as Planned);
  const stageOne = planned.filter((p) => isCrd(p.object) || isNamespace(p.object));
  const stageTwo = planned.filter((p) => !stageOne.includes(p));

  // Validate everything the server can judge now; objects of kinds or in namespaces that stage
  // one creates are validated once stage one is in place.
  const newKinds = new Set(stageOne.filter((p) => isCrd(p.object)).map((p) => crdKey(p.object)));
  const newNamespaces = new Set(stageOne.filter((p) => isNamespace(p.object)).map((p) => p.object.metadata.name));
  const existingNamespaces = await namespacesThatExist(engine, newNamespaces, options.signal, deadline);
  const deferred = stageTwo.filter((p) => newKinds.has(`${p.object.apiVersion.split('/')[0]}/${p.object.kind}`)
    || (p.object.metadata.namespace !== undefined && newNamespaces.has(p.object.metadata.namespace) && !existingNamespaces.has(p.object.metadata.namespace)));
  for (const p of deferred) {
    const ns = p.object.metadata.namespace;
    if (ns !== undefined && newNamespaces.has(ns) && !existingNamespaces.has(ns)) p.isNew = true;
  }
  const now = planned.filter((p) => !deferred.includes(p));
  await validate(engine, now, options, deadline, 1);

  const changes = new ChangeSet();
  if (stageOne.length) {
    await write(engine, stageOne, options, deadline);
    const waitFor = stageOne.filter((p) => p.action !== 'unchanged').map((p) => p.object);
    if (waitFor.length) await waitForReady(engine, waitFor, { signal: options.signal, timeoutMs: Math.max(1000, deadline - Date.now()) });
    engine.discovery.reset();
  }
  await validate(engine, deferred, options, deadline, 2);
  await write(engine, stageTwo, options, deadline);
  for (const p of planned) changes.add(p.ref, p.action!);
  return changes;
}

function dedupe(objects: KubeObject[]): KubeObject[] {
  const byRef = new Map<string, KubeObject>();
  for (const o of objects) byRef.set(`${o.apiVersion.split('/')[0]}/${refOf(o)}`, o);
  return [...byRef.values()];
}


const crdKey = (crd: KubeObject) => {
  const spec = crd.spec as { group: string; names: { kind: string } };
  return `${spec.group}/${spec.names.kind}`;
};

async function namespacesThatExist(engine: Engine, names: Set<string>, signal: AbortSignal | undefined, deadline: number): Promise<Set<string>> {
  const found = new Set<string>();
  // Several namespaces: one list instead of a get each (an identity that may not list gets each).
  if (names.size >= 4) {
    try {
      const list = await engine.client.request<{ items: KubeObject[] }>({ method: 'GET', path: '/api/v1/namespaces', signal, deadlineMs: deadline - Date.now() });
      for (const ns of list.items) if (names.has(ns.metadata.name)) found.add(ns.metadata.name);
      return found;
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 403)) throw error;
    }
  }
  await forEachLimited([...names], engine.concurrency, async (name) => {
    try {
      await engine.client.request({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(name)}`, signal, deadlineMs: deadline - Date.now() });
      found.add(name);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
  });
  return found;
}

/** Resolves each object's resource, reads what exists, dry-runs the change and records the action. */
async function validate(engine: Engine, items: Planned[], options: ApplyOptions, deadline: number, stage: 1 | 2): Promise<void> {
  if (!items.length) return;
  const failures = await settleLimited(items, engine.concurrency, async (p) => {
    p.info = await engine.discovery.resourceFor(p.object.apiVersion, p.object.kind, options.signal, deadline - Date.now());
    if (p.info.namespaced && !p.object.metadata.namespace) p.object = { ...p.object, metadata: { ...p.object.metadata, namespace: engine.defaultNamespace } };
    if (!p.info.namespaced && p.object.metadata.namespace) p.object = { ...p.object, metadata: { ...p.object.metadata, namespace: undefined } };
    p.ref = refOf(p.object);
  });
  // What exists is read for every object whose resource is known, even when another one's is not:
  // otherwise an object that exists would be dry-run as new and fail as AlreadyExists.
  await readExisting(engine, items.filter((p) => p.info && !p.isNew), options.signal, deadline);
  failures.push(...await settleLimited(items.filter((p) => p.info), engine.concurrency, async (p) => {
    if (!p.existing) {
      // A new object: a dry-run create validates it as the apply would, for less server work.
      try {
        await dryRunCreate(engine, p, options.signal, deadline);
        p.action = 'created';
        return;
      } catch (error) {
        // Created since it was read (Flux applying the same object, another pipeline): it is
        // judged as the object that now exists; the write is an apply either way.
        if (!(error instanceof KubeApiError && error.reason === 'AlreadyExists')) throw error;
        p.existing = await getIfExists(engine, p, options.signal, deadline);
        if (!p.existing) throw error;
      }
    }
    // What is certainly unchanged needs no dry-run and no write; the rest the server judges.
    if (judgeLocally(applyBody(p.object), p.existing, engine.fieldManager).unchanged) {
      p.action = 'unchanged';
      return;
    }
    const dryRun = await patchApply(engine, p, { ...options, dryRun: true }, deadline);
    p.action = drifted(p.existing, dryRun) ? 'configured' : 'unchanged';
  }));
  if (options.signal?.aborted) throw options.signal.reason;
  if (failures.length) {
    throw new ApplyValidationError(failures.map((f) => ({ ref: f.item.ref, error: named(f.error, f.item.ref) })), stage);
  }
}

/**
 * Reads the live state of the objects: one list per collection when it holds several of them,
 * otherwise one get per object.
 */
async function readExisting(engine: Engine, items: Planned[], signal: AbortSignal | undefined, deadline: number): Promise<void> {
  const byCollection = new Map<string, Planned[]>();
  for (const p of items) {
    const path = resourcePath(p.info!, p.object.metadata.namespace);
    byCollection.set(path, [...(byCollection.get(path) ?? []), p]);
  }
  const getEach = async (group: Planned[]) => {
    for (const p of group) {
      try {
        p.existing = await getIfExists(engine, p, signal, deadline);
      } catch (error) {
        throw named(error, p.ref);
      }
    }
  };
  await forEachLimited([...byCollection], engine.concurrency, async ([path, group]) => {
    if (group.length < 4) return getEach(group);
    let list: { apiVersion: string; kind: string; items: KubeObject[] };
    try {
      list = await engine.client.request({ method: 'GET', path, signal, deadlineMs: deadline - Date.now() });
    } catch (error) {
      // An identity may get and apply objects it may not list.
      if (error instanceof KubeApiError && error.status === 403) return getEach(group);
      throw error;
    }
    const kind = list.kind.replace(/List$/, '');
    const byName = new Map(list.items.map((o) => [o.metadata.name, { ...o, apiVersion: list.apiVersion, kind }]));
    for (const p of group) p.existing = byName.get(p.object.metadata.name);
  });
}

function dryRunCreate(engine: Engine, p: Planned, signal: AbortSignal | undefined, deadline: number): Promise<unknown> {
  return engine.client.request({
    method: 'POST',
    path: resourcePath(p.info!, p.object.metadata.namespace),
    query: { fieldManager: engine.fieldManager, dryRun: 'All', fieldValidation: 'Strict' },
    body: applyBody(p.object),
    signal,
    deadlineMs: Math.max(1000, deadline - Date.now()),
  });
}

/** Applies what drifted, one kind rank at a time (Flux's order), objects of a rank in parallel. */
async function write(engine: Engine, items: Planned[], options: ApplyOptions, deadline: number): Promise<void> {
  const toWrite = items.filter((p) => p.action !== 'unchanged');
  const groups: Planned[][] = [];
  for (const p of toWrite) {
    const last = groups[groups.length - 1];
    if (last && last[0].object.kind === p.object.kind) last.push(p);
    else groups.push([p]);
  }
  for (const group of groups) {
    await forEachLimited(group, engine.concurrency, async (p) => {
      try {
        await patchApply(engine, p, options, deadline);
      } catch (error) {
        throw named(error, p.ref);
      }
      engine.log(`${p.ref} ${p.action}`);
    });
  }
}

async function getIfExists(engine: Engine, p: Planned, signal: AbortSignal | undefined, deadline: number): Promise<KubeObject | undefined> {
  try {
    return await engine.client.request<KubeObject>({ method: 'GET', path: resourcePath(p.info!, p.object.metadata.namespace, p.object.metadata.name), signal, deadlineMs: deadline - Date.now() });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** What is sent: the object without status and server bookkeeping. */
function applyBody(o: KubeObject): KubeObject {
  const { status: _status, ...rest } = o;
  const body = { ...rest, metadata: { ...o.metadata } } as KubeObject;
  delete body.metadata.resourceVersion;
  delete body.metadata.managedFields;
  return body;
}

function patchApply(engine: Engine, p: Planned, options: ApplyOptions & { dryRun?: boolean }, deadline: number): Promise<KubeObject> {
  const body = applyBody(p.object);
  return engine.client.request<KubeObject>({
    method: 'PATCH',
    path: resourcePath(p.info!, p.object.metadata.namespace, p.object.metadata.name),
    query: { fieldManager: engine.fieldManager, force: options.force ? 'true' : undefined, dryRun: options.dryRun ? 'All' : undefined, fieldValidation: 'Strict' },
    body,
    contentType: 'application/apply-patch+yaml',
    signal: options.signal,
    deadlineMs: Math.max(1000, deadline - Date.now()),
  });
}

/**
 * Whether the dry-run result differs from what is there. Field ownership is bookkeeping, not
 * drift: a dry-run reports managedFields even where the stored object has none (e.g. namespaces).
 */
export function drifted(existing: KubeObject, dryRun: KubeObject): boolean {
  return canonical(strip(existing)) !== canonical(strip(dryRun));
}

function strip(o: KubeObject): KubeObject {
  return { ...o, metadata: { ...o.metadata, managedFields: undefined, resourceVersion: undefined } };
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

function named(error: unknown, ref: string): Error {
  if (error instanceof KubeApiError) return error.ref ? error : error.about(ref);
  const e = error instanceof Error ? error : new Error(String(error));
  return e.message.startsWith(ref) ? e : Object.assign(e, { message: `${ref}: ${e.message}` });
}
