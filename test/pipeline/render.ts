// A step's output as the Azure DevOps web log shows it: plain lines as printed, logging
// commands turned into what they mean (errors, warnings, progress, variables set), formatting
// commands (##[section], ##[group], ...) as headings, task-lib's own bookkeeping left out.
// Masking happens afterwards, on the rendered text (see Masker).
import { parseVsoLine } from '../agent/vso';

export interface RenderOptions {
  /** Show task.debug and ##[debug] lines (System.Debug). */
  debug?: boolean;
  /** Output variables of a named step are shown under `<step>.<name>`. */
  stepName?: string;
  /** Variable names the task declared as outputs in task.json. */
  declaredOutputs?: string[];
}

const FORMATTING: Record<string, (text: string) => string | undefined> = {
  section: (t) => `== ${t}`,
  group: (t) => `> ${t}`,
  endgroup: () => undefined,
  command: (t) => `$ ${t}`,
  warning: (t) => `WARNING: ${t}`,
  error: (t) => `ERROR: ${t}`,
};

function issueLocation(p: Record<string, string>): string {
  if (!p.sourcepath) return '';
  return ` (${p.sourcepath}${p.linenumber ? `:${p.linenumber}` : ''}${p.columnnumber ? `:${p.columnnumber}` : ''})`;
}

/** One line of task output as it reads in the log, or undefined when the log shows nothing for it. */
export function renderLine(line: string, options: RenderOptions = {}): string | undefined {
  const command = parseVsoLine(line);
  if (!command) {
    const formatting = /^##\[(\w+)\](.*)$/.exec(line);
    if (formatting) {
      const kind = formatting[1]!.toLowerCase();
      if (kind === 'debug') return options.debug ? `DEBUG: ${formatting[2]}` : undefined;
      return (FORMATTING[kind] ?? ((t: string) => t))(formatting[2]!);
    }
    return line;
  }
  const p = command.properties;
  switch (command.command) {
    case 'task.logissue':
    case 'task.issue':
      return `${p.type === 'error' ? 'ERROR' : 'WARNING'}: ${command.message}${issueLocation(p)}`;
    case 'task.setprogress':
      return `[${String(p.value ?? '').padStart(3)}%] ${command.message}`;
    case 'task.setvariable': {
      const output = p.isOutput === 'true' || p.isoutput === 'true' || (options.declaredOutputs ?? []).includes(p.variable!);
      const name = output && options.stepName ? `${options.stepName}.${p.variable}` : p.variable;
      const value = p.issecret === 'true' ? '***' : shortened(command.message);
      return `${output ? 'output' : 'variable'} ${name} = ${value}`;
    }
    case 'task.debug':
      return options.debug ? `DEBUG: ${command.message}` : undefined;
    case 'task.complete':
      return `Result: ${p.result ?? 'Succeeded'}${command.message ? ` - ${command.message}` : ''}`;
    case 'task.setsecret':
    case 'task.uploadsummary':
      return undefined; // secrets are masked from here on; summaries are printed at the end
    default:
      return `[${command.command}] ${command.message}`;
  }
}

/** Long values (a base64 certificate) would bury the log; the variable keeps the whole value. */
function shortened(value: string): string {
  return value.length <= 160 ? value : `${value.slice(0, 60)}... (${value.length} characters)`;
}

/**
 * The whole log of a step: stdout rendered line by line, then whatever went to stderr. A task that
 * also prints its progress as a plain line (the web log shows no progress commands) gets it once.
 */
export function renderStepLog(stdout: string, stderr: string, options: RenderOptions = {}): string[] {
  const lines: string[] = [];
  let lastWasProgress = false;
  for (const line of stdout.split(/\r?\n/)) {
    if (!line) continue;
    const rendered = renderLine(line, options);
    if (rendered === undefined) continue;
    if (lastWasProgress && rendered === lines.at(-1)) {
      lastWasProgress = false;
      continue;
    }
    lines.push(rendered);
    lastWasProgress = line.startsWith('##vso[task.setprogress');
  }
  for (const line of stderr.split(/\r?\n/)) if (line) lines.push(line);
  return lines;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}
