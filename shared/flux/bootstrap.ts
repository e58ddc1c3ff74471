import type { ChangeSet } from '../kube/changeset';
import type { ProxySettings } from '../net/proxy';
import { KubeApiError, ObjectFailedError } from '../kube/errors';
import { type ManifestSource, loadManifests } from '../kube/manifests';
import { refOf, type KubeObject } from '../kube/objects';
import type { Readiness } from '../kube/readiness';
import type { ResourceManager } from '../kube/resource-manager';
import { imagesOf, pullSecretObject, requireExistingPullSecret } from './images';
import { type InstallShape, installUrl, shapeInstall } from './install-manifests';
import { REQUESTED_AT, appliedRevision, artifactRevisionOf, inventoryOf, reconciledSince } from './reconcile';
import { type GitCredential, OWNED_BY, type SyncSpec, normalizedPath, sourceSecret, syncObjects } from './sync';
import { type TreeNode, waitForTree } from './tree';

export interface BootstrapOptions extends InstallShape {
  version: string;
  /** The agent's proxy, for the release download. */
  proxy?: ProxySettings;
  install: { baseUrl: string } | { file: string };
  /** Where downloaded manifests are kept parsed between jobs (the agent's tool cache). */
  manifestCache?: string;
  sha256?: string;
  sync: Omit<SyncSpec, 'namespace' | 'secretName' | 'serviceAccountName'>;
  credential: GitCredential;
  /**
   * The branch head being read: a rejection (a refused credential, a missing branch) fails the run
   * before anything is written; an answer slower than a few seconds is not waited for here.
   */
  sourceCheck?: Promise<unknown>;
  /** Reads the commit at the head of the branch, where the source can be asked directly. */
  headRevision?: () => Promise<string | undefined>;
  takeOwnership: boolean;
  /** Let a run point an existing sync at another repository, branch or path (Flux prunes what the old one applied). */
  allowRepoint: boolean;
  /** The `.dockerconfigjson` of the image pull secret (images.pullSecret), written by this run. */
  pullSecretConfig?: string;
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
  /** The head of the branch when the run read it, if the branch moved on while Flux worked. */
  movedFrom?: string;
  /** The controllers' images. */
  images: string[];
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
  const shaped = shapeInstall(await loadManifests([source], { signal: o.signal, proxy: o.proxy, cacheDir: o.manifestCache }), o);
  const images = imagesOf(shaped.deployments);

  const secret = sourceSecret(o.sync.name, o.namespace, o.credential);
  const [gitRepository, kustomization] = syncObjects({
    ...o.sync,
    namespace: o.namespace,
    secretName: secret?.metadata.name,
    serviceAccountName: o.multiTenancy ? 'kustomize-controller' : undefined,
  });
  // Nothing is written before these checks.
  if (!o.allowRepoint) await refuseRepoint(manager, gitRepository, kustomization, o.signal);
  const pullSecret = o.images?.pullSecret && o.pullSecretConfig ? pullSecretObject(o.images.pullSecret, o.namespace, o.pullSecretConfig, OWNED_BY) : undefined;
  if (o.images?.pullSecret && !pullSecret) await requireExistingPullSecret(manager, o.images.pullSecret, o.namespace, o.signal);
  if (o.sourceCheck) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([o.sourceCheck, new Promise((r) => { timer = setTimeout(r, 3000); })]).finally(() => clearTimeout(timer));
  }

  const { mine, leftToGit } = await splitOwnership(manager, shaped.objects, o);
  if (leftToGit.length) {
    o.warn(`${leftToGit.length} Flux object(s) are managed by a Flux Kustomization from Git (label ${MANAGED_BY_FLUX}); they were left alone. Set takeOwnership to let this task update them.`);
  }
  if (o.images?.registry) o.log(`Images from ${o.images.registry}: ${images.join(', ')}`);
  o.progress(15, `Installing Flux ${o.version} (${o.components.join(', ')})`);
  const installChanges = await manager.applyAll(pullSecret ? [...mine, pullSecret] : mine, { signal: o.signal, timeoutMs: o.timeoutMs, force: true });
  for (const line of installChanges.lines()) o.log(line);

  o.progress(40, 'Waiting for the Flux controllers to be available');
  await manager.waitForReady(shaped.deployments, { timeoutMs: o.timeoutMs, signal: o.signal, onChange: (ref, r) => o.log(`${ref}: ${r.message}`) });

  o.progress(55, `Pointing Flux at ${o.sync.url} ${o.sync.branch}:${o.sync.path}`);
  const syncChanges = await manager.applyAll([...(secret ? [secret] : []), gitRepository, kustomization], { signal: o.signal, timeoutMs: o.timeoutMs, force: true });
  for (const line of syncChanges.lines()) o.log(line);

  // The head of the branch, where it can be read the way Flux reads it (HTTPS); an SSH or
  // workload-identity source is asked to reconcile instead.
  const head = o.headRevision ? await o.headRevision() : undefined;
  const expected = head ? `${o.sync.branch}@sha1:${head}` : undefined;
  // The newest revision of the branch: its head now, or where that cannot be read, what
  // source-controller fetched last.
  const revisions = new BranchRevisions(async () => {
    if (expected) {
      const now = await o.headRevision!();
      return now ? `${o.sync.branch}@sha1:${now}` : undefined;
    }
    const live = await manager.get(gitRepository.apiVersion, gitRepository.kind, o.sync.name, o.namespace, o.signal);
    return live ? artifactRevisionOf(live) : undefined;
  }, expected);
  const liveSource = await manager.get(gitRepository.apiVersion, gitRepository.kind, o.sync.name, o.namespace, o.signal);
  const liveSync = await manager.get(kustomization.apiVersion, kustomization.kind, o.sync.name, o.namespace, o.signal);
  const current = liveSource ? artifactRevisionOf(liveSource) : undefined;
  if (!syncChanges.changed && expected && current === expected && liveSync && appliedRevision(expected)(liveSync)?.state === 'ready') {
    const done = { installChanges, syncChanges, leftToGit, revision: expected, images, inventory: inventoryOf(liveSync) };
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
  const fetched = await waitJudging(manager, gitRepository, reconciledSince(token, expected ? fetchedRevision(revisions) : undefined), revisions, o, 'source');
  const revision = artifactRevisionOf(fetched) ?? '';
  revisions.take(revision);
  o.log(`${refOf(gitRepository)}: fetched revision ${revision}`);

  o.progress(80, `Waiting for kustomize-controller to apply ${revision}`);
  // A push during the wait: the Kustomization may apply a later head than the one fetched.
  const applied = await waitJudging(manager, kustomization, reconciledSince(token, appliedRevision((r) => revisions.verdict(r), TO_JUDGE)), revisions, o, 'apply');
  const appliedAt = (applied.status as { lastAppliedRevision?: string }).lastAppliedRevision ?? revision;
  const movedFrom = expected && appliedAt !== expected ? expected : undefined;
  if (movedFrom) o.log(`The branch moved on during the run: Flux applied ${appliedAt}, a later commit than the head when the run started (${movedFrom}).`);
  const tree = await treeOf(manager, applied, appliedAt, o, o.waitFor === 'root');
  return { installChanges, syncChanges, leftToGit, revision: appliedAt, movedFrom, images, inventory: inventoryOf(applied), tree };
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

/**
 * The revisions of the branch this run takes: the head read when it started and, when the branch
 * moves on while Flux works (a push during the wait), a later head. A revision Flux reports that
 * is neither is judged once, by reading the head again (or, where the head cannot be read, the
 * source's artifact): the newest revision is at or after the one at start, so Flux applying it
 * ends the wait; anything else (an older artifact) is waited past.
 */
class BranchRevisions {
  private readonly verdicts = new Map<string, boolean>();

  constructor(private readonly newest: () => Promise<string | undefined>, start?: string) {
    if (start) this.verdicts.set(start, true);
  }

  /** true: take it; false: wait past it; undefined: not judged yet. */
  verdict(revision: string): boolean | undefined {
    return this.verdicts.get(revision);
  }

  take(revision: string): void {
    this.verdicts.set(revision, true);
  }

  async judge(revision: string): Promise<boolean> {
    const verdict = (await this.newest().catch(() => undefined)) === revision;
    this.verdicts.set(revision, verdict);
    return verdict;
  }
}

/** Marks a readiness verdict that needs a revision judged (see waitJudging). */
const TO_JUDGE = 'revision to judge: ';

/** Source readiness that also requires the artifact to be a revision this run takes. */
function fetchedRevision(revisions: BranchRevisions) {
  return (o: KubeObject): Readiness | undefined => {
    const revision = artifactRevisionOf(o);
    const ready = ((o.status as { conditions?: { type: string; status: string; message?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') return undefined;
    if (!revision) return { state: 'pending', message: `Ready, but no artifact yet${ready.message ? ` (${ready.message.trim()})` : ''}` };
    const verdict = revisions.verdict(revision);
    if (verdict === undefined) return { state: 'failed', message: `${TO_JUDGE}${revision}` };
    if (!verdict) return { state: 'pending', message: `fetched ${revision}, waiting for the head of the branch` };
    return undefined;
  };
}

class RevisionToJudge extends Error {
  constructor(readonly revision: string) {
    super(`${TO_JUDGE}${revision}`);
  }
}

/**
 * Waits for a Flux object; when it reports a revision not judged yet (the branch moved on),
 * judges it and waits again, within the same time limit.
 */
async function waitJudging(manager: ResourceManager, object: KubeObject, readiness: (x: KubeObject) => Readiness, revisions: BranchRevisions, o: BootstrapOptions, what: 'source' | 'apply'): Promise<KubeObject> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    try {
      return await waitFor(manager, object, readiness, o, what, Math.max(1000, deadline - Date.now()));
    } catch (error) {
      if (!(error instanceof RevisionToJudge)) throw error;
      const taken = await revisions.judge(error.revision);
      o.log(taken
        ? `${refOf(object)}: the branch moved on to ${error.revision} during the run; taking that revision.`
        : `${refOf(object)}: ${error.revision} is not the head of the branch; waiting for the head.`);
    }
  }
}

async function waitFor(manager: ResourceManager, object: KubeObject, readiness: (x: KubeObject) => Readiness, o: BootstrapOptions, what: 'source' | 'apply', timeoutMs: number): Promise<KubeObject> {
  try {
    const done = await manager.waitForReady([object], {
      timeoutMs,
      signal: o.signal,
      readiness,
      failFast: () => true,
      onChange: (ref, r) => {
        if (!r.message.startsWith(TO_JUDGE)) o.log(`${ref}: ${r.message}`);
      },
    });
    return done.get(refOf(object))!;
  } catch (error) {
    if (error instanceof ObjectFailedError) {
      if (error.detail.startsWith(TO_JUDGE)) throw new RevisionToJudge(error.detail.slice(TO_JUDGE.length));
      throw new Error(`Flux could not ${what === 'source' ? 'fetch the repository' : 'apply the revision'}: ${error.ref}: ${error.detail}`);
    }
    throw error;
  }
}

/**
 * A run must not silently point an existing sync somewhere else: its Kustomization prunes, so
 * everything it applied from the old repository, branch or path that the new one lacks would be
 * deleted. `flux bootstrap` refuses the same ("sync path configuration (...) would overwrite path
 * (...) of existing Kustomization"). Refused before anything is written, naming what it applied.
 */
async function refuseRepoint(manager: ResourceManager, gitRepository: KubeObject, kustomization: KubeObject, signal?: AbortSignal): Promise<void> {
  const liveSync = await getIfServed(manager, kustomization, signal);
  if (!liveSync) return;
  const liveSource = await getIfServed(manager, gitRepository, signal);
  const was = syncTarget(liveSync, liveSource);
  const will = syncTarget(kustomization, gitRepository);
  const changes = (['repository', 'branch', 'path'] as const).filter((k) => was[k] !== undefined && was[k] !== will[k]).map((k) => `${k} ${was[k]} -> ${will[k]}`);
  if (!changes.length) return;
  const inventory = inventoryOf(liveSync);
  const prunes = (liveSync.spec as { prune?: boolean } | undefined)?.prune !== false;
  const shown = inventory.slice(0, 25).map((x) => (/^(Kustomization|HelmRelease)\//.test(x) ? `${x} and everything it applied` : x));
  const what = inventory.length
    ? `${inventory.length} object(s): ${shown.join(', ')}${inventory.length > shown.length ? `, and ${inventory.length - shown.length} more` : ''}`
    : 'nothing (its inventory is empty)';
  throw new Error(`${refOf(liveSync)} already syncs ${was.repository ?? 'its source'}, branch ${was.branch ?? '?'}, path ${was.path}; this run would repoint it (${changes.join('; ')}). `
    + `It applied ${what}. `
    + (prunes ? 'It prunes: Flux would delete whatever of that the new source does not have. ' : '')
    + 'Nothing was changed. To repoint it, set allowRepoint; for a second source beside it, use another syncName. '
    + '(flux bootstrap refuses this too: the sync path would overwrite the path of the existing Kustomization.)');
}

function syncTarget(kustomization: KubeObject, gitRepository?: KubeObject): { repository?: string; branch?: string; path?: string } {
  const path = (kustomization.spec as { path?: string } | undefined)?.path;
  const spec = gitRepository?.spec as { url?: string; ref?: { branch?: string; tag?: string; semver?: string; commit?: string; name?: string } } | undefined;
  const ref = spec?.ref;
  return {
    repository: spec?.url?.replace(/\/+$/, ''),
    branch: ref ? ref.branch ?? (ref.tag ? `tag ${ref.tag}` : ref.semver ? `semver ${ref.semver}` : ref.commit ? `commit ${ref.commit}` : ref.name) : undefined,
    path: normalizedPath(path ?? ''),
  };
}

/** The live object, or undefined when it or its kind (no CRD yet) does not exist. */
async function getIfServed(manager: ResourceManager, x: KubeObject, signal?: AbortSignal): Promise<KubeObject | undefined> {
  try {
    return await manager.get(x.apiVersion, x.kind, x.metadata.name, x.metadata.namespace, signal);
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
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
