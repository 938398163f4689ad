// The parts every list screen shows around its items: the API's refusal,
// "loading", "nothing here", the next page's button, and the way back.
import type { Problem } from '../api';
import { useT } from '../i18n';
import type { PagedList } from '../paged';
import { Link } from '../route';
import { ProblemNotice } from './ProblemNotice';

/** Loading, empty and refused states of `list` (`problem` overrides the
 * list's own, for screens that show field errors at their fields). */
export function ListNotes<T>({ list, empty, problem }: { list: PagedList<T>; empty: string; problem?: Problem | null }) {
  const { t } = useT();
  return (
    <>
      <ProblemNotice problem={problem === undefined ? list.problem : problem} />
      {list.items === null && !list.problem ? <p>{t('common.loading')}</p> : null}
      {list.items?.length === 0 ? <p>{empty}</p> : null}
    </>
  );
}

export function MoreButton<T>({ list }: { list: PagedList<T> }) {
  const { t } = useT();
  if (!list.cursor) return null;
  const cursor = list.cursor;
  return (
    <button type="button" onClick={() => void list.load(cursor)}>
      {t('pages.more')}
    </button>
  );
}

export function BackToSites() {
  const { t } = useT();
  return (
    <p>
      <Link to="/">← {t('common.back')}</Link>
    </p>
  );
}
