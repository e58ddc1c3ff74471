import type { KubeObject } from '../kube/objects';
import { type ImageSource, useImageSource } from './images';

export const ALL_COMPONENTS = ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller', 'image-reflector-controller', 'image-automation-controller', 'source-watcher'];

export function installUrl(baseUrl: string, version: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/fluxcd/flux2/releases/download/v${version}/install.yaml`;
}

export interface InstallShape {
  components: string[];
  namespace: string;
  multiTenancy: boolean;
  defaultServiceAccount?: string;
  sshHostKeyAlgorithms?: string;
  /** Entra workload identity for source-controller (GitRepository provider azure). */
  workloadIdentity?: { clientId: string; tenantId?: string };
  /** A registry mirror and a pull secret for the controllers' images. */
  images?: ImageSource;
}

const component = (o: KubeObject) => o.metadata.labels?.['app.kubernetes.io/component'];

/**
 * Shapes Flux's install.yaml the way `flux install` options do: only the chosen components, the
 * namespace (with the controllers' events address, which names it), the multi-tenancy lockdown
 * flags (no cross-namespace references, no remote bases, a default service account), SSH host key
 * algorithms, workload identity, a registry mirror and an image pull secret where asked.
 */
export function shapeInstall(objects: KubeObject[], shape: InstallShape): { objects: KubeObject[]; deployments: KubeObject[] } {
  const unknown = shape.components.filter((c) => !ALL_COMPONENTS.includes(c));
  if (unknown.length) throw new Error(`Unknown Flux component(s): ${unknown.join(', ')}`);
  const kept = objects
    .filter((o) => !component(o) || shape.components.includes(component(o)!))
    .map((o) => structuredClone(o));
  if (shape.namespace !== 'flux-system') {
    for (const o of kept) {
      if (o.kind === 'Namespace' && o.metadata.name === 'flux-system') o.metadata.name = shape.namespace;
      if (o.metadata.namespace === 'flux-system') o.metadata.namespace = shape.namespace;
      for (const s of (o.subjects as { namespace?: string }[] | undefined) ?? []) if (s.namespace === 'flux-system') s.namespace = shape.namespace;
    }
  }
  const deployments = kept.filter((o) => o.kind === 'Deployment');
  const missing = shape.components.filter((c) => !deployments.some((d) => d.metadata.name === c));
  if (missing.length) throw new Error(`The install manifests have no Deployment for ${missing.join(', ')}`);
  for (const d of deployments) {
    const name = d.metadata.name;
    const args: string[] = [];
    if (shape.multiTenancy) {
      if (['kustomize-controller', 'helm-controller', 'notification-controller', 'image-reflector-controller', 'image-automation-controller'].includes(name)) args.push('--no-cross-namespace-refs=true');
      if (name === 'kustomize-controller') args.push('--no-remote-bases=true');
      if (['kustomize-controller', 'helm-controller'].includes(name)) args.push(`--default-service-account=${shape.defaultServiceAccount ?? 'default'}`);
    }
    if (shape.sshHostKeyAlgorithms && ['source-controller', 'image-automation-controller'].includes(name)) args.push(`--ssh-hostkey-algos=${shape.sshHostKeyAlgorithms}`);
    const events = eventsAddress(d, shape.namespace);
    if (events) args.push(`--events-addr=${events}`);
    setArgs(d, args);
    if (shape.workloadIdentity && name === 'source-controller') {
      const template = (d.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template;
      template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, 'azure.workload.identity/use': 'true' } };
    }
  }
  if (shape.workloadIdentity) {
    const sa = kept.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'source-controller');
    if (sa) {
      sa.metadata.annotations = {
        ...sa.metadata.annotations,
        'azure.workload.identity/client-id': shape.workloadIdentity.clientId,
        ...(shape.workloadIdentity.tenantId ? { 'azure.workload.identity/tenant-id': shape.workloadIdentity.tenantId } : {}),
      };
    }
  }
  if (shape.images) useImageSource(kept, shape.images);
  return { objects: kept, deployments };
}

/**
 * Where a controller sends its events: notification-controller's Service in the Flux namespace.
 * install.yaml names flux-system (`http://notification-controller.flux-system.svc.cluster.local./`);
 * `flux install --namespace` renders `http://notification-controller.<namespace>.svc.<domain>./`,
 * so a moved install must say the same or events and alerts go nowhere. The cluster domain and
 * the rest of the URL are kept.
 */
function eventsAddress(deployment: KubeObject, namespace: string): string | undefined {
  const manager = managerOf(deployment);
  const current = (manager.args ?? []).find((a) => a.startsWith('--events-addr='))?.slice('--events-addr='.length);
  if (!current) return undefined;
  const moved = current.replace(/^(\w+:\/\/notification-controller\.)[a-z0-9-]+(\.svc[.:/])/, `$1${namespace}$2`);
  return moved === current ? undefined : moved;
}

function managerOf(deployment: KubeObject): { name: string; args?: string[] } {
  const containers = (deployment.spec as { template: { spec: { containers: { name: string; args?: string[] }[] } } }).template.spec.containers;
  return containers.find((c) => c.name === 'manager') ?? containers[0]!;
}

/** Sets flags on a Deployment's manager container, replacing earlier values of the same flags. */
function setArgs(deployment: KubeObject, flags: string[]): void {
  if (!flags.length) return;
  const manager = managerOf(deployment);
  const names = flags.map((f) => f.split('=')[0]);
  manager.args = [...(manager.args ?? []).filter((a) => !names.includes(a.split('=')[0])), ...flags];
}
