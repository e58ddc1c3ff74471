// The local pipeline runner's own logic, without tasks or a platform: YAML parsing, variables and
// macro expansion, conditions, step order, output variables, service connections, masking. The
// tasks here are stand-ins that print what a real task prints; the catalog is the real task.json files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseOutput, type RunOptions, type RunResult } from '../agent/harness';
import { evaluateCondition, type JobStatus } from '../pipeline/conditions';
import { parsePipeline } from '../pipeline/definition';
import type { LocalEnvironment } from '../pipeline/environment';
import { renderLine, renderStepLog } from '../pipeline/render';
import { runPipeline, type RunPipelineOptions } from '../pipeline/runner';
import { validateStep } from '../pipeline/step-inputs';
import { taskCatalog } from '../pipeline/task-catalog';
import { VariableStore } from '../pipeline/variables';

const catalog = taskCatalog(join(__dirname, '..', '..'));
const ARM_ID = '0b5c6f7e-0000-4000-8000-0000000000a1';
const environment: LocalEnvironment = {
  serviceConnections: { 'sc-platform-dev': { id: ARM_ID, type: 'azurerm', url: 'https://arm.local/', scheme: 'ServicePrincipal', params: { serviceprincipalkey: 'spn-secret-value' } } },
  secureFiles: { 'sealing-key.pem': { id: 'f1e2d3c4-0000-4000-8000-000000000001', ticket: 'ticket-1' } },
  systemVariables: { 'System.CollectionUri': 'https://devops.local/org/', 'System.TeamProject': 'platform' },
  accessToken: 'job-access-token-value',
  env: { NODE_EXTRA_CA_CERTS: '/ca.pem' },
};

type FakeTask = (o: RunOptions) => { lines: string[]; exitCode?: number };

/** A runTask stand-in: each task prints what the fake says; every call is recorded. */
function fakeAgent(tasks: Record<string, FakeTask>) {
  const calls: RunOptions[] = [];
  const runTask = async (o: RunOptions): Promise<RunResult> => {
    calls.push(o);
    const { lines, exitCode = 0 } = (tasks[o.task] ?? (() => ({ lines: ['##vso[task.complete result=Succeeded;]done'] })))(o);
    const stdout = lines.join('\n');
    return { exitCode, stdout, stderr: '', tempDir: mkdtempSync(join(tmpdir(), 'fake-agent-')), ...parseOutput(stdout) };
  };
  return { calls, runTask };
}

async function run(yaml: string, tasks: Record<string, FakeTask>, extra: Partial<RunPipelineOptions> = {}) {
  const agent = fakeAgent(tasks);
  const lines: string[] = [];
  const result = await runPipeline({
    definition: parsePipeline(yaml), label: 'test.yml', catalog, environment, sourcesDirectory: tmpdir(),
    runTask: agent.runTask, out: (l) => lines.push(l), ...extra,
  });
  return { ...result, calls: agent.calls, log: lines.join('\n'), lines };
}

const succeed = (...lines: string[]): FakeTask => () => ({ lines: [...lines, '##vso[task.complete result=Succeeded;]done'] });

const BOOTSTRAP = `
variables:
  - name: clusterName
    value: aks-dev
  - name: resourceGroup
    value: rg-$(environment)
  - name: environment
    value: dev
steps:
  - task: AksBootstrap@1
    name: aks
    inputs:
      azureSubscription: sc-platform-dev
      resourceGroup: $(resourceGroup)
      clusterName: $(clusterName)
      location: westeurope
      subnetId: /subscriptions/x/subnet
      entraId: true
      systemPoolCount: 3
  - task: InstallSealedSecrets@1
    inputs:
      connectionType: kubeconfig
      kubeconfig: $(aks.kubeconfigPath)
      privateKey: $(sealedSecretsKey)
      certificate: $(sealedSecretsCert)
  - task: FluxBootstrap@1
    displayName: Flux on $(clusterName)
    inputs:
      connectionType: kubeconfig
      kubeconfig: $(aks.kubeconfigPath)
      gitUrl: $(platformRepoUrl)
      gitToken: $(fluxGitToken)
`;

describe('parsePipeline', () => {
  it('reads variables in both forms, task references, and stringifies YAML scalars as the agent sees them', () => {
    const list = parsePipeline(BOOTSTRAP);
    expect(list.variables.map((v) => [v.name, v.value])).toEqual([['clusterName', 'aks-dev'], ['resourceGroup', 'rg-$(environment)'], ['environment', 'dev']]);
    const aks = list.steps[0] as { task: string; major: number; name: string; inputs: Record<string, string>; condition: string };
    expect(aks).toMatchObject({ task: 'AksBootstrap', major: 1, name: 'aks', condition: 'succeeded()' });
    expect(aks.inputs.entraId).toBe('true');
    expect(aks.inputs.systemPoolCount).toBe('3');
    const mapping = parsePipeline('variables:\n  a: 1\n  b: x\nsteps:\n  - task: FluxBootstrap@1\n');
    expect(mapping.variables).toEqual([{ name: 'a', value: '1', readonly: false }, { name: 'b', value: 'x', readonly: false }]);
  });

  it('reads schedules and refuses a cron without five fields', () => {
    const scheduled = parsePipeline('trigger: none\nschedules:\n  - cron: "0 3 * * 6"\n    displayName: weekly\n    branches: {include: [main]}\n    always: true\nsteps:\n  - task: AksBootstrap@1\n');
    expect(scheduled.schedules).toEqual([{ cron: '0 3 * * 6', displayName: 'weekly', branches: ['main'], always: true }]);
    expect(scheduled.trigger).toBe('none');
    expect(() => parsePipeline('schedules:\n  - cron: "0 3 * *"\nsteps:\n  - task: AksBootstrap@1\n')).toThrow(/five fields/);
  });

  it.each([
    ['jobs:\n  - job: a\n', /jobs are not supported/],
    ['steps:\n  - script: echo hi\n', /'script' steps are not supported/],
    ['steps:\n  - task: AksBootstrap\n', /must be <TaskName>@<major>/],
    ['steps:\n  - task: AksBootstrap@1\n    name: my-step\n', /only letters, digits and '_'/],
    ['steps:\n  - {task: AksBootstrap@1, name: a}\n  - {task: FluxBootstrap@1, name: A}\n', /already the name of step 1/],
    ['steps:\n  - task: AksBootstrap@1\n    retries: 2\n', /unexpected key 'retries'/],
    ['variables:\n  - group: secrets\n    name: x\nsteps:\n  - task: AksBootstrap@1\n', /unexpected key 'name' next to 'group'/],
    ['variables:\n  Build.Reason: x\nsteps:\n  - task: AksBootstrap@1\n', /predefined variable/],
    ['steps:\n  - task: AksBootstrap@1\n    inputs:\n      clusterName: ${{ parameters.name }}\n', /template expressions/],
    ['steps: []\n', /non-empty list/],
  ])('refuses %j', (yaml, message) => {
    expect(() => parsePipeline(yaml)).toThrow(message);
  });
});

describe('variables and macros', () => {
  it('are case-insensitive, expand recursively, leave unknown macros and cycles as written', () => {
    const v = new VariableStore();
    v.set('Environment', 'dev');
    v.set('resourceGroup', 'rg-$(environment)');
    v.set('a', '$(b)');
    v.set('b', '$(a)');
    expect(v.value('RESOURCEGROUP')).toBe('rg-dev');
    expect(v.expand('$(resourcegroup)/$(missing)/$(Environment)')).toEqual({ text: 'rg-dev/$(missing)/dev', unresolved: ['missing'], usedSecrets: false });
    expect(v.expand('$(a)').text).toMatch(/^\$\((a|b)\)$/);
  });

  it('keep read-only values and hand secrets to tasks apart from public variables', () => {
    const v = new VariableStore();
    v.set('fixed', 'one', { readonly: true });
    expect(v.set('FIXED', 'two')).toBe(false);
    v.set('token', 's3cret-value', { secret: true });
    expect(v.forTask()).toEqual({ variables: { fixed: 'one' }, secretVariables: { token: 's3cret-value' } });
    expect(v.expand('$(token)').usedSecrets).toBe(true);
  });
});

describe('conditions', () => {
  const ctx = (status: JobStatus, vars: Record<string, string> = {}) => ({ status, variable: (n: string) => vars[n.toLowerCase()] });
  it.each<[string, JobStatus, Record<string, string>, boolean]>([
    ['succeeded()', 'succeeded', {}, true],
    ['succeeded()', 'succeededWithIssues', {}, true],
    ['succeeded()', 'failed', {}, false],
    ['failed()', 'failed', {}, true],
    ['always()', 'canceled', {}, true],
    ['succeededOrFailed()', 'failed', {}, true],
    ['succeededOrFailed()', 'canceled', {}, false],
    ["and(succeeded(), eq(variables['Build.Reason'], 'schedule'))", 'succeeded', { 'build.reason': 'Schedule' }, true],
    ["and(succeeded(), ne(variables['build.reason'], 'Schedule'))", 'succeeded', { 'build.reason': 'Schedule' }, false],
    ["or(eq(variables.mode, 'recreate'), not(true))", 'succeeded', { mode: 'RECREATE' }, true],
    ["in(variables['env'], 'dev', 'test')", 'succeeded', { env: 'prod' }, false],
    ["eq(variables['missing'], '')", 'succeeded', {}, true],
    ["eq(variables['count'], 3)", 'succeeded', { count: '3' }, true],
    ["'it''s'", 'succeeded', {}, true],
  ])('%s with the job %s is %s', (condition, status, vars, expected) => {
    expect(evaluateCondition(condition, ctx(status, vars))).toBe(expected);
  });

  it.each(['succeeded(', 'bogus()', "eq('a' 'b')", 'succeeded() extra', 'failed(previousJob)'])('refuses %s', (condition) => {
    expect(() => evaluateCondition(condition, ctx('succeeded'))).toThrow();
  });
});

describe('runPipeline', () => {
  const pipelineVariables = { variables: { sealedSecretsCert: 'Y2VydA==', platformRepoUrl: 'https://from-settings', clusterName: 'from-settings' }, secrets: { sealedSecretsKey: 'a2V5LXNlY3JldC1tYXRlcmlhbA==', fluxGitToken: 'git-token-secret' } };

  it('runs the steps in order, wiring output variables, variables, secrets and the service connection', async () => {
    const r = await run(BOOTSTRAP, {
      AksBootstrap: succeed('Cluster aks-dev created.', '##vso[task.setvariable variable=kubeconfigPath;isOutput=true;issecret=false]/agent/temp/kubeconfig-aks-dev'),
      InstallSealedSecrets: succeed('##vso[task.setprogress value=50;]Waiting for the controller'),
    }, { pipelineVariables, overrides: { platformRepoUrl: 'http://127.0.0.1:1234/platform.git' } });

    expect(r.result).toBe('Succeeded');
    expect(r.calls.map((c) => c.task)).toEqual(['AksBootstrap', 'InstallSealedSecrets', 'FluxBootstrap']);
    const [aks, seal, flux] = r.calls as [RunOptions, RunOptions, RunOptions];
    // YAML wins over the pipeline settings; nested macros expand; YAML scalars arrive as strings.
    expect(aks.inputs).toMatchObject({ clusterName: 'aks-dev', resourceGroup: 'rg-dev', entraId: 'true', systemPoolCount: '3' });
    // The connection's name became its id, and its details travel as an endpoint.
    expect(aks.inputs!.azureSubscription).toBe(ARM_ID);
    expect(aks.endpoints![ARM_ID]).toMatchObject({ url: 'https://arm.local/', scheme: 'ServicePrincipal' });
    expect(aks.endpoints!.SystemVssConnection).toMatchObject({ url: 'https://devops.local/org/', params: { AccessToken: 'job-access-token-value' } });
    expect(aks.env).toMatchObject({ NODE_EXTRA_CA_CERTS: '/ca.pem' });
    expect(aks.variables).toMatchObject({ 'System.TeamProject': 'platform', 'Build.SourcesDirectory': tmpdir() });
    expect(aks.secretVariables).toMatchObject({ 'System.AccessToken': 'job-access-token-value', sealedSecretsKey: pipelineVariables.secrets.sealedSecretsKey });
    expect(aks.variables).not.toHaveProperty('sealedSecretsKey');
    // The output of step `aks` reached the next steps, under its reference name.
    expect(seal.inputs).toMatchObject({ kubeconfig: '/agent/temp/kubeconfig-aks-dev', privateKey: pipelineVariables.secrets.sealedSecretsKey, certificate: 'Y2VydA==' });
    expect(seal.variables).toMatchObject({ 'aks.kubeconfigPath': '/agent/temp/kubeconfig-aks-dev' });
    // The local value won over the settings' one.
    expect(flux.inputs).toMatchObject({ gitUrl: 'http://127.0.0.1:1234/platform.git', gitToken: 'git-token-secret', kubeconfig: '/agent/temp/kubeconfig-aks-dev' });
    // All steps share the job's temp folder.
    expect(new Set(r.calls.map((c) => c.variables!['Agent.TempDirectory'])).size).toBe(1);

    expect(r.log).toContain('-- [1/3] AKS cluster aks-dev (createOrUpdate) (AksBootstrap@1, name: aks)');
    expect(r.log).toContain('-- [3/3] Flux on aks-dev (FluxBootstrap@1)');
    expect(r.log).toContain('output aks.kubeconfigPath = /agent/temp/kubeconfig-aks-dev');
    expect(r.log).toContain('[ 50%] Waiting for the controller');
    expect(r.log).toContain('local value: platformRepoUrl = http://127.0.0.1:1234/platform.git');
    expect(r.lines.at(-1)).toMatch(/^Pipeline test\.yml: Succeeded \(3 of 3 steps ran, /);
  });

  it('stops at the first failed step: later steps run only when their condition asks for it', async () => {
    const yaml = `steps:
  - task: AksBootstrap@1
    inputs: {azureSubscription: sc-platform-dev}
  - task: InstallSealedSecrets@1
  - task: FluxBootstrap@1
  - task: RegisterSystem@1
    displayName: clean up
    condition: failed()
`;
    const r = await run(yaml, {
      InstallSealedSecrets: () => ({ lines: ['##vso[task.logissue type=error;]Input \'privateKey\': not a PEM key.', '##vso[task.complete result=Failed;]Input \'privateKey\': not a PEM key.'], exitCode: 1 }),
    });
    expect(r.result).toBe('Failed');
    expect(r.calls.map((c) => c.task)).toEqual(['AksBootstrap', 'InstallSealedSecrets', 'RegisterSystem']);
    expect(r.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped', 'succeeded']);
    expect(r.log).toContain('ERROR: Input \'privateKey\': not a PEM key.');
    expect(r.log).toContain('skipped: an earlier step failed (condition: succeeded())');
    expect(r.lines.at(-1)).toMatch(/^Pipeline test\.yml: Failed at step 2 'Sealed Secrets [\d.]+': Input 'privateKey': not a PEM key\. \(3 of 4 steps ran, 1 skipped, /);
  });

  it('a failing step with continueOnError leaves the job SucceededWithIssues and the next step runs', async () => {
    const yaml = 'steps:\n  - task: InstallSealedSecrets@1\n    continueOnError: true\n  - task: FluxBootstrap@1\n';
    const r = await run(yaml, { InstallSealedSecrets: () => ({ lines: ['##vso[task.complete result=Failed;]boom'], exitCode: 1 }) });
    expect(r.result).toBe('SucceededWithIssues');
    expect(r.calls).toHaveLength(2);
  });

  it('declared outputs need no isOutput flag, other variables become job variables, an unnamed step\'s outputs are unreachable', async () => {
    const yaml = `steps:
  - task: InstallSealedSecrets@1
  - task: InstallSealedSecrets@1
    name: seal
  - task: FluxBootstrap@1
    inputs:
      gitUrl: $(certificatePath)|$(seal.certificatePath)|$(seal.someFlag)|$(someFlag)
`;
    let n = 0;
    const r = await run(yaml, {
      InstallSealedSecrets: () => {
        n += 1;
        return { lines: [`##vso[task.setvariable variable=certificatePath;]/certs/${n}.pem`, `##vso[task.setvariable variable=someFlag;]flag-${n}`, '##vso[task.complete result=Succeeded;]ok'] };
      },
    });
    expect(r.calls[2]!.inputs!.gitUrl).toBe('$(certificatePath)|/certs/2.pem|$(seal.someFlag)|flag-2');
    expect(r.log).toContain("WARNING: input 'gitUrl' refers to $(certificatePath), $(seal.someFlag), which no variable defines");
  });

  it('masks secret variables, values a task registers, secret outputs and their encodings in everything it prints', async () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
    const keyB64 = Buffer.from(key).toString('base64');
    const yaml = 'steps:\n  - task: InstallSealedSecrets@1\n    name: seal\n    inputs: {privateKey: $(sealedSecretsKey)}\n';
    const r = await run(yaml, {
      InstallSealedSecrets: (o) => ({ lines: [
        `leaked input ${o.inputs!.privateKey}`,
        'leaked PEM line MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7',
        '##vso[task.setsecret]registered-token-value',
        'Token registered-token-value in use',
        '##vso[task.setvariable variable=certificateBase64;isOutput=true;issecret=true]secret-output-value',
        'and secret-output-value again',
        '##vso[task.uploadsummary]/nonexistent/summary.md',
        '##vso[task.complete result=Succeeded;]done with registered-token-value',
      ] }),
    }, { pipelineVariables: { variables: {}, secrets: { sealedSecretsKey: keyB64 } } });
    for (const secret of [keyB64, 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', 'registered-token-value', 'secret-output-value']) expect(r.log).not.toContain(secret);
    expect(r.log).toContain('leaked input ***');
    expect(r.log).toContain('Token *** in use');
    expect(r.log).toContain('output seal.certificateBase64 = ***');
    expect(r.variables.get('seal.certificateBase64')).toMatchObject({ secret: true, value: 'secret-output-value' });
  });

  it('prints each step\'s summary after the steps, and the one-line result last', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'summary-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'summary.md');
    writeFileSync(file, '### Flux\n\n| object | change |\n|---|---|\n| GitRepository/flux-system/flux-system | created |\n');
    const r = await run('steps:\n  - task: FluxBootstrap@1\n', { FluxBootstrap: succeed(`##vso[task.uploadsummary]${file}`, 'applied') });
    const summaryAt = r.lines.indexOf('## Summary of step 1: Flux 2.9.4: main ./clusters/dev');
    expect(summaryAt, r.log).toBeGreaterThan(r.lines.indexOf('   applied'));
    expect(r.lines[summaryAt + 1]).toBe('### Flux');
    expect(r.lines.at(-1)).toMatch(/Succeeded/);
  });

  it.each([
    ['steps:\n  - task: AksBootstrap@1\n    inputs: {clustername: a, clusterNmae: b}\n', "AksBootstrap@1 has no input 'clusterNmae'"],
    ['steps:\n  - task: AksBootstrap@1\n    inputs: {azureSubscription: sc-missing}\n', "service connection 'sc-missing' could not be found (known: sc-platform-dev)"],
    ['steps:\n  - task: InstallSealedSecrets@1\n    inputs: {keySource: secureFile, keySecureFile: nope.pem}\n', "secure file 'nope.pem' could not be found"],
    ['steps:\n  - task: AksBootstrap@2\n', 'AksBootstrap@2 does not exist; the extension has AksBootstrap@1'],
    ['steps:\n  - task: HelmDeploy@1\n', "task 'HelmDeploy' is not in the extension"],
    ['steps:\n  - task: FluxBootstrap@1\n    condition: eq(variables.a\n', 'Step 1: expected'],
  ])('does not start an invalid pipeline: %j', async (yaml, problem) => {
    const r = await run(yaml, {});
    expect(r.calls).toEqual([]);
    expect(r.result).toBe('Failed');
    expect(r.invalid.join('\n')).toContain(problem);
    expect(r.lines.at(-1)).toMatch(/not valid .* nothing ran\./);
  });

  it('resolves a secure file by name to its id and ticket', async () => {
    const r = await run('steps:\n  - task: InstallSealedSecrets@1\n    inputs: {keySource: secureFile, keySecureFile: sealing-key.pem}\n', {});
    expect(r.calls[0]!.inputs!.keySecureFile).toBe('f1e2d3c4-0000-4000-8000-000000000001');
    expect(r.calls[0]!.secureFiles).toEqual({ 'f1e2d3c4-0000-4000-8000-000000000001': { name: 'sealing-key.pem', ticket: 'ticket-1' } });
  });

  it('refuses to override a read-only variable, and skips disabled steps and false conditions', async () => {
    const readonly = await run('variables:\n  - {name: env, value: prod, readonly: true}\nsteps:\n  - task: FluxBootstrap@1\n', {}, { overrides: { env: 'dev' } });
    expect(readonly.invalid).toEqual(["variable 'env' is read-only in the pipeline and cannot be overridden"]);
    const r = await run(`steps:
  - task: AksBootstrap@1
    enabled: false
  - task: FluxBootstrap@1
    condition: eq(variables['Build.Reason'], 'Schedule')
  - task: InstallSealedSecrets@1
`, {});
    expect(r.steps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'succeeded']);
    expect(r.log).toContain("skipped: its condition is false (condition: eq(variables['Build.Reason'], 'Schedule'))");
  });
});

describe('variable groups', () => {
  const YAML = `
variables:
  - name: keyName
    value: from-yaml-before
  - group: aks-platform-dev
  - name: cert
    value: from-yaml-after
steps:
  - bash: echo "$KEYNAME $CERT \${SEALEDSECRETSKEY:-no-secret-in-env} $SECRET"
    env:
      SECRET: $(sealedSecretsKey)
`;
  const groups = { 'AKS-Platform-Dev': { variables: { keyName: 'from-group', cert: 'from-group' }, secrets: { sealedSecretsKey: 'group-secret' } } };

  it('are taken from the Library in list order (a later entry wins); their secrets stay secret and masked', async () => {
    const r = await run(YAML, {}, { environment: { ...environment, variableGroups: groups } });
    expect(r.result, r.log).toBe('Succeeded');
    expect(r.log).toContain('from-group from-yaml-after no-secret-in-env ***');
    expect(r.log).not.toContain('group-secret');
  });

  it('make the pipeline invalid when the group does not exist, before anything runs', async () => {
    const r = await run(YAML, {}, { environment: { ...environment, variableGroups: {} } });
    expect(r.result).toBe('Failed');
    expect(r.invalid).toEqual(["Variable group 'aks-platform-dev' was not found or is not authorized for use"]);
    expect(r.steps).toEqual([]);
  });
});

describe('bash steps', () => {
  const YAML = `
variables:
  - name: target
    value: test
steps:
  - bash: |
      echo "promote to $TARGET and $(target) in $SYSTEM_TEAMPROJECT"
      echo "token in env: \${TOKEN:-none}; secret as a variable: \${SEALEDSECRETSKEY:-none}"
    displayName: Promote to $(target)
    env:
      TOKEN: $(System.AccessToken)
  - bash: |
      echo "##vso[task.logissue type=error]test has commits that dev lacks"
      exit 3
  - bash: echo never
`;

  it('run with the job\'s variables in the environment, secrets only through env and masked, and fail on a non-zero exit', async () => {
    const r = await run(YAML, {}, { pipelineVariables: { variables: {}, secrets: { sealedSecretsKey: 'key-material' } } });
    expect(r.steps.map((s) => `${s.reference}:${s.status}`)).toEqual(['bash:succeeded', 'bash:failed', 'bash:skipped']);
    expect(r.log).toContain('promote to test and test in platform');
    expect(r.log).toContain('token in env: ***; secret as a variable: none');
    expect(r.log).not.toContain(environment.accessToken);
    expect(r.steps[0]!.displayName).toBe('Promote to test');
    expect(r.summaryLine).toMatch(/Failed at step 2 .*: test has commits that dev lacks/);
  });

  it('refuse keys a bash step does not have', () => {
    expect(() => parsePipeline('steps:\n  - bash: echo\n    inputs: {a: b}\n')).toThrow(/unexpected key 'inputs' on a bash step/);
  });
});

describe('renderLine', () => {
  it.each([
    ['##[section]Starting: x', '== Starting: x'],
    ['##vso[task.logissue type=warning;sourcepath=a.yaml;linenumber=3]careful', 'WARNING: careful (a.yaml:3)'],
    ['##vso[task.debug]hidden', undefined],
    ['##vso[task.setsecret]x', undefined],
    ['##vso[task.complete result=Failed;]why', 'Result: Failed - why'],
    ['##vso[task.prependpath]/opt/bin', '[task.prependpath] /opt/bin'],
    ['plain', 'plain'],
  ])('%s', (line, expected) => {
    expect(renderLine(line)).toBe(expected);
  });
});

describe('renderStepLog', () => {
  it('shows progress once when the task also prints it, and shortens long variable values', () => {
    const stdout = [
      '##vso[task.setprogress value=40;]Installing',
      '[ 40%] Installing',
      `##vso[task.setvariable variable=certificateBase64;isOutput=true;]${'A'.repeat(400)}`,
      '##vso[task.setprogress value=60;]Waiting',
      'Waiting elsewhere',
    ].join('\n');
    expect(renderStepLog(stdout, 'warning on stderr\n', { stepName: 'seal' })).toEqual([
      '[ 40%] Installing',
      `output seal.certificateBase64 = ${'A'.repeat(60)}... (400 characters)`,
      '[ 60%] Waiting',
      'Waiting elsewhere',
      'warning on stderr',
    ]);
  });
});

describe('the examples', () => {
  const examples = join(__dirname, '..', '..', 'examples');
  const read = (file: string) => parsePipeline(readFileSync(join(examples, file), 'utf8'));

  it.each(['bootstrap.yml', 'recreate-for-upgrade.yml', 'register-system.yml'])('%s is a valid pipeline for the extension\'s tasks', (file) => {
    const definition = read(file);
    const variables = new VariableStore();
    for (const v of definition.variables) variables.set(v.name, v.value);
    const local: LocalEnvironment = { ...environment, serviceConnections: { 'sc-aks-platform-dev': { ...environment.serviceConnections['sc-platform-dev']! } } };
    const problems = definition.steps.flatMap((step) => ('task' in step ? validateStep(step, catalog, local, variables) : []));
    expect(problems).toEqual([]);
    // Secret inputs take secret variables only, never a literal.
    expect(JSON.stringify(definition)).not.toMatch(/"(privateKey|gitToken|systemReadToken|alertWebhookUrl|accessToken)":"(?!\$\()/);
  });

  it('the scheduled recreate runs the same steps after the cluster as the bootstrap, on the same cluster; the teams come back from Git', () => {
    const [bootstrap, recreate] = [read('bootstrap.yml'), read('recreate-for-upgrade.yml')];
    const tasks = (d: typeof bootstrap) => d.steps.filter((s): s is Extract<typeof s, { task: string }> => 'task' in s);
    // Registering teams writes to Git; a recreate only reads it back.
    const clusterSteps = tasks(bootstrap).filter((s) => s.task !== 'RegisterSystem');
    expect(tasks(bootstrap).map((s) => s.task)).toEqual(['AksBootstrap', 'InstallSealedSecrets', 'FluxBootstrap', 'RegisterSystem', 'RegisterSystem', 'RegisterSystem']);
    expect(tasks(recreate).slice(1)).toEqual(clusterSteps.slice(1));
    expect(recreate.variables).toEqual(bootstrap.variables);
    expect(tasks(recreate)[0]!.inputs.mode).toBe('recreate');
    const { mode: _m, timeoutMinutes: _t, ...recreateInputs } = tasks(recreate)[0]!.inputs;
    const { mode: _b, ...bootstrapInputs } = tasks(bootstrap)[0]!.inputs;
    expect(recreateInputs).toEqual(bootstrapInputs);
    expect(recreate.schedules).toEqual([expect.objectContaining({ cron: '0 2 * * 6', branches: ['main'], always: true })]);
  });
});
