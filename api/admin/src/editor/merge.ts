// Merging an editor's changes into a block someone else saved meanwhile:
// a three-way merge of the top-level props against what both started from.
export type Props = Record<string, unknown>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface Merged {
  props: Props;
  /** Props both changed differently: `props` holds mine; the editor picks. */
  conflicts: string[];
}

export function merge(base: Props, theirs: Props, mine: Props): Merged {
  const props: Props = {};
  const conflicts: string[] = [];
  const keys = new Set([...Object.keys(base), ...Object.keys(theirs), ...Object.keys(mine)]);
  for (const key of keys) {
    const [b, t, m] = [base[key], theirs[key], mine[key]];
    let value: unknown;
    if (same(m, b)) value = t;
    else if (same(t, b) || same(t, m)) value = m;
    else {
      value = m;
      conflicts.push(key);
    }
    if (value !== undefined) props[key] = value;
  }
  return { props, conflicts };
}
