import type { KubeObject } from '../kube/objects';
import type { ResourceManager } from '../kube/resource-manager';

/**
 * Container images of controllers served from a mirror (e.g. an Azure Container Registry that
 * imported them with `az acr import`, which keeps the repository path and tag): the registry host
 * of every image is replaced, the path and tag stay. `ghcr.io/fluxcd/source-controller:v1.9.4`
 * becomes `myacr.azurecr.io/fluxcd/source-controller:v1.9.4`, and Docker Hub's
 * `docker.io/bitnami/sealed-secrets-controller:0.36.6` (or `bitnami/...`) becomes
 * `myacr.azurecr.io/bitnami/sealed-secrets-controller:0.36.6`. The mirror may have a path of its
 * own (`myacr.azurecr.io/mirror`), put before the repository path.
 */
export interface ImageSource {
  /** Registry host (and optional path prefix) that replaces the images' registry. */
  registry?: string;
  /** Name of a kubernetes.io/dockerconfigjson Secret the controllers' pods pull with. */
  pullSecret?: string;
}

const REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** Whether a value names a registry (host[:port][/path]) and nothing else; the reason when not. */
export function registryProblem(value: string): string | undefined {
  if (/^[a-z]+:\/\//i.test(value)) return 'it has a scheme';
  if (/[:@]/.test(value.split('/').slice(1).join('/'))) return 'it has a tag or digest';
  if (!REGISTRY.test(value)) return 'it is not a registry host with an optional path';
  if (!value.split('/')[0]!.includes('.') && !value.split('/')[0]!.includes(':') && value.split('/')[0] !== 'localhost') return 'its first part is not a host name (no dot or port)';
  return undefined;
}

/** Splits an image reference into registry, repository path and the tag or digest suffix. */
export function splitImage(image: string): { registry: string; path: string; suffix: string } {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at) : '';
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const name = colon > slash ? noDigest.slice(0, colon) : noDigest;
  const tag = colon > slash ? noDigest.slice(colon) : '';
  const first = name.split('/')[0]!;
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : 'docker.io';
  let path = hasRegistry ? name.slice(first.length + 1) : name;
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { registry, path, suffix: tag + digest };
}

export function mirroredImage(image: string, registry: string): string {
  const { path, suffix } = splitImage(image);
  return `${registry.replace(/\/+$/, '')}/${path}${suffix}`;
}

interface PodSpec {
  containers?: { image?: string }[];
  initContainers?: { image?: string }[];
  imagePullSecrets?: { name: string }[];
}

/** The pod spec of a workload's template, when it has one. */
function podSpecOf(o: KubeObject): PodSpec | undefined {
  if (!['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) return undefined;
  return (o.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
}

/**
 * Points every workload's images at the mirror and adds the pull secret to its pods, as
 * `flux install --registry --image-pull-secret` does for Flux (a patch on each Deployment's pod
 * template). Changes the objects in place; returns the images before and after.
 */
export function useImageSource(objects: KubeObject[], source: ImageSource): { from: string; to: string }[] {
  const changed: { from: string; to: string }[] = [];
  for (const o of objects) {
    const pod = podSpecOf(o);
    if (!pod) continue;
    if (source.registry) {
      for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
        if (!c.image) continue;
        const to = mirroredImage(c.image, source.registry);
        if (to !== c.image) changed.push({ from: c.image, to });
        c.image = to;
      }
    }
    if (source.pullSecret) {
      const secrets = pod.imagePullSecrets ?? [];
      if (!secrets.some((s) => s.name === source.pullSecret)) pod.imagePullSecrets = [...secrets, { name: source.pullSecret }];
    }
  }
  return changed;
}

/** The images the workloads run, for the log and the summary. */
export function imagesOf(objects: KubeObject[]): string[] {
  return [...new Set(objects.flatMap((o) => [...(podSpecOf(o)?.containers ?? []), ...(podSpecOf(o)?.initContainers ?? [])].map((c) => c.image ?? '')))].filter(Boolean);
}

/**
 * A registry credential as a kubernetes.io/dockerconfigjson Secret (what `kubectl create secret
 * docker-registry` writes), from the `.dockerconfigjson` text.
 */
export function pullSecretObject(name: string, namespace: string, dockerConfigJson: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(dockerConfigJson).toString('base64') },
  } as KubeObject;
}

/**
 * Reads a `.dockerconfigjson` given as JSON or as its base64 (`base64 -w0 config.json`); returns
 * the JSON text and every credential in it (to be masked), or a reason it is not one.
 */
export function parseDockerConfig(value: string): { json: string; secrets: string[] } | { problem: string } {
  const text = value.trim().startsWith('{') ? value.trim() : Buffer.from(value.trim(), 'base64').toString('utf8');
  let parsed: { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }> };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return { problem: 'the value is neither JSON nor base64 of JSON' };
  }
  if (!parsed || typeof parsed.auths !== 'object' || !Object.keys(parsed.auths).length) return { problem: 'it has no "auths" entries' };
  const secrets: string[] = [];
  for (const [registry, entry] of Object.entries(parsed.auths)) {
    const auth = entry?.auth ?? (entry?.username && entry?.password ? Buffer.from(`${entry.username}:${entry.password}`).toString('base64') : undefined);
    if (!auth && !entry?.identitytoken) return { problem: `the entry for ${registry} has no auth, username and password, or identitytoken` };
    for (const s of [entry.auth, entry.password, entry.identitytoken]) if (s) secrets.push(s);
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const password = decoded.slice(decoded.indexOf(':') + 1);
      if (password) secrets.push(password);
    }
  }
  return { json: text, secrets };
}

/** A pull secret the controllers name must exist before they start, or Kubernetes pulls without it. */
export async function requireExistingPullSecret(manager: ResourceManager, name: string, namespace: string, signal?: AbortSignal): Promise<void> {
  const live = await manager.get('v1', 'Secret', name, namespace, signal);
  if (!live) {
    throw new Error(`The image pull secret ${namespace}/${name} (input imagePullSecret) does not exist. Create it first (kubectl create secret docker-registry ${name} -n ${namespace} ...), or give its .dockerconfigjson in imagePullSecretConfig and the task writes it.`);
  }
  if (live.type !== 'kubernetes.io/dockerconfigjson' && live.type !== 'kubernetes.io/dockercfg') {
    throw new Error(`The image pull secret ${namespace}/${name} (input imagePullSecret) is of type ${(live.type as string | undefined) ?? 'Opaque'}, not kubernetes.io/dockerconfigjson: Kubernetes cannot pull with it.`);
  }
}
