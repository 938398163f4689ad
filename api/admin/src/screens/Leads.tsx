// A site's leads inbox, newest first, with the visit's UTM parameters as
// columns, and a CSV export of all of them (paged through the API, progress
// shown; the file is made in the browser, so nothing is stored server-side).
import { useEffect, useState } from 'react';
import { api, asProblem, type Problem, type Schemas } from '../api';
import { toCsv, download } from '../csv';
import { useT } from '../i18n';
import { usePagedList } from '../paged';
import { BackToSites, ListNotes, MoreButton } from './ListParts';

type Lead = Schemas['Lead'];

const FIELDS = ['name', 'phone', 'email', 'comment'] as const;
const UTM = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;
const EXPORT_PAGE = 200;

const cell = (map: Record<string, unknown>, key: string) => {
  const value = map[key];
  return value === undefined || value === null ? '' : String(value);
};

export function Leads({ siteId }: { siteId: string }) {
  const { t, language } = useT();
  const [site, setSite] = useState<Schemas['Site'] | null>(null);
  const [exported, setExported] = useState<number | null>(null);
  const [exportProblem, setExportProblem] = useState<Problem | null>(null);
  const list = usePagedList<Lead>(
    (after) => api.GET('/api/v1/sites/{site}/leads', { params: { path: { site: siteId }, query: { limit: 50, cursor: after ?? undefined } } }),
    [siteId],
  );

  useEffect(() => {
    void api.GET('/api/v1/sites/{id}', { params: { path: { id: siteId } } }).then(({ data }) => setSite(data ?? null));
  }, [siteId]);

  async function exportAll() {
    const rows: unknown[][] = [];
    let after: string | undefined;
    setExported(0);
    setExportProblem(null);
    do {
      const { data, error, response } = await api.GET('/api/v1/sites/{site}/leads', {
        params: { path: { site: siteId }, query: { limit: EXPORT_PAGE, cursor: after } },
      });
      if (!data) {
        setExportProblem(asProblem(error, response.status));
        setExported(null);
        return;
      }
      for (const lead of data.items) {
        rows.push([
          lead.created_at,
          ...FIELDS.map((key) => cell(lead.fields, key)),
          lead.path,
          lead.variant ?? '',
          ...UTM.map((key) => cell(lead.utm, key)),
        ]);
      }
      setExported(rows.length);
      after = data.next_cursor ?? undefined;
    } while (after);
    const header = ['created_at', ...FIELDS, 'path', 'variant', ...UTM];
    const day = new Date().toISOString().slice(0, 10);
    download(`leads-${site?.name.replace(/[^\p{L}\p{N}]+/gu, '-') ?? siteId}-${day}.csv`, toCsv(header, rows));
    setExported(null);
  }

  const { items } = list;
  const dates = new Intl.DateTimeFormat(language, { dateStyle: 'short', timeStyle: 'short' });
  return (
    <section>
      <BackToSites />
      <h1>{t('leads.title', { name: site?.name ?? '' })}</h1>
      <p>
        <button type="button" onClick={() => void exportAll()} disabled={exported !== null}>
          {t('leads.export')}
        </button>{' '}
        <span role="status">{exported !== null ? t('leads.exporting', { count: String(exported) }) : ''}</span>
      </p>
      <ListNotes list={list} empty={t('leads.empty')} problem={exportProblem ?? list.problem} />
      {items?.length ? (
        <div className="table-scroll" tabIndex={0} role="region" aria-label={t('sites.leads')}>
          <table className="list leads">
            <thead>
              <tr>
                <th scope="col">{t('leads.when')}</th>
                {FIELDS.map((key) => (
                  <th key={key} scope="col">
                    {t(`leads.${key}`)}
                  </th>
                ))}
                <th scope="col">{t('leads.page')}</th>
                <th scope="col">{t('leads.variant')}</th>
                {UTM.map((key) => (
                  <th key={key} scope="col">
                    <code>{key}</code>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {items.map((lead) => (
                <tr key={lead.id}>
                  <td>{dates.format(new Date(lead.created_at))}</td>
                  {FIELDS.map((key) => (
                    <td key={key}>{cell(lead.fields, key)}</td>
                  ))}
                  <td>
                    <code>{lead.path}</code>
                  </td>
                  <td>{lead.variant ?? ''}</td>
                  {UTM.map((key) => (
                    <td key={key}>{cell(lead.utm, key)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <MoreButton list={list} />
    </section>
  );
}
