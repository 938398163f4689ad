import { lazy, Suspense, useSyncExternalStore } from 'react';
import { session } from './session';
import { setLanguage, useT, type Language } from './i18n';
import { Link, navigate, useRoute } from './route';
import { Login } from './screens/Login';
import { Sites } from './screens/Sites';
import { Pages } from './screens/Pages';
import { MediaLibrary } from './screens/Media';
import { SiteSettings } from './screens/SiteSettings';
import { Leads } from './screens/Leads';
import { AuditLog } from './screens/Audit';
import { Members } from './screens/Members';

// The editor (and rjsf with it) loads when first opened, not with sign-in.
const PageEditor = lazy(() => import('./editor/PageEditor'));
const ExperimentResults = lazy(() => import('./editor/Results'));

function useMe() {
  return useSyncExternalStore(session.subscribe, session.me);
}

export function App() {
  const me = useMe();
  const route = useRoute();
  const { t, language } = useT();
  if (!me) return <Login />;
  const current = me.memberships.find((membership) => membership.tenant_id === me.tenant_id);
  const pages = route.match(/^\/sites\/([0-9a-f-]{36})\/pages$/);
  const results = route.match(/^\/experiments\/([0-9a-f-]{36})$/);
  const editor = route.match(/^\/sites\/([0-9a-f-]{36})\/pages\/([0-9a-f-]{36})$/);
  const settings = route.match(/^\/sites\/([0-9a-f-]{36})\/settings$/);
  const leads = route.match(/^\/sites\/([0-9a-f-]{36})\/leads$/);
  return (
    <div className="layout">
      <header className="bar">
        <Link className="brand" to="/">
          {t('app.title')}
        </Link>
        <nav aria-label={t('nav.sites')}>
          <Link to="/">{t('nav.sites')}</Link> <Link to="/media">{t('nav.media')}</Link>{' '}
          {session.canEditContent() ? <Link to="/members">{t('nav.members')}</Link> : null}{' '}
          {session.canEditContent() ? <Link to="/audit">{t('nav.audit')}</Link> : null}
        </nav>
        <label className="inline">
          {t('nav.tenant')}
          <select
            value={me.tenant_id ?? ''}
            onChange={async (event) => {
              await session.switchTenant(event.target.value);
              navigate('/');
            }}
          >
            {me.memberships.map((membership) => (
              <option key={membership.tenant_id} value={membership.tenant_id}>
                {membership.name} ({t(`role.${membership.role}`)})
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          {t('nav.language')}
          <select value={language} onChange={(event) => setLanguage(event.target.value as Language)}>
            <option value="en">English</option>
            <option value="ru">Русский</option>
          </select>
        </label>
        <span className="who">
          {me.name} · {current ? t(`role.${current.role}`) : ''}
        </span>
        <button type="button" onClick={() => void session.logout()}>
          {t('nav.logout')}
        </button>
      </header>
      <main>
        {editor?.[1] && editor[2] ? (
          <Suspense fallback={<p>{t('common.loading')}</p>}>
            <PageEditor key={editor[2]} siteId={editor[1]} pageId={editor[2]} />
          </Suspense>
        ) : results?.[1] ? (
          <Suspense fallback={<p>{t('common.loading')}</p>}>
            <ExperimentResults experimentId={results[1]} />
          </Suspense>
        ) : route === '/media' ? (
          <MediaLibrary />
        ) : route === '/members' ? (
          <Members key={me.tenant_id} />
        ) : route === '/audit' ? (
          <AuditLog key={me.tenant_id} />
        ) : settings?.[1] ? (
          <SiteSettings key={settings[1]} siteId={settings[1]} />
        ) : leads?.[1] ? (
          <Leads siteId={leads[1]} />
        ) : pages?.[1] ? (
          <Pages siteId={pages[1]} />
        ) : (
          <Sites key={me.tenant_id} />
        )}
      </main>
    </div>
  );
}
