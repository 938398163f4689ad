// An experiment's results as the API computes them: visitors, conversions
// and rate per variant, uplift with its 95% interval, p-value, chance to
// beat control, the sample-ratio warning, and the cumulative conversion
// rate over time as a chart (SVG drawn from the API's series).
import { useEffect, useState } from 'react';
import { api, asProblem, type Problem, type Schemas } from '../api';
import { useT } from '../i18n';
import { Link } from '../route';
import { ProblemNotice } from '../screens/ProblemNotice';

type Results = Schemas['Results'];

const percent = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined ? '—' : `${(value * 100).toFixed(digits)}%`;
const COLOURS = ['#1d4ed8', '#b45309', '#15803d', '#7c3aed'];

function Chart({ results }: { results: Results }) {
  const { t } = useT();
  const points = results.series.flatMap((series) => series.points);
  if (points.length === 0) return <p>{t('results.no_events')}</p>;
  const times = points.map((p) => new Date(p.at).getTime());
  const [first, last] = [Math.min(...times), Math.max(...times)];
  const top = Math.max(0.01, ...points.map((p) => p.rate));
  const [width, height] = [640, 240];
  const x = (at: string) => (last === first ? width / 2 : ((new Date(at).getTime() - first) / (last - first)) * (width - 40) + 30);
  const y = (rate: number) => height - 20 - (rate / top) * (height - 40);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={t('results.chart')}>
        <line x1="30" y1={height - 20} x2={width - 10} y2={height - 20} className="axis" />
        <line x1="30" y1="10" x2="30" y2={height - 20} className="axis" />
        <text x="2" y="18" className="tick">
          {percent(top, 0)}
        </text>
        {results.series.map((series, index) => (
          <g key={series.variant} stroke={COLOURS[index % COLOURS.length]} fill={COLOURS[index % COLOURS.length]}>
            <polyline
              fill="none"
              strokeWidth="2"
              points={series.points.map((p) => `${x(p.at).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ')}
            />
            {/* The last point marked, so a series of one point shows too. */}
            {series.points.slice(-1).map((p) => (
              <circle key={p.at} cx={x(p.at).toFixed(1)} cy={y(p.rate).toFixed(1)} r="4" />
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        {results.series.map((series, index) => (
          <span key={series.variant} className={`legend legend-${index % COLOURS.length}`}>
            {series.variant}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export default function ExperimentResults({ experimentId }: { experimentId: string }) {
  const { t } = useT();
  const [results, setResults] = useState<Results | null>(null);
  const [experiment, setExperiment] = useState<Schemas['Experiment'] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    const path = { params: { path: { id: experimentId } } };
    void api.GET('/api/v1/experiments/{id}', path).then(({ data }) => setExperiment(data ?? null));
    void api.GET('/api/v1/experiments/{id}/results', path).then(({ data, error, response }) => {
      if (data) setResults(data);
      else setProblem(asProblem(error, response.status));
    });
  }, [experimentId]);

  return (
    <section className="results">
      {experiment ? (
        <p>
          <Link to={`/sites/${experiment.site_id}/pages/${experiment.page_id}`}>← {t('common.back')}</Link>
        </p>
      ) : null}
      <h1>{t('results.title', { name: results?.name ?? '' })}</h1>
      <ProblemNotice problem={problem} />
      {results ? (
        <>
          <p>
            {t('results.goal')}: <code>{results.goal}</code> · {t('results.status')}: {results.status}
          </p>
          {results.sample_ratio.mismatch ? (
            <p className="problem" role="alert">
              {t('results.srm', { p: results.sample_ratio.p_value.toExponential(2) })}
            </p>
          ) : null}
          <table className="results-table">
            <thead>
              <tr>
                <th scope="col">{t('results.variant')}</th>
                <th scope="col">{t('results.visitors')}</th>
                <th scope="col">{t('results.conversions')}</th>
                <th scope="col">{t('results.rate')}</th>
                <th scope="col">{t('results.uplift')}</th>
                <th scope="col">{t('results.p_value')}</th>
                <th scope="col">{t('results.chance')}</th>
              </tr>
            </thead>
            <tbody>
              {results.variants.map((variant) => (
                <tr key={variant.key} data-variant={variant.key}>
                  <th scope="row">
                    {variant.name} {variant.is_control ? `(${t('results.control')})` : ''}
                  </th>
                  <td className="visitors">{variant.visitors}</td>
                  <td className="conversions">{variant.conversions}</td>
                  <td className="rate">{percent(variant.rate, 2)}</td>
                  <td>
                    {variant.is_control
                      ? '—'
                      : `${percent(variant.uplift)} [${percent(variant.uplift_ci?.[0])}, ${percent(variant.uplift_ci?.[1])}]`}
                  </td>
                  <td>{variant.p_value === null || variant.p_value === undefined ? '—' : variant.p_value.toFixed(4)}</td>
                  <td>{percent(variant.chance_to_beat_control)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Chart results={results} />
        </>
      ) : null}
    </section>
  );
}
