import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { InputError, TaskError } from '../../shared/pipeline/errors';
import { runTask } from '../../shared/pipeline/run-task';
import { SecretRegistry, secretForms } from '../../shared/pipeline/secrets';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import { isVisible } from '../../shared/pipeline/visible-rule';
import { MemoryAgent } from './memory-agent';

const definition: TaskDefinition = {
  id: '00000000-0000-0000-0000-000000000000',
  name: 'Demo',
  friendlyName: 'Demo task',
  version: { Major: 1, Minor: 2, Patch: 3 },
  groups: [{ name: 'g', displayName: 'G', visibleRule: 'mode != off' }],
  inputs: [
    { name: 'mode', label: 'Mode', type: 'pickList', required: true, options: { on: 'On', off: 'Off' } },
    { name: 'count', label: 'Count', type: 'int', groupName: 'g' },
    { name: 'flag', label: 'Flag', type: 'boolean', groupName: 'g' },
    { name: 'token', label: 'Token', type: 'string', required: true, visibleRule: 'mode = on', helpMarkDown: 'A PAT from a secret variable. More text.' },
    { name: 'list', label: 'List', type: 'multiLine' },
  ],
  outputVariables: [{ name: 'out' }],
};

const run = (inputs: Record<string, string>, body: Parameters<typeof runTask>[2]) => {
  const agent = new MemoryAgent(inputs, { 'Agent.TempDirectory': tmpdir() });
  return runTask(definition, agent, body).then((outcome) => ({ agent, outcome }));
};

describe('visible rules', () => {
  const values: Record<string, string> = { a: 'x', b: 'y', n: '3' };
  const v = (n: string) => values[n] ?? '';
  it.each([
    ['a = x', true], ['a = X', true], ['a != x', false], ['a = x && b = z', false], ['a = z || b = y', true],
    ['a = z && b = y || n > 2', true], ['n <= 2', false], ['a NotEndsWith x', false], ['b Contains y', true], ['c = ""', true], ['a != ""', true], ['c = ', true],
  ])('%s → %s', (rule, expected) => expect(isVisible(rule, v)).toBe(expected));
});

describe('inputs', () => {
  it('enforces required only where the input is visible', async () => {
    const off = await run({ mode: 'off' }, async () => 'done');
    expect(off.outcome.result).toBe('Succeeded');
    const on = await run({ mode: 'on' }, async () => 'done');
    expect(on.outcome).toEqual({ result: 'Failed', message: "Input 'token': 'Token' is required when mode = on. Expected a PAT from a secret variable." });
  });

  it('validates declared types before the body runs', async () => {
    let ran = false;
    const { outcome } = await run({ mode: 'off', count: '3' }, async () => void (ran = true));
    expect(ran).toBe(true);
    const bad = await run({ mode: 'on', token: 't', count: 'three' }, async () => void (ran = false));
    expect(bad.outcome.message).toBe("Input 'count': 'three' is not a whole number. Expected a whole number.");
    expect(outcome.result).toBe('Succeeded');
    const flag = await run({ mode: 'on', token: 't', flag: 'yes' }, async () => undefined);
    expect(flag.outcome.message).toBe("Input 'flag': 'yes' is not a boolean. Expected 'true' or 'false'.");
  });

  it('reads lists, numbers with ranges and secrets', async () => {
    const { agent, outcome } = await run({ mode: 'on', token: 'pat-secret-value', count: '7', list: 'a, b\nc\n\n' }, async (ctx) => {
      expect(ctx.inputs.list('list')).toEqual(['a', 'b', 'c']);
      expect(ctx.inputs.int('count', { min: 1, max: 10 })).toBe(7);
      expect(() => ctx.inputs.int('count', { max: 5 })).toThrow(InputError);
      expect(ctx.inputs.secret('token')).toBe('pat-secret-value');
    });
    expect(outcome.result).toBe('Succeeded');
    expect(agent.secrets).toEqual(expect.arrayContaining(['pat-secret-value', Buffer.from('pat-secret-value').toString('base64')]));
  });
});

describe('secrets', () => {
  it('derives each line of a base64-encoded PEM and skips the armour lines', () => {
    const pem = `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(64)}\n${'B'.repeat(20)}\n-----END PRIVATE KEY-----\n`;
    const forms = secretForms(Buffer.from(pem).toString('base64'));
    expect(forms).toEqual(expect.arrayContaining(['A'.repeat(64), 'B'.repeat(20)]));
    expect(forms.some((f) => f.includes('BEGIN'))).toBe(false);
  });

  it('redacts every registered form from messages', () => {
    const reg = new SecretRegistry(() => undefined);
    reg.add('hunter2-secret');
    expect(reg.redact(`failed with hunter2-secret and ${Buffer.from('hunter2-secret').toString('base64')}`)).toBe('failed with *** and ***');
  });
});

describe('results, outputs and the summary', () => {
  it('ends with one result, sets declared outputs and uploads the summary', async () => {
    const { agent, outcome } = await run({ mode: 'off' }, async (ctx) => {
      ctx.output('out', 'v1');
      expect(() => ctx.output('undeclared', 'x')).toThrow(/not declared/);
      ctx.summary.facts([['Cluster', 'aks-1'], ['Skipped', undefined]]);
      ctx.log.progress(50, 'half way');
      return 'All good.';
    });
    expect(outcome).toEqual({ result: 'Succeeded', message: 'All good.' });
    expect(agent.completed).toEqual(outcome);
    expect(agent.variables.out).toEqual({ value: 'v1', secret: false, output: true });
    expect(agent.progressValues).toEqual([50]);
    const markdown = readFileSync(agent.summaries[0], 'utf8');
    expect(markdown).toContain('### Demo task (Demo@1.2.3)');
    expect(markdown).toContain('| **Cluster** | aks-1 |');
    expect(markdown).not.toContain('Skipped');
  });

  it('shows a TaskError with its hint and no stack; unexpected errors keep the stack in debug only', async () => {
    const known = await run({ mode: 'off' }, async () => {
      throw new TaskError('The subnet is not reachable.', 'Grant Network Contributor on the subnet.');
    });
    expect(known.outcome.message).toBe('The subnet is not reachable. Grant Network Contributor on the subnet.');
    expect(known.agent.log.some((l) => l.includes('    at '))).toBe(false);
    const unexpected = await run({ mode: 'off' }, async () => {
      throw new Error('boom');
    });
    expect(unexpected.outcome.message).toBe('boom');
    expect(unexpected.agent.log.some((l) => l.startsWith('debug: Error: boom'))).toBe(true);
  });

  it('turns the agent\'s SIGINT into an abort and a Cancelled result', async () => {
    const { outcome } = await run({ mode: 'off' }, async (ctx) => {
      setTimeout(() => process.emit('SIGINT', 'SIGINT'), 10);
      await new Promise((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        setTimeout(resolve, 5000);
      });
    });
    expect(outcome.result).toBe('Cancelled');
  });
});
