import type { KubernetesVersionListResult } from '@azure/arm-containerservice';
import { InputError } from '../pipeline/errors';

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
