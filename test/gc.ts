import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Whatever only weak references hold goes now, as it would at some moment of a long run.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function collectGarbage(): void {
  gc();
}
