import { useEffect, useState } from 'react';
import { api, asProblem, fieldError, type Problem, type Schemas } from '../api';
import { useT } from '../i18n';
import { Link, navigate } from '../route';
import { session } from '../session';
import { FieldMessage } from './Login';
import { usePagedList } from '../paged';
import { BackToSites, ListNotes, MoreButton } from './ListParts';
import { ProblemNotice } from './ProblemNotice';

type Status = Schemas['PageStatus'];
const STATUSES: Status[] = ['draft', 'published', 'scheduled', 'archived'];

/** A site's pages, filtered by status, locale and path prefix (the API's
 * own filters), a cursor page at a time. */
export function Pages({ siteId }: { siteId: string }) {
  const { t, language } = useT();
  const canEdit = session.canEditContent();
  const [site, setSite] = useState<Schemas['Site'] | null>(null);
  const [status, setStatus] = useState<Status | ''>('');
  const [locale, setLocale] = useState('');
  const [prefix, setPrefix] = useState('');
  const list = usePagedList<Schemas['Page']>(
    (after) =>
      api.GET('/api/v1/sites/{site}/pages', {
        params: {
          path: { site: siteId },
          query: {
            status: status || undefined,
            locale: locale || undefined,
            path_prefix: prefix || undefined,
            limit: 50,
            cursor: after ?? undefined,
          },
        },
      }),
    [siteId, status, locale, prefix],
  );

  useEffect(() => {
    void api.GET('/api/v1/sites/{id}', { params: { path: { id: siteId } } }).then(({ data }) => setSite(data ?? null));
  }, [siteId]);

  const { items: pages, problem } = list;
  const dates = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <section>
      <BackToSites />
      <h1>{t('pages.title', { site: site?.name ?? '' })}</h1>
      {canEdit ? <NewPage siteId={siteId} locales={site?.locales ?? []} /> : null}
      <div className="filters">
        <label>
          {t('pages.status')}
          <select value={status} onChange={(event) => setStatus(event.target.value as Status | '')}>
            <option value="">{t('pages.any')}</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {t(`status.${value}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('pages.locale')}
          <select value={locale} onChange={(event) => setLocale(event.target.value)}>
            <option value="">{t('pages.any')}</option>
            {site?.locales.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('pages.search')}
          <input
            type="search"
            value={prefix}
            placeholder="/"
            aria-describedby="path-prefix-error"
            onChange={(event) => setPrefix(event.target.value)}
          />
        </label>
      </div>
      <FieldMessage id="path-prefix-error" text={fieldError(problem, 'path_prefix')} />
      <ListNotes list={list} empty={t('pages.empty')} problem={problem?.errors?.length ? null : problem} />
      {pages && pages.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('pages.path')}</th>
              <th scope="col">{t('pages.page_title')}</th>
              <th scope="col">{t('pages.locale')}</th>
              <th scope="col">{t('pages.status')}</th>
              <th scope="col">{t('pages.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {pages.map((page) => (
              <tr key={page.id}>
                <td>
                  <code>{page.path}</code>
                </td>
                <td>
                  <Link to={`/sites/${siteId}/pages/${page.id}`}>{page.title}</Link>
                </td>
                <td>{page.locale}</td>
                <td>
                  <span className={`status status-${page.status}`}>{t(`status.${page.status}`)}</span>
                </td>
                <td>{dates.format(new Date(page.updated_at))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <MoreButton list={list} />
    </section>
  );
}

/** A new page: path, title and locale; opens its editor once created. */
function NewPage({ siteId, locales }: { siteId: string; locales: string[] }) {
  const { t } = useT();
  const [problem, setProblem] = useState<Problem | null>(null);
  return (
    <details className="new-page">
      <summary>{t('pages.new')}</summary>
      <form
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const { data, error, response } = await api.POST('/api/v1/sites/{site}/pages', {
            params: { path: { site: siteId } },
            body: {
              path: String(form.get('path') ?? ''),
              title: String(form.get('title') ?? ''),
              locale: String(form.get('locale') ?? '') || undefined,
            },
          });
          if (data) navigate(`/sites/${siteId}/pages/${data.id}`);
          else setProblem(asProblem(error, response.status));
        }}
      >
        <ProblemNotice problem={problem?.errors?.length ? null : problem} />
        <label>
          {t('pages.path')}
          <input name="path" type="text" placeholder="/new-landing" aria-describedby="new-path-error" />
        </label>
        <FieldMessage id="new-path-error" text={fieldError(problem, 'path')} />
        <label>
          {t('pages.page_title')}
          <input name="title" type="text" aria-describedby="new-title-error" />
        </label>
        <FieldMessage id="new-title-error" text={fieldError(problem, 'title')} />
        <label>
          {t('pages.locale')}
          <select name="locale">
            {locales.map((locale) => (
              <option key={locale} value={locale}>
                {locale}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t('pages.create')}</button>
      </form>
    </details>
  );
}
