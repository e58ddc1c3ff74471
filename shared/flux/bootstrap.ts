import type { ChangeSet } from '../kube/changeset';
import { ObjectFailedError } from '../kube/errors';
import { type ManifestSource, loadManifests } from '../kube/manifests';
import { refOf, type KubeObject } from '../kube/objects';
import type { ResourceManager } from '../kube/resource-manager';
import { type InstallShape, installUrl, shapeInstall } from './install-manifests';
import { REQUESTED_AT, appliedRevision, inventoryOf, reconciledSince } from './reconcile';
import { type GitCredential, type SyncSpec, sourceSecret, syncObjects } from './sync';
import { type TreeNode, waitForTree } from './tree';

export interface BootstrapOptions extends InstallShape {
  version: string;
  install: { baseUrl: string } | { file: string };
  sha256?: string;
  sync: Omit<SyncSpec, 'namespace' | 'secretName' | 'serviceAccountName'>;
  credential: GitCredential;
  /** Reads the commit at the head of the branch, where the source can be asked directly. */
  headRevision?: () => Promise<string | undefined>;
  takeOwnership: boolean;
  /** Wait for every Kustomization (and HelmRelease) the root applied, recursively, or the root alone. */
  waitFor: 'tree' | 'root';
  timeoutMs: number;
  signal?: AbortSignal;
  log: (line: string) => void;
  warn: (line: string) => void;
  progress: (percent: number, operation: string) => void;
}

export interface BootstrapResult {
  installChanges: ChangeSet;
  syncChanges: ChangeSet;
  /** Objects a Flux Kustomization manages from Git, left alone. */
  leftToGit: string[];
  revision: string;
  inventory: string[];
  /** What the root applied below it, with each object's state. */
  tree: TreeNode[];
}

const MANAGED_BY_FLUX = 'kustomize.toolkit.fluxcd.io/name';

/**
 * Installs Flux and points it at the environment's branch and folder, then waits until Flux has
 * really applied the head of the branch, as `flux bootstrap` does but without writing to Git:
 * 1. install.yaml (pinned) shaped by the options, applied in stages; objects the platform
 *    repository's own Flux Kustomization manages are left to it unless takeOwnership;
 * 2. the controllers are waited for; 3. the credential Secret, GitRepository and Kustomization
 * are applied; 4. a reconcile is requested and the source's revision, then the Kustomization's
 * apply of that revision, are waited for; Flux's failure messages end the wait.
 */
export async function bootstrapFlux(manager: ResourceManager, o: BootstrapOptions): Promise<BootstrapResult> {
  const source: ManifestSource = 'file' in o.install ? { file: o.install.file } : { url: installUrl(o.install.baseUrl, o.version), sha256: o.sha256 };
  o.progress(5, `Reading Flux ${o.version} install manifests from ${'file' in source ? source.file : source.url}`);
  const shaped = shapeInstall(await loadManifests([source], { signal: o.signal }), o);

  const { mine, leftToGit } = await splitOwnership(manager, shaped.objects, o);
  if (leftToGit.length) {
    o.warn(`${leftToGit.length} Flux object(s) are managed by a Flux Kustomization from Git (label ${MANAGED_BY_FLUX}); they were left alone. Set takeOwnership to let this task update them.`);
  }
  o.progress(15, `Installing Flux ${o.version} (${o.components.join(', ')})`);
  const installChanges = await manager.applyAll(mine, { signal: o.signal, timeoutMs: o.timeoutMs, force: true });
  for (const line of installChanges.lines()) o.log(line);

  o.progress(40, 'Waiting for the Flux controllers to be available');
  await manager.waitForReady(shaped.deployments, { timeoutMs: o.timeoutMs, signal: o.signal, onChange: (ref, r) => o.log(`${ref}: ${r.message}`) });

  const secret = sourceSecret(o.sync.name, o.namespace, o.credential);
  const [gitRepository, kustomization] = syncObjects({
    ...o.sync,
    namespace: o.namespace,
    secretName: secret?.metadata.name,
    serviceAccountName: o.multiTenancy ? 'kustomize-controller' : undefined,
  });
  o.progress(55, `Pointing Flux at ${o.sync.url} ${o.sync.branch}:${o.sync.path}`);
  const syncChanges = await manager.applyAll([...(secret ? [secret] : []), gitRepository, kustomization], { signal: o.signal, timeoutMs: o.timeoutMs, force: true });
  for (const line of syncChanges.lines()) o.log(line);

  // The head of the branch, where it can be read the way Flux reads it (HTTPS); an SSH or
  // workload-identity source is asked to reconcile instead.
  const head = o.headRevision ? await o.headRevision() : undefined;
  const expected = head ? `${o.sync.branch}@sha1:${head}` : undefined;
  const liveSource = await manager.get(gitRepository.apiVersion, gitRepository.kind, o.sync.name, o.namespace, o.signal);
  const liveSync = await manager.get(kustomization.apiVersion, kustomization.kind, o.sync.name, o.namespace, o.signal);
  const current = (liveSource?.status as { artifact?: { revision?: string } } | undefined)?.artifact?.revision;
  if (!syncChanges.changed && expected && current === expected && liveSync && appliedRevision(expected)(liveSync)?.state === 'ready') {
    const done = { installChanges, syncChanges, leftToGit, revision: expected, inventory: inventoryOf(liveSync) };
    const below = await waitForTree(manager, liveSync, { revision: expected, timeoutMs: o.timeoutMs, signal: o.signal, log: o.log, readOnly: true });
    if (below.every((n) => n.state === 'ready' || n.state === 'suspended')) {
      o.log(`Flux has already applied ${expected}${below.length ? ` and all ${below.length} object(s) below it are Ready` : ''}; nothing to do.`);
      return { ...done, tree: below };
    }
    // The root is done; what is left is below it.
    return { ...done, tree: await treeOf(manager, liveSync, expected, o, o.waitFor === 'root') };
  }

  const token = new Date().toISOString();
  await manager.annotate([gitRepository, kustomization], { [REQUESTED_AT]: token }, o.signal);
  o.progress(65, `Waiting for source-controller to fetch ${o.sync.branch}${head ? ` at ${head.slice(0, 12)}` : ''}`);
  const fetched = await waitFor(manager, gitRepository, reconciledSince(token, expected ? fetchedRevision(expected) : undefined), o, 'source');
  const revision = (fetched.status as { artifact?: { revision?: string } }).artifact?.revision ?? '';
  o.log(`${refOf(gitRepository)}: fetched revision ${revision}`);

  o.progress(80, `Waiting for kustomize-controller to apply ${revision}`);
  const applied = await waitFor(manager, kustomization, reconciledSince(token, appliedRevision(revision)), o, 'apply');
  const tree = await treeOf(manager, applied, revision, o, o.waitFor === 'root');
  return { installChanges, syncChanges, leftToGit, revision, inventory: inventoryOf(applied), tree };
}

/**
 * The tree below the root: waited for (tree), or only read and reported (root), in which case
 * whatever is not Ready yet is a warning: the run did not prove the platform healthy.
 */
async function treeOf(manager: ResourceManager, root: KubeObject, revision: string, o: BootstrapOptions, readOnly: boolean): Promise<TreeNode[]> {
  if (!readOnly) o.progress(90, `Waiting for what ${refOf(root)} applied to be Ready at ${revision}`);
  const tree = await waitForTree(manager, root, { revision, timeoutMs: o.timeoutMs, signal: o.signal, log: o.log, readOnly });
  if (readOnly && o.waitFor === 'root') {
    const behind = tree.filter((n) => n.state !== 'ready' && n.state !== 'suspended');
    if (behind.length) o.warn(`Not waited for (waitFor: root), and not Ready yet: ${behind.map((n) => `${n.ref} (${n.message})`).join('; ')}.`);
  }
  return tree;
}

/** Source readiness that also requires the artifact to be the expected revision. */
function fetchedRevision(expected: string) {
  return (o: KubeObject) => {
    const revision = (o.status as { artifact?: { revision?: string } } | undefined)?.artifact?.revision;
    const ready = ((o.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).find((c) => c.type === 'Ready');
    if (ready?.status === 'True' && revision !== expected) return { state: 'pending' as const, message: `fetched ${revision}, waiting for ${expected}` };
    return undefined;
  };
}

async function waitFor(manager: ResourceManager, object: KubeObject, readiness: ReturnType<typeof reconciledSince>, o: BootstrapOptions, what: string): Promise<KubeObject> {
  try {
    const done = await manager.waitForReady([object], {
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      readiness,
      failFast: () => true,
      onChange: (ref, r) => o.log(`${ref}: ${r.message}`),
    });
    return done.get(refOf(object))!;
  } catch (error) {
    if (error instanceof ObjectFailedError) {
      throw new Error(`Flux could not ${what === 'source' ? 'fetch the repository' : 'apply the revision'}: ${error.ref}: ${error.detail}`);
    }
    throw error;
  }
}

/** Objects a Flux Kustomization already manages from Git are left to it unless taking over. */
async function splitOwnership(manager: ResourceManager, objects: KubeObject[], o: BootstrapOptions): Promise<{ mine: KubeObject[]; leftToGit: string[] }> {
  if (o.takeOwnership) return { mine: objects, leftToGit: [] };
  const marker = objects.find((x) => x.kind === 'CustomResourceDefinition' && x.metadata.name === 'gitrepositories.source.toolkit.fluxcd.io');
  const live = marker ? await manager.get(marker.apiVersion, marker.kind, marker.metadata.name, undefined, o.signal) : undefined;
  if (!live?.metadata.labels?.[MANAGED_BY_FLUX]) return { mine: objects, leftToGit: [] };
  const mine: KubeObject[] = [];
  const leftToGit: string[] = [];
  for (const x of objects) {
    const current = await manager.get(x.apiVersion, x.kind, x.metadata.name, x.metadata.namespace, o.signal).catch(() => undefined);
    if (current?.metadata.labels?.[MANAGED_BY_FLUX]) leftToGit.push(refOf(x));
    else mine.push(x);
  }
  return { mine, leftToGit };
}
