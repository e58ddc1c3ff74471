import type { TaskContext } from '../../shared/pipeline/task-context';
import type { ChangeSet } from '../../shared/kube/changeset';
import type { RegisterResult } from '../../shared/systems/register';
import type { SystemSpec } from '../../shared/systems/system';
import type { readInputs } from './inputs';

type Inputs = ReturnType<typeof readInputs>;

/** The system as the shared code models it (deregistration needs only its name). */
export function specOf(o: Inputs): SystemSpec {
  if (o.action === 'deregister') {
    return { name: o.systemName, namespace: o.systemName, clusterRole: '', podSecurity: 'baseline', source: { url: '', branch: '', path: '', interval: '' } };
  }
  return {
    name: o.systemName,
    namespace: o.namespace,
    clusterRole: o.clusterRole,
    entraGroup: o.entraGroup,
    podSecurity: o.podSecurity,
    source: { url: '', branch: o.systemBranch, path: o.systemPath, interval: o.interval },
    alerts: o.alerts && { provider: o.alerts.provider, channel: o.alerts.channel, severity: o.alerts.severity },
  };
}

/** Outputs, the run summary and the closing message. */
export function report(ctx: TaskContext, o: Inputs, r: RegisterResult, applied?: { changes: ChangeSet; revision?: string }): string {
  const changed = r.changes.length > 0 && Boolean(r.commitId);
  const pr = r.pullRequest;
  if (r.repository) ctx.output('repositoryUrl', r.repository.remoteUrl);
  ctx.output('commitId', r.commitId ?? '');
  ctx.output('pullRequestId', pr ? String(pr.id) : '');
  ctx.output('pullRequestUrl', pr?.url ?? '');
  ctx.output('changed', String(changed));
  const where = `${o.platformRepository}/${r.folder}`;
  const written = !changed ? 'nothing (already as the inputs say)'
    : pr ? `pull request ${pr.id}${pr.created ? ' (opened)' : ' (updated)'}${pr.autoComplete ? ', auto-complete set' : ''}: ${pr.url}`
      : `commit ${r.commitId} on ${o.platformBranch}`;
  for (const line of r.changes) ctx.log.info(`  ${line}`);
  ctx.summary
    .facts([['System', `${o.systemName}${o.action === 'deregister' ? ' (deregistered)' : ''}`], ['Platform repository', `${where} on ${o.platformBranch}`], ['Written', written],
      ['System repository', r.repository ? `${r.repository.remoteUrl}${r.repositoryCreated ? ' (created)' : ''}${r.starterCommit ? `, starter layout ${r.starterCommit.slice(0, 12)}` : ''}` : undefined],
      ['Applied now', applied ? `${applied.changes.describe()}; Flux applied ${applied.revision ?? 'the team repository'}` : undefined]])
    .heading('Changes')
    .list(r.changes.length ? r.changes : ['none'])
    .heading('Next steps')
    .list(nextSteps(o, r, changed));
  if (o.action === 'deregister') return changed ? `Deregistered ${o.systemName}: ${written}. Flux's prune removes its namespace once this reaches ${o.platformBranch}.` : `${o.systemName} is not registered in ${where}; nothing to do.`;
  return changed ? `Registered ${o.systemName}: ${written}.` : `${o.systemName} is registered as the inputs say; nothing changed.`;
}

function nextSteps(o: Inputs, r: RegisterResult, changed: boolean): string[] {
  const steps: string[] = [];
  if (r.pullRequest && !r.pullRequest.autoComplete) steps.push(`Review and complete pull request ${r.pullRequest.id}: ${r.pullRequest.url}`);
  if (o.action === 'register') {
    steps.push(`The team pushes manifests to ${o.systemRepository} (${o.systemBranch}:${o.systemPath}); the README there says what they may create and how to seal secrets.`);
    steps.push(`Follow the system: \`flux get kustomizations -n ${o.namespace}\`; events: \`kubectl -n ${o.namespace} get events --field-selector involvedObject.kind=Kustomization\`.`);
  } else if (changed) {
    steps.push(`After Flux reconciles, \`kubectl get namespace ${o.systemName}\` says NotFound. The repository ${o.systemRepository} is kept.`);
  }
  return steps;
}
