import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { shapeInstall } from '../shared/flux/install-manifests';
import { sourceSecret, syncObjects } from '../shared/flux/sync';
import { parseManifests } from '../shared/kube/manifests';
import type { KubeObject } from '../shared/kube/objects';
import { prepareControllerManifests } from '../shared/sealed-secrets/install';
import { shortId } from '../shared/sealed-secrets/key-pair';
import { keySecret } from '../shared/sealed-secrets/key-secret';
import { platformBinaries } from '../test/platform/binaries';
import { PLATFORM_BRANCH } from '../test/pipeline/local-stack';
import { BOOTSTRAP, startLocalBootstrap, type LocalBootstrap } from './local-bootstrap';
import { median, ratio, table } from './stats';

const BOOTSTRAP_STEPS = ['AksBootstrap@1', 'InstallSealedSecrets@1', 'FluxBootstrap@1'];

type Step = { task?: string; checkout?: string; inputs?: Record<string, string> };

/** examples/bootstrap.yml cut down: its bootstrap steps; its cluster step alone; that cluster deleted. */
function pipelines(dir: string) {
  const definition = parse(readFileSync(BOOTSTRAP, 'utf8')) as { steps: Step[] };
  const aks = definition.steps.find((s) => s.task === 'AksBootstrap@1')!;
  const write = (name: string, steps: Step[]) => {
    const file = join(dir, name);
    writeFileSync(file, stringify({ ...definition, steps }));
    return file;
  };
  return {
    bootstrap: write('bootstrap-steps.yml', definition.steps.filter((s) => s.checkout || BOOTSTRAP_STEPS.includes(s.task ?? ''))),
    clusterOnly: write('cluster.yml', definition.steps.filter((s) => s.checkout || s.task === 'AksBootstrap@1')),
    remove: write('delete.yml', [{ checkout: 'none' }, { task: 'AksBootstrap@1', inputs: {
      azureSubscription: aks.inputs!.azureSubscription, mode: 'delete', resourceGroup: aks.inputs!.resourceGroup, clusterName: aks.inputs!.clusterName,
    } }]),
  };
}

const list = (items: KubeObject[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/**
 * The files the platform team's script applies: the same objects the tasks apply (the sealing
 * key Secret, the release's controller.yaml with the renewal flags, Flux's install.yaml with the
 * chosen components and the lockdown, the credential Secret, GitRepository and Kustomization).
 */
async function scriptFiles(b: LocalBootstrap, dir: string) {
  const text = async (url: string) => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return res.text();
  };
  const { certPem, keyPem } = b.stack.keyPair;
  const controller = prepareControllerManifests(parseManifests(await text(b.releases.urls.sealedSecretsController)), {
    namespace: 'kube-system', controllerName: 'sealed-secrets-controller', keyRenewPeriod: '0',
  }, shortId(certPem));
  const flux = shapeInstall(parseManifests(await text(b.releases.urls.fluxInstall)), {
    components: ['source-controller', 'kustomize-controller', 'notification-controller'], namespace: 'flux-system', multiTenancy: true, defaultServiceAccount: 'default',
  });
  const secret = sourceSecret('flux-system', 'flux-system', { kind: 'token', username: 'git', password: b.stack.fluxReaderToken })!;
  const sync = syncObjects({
    name: 'flux-system', namespace: 'flux-system', url: b.stack.platformRepositoryUrl, branch: PLATFORM_BRANCH, path: './clusters/dev', interval: '1m',
    secretName: secret.metadata.name, serviceAccountName: 'kustomize-controller',
  });
  const files = {
    key: join(dir, 'sealed-secrets-key.json'),
    controller: join(dir, 'controller.json'),
    flux: join(dir, 'flux-install.json'),
    sync: join(dir, 'flux-sync.json'),
  };
  writeFileSync(files.key, list([keySecret(certPem, keyPem, 'kube-system') as unknown as KubeObject]), { mode: 0o600 });
  writeFileSync(files.controller, list(controller.objects));
  writeFileSync(files.flux, list(flux.objects));
  writeFileSync(files.sync, list([secret, ...sync]), { mode: 0o600 });
  return files;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.slice(0, 500)}`))));
  });
}

/** The script: kubectl apply, kubectl wait for the conditions the tasks wait for, kubeseal --fetch-cert for the served certificate. */
async function script(files: Awaited<ReturnType<typeof scriptFiles>>, kubeconfig: string, dir: string, certPem: string): Promise<void> {
  const { kubectl, kubeseal } = platformBinaries(['kubectl', 'kubeseal']);
  const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, `cache-${Date.now()}`) };
  const k = (...args: string[]) => run(kubectl, args, env);
  await k('apply', '--server-side', '-f', files.key);
  await k('apply', '--server-side', '-f', files.controller);
  await k('-n', 'kube-system', 'wait', '--for=condition=Available', 'deployment/sealed-secrets-controller', '--timeout=5m');
  const served = await run(kubeseal, ['--fetch-cert', '--controller-name', 'sealed-secrets-controller', '--controller-namespace', 'kube-system'], env);
  if (served.trim() !== certPem.trim()) throw new Error('the controller does not serve the brought certificate');
  await k('apply', '--server-side', '-f', files.flux);
  await k('-n', 'flux-system', 'wait', '--for=condition=Available', 'deployment', '--all', '--timeout=5m');
  await k('apply', '--server-side', '-f', files.sync);
  await k('-n', 'flux-system', 'wait', '--for=condition=Ready', 'kustomization/flux-system', '--timeout=5m');
  await k('-n', 'flux-system', 'wait', '--for=condition=Ready', 'kustomizations', '--all', '--timeout=5m');
}

/**
 * The bootstrap steps of examples/bootstrap.yml (a new cluster, the brought sealing key and the
 * controller, Flux on clusters/dev until everything it applies is Ready) against the platform
 * team's script doing the same with kubectl and kubeseal on the same files. Each turn starts from
 * a cluster of its own, created by the same AksBootstrap step (the script's `az aks create`);
 * turns alternate, and each cluster is deleted after its turn.
 */
export async function scriptBenchmark(rounds = 3) {
  const b = await startLocalBootstrap();
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-bench-'));
  chmodSync(dir, 0o700);
  const { resourceGroup } = b.stack.landingZone.clusters[0]!;
  const times = { ours: [] as number[], script: [] as number[], oursCluster: [] as number[], scriptCluster: [] as number[] };
  try {
    const files = await scriptFiles(b, dir);
    const p = pipelines(dir);
    const duration = (steps: { reference: string; durationMs: number }[], refs: string[]) => steps.filter((s) => refs.includes(s.reference)).reduce((sum, s) => sum + s.durationMs, 0);
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 ? ['script', 'ours'] as const : ['ours', 'script'] as const) {
        const clusterName = `aks-bench-${side}-${r}`;
        if (side === 'ours') {
          const { run: ours } = await b.run(p.bootstrap, { clusterName });
          times.ours.push(duration(ours.steps, BOOTSTRAP_STEPS));
          times.oursCluster.push(duration(ours.steps, BOOTSTRAP_STEPS.slice(1)));
        } else {
          const { run: created } = await b.run(p.clusterOnly, { clusterName });
          const cluster = b.stack.clusters.cluster(resourceGroup, clusterName);
          if (!cluster) throw new Error(`cluster ${clusterName} is not running`);
          const t0 = performance.now();
          await script(files, cluster.info.kubeconfigPath, dir, b.stack.keyPair.certPem);
          const ms = performance.now() - t0;
          times.script.push(duration(created.steps, ['AksBootstrap@1']) + ms);
          times.scriptCluster.push(ms);
        }
        await b.run(p.remove, { clusterName });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await b.stop();
  }
  const whole = ratio(median(times.ours), median(times.script));
  const inCluster = ratio(median(times.oursCluster), median(times.scriptCluster));
  console.log(`\nbootstrap: the pipeline's steps against the same steps as a script (kubectl apply, kubectl wait, kubeseal), median of ${rounds} (goal: ratio at most 1.0)`);
  console.log(table(['part', 'pipeline ms', 'script ms', 'pipeline/script'], [
    ['cluster, Sealed Secrets, Flux', Math.round(median(times.ours)), Math.round(median(times.script)), whole],
    ['Sealed Secrets and Flux only', Math.round(median(times.oursCluster)), Math.round(median(times.scriptCluster)), inCluster],
  ]));
  return {
    'bootstrap.pipelineMs': Math.round(median(times.ours)),
    'bootstrap.scriptMs': Math.round(median(times.script)),
    'bootstrap.ratio': whole,
    'bootstrap.inCluster.ratio': inCluster,
    'bootstrap.goalMet': whole <= 1,
  };
}
