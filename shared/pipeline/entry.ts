import { type TaskBody, runTask } from './run-task';
import type { TaskDefinition } from './task-definition';
import { TaskLibAgent } from './task-lib-agent';

/** The entry point of a bundled task: runs the body against the real agent, then exits. */
export function main(definition: TaskDefinition, body: TaskBody): void {
  runTask(definition, new TaskLibAgent(), body).then(
    (outcome) => {
      // Open sockets or watches must not keep a finished step alive.
      process.exit(outcome.result === 'Succeeded' ? 0 : 1);
    },
    (error) => {
      console.log(`##vso[task.complete result=Failed;done=true]${String(error?.message ?? error).replace(/\r?\n/g, ' ')}`);
      process.exit(1);
    },
  );
}
