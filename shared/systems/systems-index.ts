import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLSeq } from 'yaml';
import { GUARDRAILS_FILE } from './render';

const NEW_INDEX = `# The systems on this cluster, one folder each, written by RegisterSystem@1 (register adds a
# folder here, deregister removes it; Flux's prune then removes what the folder held).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
`;

/**
 * The systems folder's kustomization.yaml with the guardrails and a system listed (or one
 * removed). Other entries, comments and order are kept, so hand-made additions survive.
 */
export function systemsIndex(current: string | undefined, change: { add?: string; remove?: string }): string {
  const doc = parseDocument(current ?? NEW_INDEX);
  if (doc.errors.length || !isMap(doc.contents)) throw new Error(`kustomization.yaml of the systems folder is not a YAML map: ${doc.errors[0]?.message ?? 'unexpected content'}`);
  const resources = resourcesOf(doc);
  const matches = (entry: string) => (r: string) => [entry, `${entry}/`, `./${entry}`].includes(r);
  const missingGuardrails = !resources.some(matches(GUARDRAILS_FILE));
  const missingSystem = change.add !== undefined && !resources.some(matches(change.add));
  const removing = change.remove !== undefined && resources.some(matches(change.remove));
  if (current !== undefined && !missingGuardrails && !missingSystem && !removing) return current;
  if (!isSeq(doc.get('resources'))) doc.set('resources', doc.createNode([]));
  // Edited in place, so comments and hand-made entries stay where they are.
  const seq = doc.get('resources') as YAMLSeq;
  if (removing) seq.items = seq.items.filter((i) => !matches(change.remove!)(String(isScalar(i) ? i.value : i)));
  if (missingGuardrails) seq.items.unshift(doc.createNode(GUARDRAILS_FILE));
  if (missingSystem) {
    const at = seq.items.findIndex((i) => {
      const v = String(isScalar(i) ? i.value : i);
      return v !== GUARDRAILS_FILE && v.localeCompare(change.add!) > 0;
    });
    seq.items.splice(at < 0 ? seq.items.length : at, 0, doc.createNode(change.add));
  }
  return doc.toString({ lineWidth: 0 });
}

/** The entries of a systems index, for reading which systems are registered. */
export function systemsListed(current: string | undefined): string[] {
  if (!current) return [];
  return resourcesOf(parseDocument(current)).filter((r) => r !== GUARDRAILS_FILE).map((r) => r.replace(/^\.\//, '').replace(/\/$/, ''));
}

function resourcesOf(doc: Document): string[] {
  const node = doc.get('resources');
  if (node === undefined || node === null) return [];
  if (!isSeq(node)) throw new Error('kustomization.yaml of the systems folder: resources is not a list');
  return node.items.map((i) => String(isScalar(i) ? i.value : i));
}
