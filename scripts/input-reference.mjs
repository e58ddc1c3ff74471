#!/usr/bin/env node
// The input reference of every task (docs/inputs.md), generated from the tasks' task.json so it
// cannot say anything the tasks do not: `node scripts/input-reference.mjs` writes it,
// `--check` fails when the committed file differs (test/unit/input-reference.test.ts runs that).
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const referencePath = join(root, 'docs', 'inputs.md');

const cell = (text) => String(text ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (text) => (text === undefined || text === '' ? '' : `\`${String(text).replace(/`/g, "'")}\``);

function typeOf(input) {
  if (input.type === 'pickList' || input.type === 'radio') {
    const options = Object.keys(input.options ?? {});
    const editable = input.properties?.EditableOptions === 'True';
    return options.length ? `${editable ? 'pick list (editable)' : 'one of'}: ${options.map(code).join(', ')}` : 'pick list';
  }
  if (input.type.startsWith('connectedService:')) return `service connection (${input.type.slice('connectedService:'.length)})`;
  if (input.type === 'secureFile') return 'secure file';
  return input.type;
}

/** The Markdown reference of all tasks, in a stable order. */
export function inputReference() {
  const tasks = readdirSync(join(root, 'tasks')).filter((d) => existsSync(join(root, 'tasks', d, 'task.json'))).sort();
  const parts = [
    '# Task input reference',
    '',
    'Generated from each task\'s `task.json` by `node scripts/input-reference.mjs`; a test fails when it drifts.',
    'Inputs appear in the classic editor in these groups; "Shown when" is the editor\'s visibility rule (a hidden input is not read).',
  ];
  for (const name of tasks) {
    const task = JSON.parse(readFileSync(join(root, 'tasks', name, 'task.json'), 'utf8'));
    parts.push('', `## ${task.name}@${task.version.Major}`, '', task.helpMarkDown ?? task.description ?? '');
    const groups = [...(task.groups ?? []), { name: undefined, displayName: 'Other' }];
    for (const group of groups) {
      const inputs = task.inputs.filter((i) => i.groupName === group.name || (group.name === undefined && !groups.some((g) => g.name && g.name === i.groupName)));
      if (!inputs.length) continue;
      parts.push('', `### ${group.displayName}${group.visibleRule ? ` (shown when ${code(group.visibleRule)})` : ''}`, '',
        '| Input | Label | Type | Default | Required | Shown when | Help |', '| --- | --- | --- | --- | --- | --- | --- |');
      for (const i of inputs) {
        const aliases = i.aliases?.length ? ` (alias ${i.aliases.map(code).join(', ')})` : '';
        parts.push(`| ${code(i.name)}${cell(aliases)} | ${cell(i.label)} | ${cell(typeOf(i))} | ${cell(code(i.defaultValue))} | ${i.required ? 'yes' : ''} | ${cell(code(i.visibleRule))} | ${cell(i.helpMarkDown)} |`);
      }
    }
    if (task.outputVariables?.length) {
      parts.push('', '### Output variables', '', '| Variable | Description |', '| --- | --- |');
      for (const o of task.outputVariables) parts.push(`| ${code(o.name)} | ${cell(o.description)} |`);
    }
  }
  return `${parts.join('\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = inputReference();
  if (process.argv.includes('--check')) {
    const current = existsSync(referencePath) ? readFileSync(referencePath, 'utf8') : '';
    if (current !== text) {
      process.stderr.write('docs/inputs.md is out of date: run `node scripts/input-reference.mjs`.\n');
      process.exit(1);
    }
  } else {
    writeFileSync(referencePath, text);
    process.stdout.write(`wrote ${referencePath}\n`);
  }
}
