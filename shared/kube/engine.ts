import type { KubeClient } from './client';
import type { Discovery } from './discovery';

/** What the apply and wait verbs share: the client, discovery and the engine's settings. */
export interface Engine {
  client: KubeClient;
  discovery: Discovery;
  /** The field manager of every server-side apply. */
  fieldManager: string;
  /** Requests in flight at once. */
  concurrency: number;
  /** Namespace for namespaced objects that name none. */
  defaultNamespace: string;
  log: (line: string) => void;
}
