import { X509Certificate, randomBytes } from 'node:crypto';
import type { ChangeSet } from '../kube/changeset';
import { KubeApiError } from '../kube/errors';
import { type ManifestSource, loadManifests } from '../kube/manifests';
import type { KubeObject } from '../kube/objects';
import { readinessOf, type Readiness } from '../kube/readiness';
import type { ResourceManager } from '../kube/resource-manager';
import { type ImageSource, imagesOf, pullSecretObject, requireExistingPullSecret, useImageSource } from '../flux/images';
import { type KeyPairFacts, checkKeyPair, shortId } from './key-pair';
import { keySecret } from './key-secret';
import { sealSecret } from './seal';
import type { ProxySettings } from '../net/proxy';

export interface InstallOptions {
  /** The agent's proxy, for the release download. */
  proxy?: ProxySettings;
  certPem: string;
  keyPem: string;
  version: string;
  /** The release base URL (…/bitnami-labs/sealed-secrets/releases/download/v<version>/controller.yaml) or a file. */
  manifest: { baseUrl: string } | { file: string };
  sha256?: string;
  namespace: string;
  controllerName: string;
  /** --key-renew-period of the controller; '0' keeps the brought key active. */
  keyRenewPeriod: string;
  /** A registry mirror and a pull secret for the controller's image. */
  images?: ImageSource;
  /** The `.dockerconfigjson` of the image pull secret (images.pullSecret), written by this run. */
  pullSecretConfig?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  log: (line: string) => void;
  progress: (percent: number, operation: string) => void;
}

export interface InstallResult {
  key: KeyPairFacts;
  keySecretName: string;
  keyChanges: ChangeSet;
  controllerChanges: ChangeSet;
  /** The controller's image(s). */
  images: string[];
  /** How the task made sure the controller uses the brought key. */
  verifiedBy: string;
  warnings: string[];
}

const KEY_ANNOTATION = 'aks-gitops-tasks/sealing-key';

export function releaseUrl(baseUrl: string, version: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/bitnami-labs/sealed-secrets/releases/download/v${version}/controller.yaml`;
}

/**
 * Installs the team's sealing key, then the controller, and proves the controller uses that key:
 * 1. the key pair is checked before anything changes;
 * 2. the key Secret is applied first, so a new controller never generates its own key; a
 *    different (rotated) key gets a Secret of its own and older keys stay for decryption;
 * 3. the controller manifests are applied with the renewal period set and the key's id on the
 *    pod template, so a changed key restarts the controller (it reads keys at start-up);
 * 4. once available and no pod of an older template is left (it read the old keys at its start
 *    and would go on serving them), the certificate the controller serves through the API
 *    server's service proxy (what `kubeseal --fetch-cert` reads) must be the brought one, and a
 *    probe sealed with the brought certificate must be unsealed by it.
 */
export async function installSealedSecrets(manager: ResourceManager, o: InstallOptions): Promise<InstallResult> {
  const key = checkKeyPair(o.certPem, o.keyPem);
  const source: ManifestSource = 'file' in o.manifest ? { file: o.manifest.file } : { url: releaseUrl(o.manifest.baseUrl, o.version), sha256: o.sha256 };
  o.progress(5, `Reading the controller manifests from ${'file' in source ? source.file : source.url}`);
  const manifests = await loadManifests([source], { signal: o.signal, proxy: o.proxy });
  const controller = prepareControllerManifests(manifests, o, shortId(o.certPem));
  const images = imagesOf([controller.deployment]);
  // A pull secret the controller names must exist before it starts: checked before any write.
  const pullSecret = o.images?.pullSecret && o.pullSecretConfig
    ? pullSecretObject(o.images.pullSecret, o.namespace, o.pullSecretConfig, { 'app.kubernetes.io/managed-by': 'aks-gitops-tasks' })
    : undefined;
  if (o.images?.pullSecret && !pullSecret) await requireExistingPullSecret(manager, o.images.pullSecret, o.namespace, o.signal);
  if (o.images?.registry) o.log(`Image from ${o.images.registry}: ${images.join(', ')}`);

  o.progress(20, `Installing the sealing key (certificate ${key.fingerprint})`);
  const secret = keySecret(o.certPem, o.keyPem, o.namespace) as unknown as KubeObject;
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } } as KubeObject;
  const keyChanges = await manager.applyAll([namespace, secret, ...(pullSecret ? [pullSecret] : [])], { signal: o.signal, timeoutMs: o.timeoutMs, force: true });
  for (const line of keyChanges.lines()) o.log(line);

  o.progress(40, `Installing the Sealed Secrets controller ${o.version}`);
  const controllerChanges = await manager.applyAll(controller.objects, { signal: o.signal, timeoutMs: o.timeoutMs, force: true });
  for (const line of controllerChanges.lines()) o.log(line);

  o.progress(60, `Waiting for deployment ${o.namespace}/${o.controllerName} to be available`);
  await manager.waitForReady([controller.deployment], {
    timeoutMs: o.timeoutMs, signal: o.signal, readiness: withoutOldPods, onChange: (ref, r) => o.log(`${ref}: ${r.message}`),
  });

  o.progress(70, 'Checking that the controller serves the brought certificate');
  await requireServedCertificate(manager, o, key.fingerprint);
  // A re-run that changed nothing writes nothing: the probe ran when the key was installed.
  let verifiedBy = 'the certificate the controller serves; nothing changed since the key and controller were installed and a probe was unsealed';
  if (keyChanges.changed || controllerChanges.changed) {
    o.progress(80, 'Checking that the controller unseals with the brought key');
    await unsealProbe(manager, o);
    verifiedBy = 'the certificate the controller serves, and unsealing a probe SealedSecret sealed with the brought certificate';
  }
  return { key, keySecretName: secret.metadata.name, keyChanges, controllerChanges, images, verifiedBy, warnings: key.warnings };
}

/** Finds the controller's Deployment, moves the objects to the chosen namespace, sets its flags and image source. */
export function prepareControllerManifests(objects: KubeObject[], o: Pick<InstallOptions, 'namespace' | 'controllerName' | 'keyRenewPeriod' | 'images'>, keyId: string) {
  const moved = objects.map((obj) => retarget(obj, o.namespace));
  const deployment = moved.find((x) => x.kind === 'Deployment' && x.metadata.name === o.controllerName);
  if (!deployment) {
    const found = moved.filter((x) => x.kind === 'Deployment').map((x) => x.metadata.name);
    throw new Error(`The manifests have no Deployment '${o.controllerName}' (found: ${found.join(', ') || 'none'}). Set controllerName to the controller's Deployment name.`);
  }
  const spec = deployment.spec as { template: { metadata?: { annotations?: Record<string, string> }; spec: { containers: { args?: string[] }[] } } };
  spec.template.metadata = { ...spec.template.metadata, annotations: { ...spec.template.metadata?.annotations, [KEY_ANNOTATION]: keyId } };
  const container = spec.template.spec.containers[0];
  const args = (container.args ?? []).filter((a) => !/^--(key-renew-period|rotate-period|key-order-priority)(=|$)/.test(a));
  // The newest key Secret is the active one: a brought key becomes active when it is installed,
  // whatever its certificate's start date (the default orders by that date).
  container.args = [...args, `--key-renew-period=${o.keyRenewPeriod}`, '--key-order-priority=SecretCreationTimestamp'];
  if (o.images) useImageSource([deployment], o.images);
  return { objects: moved, deployment };
}

function retarget(obj: KubeObject, namespace: string): KubeObject {
  const copy = structuredClone(obj);
  if (copy.metadata.namespace === 'kube-system') copy.metadata.namespace = namespace;
  for (const s of (copy.subjects as { namespace?: string }[] | undefined) ?? []) if (s.namespace === 'kube-system') s.namespace = namespace;
  return copy;
}

/**
 * The Deployment ready as kstatus judges it, and no pod of an older template left, terminating
 * ones included: during a rollout the old controller pod goes on unsealing (and serving its
 * certificate) with the keys it read at its start until it has exited.
 */
function withoutOldPods(deployment: KubeObject): Readiness {
  const r = readinessOf(deployment);
  if (r.state === 'failed') return r;
  const status = (deployment.status ?? {}) as { observedGeneration?: number; replicas?: number; updatedReplicas?: number; terminatingReplicas?: number };
  const want = ((deployment.spec ?? {}) as { replicas?: number }).replicas ?? 1;
  const observed = status.observedGeneration !== undefined && status.observedGeneration === deployment.metadata.generation;
  const old = Math.max(0, (status.replicas ?? 0) - (status.updatedReplicas ?? 0)) + (status.terminatingReplicas ?? 0);
  if (observed && (status.updatedReplicas ?? 0) >= want && old > 0) {
    return { state: 'pending', message: `waiting for the old controller pod to go (${old} left; it unseals with the keys it read at its start)` };
  }
  return r;
}

/**
 * Reads /v1/cert.pem through the API server's service proxy, as `kubeseal --fetch-cert` does, until
 * the controller serves the brought certificate; fails naming the one it serves instead.
 */
async function requireServedCertificate(manager: ResourceManager, o: InstallOptions, fingerprint: string): Promise<void> {
  const service = await manager.get('v1', 'Service', o.controllerName, o.namespace, o.signal);
  const port = ((service?.spec as { ports?: { name?: string }[] } | undefined)?.ports ?? [])[0]?.name ?? '';
  const deadline = Date.now() + Math.min(o.timeoutMs, 60_000);
  const served = `http:${o.controllerName}:${port}`;
  for (let attempt = 1; ; attempt++) {
    let seen: string;
    try {
      const pem = await manager.serviceProxyGet(o.namespace, served, '/v1/cert.pem', { signal: o.signal });
      const cert = new X509Certificate(pem);
      seen = `certificate ${cert.fingerprint256}`;
      if (cert.fingerprint256 === fingerprint) {
        o.log(`The controller serves the brought certificate (${fingerprint}), read through the API server as kubeseal --fetch-cert reads it`);
        return;
      }
    } catch (error) {
      if (o.signal?.aborted) throw error;
      seen = `no certificate (${error instanceof Error ? error.message : String(error)})`;
    }
    if (Date.now() > deadline) {
      throw new Error(`The controller ${o.namespace}/${o.controllerName} serves ${seen} at /v1/cert.pem, not the brought certificate ${fingerprint}. `
        + `Another key is active, or the controller is not reachable through its Service; check the key Secrets in ${o.namespace} and the Service's endpoints.`);
    }
    if (attempt === 1) o.log(`The controller serves ${seen}; waiting for the brought certificate`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Seals a random value with the brought certificate and waits for the controller to unseal it. */
async function unsealProbe(manager: ResourceManager, o: InstallOptions): Promise<void> {
  const name = `sealing-key-probe-${randomBytes(3).toString('hex')}`;
  const value = randomBytes(16).toString('hex');
  const sealed = sealSecret({ name, namespace: o.namespace, stringData: { probe: value } }, o.certPem) as unknown as KubeObject;
  await manager.applyAll([sealed], { signal: o.signal, timeoutMs: o.timeoutMs });
  try {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: o.namespace } } as KubeObject;
    await manager.waitForReady([sealed, secret], {
      timeoutMs: Math.min(o.timeoutMs, 120_000),
      signal: o.signal,
      readiness: (obj) => obj.kind === 'Secret'
        ? { state: 'ready', message: 'unsealed' }
        : sealedReadiness(obj),
      failFast: (_obj, r) => /no key could decrypt/.test(r.message),
    });
    const live = await manager.get('v1', 'Secret', name, o.namespace, o.signal);
    const got = Buffer.from(((live?.data as Record<string, string>) ?? {}).probe ?? '', 'base64').toString('utf8');
    if (got !== value) throw new Error(`The controller unsealed the probe to a different value; it does not use the brought key.`);
  } catch (error) {
    if (error instanceof Error && /no key could decrypt/.test(error.message)) {
      throw new Error(`The controller cannot decrypt with the brought key (${error.message}). Another key is active; check the key Secrets in ${o.namespace}.`);
    }
    throw error;
  } finally {
    await manager.delete([sealed, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: o.namespace } } as KubeObject], o.signal).catch(ignoreNotFound);
  }
}

function sealedReadiness(obj: KubeObject) {
  const conditions = ((obj.status as { conditions?: { type: string; status: string; message?: string }[] })?.conditions) ?? [];
  const synced = conditions.find((c) => c.type === 'Synced');
  if (synced?.status === 'True') return { state: 'ready' as const, message: 'unsealed' };
  if (synced?.status === 'False') return { state: 'failed' as const, message: synced.message ?? 'not unsealed' };
  return { state: 'pending' as const, message: 'waiting for the controller' };
}

function ignoreNotFound(error: unknown) {
  if (!(error instanceof KubeApiError && error.status === 404)) throw error;
}
