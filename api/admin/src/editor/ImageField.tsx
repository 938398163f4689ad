// An image prop: a media of the library (`{media, alt?}`), chosen from the
// tenant's images or uploaded here with its alt text (progress shown).
import { useEffect, useState } from 'react';
import type { FieldProps } from '@rjsf/utils';
import { api } from '../api';
import { useT } from '../i18n';
import { thumbnailOf, upload, type Media } from '../media';
type Value = { media?: string; alt?: string; src?: string };

export function ImageField(props: FieldProps) {
  const { t } = useT();
  const value = (props.formData ?? {}) as Value;
  const id = props.fieldPathId.$id;
  const [library, setLibrary] = useState<Media[] | null>(null);
  const [chosen, setChosen] = useState<Media | null>(null);
  const [alt, setAlt] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!value.media || chosen?.id === value.media) return;
    void api.GET('/api/v1/media/{id}', { params: { path: { id: value.media } } }).then(({ data }) => setChosen(data ?? null));
  }, [value.media, chosen?.id]);

  const set = (next: Value) => props.onChange(next, props.fieldPathId.path);

  async function send() {
    if (!file) return;
    setError(null);
    setProgress(0);
    const answer = await upload(file, alt, setProgress);
    setProgress(null);
    if ('id' in answer) {
      setChosen(answer);
      setFile(null);
      // The same bytes uploaded before answer that media with its own alt
      // text: what was typed here is kept for this block.
      set({ media: answer.id, ...(alt && alt !== answer.alt ? { alt } : {}) });
    } else {
      setError(answer.errors?.map((e) => `${e.field}: ${e.message}`).join('; ') || answer.detail || answer.title);
    }
  }

  const thumb = chosen ? thumbnailOf(chosen) : undefined;
  return (
    <fieldset className="image-field" id={id}>
      <legend>{props.name}</legend>
      {value.media ? (
        <div className="image-chosen">
          {thumb ? <img src={thumb} alt={chosen?.alt ?? ''} width={120} /> : <span>{chosen?.status ?? t('common.loading')}</span>}
          <span>{chosen?.file_name}</span>
          <label>
            {t('image.alt_override')}
            <input
              type="text"
              value={value.alt ?? ''}
              disabled={props.readonly || props.disabled}
              onChange={(event) => set({ media: value.media, ...(event.target.value ? { alt: event.target.value } : {}) })}
            />
          </label>
          {!props.readonly && (
            <button type="button" className="secondary" onClick={() => props.onChange(undefined, props.fieldPathId.path)}>
              {t('image.remove')}
            </button>
          )}
        </div>
      ) : value.src ? (
        <p>
          <code>{value.src}</code>
        </p>
      ) : null}
      {!props.readonly && !props.disabled && (
        <>
          <div className="image-upload">
            <label>
              {t('image.file')}
              <input type="file" accept="image/*" onChange={(event) => setFile(event.target.files?.[0] ?? null)} />
            </label>
            <label>
              {t('image.alt')}
              <input type="text" value={alt} onChange={(event) => setAlt(event.target.value)} />
            </label>
            <button type="button" disabled={!file || progress !== null} onClick={() => void send()}>
              {t('image.upload')}
            </button>
            {progress !== null ? <progress max={1} value={progress} aria-label={t('image.uploading')} /> : null}
          </div>
          <details
            onToggle={(event) => {
              if ((event.target as HTMLDetailsElement).open && library === null) {
                void api.GET('/api/v1/media', { params: { query: { limit: 60 } } }).then(({ data }) => setLibrary(data?.items ?? []));
              }
            }}
          >
            <summary>{t('image.library')}</summary>
            <ul className="media-grid">
              {library?.map((media) => (
                <li key={media.id}>
                  <button
                    type="button"
                    className="media-pick"
                    onClick={() => {
                      setChosen(media);
                      set({ media: media.id });
                    }}
                  >
                    {thumbnailOf(media) ? <img src={thumbnailOf(media)} alt="" width={96} /> : null}
                    <span>{media.alt || media.file_name}</span>
                  </button>
                </li>
              ))}
            </ul>
          </details>
        </>
      )}
      {error || props.rawErrors?.length ? (
        <p className="field-error" role="alert">
          {[error, ...(props.rawErrors ?? [])].filter(Boolean).join('; ')}
        </p>
      ) : null}
    </fieldset>
  );
}
