import { useEffect, useState } from 'react';
import { api, asProblem, type Problem, type Schemas } from '../api';
import { useT } from '../i18n';
import { Link } from '../route';
import { ProblemNotice } from './ProblemNotice';

export function Sites() {
  const { t } = useT();
  const [sites, setSites] = useState<Schemas['Site'][] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    let live = true;
    void api.GET('/api/v1/sites', { params: { query: { limit: 100 } } }).then(({ data, error, response }) => {
      if (!live) return;
      if (data) setSites(data.items);
      else setProblem(asProblem(error, response.status));
    });
    return () => {
      live = false;
    };
  }, []);

  return (
    <section>
      <h1>{t('sites.title')}</h1>
      <ProblemNotice problem={problem} />
      {sites === null && !problem ? <p>{t('common.loading')}</p> : null}
      {sites?.length === 0 ? <p>{t('sites.empty')}</p> : null}
      <ul className="cards">
        {sites?.map((site) => (
          <li key={site.id} className="card">
            <h2>{site.name}</h2>
            <p>
              {t('sites.locales')}: {site.locales.join(', ')}
            </p>
            <p className="links">
              <Link to={`/sites/${site.id}/pages`}>{t('sites.pages')}
                <span className="sr-only"> {site.name}</span>
              </Link>{' '}
              <Link to={`/sites/${site.id}/leads`}>{t('sites.leads')}
                <span className="sr-only"> {site.name}</span>
              </Link>{' '}
              <Link to={`/sites/${site.id}/settings`}>{t('sites.settings')}
                <span className="sr-only"> {site.name}</span>
              </Link>
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
