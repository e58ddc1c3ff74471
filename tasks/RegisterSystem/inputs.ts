import { readFileSync } from 'node:fs';
import { readClusterConnection } from '../../shared/pipeline/cluster-connection-inputs';
import { InputError } from '../../shared/pipeline/errors';
import type { TaskContext } from '../../shared/pipeline/task-context';
import { dnsLabel, goDuration, httpUrl } from '../../shared/pipeline/validate';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REPO_NAME = /^[^/\\:*?"<>|;#$@&+,=%\s.][^/\\:*?"<>|;#$@&+,=%]{0,62}$/;
const BRANCH = /^(?!\/|.*\/\/|.*\.\.|.*@\{|.*[\s~^:?*[\\])[^\0]+(?<![/.])$/;

/** The inputs of RegisterSystem, checked and typed; nothing here reaches a server. */
export function readInputs(ctx: TaskContext) {
  const { inputs: i } = ctx;
  const action = (i.choice('action') ?? 'register') as 'register' | 'deregister';
  const systemName = dnsLabel(i.required('systemName'), 'systemName');
  const delivery = {
    organizationUrl: httpUrl(i.required('organizationUrl'), 'organizationUrl', ['https:']).toString(),
    project: i.required('project'),
    accessToken: i.secret('accessToken')!,
    platformRepository: repositoryName(i.required('platformRepository'), 'platformRepository'),
    platformBranch: branch(i.required('platformBranch'), 'platformBranch'),
    systemsFolder: folder(i.required('systemsFolder'), 'systemsFolder'),
    changeMode: (i.choice('changeMode') ?? 'commit') as 'commit' | 'pullRequest',
    autoComplete: i.bool('autoComplete'),
  };
  if (action === 'deregister') {
    const confirmation = i.required('confirmDeletion');
    if (confirmation !== systemName) {
      throw new InputError('confirmDeletion', `'${confirmation}' does not repeat the system name; deregistering deletes namespace ${systemName} and everything in it once Flux reconciles`, `exactly '${systemName}'`);
    }
    return { action, systemName, ...delivery, systemRepository: i.string('systemRepository') ?? systemName };
  }
  const alertProvider = (i.choice('alertProvider') ?? 'none') as 'none' | 'msteams' | 'slack' | 'generic';
  const groupId = i.string('entraGroupObjectId');
  if (groupId && !GUID.test(groupId)) throw new InputError('entraGroupObjectId', `'${groupId}' is not an object ID`, 'the GUID of the Entra ID group (Object ID on the group\'s overview page)');
  const certPath = i.filePath('sealingCertificate')!;
  return {
    action,
    systemName,
    ...delivery,
    namespace: dnsLabel(i.string('namespace') ?? systemName, 'namespace'),
    clusterRole: roleName(i.required('clusterRole'), 'clusterRole'),
    entraGroup: groupId ? { objectId: groupId, clusterRole: roleName(i.string('entraGroupClusterRole') ?? 'view', 'entraGroupClusterRole') } : undefined,
    podSecurity: (i.choice('podSecurity') ?? 'baseline') as 'baseline' | 'restricted',
    interval: goDuration(i.string('syncInterval') ?? '5m', 'syncInterval'),
    systemRepository: repositoryName(i.string('systemRepository') ?? systemName, 'systemRepository'),
    createRepository: i.bool('createRepository'),
    systemBranch: branch(i.required('systemBranch'), 'systemBranch'),
    systemPath: folder(i.required('systemPath'), 'systemPath'),
    systemReadToken: i.secret('systemReadToken')!,
    certPem: readFileSync(certPath, 'utf8'),
    sealingScope: (i.choice('sealingScope') ?? 'strict') as 'strict' | 'namespace-wide' | 'cluster-wide',
    contact: i.string('platformContact') ?? 'the platform team',
    alerts: alertProvider === 'none' ? undefined : {
      provider: alertProvider,
      webhookUrl: httpUrl(i.secret('alertWebhookUrl')!, 'alertWebhookUrl', ['https:']).toString(),
      channel: alertProvider === 'slack' ? i.string('alertChannel') : undefined,
      severity: (i.choice('alertSeverity') ?? 'error') as 'info' | 'error',
    },
    applyNow: i.bool('applyNow') ? { connection: readClusterConnection(ctx), timeoutMs: (i.int('timeoutMinutes', { min: 1, max: 120 }) ?? 10) * 60_000 } : undefined,
  };
}

export type RegisterInputs = Extract<ReturnType<typeof readInputs>, { action: 'register' }>;

function repositoryName(value: string, input: string): string {
  if (!REPO_NAME.test(value)) throw new InputError(input, `'${value}' is not a repository name`, 'an Azure Repos repository name (no slashes, no leading dot or underscore, at most 64 characters)');
  return value;
}

function branch(value: string, input: string): string {
  const name = value.replace(/^refs\/heads\//, '');
  if (!BRANCH.test(name)) throw new InputError(input, `'${value}' is not a branch name`, 'a branch such as main (refs/heads/ may be left out)');
  return name;
}

function folder(value: string, input: string): string {
  if (value.split('/').includes('..') || /[\\:*?"<>|]/.test(value)) throw new InputError(input, `'${value}' is not a folder of the repository`, 'a relative path such as systems/dev or ./deploy');
  return value;
}

function roleName(value: string, input: string): string {
  if (!/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/.test(value)) throw new InputError(input, `'${value}' is not a ClusterRole name`, 'the name of a ClusterRole, e.g. system-tenant or view');
  return value;
}
