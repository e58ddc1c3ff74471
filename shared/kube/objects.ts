/** A Kubernetes object as the API serves it: typed just enough for the engine. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  uid?: string;
  managedFields?: { manager?: string; time?: string; [k: string]: unknown }[];
  [field: string]: unknown;
}

/** Kind/namespace/name (Kind/name for cluster-scoped objects), as errors and logs name objects. */
export function refOf(o: Pick<KubeObject, 'kind' | 'metadata'>): string {
  return o.metadata.namespace ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` : `${o.kind}/${o.metadata.name}`;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

export const isCrd = (o: KubeObject) => o.kind === 'CustomResourceDefinition' && groupOf(o.apiVersion) === 'apiextensions.k8s.io';
export const isNamespace = (o: KubeObject) => o.kind === 'Namespace' && o.apiVersion === 'v1';

export function conditionsOf(o: KubeObject): { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[] {
  const status = o.status as { conditions?: unknown } | undefined;
  return Array.isArray(status?.conditions) ? (status!.conditions as never[]) : [];
}
