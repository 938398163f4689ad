// The page's own fields and SEO: title, path, meta title and description
// (with the lengths search engines show), canonical URL, social image and
// noindex. Saved with If-Match on the page; the API's 422 marks the field.
import { useState, type FormEvent } from 'react';
import { api, asProblem, etag, fieldError, type Problem, type Schemas } from '../api';
import { useT } from '../i18n';
import { FieldMessage } from '../screens/Login';
import { ProblemNotice } from '../screens/ProblemNotice';

type Page = Schemas['Page'];

const text = (value: unknown) => (typeof value === 'string' ? value : '');

export function PageSettings(props: { page: Page; canEdit: boolean; onSaved: (page: Page) => void }) {
  const { t } = useT();
  const { page } = props;
  const [title, setTitle] = useState(page.title);
  const [path, setPath] = useState(page.path);
  const [metaTitle, setMetaTitle] = useState(text(page.seo.meta_title));
  const [metaDescription, setMetaDescription] = useState(text(page.seo.meta_description));
  const [canonical, setCanonical] = useState(text(page.seo.canonical));
  const [ogImage, setOgImage] = useState(text(page.seo.og_image));
  const [noindex, setNoindex] = useState(page.seo.noindex === true);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function save(event: FormEvent) {
    event.preventDefault();
    // Empty fields are left out: the renderer then falls back to the title.
    const seo: Record<string, unknown> = {};
    if (metaTitle.trim()) seo.meta_title = metaTitle.trim();
    if (metaDescription.trim()) seo.meta_description = metaDescription.trim();
    if (canonical.trim()) seo.canonical = canonical.trim();
    if (ogImage.trim()) seo.og_image = ogImage.trim();
    if (noindex) seo.noindex = true;
    const { data, error, response } = await api.PATCH('/api/v1/pages/{id}', {
      params: { path: { id: page.id }, header: { 'If-Match': etag(page.version) } },
      body: { title, path, seo },
    });
    if (data) {
      setProblem(null);
      props.onSaved(data);
    } else setProblem(asProblem(error, response.status));
  }

  const field = (name: string) => fieldError(problem, name);
  const input = (name: string, label: string, value: string, set: (value: string) => void, max?: number) => (
    <>
      <label>
        {label}
        <input
          value={value}
          onChange={(event) => set(event.target.value)}
          aria-describedby={`seo-${name}-hint seo-${name}-error`}
          aria-invalid={field(name) ? true : undefined}
        />
      </label>
      <p id={`seo-${name}-hint`} className={max && value.length > max ? 'hint over' : 'hint'}>
        {max ? t('seo.length', { count: String(value.length), max: String(max) }) : ''}
      </p>
      <FieldMessage id={`seo-${name}-error`} text={field(name)} />
    </>
  );

  return (
    <details className="page-settings">
      <summary>{t('seo.title')}</summary>
      <form className="stack" onSubmit={(event) => void save(event)}>
        <fieldset disabled={!props.canEdit}>
          {input('title', t('seo.page_title'), title, setTitle)}
          {input('path', t('seo.path'), path, setPath)}
          {input('seo.meta_title', t('seo.meta_title'), metaTitle, setMetaTitle, 60)}
          <label>
            {t('seo.meta_description')}
            <textarea
              rows={3}
              value={metaDescription}
              onChange={(event) => setMetaDescription(event.target.value)}
              aria-describedby="seo-description-hint seo-description-error"
            />
          </label>
          <p id="seo-description-hint" className={metaDescription.length > 160 ? 'hint over' : 'hint'}>
            {t('seo.length', { count: String(metaDescription.length), max: '160' })}
          </p>
          <FieldMessage id="seo-description-error" text={field('seo.meta_description')} />
          {input('seo.canonical', t('seo.canonical'), canonical, setCanonical)}
          {input('seo.og_image', t('seo.og_image'), ogImage, setOgImage)}
          <label className="inline">
            <input type="checkbox" checked={noindex} onChange={(event) => setNoindex(event.target.checked)} />
            {t('seo.noindex')}
          </label>
        </fieldset>
        <ProblemNotice problem={problem?.errors?.length ? null : problem} />
        {props.canEdit ? <button type="submit">{t('seo.save')}</button> : null}
      </form>
    </details>
  );
}
