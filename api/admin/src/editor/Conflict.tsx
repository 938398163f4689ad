// Someone else saved this block after it was opened here: their version
// and this editor's side by side, with the changes that do not collide
// already merged and a choice for each prop both changed.
import { useState } from 'react';
import { useT } from '../i18n';
import type { Props } from './merge';

export function Conflict(props: {
  theirs: Props;
  mine: Props;
  merged: Props;
  conflicts: string[];
  onResolve: (props: Props) => void;
  onDiscard: () => void;
}) {
  const { t } = useT();
  const [choice, setChoice] = useState<Record<string, 'mine' | 'theirs'>>(
    Object.fromEntries(props.conflicts.map((key) => [key, 'mine'])),
  );
  const keys = [...new Set([...Object.keys(props.theirs), ...Object.keys(props.mine)])];
  const show = (value: unknown) => (value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value));
  const resolved = () => {
    const result = { ...props.merged };
    for (const key of props.conflicts) {
      const value = choice[key] === 'theirs' ? props.theirs[key] : props.mine[key];
      if (value === undefined) delete result[key];
      else result[key] = value;
    }
    return result;
  };
  return (
    <section className="conflict" role="alert" aria-labelledby="conflict-title">
      <h2 id="conflict-title">{t('conflict.title')}</h2>
      <p>{t('conflict.explain')}</p>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('conflict.prop')}</th>
            <th scope="col">{t('conflict.theirs')}</th>
            <th scope="col">{t('conflict.mine')}</th>
            <th scope="col">{t('conflict.keep')}</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key} className={props.conflicts.includes(key) ? 'clash' : undefined}>
              <th scope="row">{key}</th>
              <td>{show(props.theirs[key])}</td>
              <td>{show(props.mine[key])}</td>
              <td>
                {props.conflicts.includes(key) ? (
                  <select
                    aria-label={`${t('conflict.keep')}: ${key}`}
                    value={choice[key]}
                    onChange={(event) => setChoice({ ...choice, [key]: event.target.value as 'mine' | 'theirs' })}
                  >
                    <option value="mine">{t('conflict.mine')}</option>
                    <option value="theirs">{t('conflict.theirs')}</option>
                  </select>
                ) : (
                  show(props.merged[key])
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" onClick={() => props.onResolve(resolved())}>
          {t('conflict.save_merged')}
        </button>
        <button type="button" className="secondary" onClick={props.onDiscard}>
          {t('conflict.discard')}
        </button>
      </div>
    </section>
  );
}
