import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../shared/kube/client';
import { accessFromKubeconfig } from '../shared/kube/connection';
import { parseManifests } from '../shared/kube/manifests';
import { ResourceManager } from '../shared/kube/resource-manager';
import { platformBinaries } from '../test/platform/binaries';
import { startControlPlane } from '../test/platform/control-plane';
import { median, ratio, table } from './stats';

const OBJECTS = 500;
const NAMESPACES = 5;

/** 500 objects of the kinds a platform repository holds, spread over 5 new namespaces. */
function manifests(prefix: string, changed = 0): string {
  const docs: string[] = [];
  const perNs = (OBJECTS - NAMESPACES) / NAMESPACES;
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `${prefix}-${n}`;
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`);
    for (let i = 0; i < perNs; i++) {
      const v = i < perNs * changed ? 'changed' : 'initial';
      switch (i % 6) {
        case 0: docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${i}, namespace: ${ns}, labels: {app: a${i}}}\ndata: {setting: "${v}", other: "x"}`); break;
        case 1: docs.push(`apiVersion: v1\nkind: Secret\nmetadata: {name: s-${i}, namespace: ${ns}}\nstringData: {password: "${v}"}`); break;
        case 2: docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa-${i}, namespace: ${ns}, annotations: {v: "${v}"}}`); break;
        case 3: docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r-${i}, namespace: ${ns}, annotations: {v: "${v}"}}\nrules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]`); break;
        case 4: docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: svc-${i}, namespace: ${ns}, annotations: {v: "${v}"}}\nspec: {clusterIP: None, selector: {app: a${i}}, ports: [{port: 80, targetPort: 8080}]}`); break;
        default: docs.push(`apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d-${i}, namespace: ${ns}, annotations: {v: "${v}"}}\nspec: {replicas: 1, selector: {matchLabels: {app: a${i}}}, template: {metadata: {labels: {app: a${i}}}, spec: {containers: [{name: c, image: "example.invalid/app:1"}]}}}`);
      }
    }
  }
  return docs.join('\n---\n') + '\n';
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} failed: ${err.slice(0, 500)}`))));
  });
}

/**
 * The engine against `kubectl apply --server-side` (the kubectl built with the platform), on the
 * same API server, in turns: create 500 objects, re-apply them unchanged, re-apply with 10% changed.
 */
export async function applyBenchmark(rounds = 3) {
  const cp = await startControlPlane({ name: 'bench' });
  const dir = mkdtempSync(join(tmpdir(), 'apply-bench-'));
  const kubectl = platformBinaries(['kubectl']).kubectl;
  const env = { ...process.env, KUBECONFIG: cp.kubeconfigPath, KUBECACHEDIR: join(dir, 'kube-cache') };
  const times: Record<string, number[]> = {};
  const record = (k: string, ms: number) => (times[k] ??= []).push(ms);
  try {
    const access = await accessFromKubeconfig(cp.kubeconfigYaml);
    for (let r = 0; r < rounds; r++) {
      for (const tool of ['engine', 'kubectl'] as const) {
        const prefix = `b${r}-${tool}`;
        const phases: [string, string][] = [['create', manifests(prefix)], ['unchanged', manifests(prefix)], ['changed10', manifests(prefix, 0.1)]];
        for (const [phase, text] of phases) {
          if (tool === 'engine') {
            const t0 = performance.now();
            const manager = new ResourceManager(new KubeClient(access));
            const changes = await manager.applyAll(parseManifests(text));
            record(`engine.${phase}`, performance.now() - t0);
            manager.close();
            if (phase === 'unchanged' && changes.changed) throw new Error(`unchanged re-apply changed: ${changes.describe()}`);
          } else {
            const file = join(dir, `${prefix}-${phase}.yaml`);
            writeFileSync(file, text);
            record(`kubectl.${phase}`, await run(kubectl, ['apply', '--server-side', '-f', file], env));
          }
        }
      }
    }
  } finally {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const figures: Record<string, number> = {};
  const rows: (string | number)[][] = [];
  for (const phase of ['create', 'unchanged', 'changed10']) {
    const e = median(times[`engine.${phase}`]);
    const k = median(times[`kubectl.${phase}`]);
    figures[`apply.${phase}.engineMs`] = Math.round(e);
    figures[`apply.${phase}.kubectlMs`] = Math.round(k);
    figures[`apply.${phase}.speedup`] = ratio(k, e);
    rows.push([phase, Math.round(e), Math.round(k), `${ratio(k, e)}x`]);
  }
  console.log(`\napply of ${OBJECTS} mixed objects, median of ${rounds} (goals: at least 3x kubectl on create, at least 10x on unchanged)`);
  console.log(table(['phase', 'engine ms', 'kubectl --server-side ms', 'engine speed-up'], rows));
  return figures;
}
