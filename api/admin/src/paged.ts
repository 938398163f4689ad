// One cursor-paged list behind filters, as every list screen shows it: the
// first page (re)loads 200 ms after the filters last changed, "more" appends
// the next page, and a refusal is kept as the screen's problem.
import { useEffect, useState } from 'react';
import { asProblem, type Problem } from './api';

/** What one page request answers, as openapi-fetch returns it. */
export interface PageAnswer<T> {
  data?: { items: T[]; next_cursor?: string | null };
  error?: unknown;
  response: Response;
}

export interface PagedList<T> {
  items: T[] | null;
  problem: Problem | null;
  /** The next page's cursor, when there is one. */
  cursor: string | null;
  /** Loads the first page again (`null`) or appends the page after `cursor`. */
  load: (cursor: string | null) => Promise<void>;
  /** Changes loaded items in place (an edit saved from a detail panel). */
  setItems: (update: (items: T[] | null) => T[] | null) => void;
}

export function usePagedList<T>(
  fetchPage: (cursor: string | null) => Promise<PageAnswer<T>>,
  filters: readonly unknown[],
): PagedList<T> {
  const [items, setItems] = useState<T[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function load(after: string | null) {
    const { data, error, response } = await fetchPage(after);
    if (!data) {
      setProblem(asProblem(error, response.status));
      return;
    }
    setProblem(null);
    setItems((before) => (after ? [...(before ?? []), ...data.items] : data.items));
    setCursor(data.next_cursor ?? null);
  }

  useEffect(() => {
    const debounce = window.setTimeout(() => void load(null), 200);
    return () => window.clearTimeout(debounce);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, filters);

  return { items, problem, cursor, load, setItems };
}
