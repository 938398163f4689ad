// A site's settings: name, locales, theme (colours and font the renderer
// turns into CSS custom properties, a logo from the media library),
// analytics ids, its domains, and a clone
// into this tenant or another the user administers. Saves send If-Match; a
// 412 offers their version instead of overwriting it.
import { useEffect, useState, type FormEvent } from 'react';
import { api, asProblem, etag, fieldError, type Problem, type Schemas } from '../api';
import { useT } from '../i18n';
import { Link } from '../route';
import { thumbnailOf, type Media } from '../media';
import { session } from '../session';
import { FieldMessage } from './Login';
import { BackToSites } from './ListParts';
import { ProblemNotice } from './ProblemNotice';

type Site = Schemas['Site'];
type Domain = Schemas['Domain'];
/** The theme's logo: a media of the library, with the site's alt text. */
type Logo = { media: string; alt?: string };

const logoOf = (value: unknown): Logo | null =>
  value && typeof value === 'object' && typeof (value as Logo).media === 'string' ? { media: (value as Logo).media, alt: (value as Logo).alt } : null;

const text = (value: unknown, fallback = '') => (typeof value === 'string' ? value : fallback);

export function SiteSettings({ siteId }: { siteId: string }) {
  const { t } = useT();
  const canEdit = session.canEditContent();
  const [site, setSite] = useState<Site | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [announce, setAnnounce] = useState('');

  async function load() {
    const { data, error, response } = await api.GET('/api/v1/sites/{id}', { params: { path: { id: siteId } } });
    if (data) setSite(data);
    else setProblem(asProblem(error, response.status));
  }

  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [siteId]);

  return (
    <section className="settings">
      <BackToSites />
      <h1>{t('settings.title', { name: site?.name ?? '' })}</h1>
      <p className="sr-only" role="status" aria-live="polite">
        {announce}
      </p>
      {site ? (
        <>
          <GeneralForm
            key={site.version}
            site={site}
            canEdit={canEdit}
            onSaved={(saved) => {
              setSite(saved);
              setAnnounce(t('settings.saved'));
            }}
            onReload={() => void load()}
          />
          <Domains siteId={siteId} canEdit={canEdit} />
          {canEdit ? <CloneSite site={site} /> : null}
        </>
      ) : (
        <ProblemNotice problem={problem} />
      )}
    </section>
  );
}

function GeneralForm(props: { site: Site; canEdit: boolean; onSaved: (site: Site) => void; onReload: () => void }) {
  const { t } = useT();
  const { site } = props;
  const [name, setName] = useState(site.name);
  const [locales, setLocales] = useState(site.locales.join(', '));
  const [defaultLocale, setDefaultLocale] = useState(site.default_locale);
  const [primary, setPrimary] = useState(text(site.theme.primary_color, '#0f766e'));
  const [accent, setAccent] = useState(text(site.theme.accent_color, '#f59e0b'));
  const [font, setFont] = useState(text(site.theme.font));
  const [logo, setLogo] = useState<Logo | null>(logoOf(site.theme.logo));
  const [ga4, setGa4] = useState(text(site.analytics.ga4));
  const [ym, setYm] = useState(text(site.analytics.ym));
  const [problem, setProblem] = useState<Problem | null>(null);
  const localeList = locales
    .split(',')
    .map((locale) => locale.trim())
    .filter(Boolean);

  async function save(event: FormEvent) {
    event.preventDefault();
    // Keys this form does not show (a logo, content_utm...) are kept.
    const analytics: Record<string, unknown> = { ...site.analytics, ga4: ga4.trim(), ym: ym.trim() };
    for (const key of ['ga4', 'ym']) if (!analytics[key]) delete analytics[key];
    const { data, error, response } = await api.PATCH('/api/v1/sites/{id}', {
      params: { path: { id: site.id }, header: { 'If-Match': etag(site.version) } },
      body: {
        name,
        locales: localeList,
        default_locale: defaultLocale,
        theme: { ...site.theme, primary_color: primary, accent_color: accent, font: font.trim() || undefined, logo: logo ?? undefined },
        analytics,
      },
    });
    if (data) {
      setProblem(null);
      props.onSaved(data);
    } else setProblem(asProblem(error, response.status));
  }

  const field = (name: string) => fieldError(problem, name);
  const described = (name: string) => (field(name) ? `${name}-error` : undefined);
  return (
    <form className="stack" onSubmit={(event) => void save(event)}>
      <fieldset disabled={!props.canEdit}>
        <legend>{t('settings.general')}</legend>
        <label>
          {t('settings.name')}
          <input value={name} required onChange={(event) => setName(event.target.value)} aria-describedby={described('name')} />
        </label>
        <FieldMessage id="name-error" text={field('name')} />
        <label>
          {t('settings.locales')}
          <input value={locales} onChange={(event) => setLocales(event.target.value)} aria-describedby={described('locales')} />
        </label>
        <FieldMessage id="locales-error" text={field('locales')} />
        <label>
          {t('settings.default_locale')}
          <select value={defaultLocale} onChange={(event) => setDefaultLocale(event.target.value)} aria-describedby={described('default_locale')}>
            {[...new Set([...localeList, defaultLocale])].map((locale) => (
              <option key={locale} value={locale}>
                {locale}
              </option>
            ))}
          </select>
        </label>
        <FieldMessage id="default_locale-error" text={field('default_locale')} />
      </fieldset>
      <fieldset disabled={!props.canEdit}>
        <legend>{t('settings.theme')}</legend>
        <label className="inline">
          <input type="color" value={primary} onChange={(event) => setPrimary(event.target.value)} />
          {t('settings.primary_color')} <code>{primary}</code>
        </label>
        <label className="inline">
          <input type="color" value={accent} onChange={(event) => setAccent(event.target.value)} />
          {t('settings.accent_color')} <code>{accent}</code>
        </label>
        <label>
          {t('settings.font')}
          <input value={font} list="fonts" onChange={(event) => setFont(event.target.value)} placeholder="system-ui" />
        </label>
        <datalist id="fonts">
          {['system-ui', 'Inter', 'Roboto', 'Georgia', 'PT Sans'].map((option) => (
            <option key={option} value={option} />
          ))}
        </datalist>
        <LogoPicker value={logo} onChange={setLogo} />
        <FieldMessage id="logo-error" text={field('theme.logo.media') ?? field('theme.logo.alt')} />
        <FieldMessage id="theme-error" text={field('theme')} />
      </fieldset>
      <fieldset disabled={!props.canEdit}>
        <legend>{t('settings.analytics')}</legend>
        <label>
          {t('settings.ga4')}
          <input value={ga4} onChange={(event) => setGa4(event.target.value)} placeholder="G-XXXXXXX" />
        </label>
        <label>
          {t('settings.ym')}
          <input value={ym} inputMode="numeric" onChange={(event) => setYm(event.target.value)} />
        </label>
        <FieldMessage id="analytics-error" text={field('analytics')} />
      </fieldset>
      <ProblemNotice problem={problem?.errors?.length ? null : problem} />
      {problem?.status === 412 ? (
        <button type="button" className="secondary" onClick={props.onReload}>
          {t('settings.reload')}
        </button>
      ) : null}
      {props.canEdit ? <button type="submit">{t('settings.save')}</button> : null}
    </form>
  );
}

/** A logo from the library's ready images, and its alt text. */
function LogoPicker({ value, onChange }: { value: Logo | null; onChange: (logo: Logo | null) => void }) {
  const { t } = useT();
  const [library, setLibrary] = useState<Media[]>([]);

  useEffect(() => {
    void (async () => {
      const { data } = await api.GET('/api/v1/media', { params: { query: { limit: 100 } } });
      const ready = (data?.items ?? []).filter((media) => media.status === 'ready');
      // The current logo may be older than the newest hundred.
      if (value && !ready.some((media) => media.id === value.media)) {
        const current = await api.GET('/api/v1/media/{id}', { params: { path: { id: value.media } } });
        if (current.data) ready.unshift(current.data);
      }
      setLibrary(ready);
    })();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const chosen = library.find((media) => media.id === value?.media);
  const thumbnail = chosen ? thumbnailOf(chosen) : undefined;
  return (
    <div className="logo-picker">
      <label>
        {t('settings.logo')}
        <select
          value={value?.media ?? ''}
          aria-describedby="logo-error"
          onChange={(event) => {
            const media = library.find((item) => item.id === event.target.value);
            onChange(media ? { media: media.id, alt: value?.alt || media.alt } : null);
          }}
        >
          <option value="">{t('settings.no_logo')}</option>
          {library.map((media) => (
            <option key={media.id} value={media.id}>
              {media.title || media.alt || media.file_name}
            </option>
          ))}
        </select>
      </label>
      {thumbnail ? <img src={thumbnail} alt="" height={40} /> : null}
      {value ? (
        <label>
          {t('settings.logo_alt')}
          <input value={value.alt ?? ''} onChange={(event) => onChange({ ...value, alt: event.target.value })} />
        </label>
      ) : null}
    </div>
  );
}

function Domains({ siteId, canEdit }: { siteId: string; canEdit: boolean }) {
  const { t } = useT();
  const [domains, setDomains] = useState<Domain[]>([]);
  const [host, setHost] = useState('');
  const [primary, setPrimary] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function load() {
    const { data } = await api.GET('/api/v1/sites/{id}/domains', { params: { path: { id: siteId } } });
    setDomains(data?.items ?? []);
  }

  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [siteId]);

  async function add(event: FormEvent) {
    event.preventDefault();
    const { error, response } = await api.POST('/api/v1/sites/{id}/domains', {
      params: { path: { id: siteId } },
      body: { host, is_primary: primary },
    });
    if (error) return setProblem(asProblem(error, response.status));
    setProblem(null);
    setHost('');
    setPrimary(false);
    await load();
  }

  async function remove(domain: Domain) {
    const { error, response } = await api.DELETE('/api/v1/sites/{id}/domains/{domain_id}', {
      params: { path: { id: siteId, domain_id: domain.id } },
    });
    if (error) return setProblem(asProblem(error, response.status));
    setProblem(null);
    await load();
  }

  return (
    <section aria-labelledby="domains-title">
      <h2 id="domains-title">{t('settings.domains')}</h2>
      <ul className="domains">
        {domains.map((domain) => (
          <li key={domain.id}>
            <code>{domain.host}</code> {domain.is_primary ? <span className="status">{t('settings.primary')}</span> : null}{' '}
            {canEdit ? (
              <button type="button" className="secondary" onClick={() => void remove(domain)}>
                {t('settings.remove_domain')} <span className="sr-only">{domain.host}</span>
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <ProblemNotice problem={problem?.errors?.length ? null : problem} />
      {canEdit ? (
        <form className="inline-form" onSubmit={(event) => void add(event)}>
          <label>
            {t('settings.host')}
            <input value={host} required onChange={(event) => setHost(event.target.value)} aria-describedby="host-error" />
          </label>
          <label className="inline">
            <input type="checkbox" checked={primary} onChange={(event) => setPrimary(event.target.checked)} />
            {t('settings.make_primary')}
          </label>
          <button type="submit">{t('settings.add_domain')}</button>
          <FieldMessage id="host-error" text={fieldError(problem, 'host')} />
        </form>
      ) : null}
    </section>
  );
}

function CloneSite({ site }: { site: Site }) {
  const { t } = useT();
  const me = session.me();
  // The API lets owners and admins of the target tenant receive a clone.
  const targets = me?.memberships.filter((m) => m.role === 'owner' || m.role === 'admin') ?? [];
  const [tenant, setTenant] = useState(me?.tenant_id ?? '');
  const [name, setName] = useState(`${site.name} (copy)`);
  const [domain, setDomain] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [cloned, setCloned] = useState<{ id: string; name: string; here: boolean } | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const { data, error, response } = await api.POST('/api/v1/sites/{id}/clone', {
      params: { path: { id: site.id } },
      body: { name, domain, tenant: tenant || null },
    });
    if (!data) return setProblem(asProblem(error, response.status));
    setProblem(null);
    setCloned({ id: data.id, name: data.name, here: data.tenant_id === me?.tenant_id });
  }

  return (
    <section aria-labelledby="clone-title">
      <h2 id="clone-title">{t('settings.clone')}</h2>
      <p>{t('settings.clone_hint')}</p>
      <form className="stack" onSubmit={(event) => void submit(event)}>
        <label>
          {t('settings.clone_tenant')}
          <select value={tenant} onChange={(event) => setTenant(event.target.value)}>
            {me?.tenant_id && !targets.some((m) => m.tenant_id === me.tenant_id) ? (
              <option value={me.tenant_id}>{me.memberships.find((m) => m.tenant_id === me.tenant_id)?.name}</option>
            ) : null}
            {targets.map((membership) => (
              <option key={membership.tenant_id} value={membership.tenant_id}>
                {membership.name}
              </option>
            ))}
          </select>
        </label>
        <FieldMessage id="tenant-error" text={fieldError(problem, 'tenant')} />
        <label>
          {t('settings.clone_name')}
          <input value={name} required onChange={(event) => setName(event.target.value)} />
        </label>
        <FieldMessage id="clone-name-error" text={fieldError(problem, 'name')} />
        <label>
          {t('settings.clone_domain')}
          <input value={domain} required onChange={(event) => setDomain(event.target.value)} placeholder="copy.example.com" />
        </label>
        <FieldMessage id="clone-domain-error" text={fieldError(problem, 'domain')} />
        <ProblemNotice problem={problem?.errors?.length ? null : problem} />
        <button type="submit">{t('settings.clone_submit')}</button>
      </form>
      {cloned ? (
        <p role="status">
          {t('settings.cloned', { name: cloned.name })}{' '}
          {cloned.here ? <Link to={`/sites/${cloned.id}/pages`}>{t('settings.open_clone')}</Link> : null}
        </p>
      ) : null}
    </section>
  );
}
