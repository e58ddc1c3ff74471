// The versions a location offers (ManagedClusters_ListKubernetesVersions) and how AKS resolves
// a requested version: empty = default minor's newest patch, "1.34" = that minor's newest patch.
export interface KubernetesMinorVersion {
  version: string;
  patches: string[];
  isPreview?: boolean;
  isDefault?: boolean;
  /** capabilities.supportPlan (default KubernetesOfficial): a minor past community support lists AKSLongTermSupport only. */
  supportPlans?: Array<'KubernetesOfficial' | 'AKSLongTermSupport'>;
}

export const defaultKubernetesVersions: KubernetesMinorVersion[] = [
  { version: '1.33', patches: ['1.33.4', '1.33.6'] },
  { version: '1.34', patches: ['1.34.1', '1.34.2'], isDefault: true },
  { version: '1.35', patches: ['1.35.0'] },
  { version: '1.36', patches: ['1.36.3'], isPreview: true },
];

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff) return diff;
  }
  return 0;
}

const compare = compareVersions;

/** The response body: note the array is `values`, not `value`. */
export function kubernetesVersionList(minors: KubernetesMinorVersion[]) {
  const allPatches = minors.flatMap((minor) => minor.patches).sort(compare);
  const minorOf = (patch: string) => patch.split('.').slice(0, 2).join('.');
  return {
    values: minors.map((minor) => ({
      version: minor.version,
      capabilities: { supportPlan: minor.supportPlans ?? ['KubernetesOfficial'] },
      ...(minor.isDefault ? { isDefault: true } : {}),
      ...(minor.isPreview ? { isPreview: true } : {}),
      patchVersions: Object.fromEntries(minor.patches.map((patch) => [patch, {
        // Upgrades go to newer patches of the same minor or any patch of the next minor.
        upgrades: allPatches.filter((candidate) =>
          compare(candidate, patch) > 0 && (minorOf(candidate) === minor.version || minorOf(candidate) === nextMinor(minor.version))),
      }])),
    })),
  };
}

function nextMinor(version: string): string {
  const [major, minor] = version.split('.').map(Number);
  return `${major}.${minor + 1}`;
}

/** The patch version a request resolves to, or undefined when the location does not offer it. */
export function resolveKubernetesVersion(minors: KubernetesMinorVersion[], requested: string | undefined): string | undefined {
  const newest = (patches: string[]) => [...patches].sort(compare).at(-1);
  if (!requested) {
    const minor = minors.find((candidate) => candidate.isDefault) ?? minors.filter((candidate) => !candidate.isPreview).at(-1);
    return minor && newest(minor.patches);
  }
  const minor = minors.find((candidate) => candidate.version === requested);
  if (minor) return newest(minor.patches);
  return minors.some((candidate) => candidate.patches.includes(requested)) ? requested : undefined;
}

/** The support plans a location offers for the minor of a patch version. */
export function supportPlansOf(minors: KubernetesMinorVersion[], patch: string): string[] {
  const minor = minors.find((candidate) => candidate.patches.includes(patch) || candidate.version === patch.split('.').slice(0, 2).join('.'));
  return minor?.supportPlans ?? ['KubernetesOfficial'];
}
