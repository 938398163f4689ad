// A page's A/B experiments: create one (variant B overrides chosen blocks,
// edited with the same generated forms; weights, coverage, goal, a UTM
// targeting rule), start, pause and complete it, preview each variant in
// the editor's frame, and open its results.
import { useEffect, useState } from 'react';
import type { RJSFSchema } from '@rjsf/utils';
import { api, asProblem, type Problem, type Schemas } from '../api';
import { useT } from '../i18n';
import { Link } from '../route';
import { ProblemNotice } from '../screens/ProblemNotice';
import { BlockForm } from './BlockForm';
import type { Props } from './merge';

type Experiment = Schemas['Experiment'];
type Block = Schemas['Block'];

export interface PreviewVariant {
  experiment: string;
  variant: string;
}

export function Experiments(props: {
  pageId: string;
  blocks: Block[];
  modules: Schemas['ModuleView'][];
  canEdit: boolean;
  previewing: PreviewVariant | null;
  onPreview: (variant: PreviewVariant | null) => void;
}) {
  const { t } = useT();
  const [experiments, setExperiments] = useState<Experiment[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [creating, setCreating] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    void api
      .GET('/api/v1/pages/{id}/experiments', { params: { path: { id: props.pageId } } })
      .then(({ data }) => setExperiments(data?.items ?? []));
  }, [props.pageId, tick]);

  async function act(experiment: Experiment, action: 'start' | 'pause' | 'complete') {
    const path = { params: { path: { id: experiment.id } } };
    const answer =
      action === 'start'
        ? await api.POST('/api/v1/experiments/{id}/start', path)
        : action === 'pause'
          ? await api.POST('/api/v1/experiments/{id}/pause', path)
          : await api.POST('/api/v1/experiments/{id}/complete', { ...path, body: null });
    if (answer.error) setProblem(asProblem(answer.error, answer.response.status));
    else {
      setProblem(null);
      setTick((n) => n + 1);
    }
  }

  return (
    <details className="experiments" open={experiments.length > 0 || undefined}>
      <summary>
        {t('experiments.title')} ({experiments.length})
      </summary>
      <ProblemNotice problem={creating ? null : problem} />
      <ul className="experiment-list">
        {experiments.map((experiment) => (
          <li key={experiment.id}>
            <strong>{experiment.name}</strong> <span className={`status status-${experiment.status}`}>{experiment.status}</span>{' '}
            {(experiment.variants as { key: string; name?: string }[]).map((variant) => {
              const active = props.previewing?.experiment === experiment.id && props.previewing.variant === variant.key;
              return (
                <button
                  key={variant.key}
                  type="button"
                  className="secondary"
                  aria-pressed={active}
                  onClick={() => props.onPreview(active ? null : { experiment: experiment.id, variant: variant.key })}
                >
                  {t('experiments.preview_variant', { variant: variant.name ?? variant.key })}
                </button>
              );
            })}
            {props.canEdit && (experiment.status === 'draft' || experiment.status === 'paused') ? (
              <button type="button" onClick={() => void act(experiment, 'start')}>
                {t('experiments.start')}
              </button>
            ) : null}
            {props.canEdit && experiment.status === 'running' ? (
              <button type="button" className="secondary" onClick={() => void act(experiment, 'pause')}>
                {t('experiments.pause')}
              </button>
            ) : null}
            {props.canEdit && (experiment.status === 'running' || experiment.status === 'paused') ? (
              <button type="button" className="secondary" onClick={() => void act(experiment, 'complete')}>
                {t('experiments.complete')}
              </button>
            ) : null}{' '}
            <Link to={`/experiments/${experiment.id}`}>{t('experiments.results')}</Link>
          </li>
        ))}
      </ul>
      {props.canEdit && !creating ? (
        <button type="button" onClick={() => setCreating(true)}>
          {t('experiments.new')}
        </button>
      ) : null}
      {creating ? (
        <NewExperiment
          pageId={props.pageId}
          blocks={props.blocks}
          modules={props.modules}
          onDone={() => {
            setCreating(false);
            setTick((n) => n + 1);
          }}
        />
      ) : null}
    </details>
  );
}

function NewExperiment(props: { pageId: string; blocks: Block[]; modules: Schemas['ModuleView'][]; onDone: () => void }) {
  const { t } = useT();
  const [name, setName] = useState('');
  const [hypothesis, setHypothesis] = useState('');
  const [goal, setGoal] = useState('lead_submitted');
  const [coverage, setCoverage] = useState(100);
  const [weightB, setWeightB] = useState(50);
  const [utmSource, setUtmSource] = useState('');
  const [overrides, setOverrides] = useState<Record<string, Props>>({});
  const [problem, setProblem] = useState<Problem | null>(null);
  const schemaOf = (block: Block) => props.modules.find((m) => m.key === block.module)?.props_schema as RJSFSchema | undefined;

  async function create() {
    const body: Schemas['NewExperiment'] = {
      name,
      hypothesis,
      goal,
      coverage,
      variants: [
        { key: 'a', name: 'Control', weight: 100 - weightB },
        { key: 'b', name: 'Variant B', weight: weightB, overrides },
      ],
      targeting: utmSource ? [{ action: 'include', utm_source: utmSource }] : [],
    };
    const { data, error, response } = await api.POST('/api/v1/pages/{id}/experiments', { params: { path: { id: props.pageId } }, body });
    if (data) props.onDone();
    else setProblem(asProblem(error, response.status));
  }

  const field = (name: string) => problem?.errors?.find((e) => e.field === name || e.field.startsWith(`${name}.`))?.message ?? '';
  return (
    <form
      className="new-experiment"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void create();
      }}
    >
      <h3>{t('experiments.new')}</h3>
      <ProblemNotice problem={problem?.errors?.length ? null : problem} />
      <label>
        {t('experiments.name')}
        <input type="text" value={name} onChange={(event) => setName(event.target.value)} aria-describedby="exp-name-error" />
      </label>
      <p id="exp-name-error" className="field-error">
        {field('name')}
      </p>
      <label>
        {t('experiments.hypothesis')}
        <input type="text" value={hypothesis} onChange={(event) => setHypothesis(event.target.value)} />
      </label>
      <label>
        {t('experiments.goal')}
        <input type="text" value={goal} list="experiment-goals" onChange={(event) => setGoal(event.target.value)} aria-describedby="exp-goal-error" />
        <datalist id="experiment-goals">
          <option value="lead_submitted" />
        </datalist>
      </label>
      <p id="exp-goal-error" className="field-error">
        {field('goal')}
      </p>
      <label>
        {t('experiments.coverage')}
        <input type="number" min={1} max={100} value={coverage} onChange={(event) => setCoverage(Number(event.target.value))} />
      </label>
      <label>
        {t('experiments.weight_b')}
        <input type="number" min={1} max={99} value={weightB} onChange={(event) => setWeightB(Number(event.target.value))} />
      </label>
      <label>
        {t('experiments.utm_source')}
        <input type="text" value={utmSource} onChange={(event) => setUtmSource(event.target.value)} />
      </label>
      <fieldset>
        <legend>{t('experiments.overrides')}</legend>
        {props.blocks.map((block, index) => {
          const schema = schemaOf(block);
          const chosen = overrides[block.id];
          return (
            <div key={block.id} className="override">
              <label className="inline">
                <input
                  type="checkbox"
                  checked={chosen !== undefined}
                  onChange={(event) => {
                    const next = { ...overrides };
                    if (event.target.checked) next[block.id] = block.props as Props;
                    else delete next[block.id];
                    setOverrides(next);
                  }}
                />
                {t('experiments.override_block', { place: String(index + 1), name: block.module })}
              </label>
              {chosen && schema ? (
                <BlockForm
                  schema={schema}
                  value={chosen}
                  problem={null}
                  readOnly={false}
                  busy={false}
                  embedded
                  onChange={(value) => setOverrides({ ...overrides, [block.id]: value })}
                  onSave={() => undefined}
                  onCancel={() => undefined}
                />
              ) : null}
            </div>
          );
        })}
        <p className="field-error">{field('variants')}</p>
      </fieldset>
      <div className="actions">
        <button type="submit">{t('experiments.create')}</button>
        <button type="button" className="secondary" onClick={props.onDone}>
          {t('editor.cancel')}
        </button>
      </div>
    </form>
  );
}
