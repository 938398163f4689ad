// A page's published revisions: compare any two (what changed, block by
// block and prop by prop) and publish an old one again.
import { useEffect, useState } from 'react';
import { api, type Schemas } from '../api';
import { useT } from '../i18n';
import { diffSnapshots } from '../diff';

type Revision = Schemas['Revision'];

export function Revisions(props: { pageId: string; canEdit: boolean; tick: number; onRestore: (revision: Revision) => void }) {
  const { t, language } = useT();
  const [revisions, setRevisions] = useState<Revision[]>([]);
  const [older, setOlder] = useState('');
  const [newer, setNewer] = useState('');

  useEffect(() => {
    void api.GET('/api/v1/pages/{id}/revisions', { params: { path: { id: props.pageId } } }).then(({ data }) => {
      const items = [...(data?.items ?? [])].sort((a, b) => b.number - a.number);
      setRevisions(items);
      setNewer((current) => current || items[0]?.id || '');
      setOlder((current) => current || items[1]?.id || '');
    });
  }, [props.pageId, props.tick]);

  const dates = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'medium' });
  const a = revisions.find((r) => r.id === older);
  const b = revisions.find((r) => r.id === newer);
  const changes = a && b ? diffSnapshots(a.snapshot, b.snapshot) : [];
  const label = (revision: Revision) => `#${revision.number} · ${dates.format(new Date(revision.created_at))}`;
  return (
    <details className="revisions">
      <summary>
        {t('revisions.title')} ({revisions.length})
      </summary>
      <ol reversed>
        {revisions.map((revision) => (
          <li key={revision.id}>
            {label(revision)}{' '}
            {props.canEdit ? (
              <button type="button" className="secondary" onClick={() => props.onRestore(revision)}>
                {t('revisions.restore')} <span className="sr-only">#{revision.number}</span>
              </button>
            ) : null}
          </li>
        ))}
      </ol>
      {revisions.length >= 2 ? (
        <div className="diff">
          <RevisionChoice title={t('revisions.from')} value={older} onChange={setOlder} revisions={revisions} label={label} />
          <RevisionChoice title={t('revisions.to')} value={newer} onChange={setNewer} revisions={revisions} label={label} />
          {changes.length === 0 ? (
            <p>{t('revisions.same')}</p>
          ) : (
            <ul className="changes">
              {changes.map((change, index) => (
                <li key={index} className={`change-${change.kind}`}>
                  <strong>{t(`revisions.${change.kind}`)}</strong> {change.where}
                  {change.kind === 'changed' ? (
                    <>
                      : <del>{change.before ?? '—'}</del> → <ins>{change.after ?? '—'}</ins>
                    </>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
    </details>
  );
}

function RevisionChoice(props: {
  title: string;
  value: string;
  onChange: (id: string) => void;
  revisions: Revision[];
  label: (revision: Revision) => string;
}) {
  return (
    <label className="inline">
      {props.title}
      <select value={props.value} onChange={(event) => props.onChange(event.target.value)}>
        {props.revisions.map((r) => (
          <option key={r.id} value={r.id}>
            {props.label(r)}
          </option>
        ))}
      </select>
    </label>
  );
}
