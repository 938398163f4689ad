// The tenant's audit log, newest first: who did what to which object, and
// what changed (the entry's before and after, leaf by leaf).
import { api, type Schemas } from '../api';
import { diffValues } from '../diff';
import { useT } from '../i18n';
import { usePagedList } from '../paged';
import { session } from '../session';
import { ListNotes, MoreButton } from './ListParts';

type Entry = Schemas['AuditEntry'];

export function AuditLog() {
  const { t, language } = useT();
  const me = session.me();
  const list = usePagedList<Entry>(
    (after) => api.GET('/api/v1/audit-log', { params: { query: { limit: 50, cursor: after ?? undefined } } }),
    [me?.tenant_id],
  );
  const { items } = list;
  const dates = new Intl.DateTimeFormat(language, { dateStyle: 'short', timeStyle: 'medium' });
  const who = (entry: Entry) =>
    !entry.actor_user_id ? t('audit.system') : entry.actor_user_id === me?.id ? me.name : entry.actor_user_id.slice(0, 8);

  return (
    <section>
      <h1>{t('audit.title')}</h1>
      <ListNotes list={list} empty={t('audit.empty')} />
      {items?.length ? (
        <table className="list audit">
          <thead>
            <tr>
              <th scope="col">{t('audit.when')}</th>
              <th scope="col">{t('audit.who')}</th>
              <th scope="col">{t('audit.action')}</th>
              <th scope="col">{t('audit.entity')}</th>
              <th scope="col">{t('audit.changes')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((entry) => {
              const changes = diffValues(entry.before, entry.after);
              return (
                <tr key={entry.id}>
                  <td>{dates.format(new Date(entry.created_at))}</td>
                  <td>{who(entry)}</td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>
                    {entry.entity_type} <code title={entry.entity_id}>{entry.entity_id.slice(0, 8)}</code>
                  </td>
                  <td>
                    {changes.length ? (
                      <details>
                        <summary>{changes.length}</summary>
                        <ul className="changes">
                          {changes.map((change) => (
                            <li key={change.where} className={`change-${change.kind}`}>
                              <strong>{t(`revisions.${change.kind}`)}</strong> {change.where}
                              {change.kind === 'changed' ? (
                                <>
                                  : <del>{change.before}</del> → <ins>{change.after}</ins>
                                </>
                              ) : null}
                            </li>
                          ))}
                        </ul>
                      </details>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <MoreButton list={list} />
    </section>
  );
}
