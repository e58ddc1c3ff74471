import { main } from '../../shared/pipeline/entry';
import { InputError } from '../../shared/pipeline/errors';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import definition from './task.json';
import { readInputs, readSshKey } from './inputs';

main(definition as TaskDefinition, async (ctx) => {
  const o = readInputs(ctx);
  const credential = o.auth === 'token' ? { kind: 'token' as const, username: o.username, password: o.token!, caPem: o.caPem }
    : o.auth === 'ssh' ? { kind: 'ssh' as const, identity: await readSshKey(ctx), knownHosts: o.knownHosts! }
      : { kind: 'none' as const };
  const { clusterAccessFor } = await import('../../shared/connect/cluster-access');
  const { KubeClient } = await import('../../shared/kube/client');
  const { ResourceManager } = await import('../../shared/kube/resource-manager');
  const { bootstrapFlux } = await import('../../shared/flux/bootstrap');
  const { BranchHeadRefused, branchHead } = await import('../../shared/flux/ls-remote');
  const canAskHead = o.auth === 'token' || (o.auth === 'none' && o.sync.url.startsWith('http'));
  const readHead = () => branchHead(o.sync.url, o.sync.branch, o.token ? { username: o.username, password: o.token } : undefined, o.caPem, ctx.signal, ctx.proxy)
    .catch((e: Error) => {
      // A refused token or a missing branch is bad input: said before anything is written.
      if (e instanceof BranchHeadRefused) {
        throw e.reason === 'branch' ? new InputError('gitBranch', `${e.message} (${o.sync.url})`, 'an existing branch of the repository')
          : new InputError(o.auth === 'token' ? 'gitToken' : 'gitUrl', `${e.message} (${o.sync.url})`, 'a token with Code (Read) scope on the repository');
      }
      ctx.log.warning(`Could not read the head of ${o.sync.branch} (${e.message}); waiting for what source-controller fetches.`);
      return undefined;
    });
  const manager = new ResourceManager(new KubeClient(await clusterAccessFor(ctx, o.connection)), { log: ctx.log.debug });
  try {
    // Asked now; bootstrapFlux waits for the answer (briefly) before it writes anything.
    const startHead = canAskHead ? readHead() : undefined;
    startHead?.catch(() => undefined);
    let first = true;
    const r = await bootstrapFlux(manager, {
      ...o, credential, signal: ctx.signal, proxy: ctx.proxy, log: ctx.log.info, warn: ctx.log.warning, progress: ctx.log.progress,
      manifestCache: ctx.agent.variable('Agent.ToolsDirectory'),
      sourceCheck: startHead,
      // What Flux says about the source is the verdict; not reading the head here only means
      // Flux is asked to reconcile and its revision is taken.
      headRevision: canAskHead ? () => {
        const read = first ? startHead! : readHead();
        first = false;
        return read.catch((e: Error) => void ctx.log.warning(`Could not read the head of ${o.sync.branch} (${e.message}).`));
      } : undefined,
    });
    ctx.output('fluxVersion', o.version);
    ctx.output('appliedRevision', r.revision);
    ctx.summary
      .facts([['Flux', `${o.version} (${o.components.join(', ')})`], ['Source', `${o.sync.url} ${o.sync.branch}:${o.sync.path}`],
        ['Revision applied', r.movedFrom ? `${r.revision} (the branch moved on during the run from ${r.movedFrom})` : r.revision],
        ['Images', o.images ? `${r.images.join(', ')}${o.images.pullSecret ? `, pulled with Secret ${o.namespace}/${o.images.pullSecret}` : ''}` : undefined],
        ['Flux objects', r.installChanges.describe()], ['Sync objects', r.syncChanges.describe()], ['Left to Git', r.leftToGit.length ? r.leftToGit.length : undefined]])
      .heading(`Flux objects below ${o.sync.name} (${r.tree.length})`)
      .table(['Object', 'Applied by', 'State', 'Ready after'], r.tree.map((n) => [`${'  '.repeat(n.depth - 1)}${n.ref}`, n.parent, n.state === 'ready' ? 'Ready' : `${n.state}: ${n.message}`, n.readyAfterMs === undefined ? '' : `${(n.readyAfterMs / 1000).toFixed(1)} s`]))
      .heading(`Objects the ${o.sync.name} Kustomization applied (${r.inventory.length})`)
      .list(r.inventory.length ? r.inventory : ['none'])
      .heading('Next steps')
      .list([`Follow Flux: \`flux get kustomizations -n ${o.namespace}\`; events: \`kubectl -n ${o.namespace} get events --field-selector involvedObject.name=${o.sync.name}\`.`]);
    return `Flux ${o.version} applied ${r.revision} from ${o.sync.branch}:${o.sync.path}.`;
  } finally {
    manager.close();
  }
});
