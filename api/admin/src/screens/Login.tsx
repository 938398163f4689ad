import { useState, type FormEvent } from 'react';
import { session } from '../session';
import { fieldError, type Problem } from '../api';
import { useT } from '../i18n';
import { ProblemNotice } from './ProblemNotice';

export function Login() {
  const { t } = useT();
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    const refused = await session.login(
      String(form.get('email') ?? ''),
      String(form.get('password') ?? ''),
      String(form.get('tenant') ?? '') || null,
    );
    setBusy(false);
    setProblem(refused);
  }

  return (
    <main className="login">
      <h1>{t('login.title')}</h1>
      <form onSubmit={submit} noValidate>
        <ProblemNotice problem={problem} />
        <label>
          {t('login.email')}
          <input name="email" type="email" autoComplete="username" required aria-describedby="email-error" />
        </label>
        <FieldMessage id="email-error" text={fieldError(problem, 'email')} />
        <label>
          {t('login.password')}
          <input name="password" type="password" autoComplete="current-password" required aria-describedby="password-error" />
        </label>
        <FieldMessage id="password-error" text={fieldError(problem, 'password')} />
        <label>
          {t('login.tenant')}
          <input name="tenant" type="text" autoComplete="organization" aria-describedby="tenant-error" />
        </label>
        <FieldMessage id="tenant-error" text={fieldError(problem, 'tenant')} />
        <button type="submit" disabled={busy}>
          {t('login.submit')}
        </button>
      </form>
    </main>
  );
}

export function FieldMessage({ id, text }: { id: string; text: string | undefined }) {
  return (
    <p id={id} className="field-error" role={text ? 'alert' : undefined}>
      {text ?? ''}
    </p>
  );
}
