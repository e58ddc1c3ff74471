import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { download, type DownloadOptions } from './download';
import { ManifestError } from './errors';
import type { KubeObject } from './objects';

export type ManifestSource =
  | { text: string; origin?: string }
  | { file: string }
  | { folder: string }
  | { url: string; sha256?: string };

/**
 * Parses multi-document YAML (or JSON) into objects. `List` documents are flattened. Every object
 * must have apiVersion, kind and metadata.name; errors name the origin and the document number.
 */
export function parseManifests(text: string, origin = 'manifest'): KubeObject[] {
  const objects: KubeObject[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const number = i + 1;
    if (doc.errors.length) throw new ManifestError(origin, number, `invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) throw new ManifestError(origin, number, 'is not a Kubernetes object (a YAML mapping was expected)');
    const items = (value as { kind?: string }).kind?.endsWith('List') && Array.isArray((value as { items?: unknown }).items)
      ? ((value as { items: unknown[] }).items)
      : [value];
    for (const item of items) objects.push(checkObject(item, origin, number));
  });
  return objects;
}

function checkObject(value: unknown, origin: string, number: number): KubeObject {
  const o = value as Partial<KubeObject>;
  const missing = [
    typeof o.apiVersion === 'string' && o.apiVersion ? undefined : 'apiVersion',
    typeof o.kind === 'string' && o.kind ? undefined : 'kind',
    typeof o.metadata?.name === 'string' && o.metadata.name ? undefined : 'metadata.name',
  ].filter(Boolean);
  if (missing.length) {
    const what = o.kind ? `${o.kind}${o.metadata?.name ? `/${o.metadata.name}` : ''}` : 'object';
    throw new ManifestError(origin, number, `${what} has no ${missing.join(', ')}`);
  }
  return o as KubeObject;
}

export interface LoadOptions extends DownloadOptions {
  signal?: AbortSignal;
  /**
   * A folder that outlives the job (the agent's tool cache) where a downloaded file's objects are
   * kept as JSON under the file's SHA-256: a release's install.yaml is parsed once per agent.
   */
  cacheDir?: string;
}

/** Loads manifests from strings, files, folders (*.yaml, *.yml, *.json, sorted) and URLs. */
export async function loadManifests(sources: ManifestSource[], options: LoadOptions = {}): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const source of sources) {
    if ('text' in source) objects.push(...parseManifests(source.text, source.origin));
    else if ('file' in source) objects.push(...parseManifests(readText(source.file), source.file));
    else if ('folder' in source) {
      for (const file of manifestFiles(source.folder)) objects.push(...parseManifests(readText(file), file));
    } else {
      const body = await download(source.url, options);
      if (source.sha256) checkDigest(body, source.sha256, source.url);
      objects.push(...parseCached(body, source.url, options.cacheDir));
    }
  }
  return objects;
}

/** The objects of a downloaded file, from the cache when these same bytes were parsed before. */
function parseCached(body: Buffer, origin: string, cacheDir: string | undefined): KubeObject[] {
  if (!cacheDir) return parseManifests(body.toString('utf8'), origin);
  const file = join(cacheDir, 'aks-gitops-tasks', 'manifests', `${createHash('sha256').update(body).digest('hex')}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as KubeObject[];
  } catch {
    // Not there yet, or unreadable: parse, and keep the result for the next job.
  }
  const objects = parseManifests(body.toString('utf8'), origin);
  const json = faithfulJson(objects);
  if (json === undefined) return objects;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, json);
    renameSync(partial, file);
  } catch {
    // A cache that cannot be written only costs the next job a parse.
  }
  return objects;
}

/** JSON of the objects when JSON holds them exactly (YAML's .inf or .nan would not survive). */
function faithfulJson(objects: KubeObject[]): string | undefined {
  let faithful = true;
  const json = JSON.stringify(objects, (_k, v: unknown) => {
    if ((typeof v === 'number' && !Number.isFinite(v)) || typeof v === 'bigint' || v instanceof Date) faithful = false;
    return v;
  });
  return faithful ? json : undefined;
}

export function checkDigest(body: Buffer, expected: string, origin: string): void {
  const actual = createHash('sha256').update(body).digest('hex');
  if (actual !== expected.toLowerCase()) {
    throw new ManifestError(origin, undefined, `SHA-256 is ${actual}, but ${expected} was expected; nothing was applied`);
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ManifestError(file, undefined, `cannot be read: ${(error as Error).message}`);
  }
}

function manifestFiles(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(folder).sort()) {
    const full = join(folder, entry);
    if (statSync(full).isDirectory()) out.push(...manifestFiles(full));
    else if (/\.(ya?ml|json)$/i.test(entry)) out.push(full);
  }
  return out;
}
