import { readClusterConnection } from '../../shared/pipeline/cluster-connection-inputs';
import { main } from '../../shared/pipeline/entry';
import { InputError, NotYetSupportedError } from '../../shared/pipeline/errors';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import { dnsLabel, goDuration, httpUrl, semverLike, sha256Hex } from '../../shared/pipeline/validate';
import definition from './task.json';

main(definition as TaskDefinition, async (ctx) => {
  const { inputs: i } = ctx;
  const connection = readClusterConnection(ctx);
  const auth = i.choice('gitAuth') ?? 'token';
  const gitUrl = httpUrl(i.required('gitUrl'), 'gitUrl', auth === 'ssh' ? ['ssh:'] : ['https:', 'http:']);
  const components = i.choices('components');
  for (const needed of ['source-controller', 'kustomize-controller']) {
    if (components.length && !components.includes(needed)) {
      throw new InputError('components', `${needed} is missing`, 'a list that includes source-controller and kustomize-controller');
    }
  }
  const options = {
    connection,
    version: semverLike(i.required('fluxVersion'), 'fluxVersion'),
    components,
    install: i.choice('installSource') === 'file'
      ? { file: i.filePath('installManifestFile')! }
      : { baseUrl: httpUrl(i.string('releaseBaseUrl') ?? 'https://github.com', 'releaseBaseUrl') },
    sha256: sha256Hex(i.string('installManifestSha256'), 'installManifestSha256'),
    namespace: dnsLabel(i.string('namespace') ?? 'flux-system', 'namespace'),
    syncName: dnsLabel(i.string('syncName') ?? 'flux-system', 'syncName'),
    multiTenancy: i.bool('multiTenancy'),
    defaultServiceAccount: i.string('defaultServiceAccount'),
    takeOwnership: i.bool('takeOwnership'),
    source: {
      url: gitUrl,
      branch: i.required('gitBranch'),
      path: i.required('gitPath'),
      interval: goDuration(i.string('syncInterval') ?? '1m', 'syncInterval'),
      auth,
      username: i.string('gitUsername'),
      token: i.secret('gitToken'),
      sshKey: auth === 'ssh' ? ctx.agent.secureFile(i.required('sshKeySecureFile')) : undefined,
      knownHosts: i.string('sshKnownHosts'),
      caFile: i.filePath('caFile'),
    },
    timeoutMinutes: i.int('timeoutMinutes', { min: 1, max: 120 }) ?? 10,
  };
  if (auth === 'ssh' && !options.source.knownHosts) {
    throw new InputError('sshKnownHosts', 'SSH needs the Git server\'s host keys', 'known_hosts lines, e.g. from `ssh-keyscan ssh.dev.azure.com`');
  }
  ctx.log.info(`Flux ${options.version} syncing ${options.source.branch}:${options.source.path}.`);
  throw new NotYetSupportedError('FluxBootstrap', 'install Flux');
});
