import { X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { describeRules, type PolicyRule } from './cluster-role';
import { namesOf, repoPath, type SystemSpec } from './system';

export interface StarterOptions {
  /** The ClusterRole's rules, when known, to say what the team may create. */
  rules?: PolicyRule[];
  certPem: string;
  platformRepository: string;
}

/**
 * The starter layout of a team's repository at the system's path: a kustomization.yaml Flux
 * applies as it is, and a README saying what the team may create and how to seal a secret.
 */
export function starterFiles(spec: SystemSpec, o: StarterOptions): Record<string, string> {
  const dir = repoPath(spec.source.path);
  const at = (file: string) => (dir ? `${dir}/${file}` : file);
  const fingerprint = new X509Certificate(o.certPem).fingerprint256;
  const allowed = o.rules ? describeRules(o.rules).map((l) => `- ${l}`).join('\n') : `- whatever the ClusterRole \`${spec.clusterRole}\` allows (ask the platform team)`;
  const readme = `# ${spec.name} on this cluster

Flux applies this folder (\`${spec.source.path}\` on \`${spec.source.branch}\`) to the namespace \`${spec.namespace}\`,
as the service account \`${namesOf(spec).serviceAccount}\`. List your manifests in \`kustomization.yaml\`; a push is
applied within ${spec.source.interval}.

## What you may create

Everything is applied into \`${spec.namespace}\` (other namespaces are rewritten to it), with the rights of
the ClusterRole \`${spec.clusterRole}\` (kept in ${o.platformRepository}):

${allowed}

Not allowed, whatever the role says: cluster-wide objects, other namespaces, remote bases, Services of
type LoadBalancer or NodePort, and Pods that break the Pod Security \`${spec.podSecurity}\` level
(privileged, hostPath, hostNetwork, ...). When something is refused, Flux says why in the
Kustomization \`${spec.namespace}/${namesOf(spec).sync}\`${spec.alerts ? ` and in your ${spec.alerts.provider} channel` : ''}.

## Secrets

Commit secrets only as SealedSecrets, sealed for this namespace with the cluster's certificate
(SHA-256 fingerprint \`${fingerprint}\`), saved below as \`sealing.crt\`:

\`\`\`sh
kubectl create secret generic my-secret -n ${spec.namespace} --from-literal=password=... --dry-run=client -o yaml \\
  | kubeseal --cert sealing.crt --scope strict --format yaml > my-secret.sealed.yaml
\`\`\`

A SealedSecret only unseals under the name and namespace it was sealed for.

## sealing.crt

\`\`\`
${o.certPem.trim()}
\`\`\`
`;
  return {
    [at('README.md')]: readme,
    [at('kustomization.yaml')]: `# What Flux applies to ${spec.namespace}: add your files to resources.\n${stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [] })}`,
  };
}
