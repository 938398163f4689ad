// The tenant's members: everyone who may read them sees the list; owners and
// admins add existing accounts or create new ones, change roles and remove
// members. The API's rules (an admin may not touch owners, the last owner
// stays) answer 403 or 409, shown where the change was made.
import { useState, type FormEvent } from 'react';
import { api, asProblem, fieldError, type Problem, type Schemas } from '../api';
import { useT } from '../i18n';
import { usePagedList } from '../paged';
import { session } from '../session';
import { ListNotes, MoreButton } from './ListParts';
import { FieldMessage } from './Login';
import { ProblemNotice } from './ProblemNotice';

type Member = Schemas['Member'];
type Role = Schemas['Role'];
const ROLES: Role[] = ['viewer', 'editor', 'admin', 'owner'];

export function Members() {
  const { t } = useT();
  const me = session.me();
  const canManage = session.canManage();
  const list = usePagedList<Member>(
    (after) => api.GET('/api/v1/users', { params: { query: { limit: 100, cursor: after ?? undefined } } }),
    [me?.tenant_id],
  );
  const [problem, setProblem] = useState<Problem | null>(null);
  const [confirmRemove, setConfirmRemove] = useState<string | null>(null);
  const [announce, setAnnounce] = useState('');

  async function changed(message: string) {
    setProblem(null);
    setAnnounce(message);
    await list.load(null);
  }

  async function setRole(member: Member, role: Role) {
    const { error, response } = await api.PATCH('/api/v1/memberships/{id}', {
      params: { path: { id: member.membership_id } },
      body: { role },
    });
    if (error) {
      setProblem(asProblem(error, response.status));
      await list.load(null);
    } else await changed(t('members.role_changed', { name: member.name, role: t(`role.${role}`) }));
  }

  async function remove(member: Member) {
    setConfirmRemove(null);
    const { error, response } = await api.DELETE('/api/v1/memberships/{id}', { params: { path: { id: member.membership_id } } });
    if (error) setProblem(asProblem(error, response.status));
    else await changed(t('members.removed', { name: member.name }));
  }

  return (
    <section>
      <h1>{t('members.title')}</h1>
      <p className="sr-only" role="status" aria-live="polite">
        {announce}
      </p>
      {canManage ? <AddMember onAdded={(name) => void changed(t('members.added', { name }))} /> : null}
      <ProblemNotice problem={problem} />
      <ListNotes list={list} empty={t('members.empty')} />
      {list.items?.length ? (
        <table className="list members">
          <thead>
            <tr>
              <th scope="col">{t('members.name')}</th>
              <th scope="col">{t('login.email')}</th>
              <th scope="col">{t('members.role')}</th>
              {canManage ? <th scope="col">{t('members.actions')}</th> : null}
            </tr>
          </thead>
          <tbody>
            {list.items.map((member) => (
              <tr key={member.membership_id}>
                <td>
                  {member.name} {member.id === me?.id ? <span className="status">{t('members.you')}</span> : null}
                </td>
                <td>{member.email}</td>
                <td>
                  {canManage ? (
                    <select
                      aria-label={t('members.role_of', { name: member.name })}
                      value={member.role}
                      onChange={(event) => void setRole(member, event.target.value as Role)}
                    >
                      {ROLES.map((role) => (
                        <option key={role} value={role}>
                          {t(`role.${role}`)}
                        </option>
                      ))}
                    </select>
                  ) : (
                    t(`role.${member.role}`)
                  )}
                </td>
                {canManage ? (
                  <td>
                    {confirmRemove === member.membership_id ? (
                      <button type="button" className="danger" onClick={() => void remove(member)}>
                        {t('members.confirm_remove', { name: member.name })}
                      </button>
                    ) : (
                      <button type="button" className="secondary" onClick={() => setConfirmRemove(member.membership_id)}>
                        {t('members.remove')} <span className="sr-only">{member.name}</span>
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <MoreButton list={list} />
    </section>
  );
}

/** Adds an existing account by email, or creates one (name and password). */
function AddMember({ onAdded }: { onAdded: (name: string) => void }) {
  const { t } = useT();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [create, setCreate] = useState(false);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const answer = create
      ? await api.POST('/api/v1/users', { body: { email, name, password, role } })
      : await api.POST('/api/v1/memberships', { body: { email, role } });
    if (answer.error) return setProblem(asProblem(answer.error, answer.response.status));
    setProblem(null);
    setEmail('');
    setName('');
    setPassword('');
    onAdded(create ? name : email);
  }

  const field = (key: string) => fieldError(problem, key);
  return (
    <details className="add-member">
      <summary>{t('members.add')}</summary>
      <form className="stack" onSubmit={(event) => void submit(event)}>
        <label>
          {t('login.email')}
          <input type="email" value={email} required onChange={(event) => setEmail(event.target.value)} aria-describedby="member-email-error" />
        </label>
        <FieldMessage id="member-email-error" text={field('email')} />
        <label>
          {t('members.role')}
          <select value={role} onChange={(event) => setRole(event.target.value as Role)}>
            {ROLES.map((option) => (
              <option key={option} value={option}>
                {t(`role.${option}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={create} onChange={(event) => setCreate(event.target.checked)} />
          {t('members.create_account')}
        </label>
        {create ? (
          <>
            <label>
              {t('members.name')}
              <input value={name} required onChange={(event) => setName(event.target.value)} aria-describedby="member-name-error" />
            </label>
            <FieldMessage id="member-name-error" text={field('name')} />
            <label>
              {t('members.password')}
              <input
                type="password"
                autoComplete="new-password"
                value={password}
                required
                minLength={12}
                onChange={(event) => setPassword(event.target.value)}
                aria-describedby="member-password-error"
              />
            </label>
            <FieldMessage id="member-password-error" text={field('password')} />
          </>
        ) : null}
        <ProblemNotice problem={problem?.errors?.length ? null : problem} />
        <button type="submit">{t('members.add_submit')}</button>
      </form>
    </details>
  );
}
