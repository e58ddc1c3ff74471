import type * as Yaml from 'yaml';

let yaml: typeof Yaml | undefined;

/**
 * The yaml library, loaded on first use: evaluating it costs more than the rest of a task's
 * start-up, and most runs that fail on bad input never need it.
 */
export function yamlLib(): typeof Yaml {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  yaml ??= require('yaml') as typeof Yaml;
  return yaml;
}
