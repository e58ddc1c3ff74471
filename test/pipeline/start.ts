// `npm start`: the bootstrap example end to end on this machine.
//   npx tsx test/pipeline/start.ts [--keep] [--pipeline <file>] [--node node20|node24]
// Starts the Azure emulators (each AKS cluster a full local cluster running the real Flux and
// Sealed Secrets controllers), a git server holding examples/platform-components and a server
// for the release files; makes a sealing key pair; runs examples/bootstrap.yml through the local
// runner; each team then pushes a small workload, and it ends with the zero-to-hero table
// (zero-to-hero.ts); prints where to look; stops everything, or with --keep runs until Ctrl-C, leaving the
// environment files so `npm run pipeline -- <file>` can run other examples against it.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildAll } from '../platform/bins/build.mjs';
import { startReleaseServer } from '../platform/release-server';
import { parsePipeline } from './definition';
import { writePrivateJson } from './environment';
import { startLocalStack } from './local-stack';
import { localStackDir, repoRoot } from './run-file';
import { zeroToHero, zeroToHeroReport } from './zero-to-hero';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const keep = args.includes('--keep');
const pipelineFile = resolve(option('--pipeline') ?? join(repoRoot, 'examples', 'bootstrap.yml'));
const node = option('--node') === 'node24' ? 'node24' : 'node20';
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const binaries = await buildAll();
  const stopping: { stop(): Promise<void> }[] = [];
  const stateDir = localStackDir();
  const stopAll = async () => {
    for (const s of stopping.reverse()) await s.stop().catch((e: unknown) => process.stderr.write(`while stopping: ${String(e)}\n`));
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const releases = await startReleaseServer();
    stopping.push(releases);
    const stack = await startLocalStack({
      pipelines: [parsePipeline(readFileSync(pipelineFile, 'utf8'))],
      releasesBaseUrl: releases.baseUrl,
      platformRepository: { name: 'platform-components', dir: join(repoRoot, 'examples', 'platform-components') },
    });
    stopping.push(stack);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writePrivateJson(join(stateDir, 'environment.json'), stack.environment);
    writePrivateJson(join(stateDir, 'variables.json'), { ...stack.pipelineVariables, localValues: stack.overrides });
    // A checkout of the platform repository, for pipelines that live in it (checkout: self), as
    // the agent leaves it with persistCredentials: promote.yml fetches and compares its branches.
    const checkout = join(stateDir, 'platform-components');
    rmSync(checkout, { recursive: true, force: true });
    await stack.repos.checkout('platform-components', checkout);
    say(`Local Azure: Entra ID ${stack.emulators.entra.url}, ARM ${stack.emulators.arm.url}, Azure DevOps ${stack.emulators.devops.collectionUrl}`);
    say(`Landing zone: subscription ${stack.landingZone.subscriptionId}, subnet ${stack.landingZone.subnets.map((s) => s.id).join(', ')}`);
    say(`Service connection ${Object.keys(stack.environment.serviceConnections).join(', ')} (workload identity federation); platform repository ${stack.platformRepositoryUrl}`);
    say(`Sealing key pair: made with openssl, in the variable group ${Object.keys(stack.environment.variableGroups ?? {}).join(', ')} (secret sealedSecretsKey, certificate sealedSecretsCert)`);
    say();

    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    process.once('SIGINT', onInterrupt);
    const hero = await zeroToHero(stack, { pipelineFile, kubeseal: binaries.kubeseal, node, signal: controller.signal });
    process.off('SIGINT', onInterrupt);
    const code = ['Failed', 'Canceled'].includes(hero.run.result) || (hero.systems.length > 0 && hero.ms === undefined) ? 1 : 0;

    say();
    for (const { resourceGroup, name } of stack.landingZone.clusters) {
      const cluster = stack.clusters.cluster(resourceGroup, name);
      if (!cluster) {
        say(`Cluster ${name}: not running (the pipeline did not create it).`);
        continue;
      }
      say(`Cluster ${name} (resource group ${resourceGroup}): ${cluster.info.server}`);
      say(`  KUBECONFIG=${cluster.info.kubeconfigPath}   (cluster admin; the pipeline's own Entra kubeconfig was removed with the job)`);
      say(`  controllers: ${cluster.kubelet.runtimes().map((r) => `${r.namespace}/${r.name}${r.ready ? '' : ' (not ready)'}`).join(', ') || 'none'}`);
      say(`  logs: ${cluster.info.logs.controllers} (controllers), ${cluster.info.logs.apiserver} (API server)`);
    }
    say(`Platform repository: ${stack.platformRepositoryUrl} (Azure Repos emulator; bare repos in ${stack.emulators.devops.reposRoot})`);
    for (const line of zeroToHeroReport(hero)) say(line);
    if (!keep) {
      say('Stopping everything (npm start -- --keep leaves it running).');
      return code;
    }
    say(`Environment for more pipelines: ${stateDir}`);
    say('  npm run pipeline -- examples/bootstrap.yml                 (again: changes nothing)');
    say('  npm run pipeline -- examples/recreate-for-upgrade.yml      (a new cluster; Git brings everything back)');
    say(`  npm run pipeline -- examples/register-system.yml --sources ${checkout}`);
    say(`  npm run pipeline -- examples/promote.yml --var promoteTo=test --sources ${checkout}   (dev -> test by fast-forward)`);
    say('Running until Ctrl-C.');
    await new Promise<void>((done) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => done());
    });
    say('stopping...');
    return code;
  } finally {
    await stopAll();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
