export type ChangeAction = 'created' | 'configured' | 'unchanged';

export interface ChangeSetEntry {
  ref: string;
  action: ChangeAction;
}

/** What an apply did to each object, in apply order. */
export class ChangeSet {
  readonly entries: ChangeSetEntry[] = [];

  add(ref: string, action: ChangeAction): void {
    this.entries.push({ ref, action });
  }

  count(action: ChangeAction): number {
    return this.entries.filter((e) => e.action === action).length;
  }

  get changed(): boolean {
    return this.entries.some((e) => e.action !== 'unchanged');
  }

  /** "3 created, 1 configured, 40 unchanged" */
  describe(): string {
    return (['created', 'configured', 'unchanged'] as ChangeAction[]).map((a) => `${this.count(a)} ${a}`).join(', ');
  }

  /** One log line per object, as `kubectl apply` prints them. */
  lines(): string[] {
    return this.entries.map((e) => `${e.ref} ${e.action}`);
  }
}
