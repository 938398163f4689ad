// The media library: a grid with the API's filters, uploads by drag and drop
// (or the file picker) with progress per file, and a detail panel for alt
// text, decorative, title, tags and the focal point (a click on the image),
// what uses the media, and deleting it (the 409 explained with its users).
import { useEffect, useState, type DragEvent } from 'react';
import { api, asProblem, etag, fieldError, type Problem, type Schemas } from '../api';
import { session } from '../session';
import { useT } from '../i18n';
import { renditionNear, thumbnailOf, upload, type Media } from '../media';
import { usePagedList } from '../paged';
import { ListNotes, MoreButton } from './ListParts';
import { ProblemNotice } from './ProblemNotice';

const KINDS = ['jpeg', 'png', 'webp', 'gif', 'avif', 'svg'];

interface Sending {
  name: string;
  progress: number;
  error?: string;
}

export function MediaLibrary() {
  const { t } = useT();
  const canEdit = session.canEditContent();
  const canForce = session.canManage();
  const [kind, setKind] = useState('');
  const [tag, setTag] = useState('');
  const [text, setText] = useState('');
  const [unused, setUnused] = useState(false);
  const [sending, setSending] = useState<Sending[]>([]);
  const [selected, setSelected] = useState<Media | null>(null);
  const [over, setOver] = useState(false);
  const list = usePagedList<Media>(
    (after) =>
      api.GET('/api/v1/media', {
        params: {
          query: {
            kind: kind || undefined,
            tag: tag || undefined,
            q: text || undefined,
            unused: unused || undefined,
            limit: 48,
            cursor: after ?? undefined,
          },
        },
      }),
    [kind, tag, text, unused],
  );

  const { items, load, setItems } = list;

  async function send(files: File[]) {
    const start = sending.length;
    setSending((list) => [...list, ...files.map((file) => ({ name: file.name, progress: 0 }))]);
    await Promise.all(
      files.map(async (file, offset) => {
        const index = start + offset;
        const update = (change: Partial<Sending>) =>
          setSending((list) => list.map((item, i) => (i === index ? { ...item, ...change } : item)));
        const answer = await upload(file, '', (progress) => update({ progress }));
        if ('id' in answer) update({ progress: 1 });
        else update({ error: answer.errors?.map((e) => e.message).join('; ') || answer.detail || answer.title });
      }),
    );
    await load(null);
  }

  const dropped = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    if (canEdit) void send([...event.dataTransfer.files]);
  };

  return (
    <section className="media-library">
      <h1>{t('media.title')}</h1>
      <div className="filters">
        <label>
          {t('media.kind')}
          <select value={kind} onChange={(event) => setKind(event.target.value)}>
            <option value="">{t('pages.any')}</option>
            {KINDS.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('media.tag')}
          <input type="text" value={tag} onChange={(event) => setTag(event.target.value)} />
        </label>
        <label>
          {t('media.search')}
          <input type="search" value={text} onChange={(event) => setText(event.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={unused} onChange={(event) => setUnused(event.target.checked)} />
          {t('media.unused')}
        </label>
      </div>
      {canEdit ? (
        <div
          className={over ? 'dropzone over' : 'dropzone'}
          onDragOver={(event) => {
            event.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={dropped}
        >
          <p>{t('media.drop')}</p>
          <label>
            {t('media.choose_files')}
            <input type="file" accept="image/*" multiple onChange={(event) => void send([...(event.target.files ?? [])])} />
          </label>
          <ul className="sending">
            {sending.map((item, index) => (
              <li key={index}>
                {item.name}{' '}
                {item.error ? (
                  <span className="field-error" role="alert">
                    {item.error}
                  </span>
                ) : (
                  <progress max={1} value={item.progress} aria-label={`${t('image.uploading')} ${item.name}`} />
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <ListNotes list={list} empty={t('media.empty')} />
      <div className="media-columns">
        <ul className="media-grid">
          {items?.map((media) => (
            <li key={media.id}>
              <button
                type="button"
                className={selected?.id === media.id ? 'media-pick selected' : 'media-pick'}
                aria-pressed={selected?.id === media.id}
                onClick={() => setSelected(media)}
              >
                {thumbnailOf(media) ? <img src={thumbnailOf(media)} alt="" width={140} /> : <span className="status">{media.status}</span>}
                <span>{media.alt || media.file_name}</span>
              </button>
            </li>
          ))}
        </ul>
        {selected ? (
          <MediaDetail
            key={selected.id + selected.version}
            media={selected}
            canEdit={canEdit}
            canForce={canForce}
            onChanged={(media) => {
              setSelected(media);
              setItems((list) => list?.map((item) => (item.id === media.id ? media : item)) ?? null);
            }}
            onDeleted={() => {
              setSelected(null);
              void load(null);
            }}
          />
        ) : null}
      </div>
      <MoreButton list={list} />
    </section>
  );
}

function MediaDetail(props: {
  media: Media;
  canEdit: boolean;
  canForce: boolean;
  onChanged: (media: Media) => void;
  onDeleted: () => void;
}) {
  const { t } = useT();
  const { media } = props;
  const [alt, setAlt] = useState(media.alt);
  const [decorative, setDecorative] = useState(media.decorative);
  const [title, setTitle] = useState(media.title);
  const [tags, setTags] = useState(media.tags.join(', '));
  const [problem, setProblem] = useState<Problem | null>(null);
  const [usage, setUsage] = useState<Schemas['MediaUse'][] | null>(null);
  const [saved, setSaved] = useState('');

  useEffect(() => {
    void api.GET('/api/v1/media/{id}/usage', { params: { path: { id: media.id } } }).then(({ data }) => setUsage(data?.items ?? []));
  }, [media.id]);

  async function patch(body: Schemas['UpdateMedia']) {
    const { data, error, response } = await api.PATCH('/api/v1/media/{id}', {
      params: { path: { id: media.id } },
      headers: { 'If-Match': etag(media.version) },
      body,
    });
    if (data) {
      setProblem(null);
      setSaved(t('editor.saved'));
      props.onChanged(data);
    } else {
      setProblem(asProblem(error, response.status));
    }
  }

  async function remove(force: boolean) {
    const { error, response } = await api.DELETE('/api/v1/media/{id}', {
      params: { path: { id: media.id }, query: force ? { force: true } : {} },
      headers: { 'If-Match': etag(media.version) },
    });
    if (response.status === 204 || response.status === 200) props.onDeleted();
    else setProblem(asProblem(error, response.status));
  }

  const large = renditionNear(media, 640);
  const field = (name: string) => fieldError(problem, name);
  return (
    <aside className="media-detail" aria-label={media.file_name}>
      <h2>{media.file_name}</h2>
      <p className="sr-only" role="status">
        {saved}
      </p>
      {large ? (
        <div className="focal">
          <img
            src={large}
            alt={media.alt}
            width={media.width}
            height={media.height}
            title={t('media.focal_hint')}
            onClick={(event) => {
              if (!props.canEdit) return;
              const box = event.currentTarget.getBoundingClientRect();
              const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
              const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
              void patch({ focal_point: { x: Math.round(x * 1000) / 1000, y: Math.round(y * 1000) / 1000 } });
            }}
          />
          <svg className="focal-mark" viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">
            <circle cx={media.focal_point.x * 100} cy={media.focal_point.y * 100} r="3" />
          </svg>
        </div>
      ) : (
        <p>{media.status}</p>
      )}
      <p>
        {media.width} × {media.height} · {media.kind} · {Math.round(media.byte_size / 1024)} KB · {t('media.focal')}{' '}
        {media.focal_point.x.toFixed(2)}, {media.focal_point.y.toFixed(2)}
      </p>
      <ProblemNotice problem={problem?.errors?.length ? null : problem} />
      {problem?.used_by?.length ? (
        <div className="problem" role="alert">
          <p>{t('media.in_use')}</p>
          <ul>
            {problem.used_by.map((use) => (
              <li key={`${use.kind}-${use.id}-${use.block_id ?? ''}`}>
                {t(`usage.${use.kind}` as 'usage.block')}: {use.label}
              </li>
            ))}
          </ul>
          {props.canForce ? (
            <button type="button" className="danger" onClick={() => void remove(true)}>
              {t('media.delete_anyway')}
            </button>
          ) : null}
        </div>
      ) : null}
      <form
        className="media-form"
        onSubmit={(event) => {
          event.preventDefault();
          void patch({
            alt,
            decorative,
            title,
            tags: tags
              .split(',')
              .map((tag) => tag.trim())
              .filter(Boolean),
          });
        }}
      >
        <label>
          {t('image.alt')}
          <input type="text" value={alt} readOnly={!props.canEdit} onChange={(event) => setAlt(event.target.value)} aria-describedby="media-alt-error" />
        </label>
        <p id="media-alt-error" className="field-error">
          {field('alt') ?? ''}
        </p>
        <label className="inline">
          <input type="checkbox" checked={decorative} disabled={!props.canEdit} onChange={(event) => setDecorative(event.target.checked)} />
          {t('media.decorative')}
        </label>
        <label>
          {t('pages.page_title')}
          <input type="text" value={title} readOnly={!props.canEdit} onChange={(event) => setTitle(event.target.value)} />
        </label>
        <label>
          {t('media.tags')}
          <input type="text" value={tags} readOnly={!props.canEdit} onChange={(event) => setTags(event.target.value)} aria-describedby="media-tags-error" />
        </label>
        <p id="media-tags-error" className="field-error">
          {field('tags') ?? ''}
        </p>
        {props.canEdit ? (
          <div className="actions">
            <button type="submit">{t('media.save')}</button>
            <button type="button" className="secondary" onClick={() => void remove(false)}>
              {t('editor.delete')}
            </button>
          </div>
        ) : null}
      </form>
      <h3>{t('media.usage')}</h3>
      {usage === null ? (
        <p>{t('common.loading')}</p>
      ) : usage.length === 0 ? (
        <p>{t('media.unused_now')}</p>
      ) : (
        <ul className="usage">
          {usage.map((use) => (
            <li key={`${use.kind}-${use.id}-${use.block_id ?? ''}`}>
              {t(`usage.${use.kind}` as 'usage.block')}: {use.label}
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
