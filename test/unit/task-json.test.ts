import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const tasks = readdirSync(join(root, 'tasks'));
const load = (t: string) => JSON.parse(readFileSync(join(root, 'tasks', t, 'task.json'), 'utf8'));

describe('task.json', () => {
  it('declares the four tasks at major 1', () => {
    expect(tasks.sort()).toEqual(['AksBootstrap', 'FluxBootstrap', 'InstallSealedSecrets', 'RegisterSystem']);
    for (const t of tasks) expect(load(t)).toMatchObject({ name: t, version: { Major: 1 } });
  });

  it.each(tasks)('%s: Node24 and Node20_1 handlers only, help on every input, valid rules', (t) => {
    const def = load(t);
    expect(Object.keys(def.execution).sort()).toEqual(['Node20_1', 'Node24']);
    expect(def.friendlyName.length).toBeLessThanOrEqual(40);
    const names = new Set(def.inputs.map((i: { name: string }) => i.name));
    const groups = new Set(def.groups.map((g: { name: string }) => g.name));
    for (const input of def.inputs) {
      expect(input.helpMarkDown, input.name).toBeTruthy();
      expect(groups.has(input.groupName), `${input.name} group`).toBe(true);
      for (const ref of (input.visibleRule ?? '').match(/[A-Za-z]+(?=\s*(!=|=|<|>|\s(Not)?(Contains|StartsWith|EndsWith)))/g) ?? []) {
        expect(names.has(ref), `${input.name} visibleRule refers to ${ref}`).toBe(true);
      }
    }
    for (const b of def.dataSourceBindings ?? []) expect(names.has(b.target), b.target).toBe(true);
  });

  it('the three cluster tasks share one cluster-connection group', () => {
    const group = (t: string) => load(t).inputs.filter((i: { groupName: string }) => i.groupName === 'connection');
    const bindings = (t: string) => load(t).dataSourceBindings;
    const [first, ...rest] = ['InstallSealedSecrets', 'FluxBootstrap', 'RegisterSystem'];
    expect(group(first).map((i: { name: string }) => i.name)).toEqual(['connectionType', 'azureSubscription', 'azureResourceGroup', 'kubernetesCluster', 'useClusterAdmin', 'kubernetesServiceConnection', 'kubeconfig', 'kubeContext']);
    for (const t of rest) {
      expect(group(t)).toEqual(group(first));
      expect(bindings(t)).toEqual(bindings(first));
    }
  });
});
