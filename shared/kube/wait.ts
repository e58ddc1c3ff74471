import { setMaxListeners } from 'node:events';
import { resourcePath } from './discovery';
import type { Engine } from './engine';
import { ObjectFailedError, WaitTimeoutError } from './errors';
import { refOf, type KubeObject } from './objects';
import { readinessOf, type Readiness } from './readiness';
import { listAndWatch } from './watch';

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Readiness rule; kstatus-like rules by default. */
  readiness?: (o: KubeObject) => Readiness;
  /** Whether a failed readiness ends the wait at once (default: only stalled states, see below). */
  failFast?: (o: KubeObject, r: Readiness) => boolean;
  /** Called whenever an object's readiness changes. */
  onChange?: (ref: string, r: Readiness, o: KubeObject) => void;
}

/**
 * Waits until every object is ready, watching the collections they live in (one list+watch per
 * kind and namespace) rather than polling, so it ends as soon as the last one is. On timeout the
 * error lists the last status message of each object that is not ready.
 */
export async function waitForReady(engine: Engine, objects: KubeObject[], options: WaitOptions): Promise<Map<string, KubeObject>> {
  const readiness = options.readiness ?? readinessOf;
  const failFast = options.failFast ?? defaultFailFast;
  const wanted = new Map(objects.map((o) => [key(o), refOf(o)]));
  const state = new Map<string, { object?: KubeObject; readiness: Readiness }>();
  for (const [k] of wanted) state.set(k, { readiness: { state: 'pending', message: 'not found yet' } });

  const stop = new AbortController();
  setMaxListeners(256, stop.signal);

  return new Promise<Map<string, KubeObject>>((resolve, reject) => {
    let settled = false;
    // One listener on the task's signal per wait, removed when the wait ends (a long task waits
    // many times on the same signal).
    const onOuterAbort = () => finish(options.signal!.reason);
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
      stop.abort();
      if (error) reject(error);
      else resolve(new Map([...state].map(([k, v]) => [wanted.get(k)!, v.object!])));
    };
    const timer = setTimeout(() => {
      const pending = [...state].filter(([, v]) => v.readiness.state !== 'ready').map(([k, v]) => ({ ref: wanted.get(k)!, message: v.readiness.message }));
      finish(new WaitTimeoutError(Math.round(options.timeoutMs / 1000), pending));
    }, options.timeoutMs);
    if (options.signal?.aborted) return finish(options.signal.reason);

    const observe = (o: KubeObject) => {
      const k = key(o);
      const entry = state.get(k);
      if (!entry) return;
      const r = readiness(o);
      if (r.state !== entry.readiness.state || r.message !== entry.readiness.message) options.onChange?.(wanted.get(k)!, r, o);
      state.set(k, { object: o, readiness: r });
      if (r.state === 'failed' && failFast(o, r)) return finish(new ObjectFailedError(wanted.get(k)!, '', r.message));
      if ([...state.values()].every((v) => v.readiness.state === 'ready')) finish();
    };
    const forget = (o: KubeObject) => {
      const k = key(o);
      if (state.has(k)) state.set(k, { readiness: { state: 'pending', message: 'deleted' } });
    };

    void watchAll(engine, objects, stop.signal, observe, forget).catch((error) => finish(error));
  });
}

async function watchAll(engine: Engine, objects: KubeObject[], signal: AbortSignal, onObject: (o: KubeObject) => void, onDeleted: (o: KubeObject) => void): Promise<void> {
  const groups = new Map<string, { path: string; names: string[] }>();
  for (const o of objects) {
    const info = await engine.discovery.resourceFor(o.apiVersion, o.kind, signal);
    const path = resourcePath(info, info.namespaced ? o.metadata.namespace ?? engine.defaultNamespace : undefined);
    const g = groups.get(path) ?? { path, names: [] };
    g.names.push(o.metadata.name);
    groups.set(path, g);
  }
  await Promise.all([...groups.values()].map((g) => listAndWatch(engine.client, g.path, {
    // One object: let the server filter; several: watch the collection and filter here.
    fieldSelector: g.names.length === 1 ? `metadata.name=${g.names[0]}` : undefined,
    signal,
    onObject,
    onDeleted,
  })));
}

const key = (o: KubeObject) => `${o.apiVersion.split('/')[0]}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Ends the wait early only for states that do not heal by themselves. */
function defaultFailFast(o: KubeObject, r: Readiness): boolean {
  return /Stalled=True|ProgressDeadlineExceeded|names not accepted/.test(r.message);
}
