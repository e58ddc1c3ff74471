import type { KubernetesVersionListResult } from '@azure/arm-containerservice';
import { InputError } from '../pipeline/errors';
import type { ClusterSpec } from './spec';

interface Patch {
  version: string;
  minor: string;
  preview: boolean;
  upgrades: string[];
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function patches(list: KubernetesVersionListResult): Patch[] {
  return (list.values ?? []).flatMap((minor) =>
    Object.entries(minor.patchVersions ?? {}).map(([version, p]) => ({ version, minor: minor.version ?? version.split('.').slice(0, 2).join('.'), preview: !!minor.isPreview, upgrades: p.upgrades ?? [] })),
  ).sort((a, b) => compareVersions(a.version, b.version));
}

function offered(all: Patch[]): string {
  return all.map((p) => `${p.version}${p.preview ? ' (preview)' : ''}`).join(', ') || 'none';
}

/**
 * The exact version a request means in a location: `latest` is the newest generally available
 * patch, `1.35` the newest patch of that minor, an exact version must be offered. Preview versions
 * only when allowed.
 */
export function resolveKubernetesVersion(list: KubernetesVersionListResult, requested: string, allowPreview: boolean, location: string): { version: string; preview: boolean } {
  const all = patches(list);
  const usable = all.filter((p) => allowPreview || !p.preview);
  let hit: Patch | undefined;
  if (requested === 'latest') hit = usable.at(-1);
  else if (/^\d+\.\d+$/.test(requested)) hit = usable.filter((p) => p.minor === requested).at(-1);
  else hit = usable.find((p) => p.version === requested);
  if (hit) return { version: hit.version, preview: hit.preview };
  const previewOnly = all.some((p) => p.version === requested || p.minor === requested);
  if (previewOnly) {
    throw new InputError('kubernetesVersion', `${requested} is a preview version in ${location}`, "a generally available version, or set 'allowPreviewVersions' to true");
  }
  throw new InputError('kubernetesVersion', `${location} does not offer Kubernetes ${requested}; it offers ${offered(all)}`, "one of those, a minor such as 1.35, or 'latest'");
}

/** Refuses what AKS refuses, before anything is written: downgrades and skipped minors. */
export function checkUpgrade(list: KubernetesVersionListResult, current: string, target: string): void {
  if (current === target) return;
  if (compareVersions(target, current) < 0) {
    throw new InputError('kubernetesVersion', `the cluster runs ${current} and AKS cannot downgrade it to ${target}`, `${current} or newer (or mode 'recreate' to start again on ${target})`);
  }
  const from = patches(list).find((p) => p.version === current);
  // A version the location no longer lists: AKS decides what it allows.
  if (from && from.upgrades.length && !from.upgrades.includes(target)) {
    throw new InputError('kubernetesVersion', `AKS cannot upgrade ${current} to ${target} in one step; from ${current} it offers ${from.upgrades.join(', ')}`, "one of those first (one minor at a time), or mode 'recreate'");
  }
}

/** The support plans the location offers for a version's minor (KubernetesOfficial when it says nothing). */
export function supportPlansOf(list: KubernetesVersionListResult, version: string): string[] {
  const minor = (list.values ?? []).find((m) => Object.keys(m.patchVersions ?? {}).includes(version) || m.version === version.split('.').slice(0, 2).join('.'));
  const plans = minor?.capabilities?.supportPlan;
  return plans?.length ? plans.map(String) : ['KubernetesOfficial'];
}

/**
 * A version past community support is offered with long-term support only: AKS then answers
 * K8sVersionNotSupported ("… only available for Long-Term Support (LTS). … ensure the cluster is in
 * Premium tier and LTS support plan", Azure/secrets-store-csi-driver-provider-azure#1713) unless the
 * cluster is on tier Premium with supportPlan AKSLongTermSupport (learn.microsoft.com/azure/aks/long-term-support).
 */
export function checkSupportPlan(list: KubernetesVersionListResult, version: string, spec: Pick<ClusterSpec, 'tier' | 'supportPlan' | 'location'>): void {
  if (supportPlansOf(list, version).includes('KubernetesOfficial')) return;
  if (spec.tier === 'Premium' && spec.supportPlan === 'AKSLongTermSupport') return;
  throw new InputError('kubernetesVersion', `${version} is past community support in ${spec.location} and only available with long-term support, which needs tier 'Premium' and supportPlan 'AKSLongTermSupport' (the inputs say tier '${spec.tier}', supportPlan '${spec.supportPlan}')`,
    "tier 'Premium' with supportPlan 'AKSLongTermSupport', or a version with community support");
}
