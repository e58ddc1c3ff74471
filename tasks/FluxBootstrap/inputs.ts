import { readFileSync } from 'node:fs';
import { readImageSource } from '../../shared/flux/image-source-inputs';
import { readClusterConnection } from '../../shared/pipeline/cluster-connection-inputs';
import { InputError } from '../../shared/pipeline/errors';
import { readSecureFile } from '../../shared/pipeline/secure-file';
import type { TaskContext } from '../../shared/pipeline/task-context';
import { dnsLabel, goDuration, httpUrl, semverLike, sha256Hex } from '../../shared/pipeline/validate';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The inputs of FluxBootstrap, checked and typed; the SSH key is read later (it needs a download). */
export function readInputs(ctx: TaskContext) {
  const { inputs: i } = ctx;
  const auth = (i.choice('gitAuth') ?? 'token') as 'token' | 'ssh' | 'azure' | 'none';
  const url = httpUrl(i.required('gitUrl'), 'gitUrl', auth === 'ssh' ? ['ssh:'] : ['https:', 'http:']);
  const allowInsecureHttp = i.bool('allowInsecureHttp');
  // The token goes to the Git server in every request, source-controller's and the head check's.
  if (auth === 'token' && url.protocol === 'http:' && !allowInsecureHttp) {
    throw new InputError('gitUrl', `'${url.origin}' is plain HTTP: the token would travel unencrypted`, 'an https URL (or allowInsecureHttp: true, for a Git server on a network you trust)');
  }
  const components = i.choices('components');
  for (const needed of ['source-controller', 'kustomize-controller']) {
    if (!components.includes(needed)) throw new InputError('components', `${needed} is missing`, 'a list that includes source-controller and kustomize-controller');
  }
  const knownHosts = i.string('sshKnownHosts');
  if (auth === 'ssh' && !knownHosts) throw new InputError('sshKnownHosts', "SSH needs the Git server's host keys", 'known_hosts lines, e.g. from `ssh-keyscan ssh.dev.azure.com`');
  const clientId = auth === 'azure' ? i.required('workloadIdentityClientId') : undefined;
  if (clientId && !GUID.test(clientId)) throw new InputError('workloadIdentityClientId', `'${clientId}' is not a client ID`, 'a GUID');
  const caFile = i.filePath('caFile');
  return {
    connection: readClusterConnection(ctx),
    version: semverLike(i.required('fluxVersion'), 'fluxVersion'),
    components,
    install: i.choice('installSource') === 'file'
      ? { file: i.filePath('installManifestFile')! }
      : { baseUrl: httpUrl(i.string('releaseBaseUrl') ?? 'https://github.com', 'releaseBaseUrl').toString() },
    sha256: sha256Hex(i.string('installManifestSha256'), 'installManifestSha256'),
    namespace: dnsLabel(i.string('namespace') ?? 'flux-system', 'namespace'),
    multiTenancy: i.bool('multiTenancy'),
    defaultServiceAccount: dnsSubdomain(i.string('defaultServiceAccount') ?? 'default', 'defaultServiceAccount'),
    takeOwnership: i.bool('takeOwnership'),
    allowRepoint: i.bool('allowRepoint'),
    ...readImageSource(ctx),
    waitFor: (i.choice('waitFor') ?? 'tree') as 'tree' | 'root',
    sync: {
      name: dnsLabel(i.string('syncName') ?? 'flux-system', 'syncName'),
      url: url.toString().replace(/\/$/, ''),
      branch: i.required('gitBranch'),
      path: repoPath(i.required('gitPath'), 'gitPath'),
      interval: goDuration(i.string('syncInterval') ?? '1m', 'syncInterval'),
      provider: auth === 'azure' ? ('azure' as const) : undefined,
    },
    auth,
    username: i.string('gitUsername') ?? 'git',
    token: auth === 'token' ? i.secret('gitToken')! : undefined,
    knownHosts,
    sshHostKeyAlgorithms: auth === 'ssh' ? i.string('sshHostKeyAlgorithms') : undefined,
    workloadIdentity: clientId ? { clientId } : undefined,
    caPem: caFile ? readFileSync(caFile, 'utf8') : undefined,
    timeoutMs: (i.int('timeoutMinutes', { min: 1, max: 120 }) ?? 10) * 60_000,
  };
}

/** A folder inside the repository: Flux reads the path from the repository's root. */
function repoPath(value: string, input: string): string {
  if (value.split('/').includes('..')) throw new InputError(input, `'${value}' leads out of the repository`, 'a path inside the repository, such as ./clusters/dev');
  return value;
}

function dnsSubdomain(value: string, input: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value) || value.length > 253) {
    throw new InputError(input, `'${value}' is not a Kubernetes object name`, 'lower-case letters, digits, - and .');
  }
  return value;
}

/** The SSH private key from its secure file, registered as a secret line by line. */
export async function readSshKey(ctx: TaskContext): Promise<string> {
  const key = (await readSecureFile(ctx, ctx.agent.secureFile(ctx.inputs.required('sshKeySecureFile')), 'sshKeySecureFile')).toString('utf8');
  ctx.secrets.add(key);
  if (!/-----BEGIN (OPENSSH|RSA) PRIVATE KEY-----/.test(key)) throw new InputError('sshKeySecureFile', 'the secure file is not an SSH private key', 'an RSA private key in OpenSSH or PEM format (Azure Repos needs RSA)');
  return key;
}
