// The API server's audit log (control-plane.ts writes every write request at level Metadata), read
// back for tests that must prove who changed what: the admin, a service account, or someone the
// caller impersonated. A dry-run request is audited like the write it simulates; `dryRun` tells
// them apart, since it changed nothing.
import { existsSync, readFileSync } from 'node:fs';
import { pollUntil } from './processes.js';

/** One audit event (audit.k8s.io/v1 Event, the fields tests look at). */
export interface AuditEvent {
  auditID: string;
  stage: string;
  /** create, update, patch, delete or deletecollection (the only verbs the policy records). */
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  /** Set when the caller sent Impersonate-User: the identity the request was authorized as. */
  impersonatedUser?: { username: string; groups?: string[] };
  /** The name of a create (POST to the collection) is there only when the object was stored. */
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string };
  responseStatus?: { code?: number; reason?: string; message?: string };
  userAgent?: string;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
  /** True for ?dryRun=All: validated and admitted, but nothing was stored. */
  dryRun: boolean;
}

/** Every field given must match; `username` is the authenticated caller, `impersonatedUsername` whom it acted as. */
export interface AuditFilter {
  verb?: string | string[];
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** '' for the core group. */
  apiGroup?: string;
  username?: string;
  impersonatedUsername?: string;
  dryRun?: boolean;
  /** Response code, e.g. 201; 403 for a refused write. */
  code?: number;
  /** Only events of requests received at or after this time. */
  since?: Date;
}

/** Where the log is: ClusterInfo, PlatformInfo (both have logs.audit) or the file path itself. */
export type AuditLogSource = { logs: { audit: string } } | string;

/** The events of the audit log that match, oldest first. */
export function auditEvents(source: AuditLogSource, filter: AuditFilter | ((e: AuditEvent) => boolean) = {}): AuditEvent[] {
  const file = typeof source === 'string' ? source : source.logs.audit;
  if (!existsSync(file)) return [];
  const matches = typeof filter === 'function' ? filter : (e: AuditEvent) => matchesFilter(e, filter);
  return readFileSync(file, 'utf8').split('\n').map(parseAuditLine).filter((e): e is AuditEvent => !!e && matches(e));
}

/** Polls until at least `count` events match (default one); returns them. */
export function waitForAuditEvents(
  source: AuditLogSource,
  filter: AuditFilter | ((e: AuditEvent) => boolean),
  { count = 1, timeoutMs = 10_000 } = {},
): Promise<AuditEvent[]> {
  return pollUntil(`${count} audit event(s) matching ${typeof filter === 'function' ? 'a predicate' : JSON.stringify(filter)}`, () => {
    const found = auditEvents(source, filter);
    return found.length >= count ? found : undefined;
  }, { timeoutMs });
}

/** One JSON line; undefined for an empty line or one still being written. */
export function parseAuditLine(line: string): AuditEvent | undefined {
  if (!line.trim()) return undefined;
  let raw: Omit<AuditEvent, 'dryRun'>;
  try {
    raw = JSON.parse(line) as Omit<AuditEvent, 'dryRun'>;
  } catch {
    return undefined;
  }
  return { ...raw, dryRun: isDryRun(raw.requestURI) };
}

/** dryRun=All is the only value kube-apiserver accepts (it refuses others with 400). */
function isDryRun(requestURI: string | undefined): boolean {
  const query = requestURI?.split('?')[1];
  return !!query && new URLSearchParams(query).getAll('dryRun').includes('All');
}

function matchesFilter(e: AuditEvent, f: AuditFilter): boolean {
  const ref = e.objectRef ?? {};
  const verbs = f.verb === undefined ? undefined : [f.verb].flat();
  return (verbs === undefined || verbs.includes(e.verb))
    && (f.resource === undefined || ref.resource === f.resource)
    && (f.subresource === undefined || ref.subresource === f.subresource)
    && (f.namespace === undefined || ref.namespace === f.namespace)
    && (f.name === undefined || ref.name === f.name)
    && (f.apiGroup === undefined || (ref.apiGroup ?? '') === f.apiGroup)
    && (f.username === undefined || e.user?.username === f.username)
    && (f.impersonatedUsername === undefined || e.impersonatedUser?.username === f.impersonatedUsername)
    && (f.dryRun === undefined || e.dryRun === f.dryRun)
    && (f.code === undefined || e.responseStatus?.code === f.code)
    && (f.since === undefined || Date.parse(e.requestReceivedTimestamp) >= f.since.getTime());
}
