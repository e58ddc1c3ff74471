// What a team does after RegisterSystem onboarded it: pushes a small workload to its repository
// (a ConfigMap and a Secret sealed offline by the real kubeseal with the certificate the starter
// README carries, listed in the folder's kustomization.yaml), and what the platform team then
// waits for: the system's Kustomization Ready at the team's head, every SealedSecret of the
// namespace unsealed. Objects that need no Pod, so any local cluster runs them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { DevOpsRepos } from '../emulators/devops-repos';
import { conditionOf, type KubeApi, type KubeObject } from '../platform/kube-api';
import { kubeseal } from '../platform/kubeseal';

export interface TeamSystem {
  /** The system's name, which is also its namespace and its Kustomization's name. */
  name: string;
  /** Its Azure Repos repository. */
  repository: string;
  /** The folder Flux applies, e.g. deploy/dev. */
  path: string;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The team's files: settings, sealed credentials, and the kustomization listing them. */
async function workloadFiles(system: TeamSystem, tree: Record<string, string>, kubesealBinary: string): Promise<Record<string, string>> {
  const at = (file: string) => `${system.path}/${file}`;
  const cert = tree[at('README.md')]?.match(CERTIFICATE)?.[0];
  if (!cert) throw new Error(`${system.repository}: no sealing certificate in ${at('README.md')}`);
  const dir = mkdtempSync(join(tmpdir(), 'team-seal-'));
  try {
    const certFile = join(dir, 'sealing.crt');
    writeFileSync(certFile, `${cert}\n`);
    const secret = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: `${system.name}-credentials`, namespace: system.name },
      stringData: { 'database-password': randomBytes(18).toString('base64url'), 'api-key': randomBytes(24).toString('hex') },
    };
    const sealed = await kubeseal(kubesealBinary, secret, certFile);
    const settings = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: `${system.name}-settings`, labels: { 'app.kubernetes.io/part-of': system.name } },
      data: { 'LOG_LEVEL': 'info', 'FEATURE_FLAGS': 'checkout-v2,fast-refunds', 'SYSTEM': system.name },
    };
    const kustomization = (parse(tree[at('kustomization.yaml')] ?? '') ?? { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' }) as { resources?: string[] };
    kustomization.resources = [...new Set([...(kustomization.resources ?? []), 'settings.yaml', 'credentials.sealed.yaml'])];
    return {
      [at('settings.yaml')]: stringify(settings),
      [at('credentials.sealed.yaml')]: stringify(sealed),
      [at('kustomization.yaml')]: stringify(kustomization),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One commit per team repository with its workload; returns each system's new head. */
export async function seedWorkloads(repos: DevOpsRepos, systems: TeamSystem[], kubesealBinary: string): Promise<Map<string, string>> {
  const heads = await Promise.all(systems.map(async (system) => {
    const tree = await repos.tree(system.repository);
    if (!tree) throw new Error(`repository ${system.repository} has no main branch`);
    const files = await workloadFiles(system, tree, kubesealBinary);
    return [system.name, await repos.commit(system.repository, files, `${system.name}: settings and sealed credentials for ${system.path}`)] as const;
  }));
  return new Map(heads);
}

const syncPath = (system: string) => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${system}/kustomizations/${system}`;
const sourcePath = (system: string) => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${system}/gitrepositories/${system}`;

/** What `flux reconcile kustomization <system> --with-source` does: ask now instead of at the next interval. */
export async function requestReconcile(api: KubeApi, system: string): Promise<void> {
  const requestedAt = { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } };
  await api.patch(sourcePath(system), requestedAt);
  await api.patch(syncPath(system), requestedAt);
}

export interface SystemReady {
  name: string;
  /** Flux's word on the system: "Ready", or the Ready condition's reason and message. */
  flux: string;
  /** The revision Flux applied. */
  revision?: string;
  /** Objects in the Kustomization's inventory. */
  objects: number;
  /** SealedSecrets of the namespace whose Secret exists. */
  unsealed: number;
  /** Undefined when the system did not become Ready in time. */
  readyAt?: number;
}

/**
 * Waits until the system's Kustomization is Ready having applied `main@sha1:<head>`, and every
 * SealedSecret of its namespace has its Secret; past the timeout, says what Flux says instead.
 */
export async function waitForSystem(api: () => KubeApi, system: string, head: string, timeoutMs: number): Promise<SystemReady> {
  const revision = `main@sha1:${head}`;
  const deadline = Date.now() + timeoutMs;
  try {
    const sync = await api().waitFor<KubeObject>(`Kustomization ${system}/${system} Ready at ${revision}`, syncPath(system),
      (k) => conditionOf(k, 'Ready')?.status === 'True' && (k.status as { lastAppliedRevision?: string }).lastAppliedRevision === revision, timeoutMs);
    const sealed = await api().get<{ items: KubeObject[] }>(`/apis/bitnami.com/v1alpha1/namespaces/${system}/sealedsecrets`);
    for (const s of sealed.items) {
      await api().waitFor(`Secret ${system}/${s.metadata.name} unsealed`, `/api/v1/namespaces/${system}/secrets/${s.metadata.name}`, () => true, Math.max(1, deadline - Date.now()));
    }
    const inventory = (sync.status as { inventory?: { entries?: unknown[] } }).inventory?.entries ?? [];
    return { name: system, flux: 'Ready', revision, objects: inventory.length, unsealed: sealed.items.length, readyAt: Date.now() };
  } catch (error) {
    if (!/timed out/.test((error as Error).message)) throw error;
    const sync = await api().find<KubeObject>(syncPath(system)).catch(() => undefined);
    const ready = conditionOf(sync, 'Ready');
    const status = sync?.status as { lastAppliedRevision?: string; inventory?: { entries?: unknown[] } } | undefined;
    const sealed = await api().get<{ items: KubeObject[] }>(`/apis/bitnami.com/v1alpha1/namespaces/${system}/sealedsecrets`).catch(() => ({ items: [] }));
    let unsealed = 0;
    for (const s of sealed.items) if (await api().find(`/api/v1/namespaces/${system}/secrets/${s.metadata.name}`).catch(() => undefined)) unsealed++;
    const flux = !sync ? 'no Kustomization' : ready?.status === 'True' ? `Ready, but not at ${revision}` : `not ready (${ready?.reason ?? 'no status'}: ${ready?.message ?? ''})`;
    return { name: system, flux, revision: status?.lastAppliedRevision, objects: status?.inventory?.entries?.length ?? 0, unsealed };
  }
}
