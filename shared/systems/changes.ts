import { parseAllDocuments } from 'yaml';
import { refOf, type KubeObject } from '../kube/objects';
import type { FileChange } from '../repos/azure-repos';

export type { FileChange };

/** The changes that turn `current` into `desired` (null: the file must not exist). */
export function fileChanges(desired: Record<string, string | null>, current: Record<string, string>): FileChange[] {
  const changes: FileChange[] = [];
  for (const [path, content] of Object.entries(desired).sort(([a], [b]) => a.localeCompare(b))) {
    const now = current[path];
    if (content === null) {
      if (now !== undefined) changes.push({ path, action: 'delete' });
    } else if (now === undefined) {
      changes.push({ path, action: 'add', content });
    } else if (now !== content) {
      changes.push({ path, action: 'edit', content });
    }
  }
  return changes;
}

/**
 * What the changes mean, one line each, for the commit message and the log: objects added or
 * removed, and each changed field with its old and new value (sealed values only by key name).
 */
export function describeChanges(changes: FileChange[], current: Record<string, string>): string[] {
  const lines: string[] = [];
  for (const c of changes) {
    const before = objectsIn(current[c.path]);
    const after = objectsIn(c.content);
    if (c.action === 'delete') {
      lines.push(`removed ${c.path}${before.length ? ` (${before.map(refOf).join(', ')})` : ''}`);
      continue;
    }
    if (!after.length && !before.length) {
      lines.push(`${c.action === 'add' ? 'added' : 'changed'} ${c.path}`);
      continue;
    }
    const beforeByRef = new Map(before.map((o) => [refOf(o), o]));
    for (const o of after) {
      const old = beforeByRef.get(refOf(o));
      beforeByRef.delete(refOf(o));
      if (!old) {
        lines.push(`added ${refOf(o)}`);
        continue;
      }
      for (const d of fieldDifferences(old, o)) lines.push(`${refOf(o)} ${d}`);
    }
    for (const ref of beforeByRef.keys()) lines.push(`removed ${ref}`);
    if (c.action === 'edit' && lines.length === 0) lines.push(`reformatted ${c.path}`);
  }
  return lines;
}

function objectsIn(text: string | undefined): KubeObject[] {
  if (!text) return [];
  try {
    return parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter((o) => o && typeof o === 'object' && o.kind && o.metadata?.name);
  } catch {
    return [];
  }
}

const SEALED = /^spec\.encryptedData\.(.+)$/;

function fieldDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (path === 'metadata.annotations.aks-gitops.io/sealed-from') return [];
  const sealed = SEALED.exec(path);
  if (sealed) return a === b ? [] : [`${sealed[1]}: sealed anew`];
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => fieldDifferences(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [`${path}: ${show(a)} -> ${show(b)}`];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));
