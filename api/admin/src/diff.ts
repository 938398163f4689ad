// What changed between two published snapshots of a page, as lines a person
// reads: a block added or removed, or one prop of a block changed; and the
// same for any two JSON objects (an audit entry's before and after).
type Json = unknown;

export interface Change {
  kind: 'added' | 'removed' | 'changed';
  where: string;
  before?: string;
  after?: string;
}

function flatten(value: Json, path: string, out: Map<string, string>) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value as Record<string, Json>)) flatten(item, path ? `${path}.${key}` : key, out);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => flatten(item, `${path}[${index}]`, out));
  } else {
    out.set(path, typeof value === 'string' ? value : JSON.stringify(value));
  }
}

interface SnapshotBlock {
  id?: string;
  module?: string;
  props?: Json;
}

function blocksOf(snapshot: Json): SnapshotBlock[] {
  const blocks = (snapshot as { blocks?: SnapshotBlock[] } | null)?.blocks;
  return Array.isArray(blocks) ? blocks : [];
}

export function diffSnapshots(older: Json, newer: Json): Change[] {
  const changes: Change[] = [];
  const before = blocksOf(older);
  const after = blocksOf(newer);
  const key = (block: SnapshotBlock, index: number) => block.id ?? `#${index}`;
  const olderById = new Map(before.map((block, index) => [key(block, index), block]));
  const newerIds = new Set(after.map((block, index) => key(block, index)));
  after.forEach((block, index) => {
    const id = key(block, index);
    const name = `${index + 1}. ${block.module ?? ''}`;
    const old = olderById.get(id);
    if (!old) {
      changes.push({ kind: 'added', where: name });
      return;
    }
    for (const change of diffValues(old.props, block.props)) {
      changes.push({ kind: 'changed', where: `${name} · ${change.where}`, before: change.before, after: change.after });
    }
  });
  before.forEach((block, index) => {
    if (!newerIds.has(key(block, index))) changes.push({ kind: 'removed', where: `${block.module ?? ''}` });
  });
  return changes;
}

/** Every leaf that differs between two JSON values, by its path. */
export function diffValues(before: Json, after: Json): Change[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before ?? {}, '', a);
  flatten(after ?? {}, '', b);
  const changes: Change[] = [];
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const was = a.get(path);
    const now = b.get(path);
    if (was === now) continue;
    const kind = was === undefined ? 'added' : now === undefined ? 'removed' : 'changed';
    changes.push({ kind, where: path, before: was, after: now });
  }
  return changes;
}
