// The page editor: the page's blocks (add from the module library, edit in
// forms generated from the module's schema, duplicate, delete, reorder by
// drag or by keyboard), saves guarded by If-Match with a merge view when
// someone else saved first, a live preview from the renderer beside the
// form, and publishing now, at a time, or unpublishing.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { RJSFSchema } from '@rjsf/utils';
import { api, asProblem, etag, type Problem, type Schemas } from '../api';
import { session } from '../session';
import { useT } from '../i18n';
import { Link } from '../route';
import { ProblemNotice } from '../screens/ProblemNotice';
import { BlockForm } from './BlockForm';
import { Conflict } from './Conflict';
import { merge, type Props } from './merge';
import { ModulePicker } from './ModulePicker';
import { Revisions } from './Revisions';
import { PageSettings } from './PageSettings';
import { Experiments, type PreviewVariant } from './Experiments';

type Page = Schemas['Page'];
type Block = Schemas['Block'];
type Module = Schemas['ModuleView'];

interface Editing {
  /** `null` for a block not saved yet. */
  blockId: string | null;
  module: string;
  position: number | null;
  base: Props;
  baseVersion: number;
  value: Props;
}

interface Clash {
  theirs: Props;
  theirVersion: number;
  mine: Props;
  merged: Props;
  conflicts: string[];
}


function previewTemplate(): string | null {
  return document.querySelector<HTMLMetaElement>('meta[name="cms-preview-url"]')?.content ?? null;
}

export default function PageEditor({ siteId, pageId }: { siteId: string; pageId: string }) {
  const { t } = useT();
  const canEdit = session.canEditContent();
  const [page, setPage] = useState<Page | null>(null);
  const [blocks, setBlocks] = useState<Block[]>([]);
  const [modules, setModules] = useState<Module[]>([]);
  const [host, setHost] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [clash, setClash] = useState<Clash | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [picking, setPicking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [announce, setAnnounce] = useState('');
  const [previewToken, setPreviewToken] = useState<string | null>(null);
  const [previewTick, setPreviewTick] = useState(0);
  const [publishAt, setPublishAt] = useState('');
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [previewVariant, setPreviewVariant] = useState<PreviewVariant | null>(null);
  // While the page is read again after a change, its version is not yet
  // known: publishing waits, or it would send a stale If-Match.
  const [syncing, setSyncing] = useState(false);
  const dragged = useRef<string | null>(null);
  const moves = useRef<Promise<void>>(Promise.resolve());
  const latestPage = useRef<Page | null>(null);
  const focusAfterMove = useRef<string | null>(null);

  const reload = useCallback(async () => {
    setSyncing(true);
    const [pageAnswer, blocksAnswer] = await Promise.all([
      api.GET('/api/v1/pages/{id}', { params: { path: { id: pageId } } }),
      api.GET('/api/v1/pages/{id}/blocks', { params: { path: { id: pageId } } }),
    ]).finally(() => setSyncing(false));
    if (pageAnswer.data) {
      latestPage.current = pageAnswer.data;
      setPage(pageAnswer.data);
    }
    else setProblem(asProblem(pageAnswer.error, pageAnswer.response.status));
    if (blocksAnswer.data) setBlocks([...blocksAnswer.data.items].sort((a, b) => a.position - b.position));
    setPreviewTick((tick) => tick + 1);
  }, [pageId]);

  useEffect(() => {
    void reload();
    void api.GET('/api/v1/modules').then(({ data }) => setModules(data?.items ?? []));
    void api.GET('/api/v1/sites/{id}/domains', { params: { path: { id: siteId } } }).then(({ data }) => {
      const domains = data?.items ?? [];
      setHost((domains.find((d) => d.is_primary) ?? domains[0])?.host ?? null);
    });
    void api.POST('/api/v1/pages/{id}/preview-token', { params: { path: { id: pageId } } }).then(({ data }) => setPreviewToken(data?.token ?? null));
  }, [pageId, siteId, reload]);

  // Before paint: moving a block moves its element, which takes the focus
  // off its control; a keyboard user keeps it.
  useLayoutEffect(() => {
    if (focusAfterMove.current) {
      document.getElementById(focusAfterMove.current)?.focus();
      focusAfterMove.current = null;
    }
  }, [blocks]);

  const moduleOf = (key: string) => modules.find((m) => m.key === key);
  const done = async (message: string) => {
    setProblem(null);
    setAnnounce(message);
    await reload();
  };

  async function saveBlock(value: Props, version: number) {
    if (!editing) return;
    setBusy(true);
    const answer = editing.blockId
      ? await api.PATCH('/api/v1/pages/{id}/blocks/{block}', {
          params: { path: { id: pageId, block: editing.blockId }, header: { 'If-Match': etag(version) } },
          body: { props: value },
        })
      : await api.POST('/api/v1/pages/{id}/blocks', {
          params: { path: { id: pageId } },
          body: { module: editing.module, props: value, position: editing.position },
        });
    setBusy(false);
    if (answer.response.status === 412 && editing.blockId) {
      const fresh = await api.GET('/api/v1/pages/{id}/blocks', { params: { path: { id: pageId } } });
      const theirs = fresh.data?.items.find((b) => b.id === editing.blockId);
      if (theirs) {
        const merged = merge(editing.base, theirs.props as Props, value);
        setClash({ theirs: theirs.props as Props, theirVersion: theirs.version, mine: value, ...{ merged: merged.props, conflicts: merged.conflicts } });
      }
      return;
    }
    if (answer.error || !answer.data) {
      setProblem(asProblem(answer.error, answer.response.status));
      return;
    }
    setEditing(null);
    setClash(null);
    await done(t('editor.saved'));
  }

  async function addCopy(block: Block) {
    const answer = await api.POST('/api/v1/pages/{id}/blocks', {
      params: { path: { id: pageId } },
      body: { module: block.module, props: block.props, position: block.position + 1 },
    });
    if (answer.error) setProblem(asProblem(answer.error, answer.response.status));
    else await done(t('editor.duplicated'));
  }

  /** Hides a block from previews and publishing, or shows it again. */
  async function toggleHidden(block: Block) {
    const answer = await api.PATCH('/api/v1/pages/{id}/blocks/{block}', {
      params: { path: { id: pageId, block: block.id }, header: { 'If-Match': etag(block.version) } },
      body: { hidden: !block.hidden },
    });
    if (answer.error) setProblem(asProblem(answer.error, answer.response.status));
    else await done(t(block.hidden ? 'editor.shown' : 'editor.hidden'));
  }

  async function remove(block: Block) {
    const answer = await api.DELETE('/api/v1/pages/{id}/blocks/{block}', { params: { path: { id: pageId, block: block.id } } });
    setConfirmDelete(null);
    if (answer.error) setProblem(asProblem(answer.error, answer.response.status));
    else await done(t('editor.deleted'));
  }

  // Moves run one after another, each on the page as the previous one left
  // it (its version changes with every reorder): pressing a move control
  // again before the last move is saved must not send a stale If-Match.
  function move(blockId: string, delta: number, focusId?: string) {
    const order = [...blocks];
    const from = order.findIndex((b) => b.id === blockId);
    const to = from + delta;
    const moved = order[from];
    if (!moved || to < 0 || to >= order.length) return;
    order.splice(from, 1);
    order.splice(to, 0, moved);
    setBlocks(order);
    // At either end the control just used is disabled: the focus goes to
    // the other direction's.
    const atEnd = (delta > 0 && to === order.length - 1) || (delta < 0 && to === 0);
    focusAfterMove.current = focusId && atEnd ? `${delta > 0 ? 'up' : 'down'}-${blockId}` : (focusId ?? null);
    moves.current = moves.current.then(async () => {
      const version = latestPage.current?.version;
      if (version === undefined) return;
      const answer = await api.PUT('/api/v1/pages/{id}/blocks/order', {
        params: { path: { id: pageId }, header: { 'If-Match': etag(version) } },
        body: { block_ids: order.map((b) => b.id) },
      });
      if (answer.error) {
        setProblem(asProblem(answer.error, answer.response.status));
        await reload();
      } else {
        await done(t('editor.moved', { name: moduleOf(moved.module)?.name ?? moved.module, place: String(to + 1) }));
      }
    });
  }

  async function publish() {
    if (!page) return;
    const answer = await api.POST('/api/v1/pages/{id}/publish', {
      params: { path: { id: pageId }, header: { 'If-Match': etag(page.version) } },
      body: publishAt ? { publish_at: new Date(publishAt).toISOString() } : {},
    });
    if (answer.error) setProblem(asProblem(answer.error, answer.response.status));
    else await done(publishAt ? t('editor.scheduled') : t('editor.published'));
  }

  async function restore(revision: Schemas['Revision']) {
    if (!page) return;
    const answer = await api.POST('/api/v1/pages/{id}/revisions/{revision}/restore', {
      params: { path: { id: pageId, revision: revision.id }, header: { 'If-Match': etag(page.version) } },
    });
    if (answer.error) setProblem(asProblem(answer.error, answer.response.status));
    else await done(t('revisions.restored', { number: String(revision.number) }));
  }

  async function unpublish() {
    if (!page) return;
    const answer = await api.POST('/api/v1/pages/{id}/unpublish', {
      params: { path: { id: pageId }, header: { 'If-Match': etag(page.version) } },
    });
    if (answer.error) setProblem(asProblem(answer.error, answer.response.status));
    else await done(t('editor.unpublished'));
  }

  const template = previewTemplate();
  const previewUrl =
    template && host && page && previewToken
      ? `${template.replace('{host}', host)}${page.path}?preview=${encodeURIComponent(previewToken)}${
          previewVariant ? `&experiment=${previewVariant.experiment}&variant=${encodeURIComponent(previewVariant.variant)}` : ''
        }&r=${previewTick}`
      : null;
  const schema = editing ? (moduleOf(editing.module)?.props_schema as RJSFSchema | undefined) : undefined;

  return (
    <section className="editor">
      <p>
        <Link to={`/sites/${siteId}/pages`}>← {t('common.back')}</Link>
      </p>
      <h1>
        {page?.title ?? t('common.loading')} <code>{page?.path}</code>{' '}
        {page ? <span className={`status status-${page.status}`}>{t(`status.${page.status}`)}</span> : null}
      </h1>
      <p className="sr-only" role="status" aria-live="polite">
        {announce}
      </p>
      <ProblemNotice problem={editing && problem?.errors?.length ? null : problem} />
      {canEdit && page ? (
        <div className="publish">
          <label className="inline">
            {t('editor.publish_at')}
            <input type="datetime-local" step="1" value={publishAt} onChange={(event) => setPublishAt(event.target.value)} />
          </label>
          <button type="button" disabled={syncing} onClick={() => void publish()}>
            {publishAt ? t('editor.schedule') : t('editor.publish')}
          </button>
          {page.status !== 'draft' ? (
            <button type="button" className="secondary" disabled={syncing} onClick={() => void unpublish()}>
              {t('editor.unpublish')}
            </button>
          ) : null}
        </div>
      ) : null}
      {page ? (
        <PageSettings
          key={page.id}
          page={page}
          canEdit={canEdit}
          onSaved={(saved) => {
            // The new version before anything else: a publish clicked right
            // after must not send the old ETag.
            latestPage.current = saved;
            setPage(saved);
            void done(t('seo.saved'));
          }}
        />
      ) : null}
      <Experiments
        pageId={pageId}
        blocks={blocks}
        modules={modules}
        canEdit={canEdit}
        previewing={previewVariant}
        onPreview={setPreviewVariant}
      />
      <Revisions pageId={pageId} canEdit={canEdit} tick={previewTick} onRestore={(revision) => void restore(revision)} />
      <div className="editor-columns">
        <div className="blocks">
          <h2>{t('editor.blocks')}</h2>
          <ol className="block-list">
            {blocks.map((block, index) => {
              const name = moduleOf(block.module)?.name ?? block.module;
              return (
                <li
                  key={block.id}
                  className={`block${editing?.blockId === block.id ? ' selected' : ''}${block.hidden ? ' hidden-block' : ''}`}
                  draggable={canEdit}
                  onDragStart={() => {
                    dragged.current = block.id;
                  }}
                  onDragOver={(event) => event.preventDefault()}
                  onDrop={(event) => {
                    event.preventDefault();
                    const from = blocks.findIndex((b) => b.id === dragged.current);
                    if (dragged.current !== null && from >= 0) move(dragged.current, index - from);
                    dragged.current = null;
                  }}
                >
                  <span className="block-name">
                    {index + 1}. {name} {block.hidden ? <span className="status">{t('editor.hidden_badge')}</span> : null}
                  </span>
                  <span className="block-summary">{String(block.props.title ?? block.props.heading ?? '')}</span>
                  <span className="block-actions">
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => {
                        setProblem(null);
                        setClash(null);
                        setEditing({
                          blockId: block.id,
                          module: block.module,
                          position: null,
                          base: block.props as Props,
                          baseVersion: block.version,
                          value: block.props as Props,
                        });
                      }}
                    >
                      {canEdit ? t('editor.edit') : t('editor.view')} <span className="sr-only">{name}</span>
                    </button>
                    {canEdit ? (
                      <>
                        <button
                          type="button"
                          id={`up-${block.id}`}
                          className="secondary"
                          disabled={index === 0}
                          aria-label={t('editor.move_up', { name, place: String(index + 1) })}
                          onClick={() => move(block.id, -1, `up-${block.id}`)}
                        >
                          ↑
                        </button>
                        <button
                          type="button"
                          id={`down-${block.id}`}
                          className="secondary"
                          disabled={index === blocks.length - 1}
                          aria-label={t('editor.move_down', { name, place: String(index + 1) })}
                          onClick={() => move(block.id, 1, `down-${block.id}`)}
                        >
                          ↓
                        </button>
                        <button type="button" className="secondary" onClick={() => void addCopy(block)}>
                          {t('editor.duplicate')} <span className="sr-only">{name}</span>
                        </button>
                        <button type="button" className="secondary" aria-pressed={block.hidden} onClick={() => void toggleHidden(block)}>
                          {t('editor.hide')} <span className="sr-only">{name}</span>
                        </button>
                        {confirmDelete === block.id ? (
                          <button type="button" className="danger" onClick={() => void remove(block)}>
                            {t('editor.confirm_delete')}
                          </button>
                        ) : (
                          <button type="button" className="secondary" onClick={() => setConfirmDelete(block.id)}>
                            {t('editor.delete')} <span className="sr-only">{name}</span>
                          </button>
                        )}
                      </>
                    ) : null}
                  </span>
                </li>
              );
            })}
          </ol>
          {canEdit ? (
            <button type="button" onClick={() => setPicking(true)}>
              {t('editor.add_block')}
            </button>
          ) : null}
          {picking ? (
            <ModulePicker
              modules={modules}
              onClose={() => setPicking(false)}
              onPick={(module) => {
                setPicking(false);
                setProblem(null);
                setEditing({ blockId: null, module: module.key, position: null, base: {}, baseVersion: 0, value: {} });
              }}
            />
          ) : null}
        </div>
        <div className="form-column">
          {clash && editing ? (
            <Conflict
              theirs={clash.theirs}
              mine={clash.mine}
              merged={clash.merged}
              conflicts={clash.conflicts}
              onDiscard={() => {
                setClash(null);
                setEditing(null);
                void reload();
              }}
              onResolve={(props) => {
                setEditing({ ...editing, base: clash.theirs, baseVersion: clash.theirVersion, value: props });
                setClash(null);
                void saveBlock(props, clash.theirVersion);
              }}
            />
          ) : null}
          {editing && schema && !clash ? (
            <div className="block-form">
              <h2>{moduleOf(editing.module)?.name ?? editing.module}</h2>
              <BlockForm
                schema={schema}
                value={editing.value}
                problem={problem}
                readOnly={!canEdit}
                busy={busy}
                onChange={(value) => setEditing({ ...editing, value })}
                onSave={() => void saveBlock(editing.value, editing.baseVersion)}
                onCancel={() => {
                  setEditing(null);
                  setProblem(null);
                }}
              />
            </div>
          ) : null}
        </div>
        <div className="preview-column">
          <h2>{t('editor.preview')}</h2>
          {previewUrl ? (
            <>
              <iframe title={t('editor.preview')} src={previewUrl} className="preview" />
              <a href={previewUrl} target="_blank" rel="noopener">
                {t('editor.open_preview')}
              </a>
            </>
          ) : (
            <p>{t('editor.no_preview')}</p>
          )}
        </div>
      </div>
    </section>
  );
}
