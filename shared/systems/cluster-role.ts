import { parseAllDocuments } from 'yaml';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

/** ClusterRoles every Kubernetes cluster has (user-facing roles of the RBAC bootstrap policy). */
export const BUILT_IN_CLUSTER_ROLES = ['cluster-admin', 'admin', 'edit', 'view'];

/** The rules of a ClusterRole defined in any of the files (path -> YAML text), or undefined. */
export function clusterRoleIn(files: Record<string, string>, name: string): { path: string; rules: PolicyRule[] } | undefined {
  for (const [path, text] of Object.entries(files)) {
    if (!/\bkind:\s*ClusterRole\s*$/m.test(text)) continue;
    let docs;
    try {
      docs = parseAllDocuments(text);
    } catch {
      continue;
    }
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; rules?: PolicyRule[] } | null;
      if (o?.kind === 'ClusterRole' && o.metadata?.name === name) return { path, rules: o.rules ?? [] };
    }
  }
  return undefined;
}

/** "deployments, statefulsets (apps): get, list, ..." lines, for the team's README. */
export function describeRules(rules: PolicyRule[]): string[] {
  return rules.map((r) => {
    const groups = (r.apiGroups ?? ['']).map((g) => g || 'core').join(', ');
    return `${(r.resources ?? []).join(', ')} (${groups}): ${(r.verbs ?? []).join(', ')}`;
  });
}
