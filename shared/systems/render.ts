import { stringify } from 'yaml';
import type { KubeObject } from '../kube/objects';
import { sealedOrKept } from './sealed-values';
import { MANAGED_BY, TENANT_LABEL, namesOf, repoPath, type Sealing, type SystemSecrets, type SystemSpec } from './system';

export interface RenderedFiles {
  /** Path relative to the folder -> content. */
  files: Record<string, string>;
  /** The objects the files hold, in the order a direct apply should take them. */
  objects: KubeObject[];
}

const HEADER = (what: string) => `# ${what}\n# Written by RegisterSystem@1: a re-run rewrites this file; change the pipeline's inputs instead.\n`;

/** YAML documents as a file: one header, documents separated by ---. */
export function yamlFile(header: string, objects: object[]): string {
  return header + objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/**
 * The files of `<systemsFolder>/<system>/`: the tenant namespace (Pod Security enforced), the
 * account Flux impersonates bound to the platform's ClusterRole, the team group's binding, a
 * default NetworkPolicy, the team repository's GitRepository and Kustomization running as that
 * account, sealed credentials, and the alerts. `previous` is the folder as it is now, so sealed
 * values that did not change keep their ciphertext.
 */
export function renderSystem(spec: SystemSpec, secrets: SystemSecrets, sealing: Sealing, previous: Record<string, string> = {}): RenderedFiles {
  const n = namesOf(spec);
  const labels = { [TENANT_LABEL]: spec.name, ...MANAGED_BY };
  const meta = (name: string) => ({ name, namespace: spec.namespace, labels });

  const namespace = {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: {
      name: spec.namespace,
      labels: {
        ...labels,
        // enforce refuses Pods (not their Deployments); warn and audit show what `restricted` would refuse.
        'pod-security.kubernetes.io/enforce': spec.podSecurity,
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/warn-version': 'latest',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/audit-version': 'latest',
      },
    },
  };
  const serviceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(n.serviceAccount) };
  const roleBinding = (name: string, role: string, subject: object) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(name),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [subject],
  });
  const reconciler = roleBinding(n.reconcilerBinding, spec.clusterRole, { kind: 'ServiceAccount', name: n.serviceAccount, namespace: spec.namespace });
  const team = spec.entraGroup && roleBinding(n.teamBinding, spec.entraGroup.clusterRole, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: spec.entraGroup.objectId });
  const networkPolicy = {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(n.networkPolicy),
    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
  };

  const gitSecret = sealedOrKept({ name: n.gitSecret, namespace: spec.namespace, labels, stringData: { username: secrets.git.username, password: secrets.git.password } },
    sealing, previous['git-credentials.sealed.yaml']);
  const gitRepository = {
    apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: meta(n.sync),
    spec: { interval: spec.source.interval, url: spec.source.url, ref: { branch: spec.source.branch }, secretRef: { name: n.gitSecret } },
  };
  const kustomization = {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: meta(n.sync),
    spec: {
      interval: spec.source.interval,
      path: `./${repoPath(spec.source.path)}`,
      prune: true,
      sourceRef: { kind: 'GitRepository', name: n.sync },
      // Applied as the team's account, into the team's namespace only.
      serviceAccountName: n.serviceAccount,
      targetNamespace: spec.namespace,
    },
  };

  const files: Record<string, string> = {
    'namespace.yaml': yamlFile(HEADER(`The namespace of system ${spec.name}: Pod Security "${spec.podSecurity}" enforced.`), [namespace]),
    'rbac.yaml': yamlFile(HEADER(`Who may do what in ${spec.namespace}: Flux applies the team's repository as ${n.serviceAccount}, bound to ${spec.clusterRole}.`),
      [serviceAccount, reconciler, ...(team ? [team] : [])]),
    'network-policy.yaml': yamlFile(HEADER('Pods accept traffic from their own namespace; what else may reach them is the platform\'s to allow.'), [networkPolicy]),
    'git-credentials.sealed.yaml': yamlFile(HEADER(`Flux's read credential for the team repository, sealed for ${spec.namespace}.`), [gitSecret]),
    'sync.yaml': yamlFile(HEADER(`Flux applies ${spec.source.url} ${spec.source.branch}:${spec.source.path} as ${n.serviceAccount}.`), [gitRepository, kustomization]),
  };
  const objects: KubeObject[] = [namespace, serviceAccount, reconciler, ...(team ? [team] : []), networkPolicy, gitSecret, gitRepository, kustomization] as KubeObject[];

  if (spec.alerts && secrets.alertWebhookUrl) {
    const alertSecret = sealedOrKept({ name: n.alertSecret, namespace: spec.namespace, labels, stringData: { address: secrets.alertWebhookUrl } },
      sealing, previous['alert-webhook.sealed.yaml']);
    const provider = {
      apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', metadata: meta(spec.name),
      spec: { type: spec.alerts.provider, ...(spec.alerts.channel ? { channel: spec.alerts.channel } : {}), secretRef: { name: n.alertSecret } },
    };
    const alert = {
      apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', metadata: meta(spec.name),
      spec: {
        providerRef: { name: spec.name },
        eventSeverity: spec.alerts.severity,
        eventSources: [{ kind: 'GitRepository', name: '*' }, { kind: 'Kustomization', name: '*' }],
        eventMetadata: { system: spec.name },
      },
    };
    files['alert-webhook.sealed.yaml'] = yamlFile(HEADER(`The ${spec.alerts.provider} webhook of system ${spec.name}, sealed for ${spec.namespace}.`), [alertSecret]);
    files['alerts.yaml'] = yamlFile(HEADER(`Flux tells the team (${spec.alerts.provider}, ${spec.alerts.severity === 'info' ? 'all events' : 'errors'}) what happened to its sources and Kustomizations.`), [provider, alert]);
    objects.push(alertSecret, provider, alert as KubeObject);
  }

  files['kustomization.yaml'] = yamlFile(HEADER(`System ${spec.name}.`), [{
    apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization',
    resources: Object.keys(files).sort(),
  }]);
  return { files, objects };
}

export const GUARDRAILS_FILE = 'tenant-guardrails.yaml';
const POLICY = 'tenant-no-external-services';

/**
 * What RBAC cannot say, once for all systems: no LoadBalancer or NodePort Services in tenant
 * namespaces (a team could otherwise open a port to the internet or on every node).
 */
export function renderGuardrails(contact: string): RenderedFiles {
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy',
    metadata: { name: POLICY, labels: MANAGED_BY },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['services'] }] },
      validations: [{
        expression: "!has(object.spec.type) || !(object.spec.type in ['LoadBalancer', 'NodePort'])",
        messageExpression: `'Service type ' + object.spec.type + ' is not allowed in tenant namespace ' + request.namespace + ': use a ClusterIP Service behind the platform ingress, or ask ${contact.replace(/'/g, '')} for an exception.'`,
        message: `Service types LoadBalancer and NodePort are not allowed in tenant namespaces; ask ${contact} for an exception.`,
        reason: 'Forbidden',
      }],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: POLICY, labels: MANAGED_BY },
    spec: {
      policyName: POLICY,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: 'Exists' }] } },
    },
  };
  return {
    files: { [GUARDRAILS_FILE]: yamlFile(HEADER('Guardrails for every tenant namespace (labelled toolkit.fluxcd.io/tenant) that RBAC cannot express.'), [policy, binding]) },
    objects: [policy, binding] as KubeObject[],
  };
}
