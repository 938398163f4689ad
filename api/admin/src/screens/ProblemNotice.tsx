import type { Problem } from '../api';

/** The API's problem+json as a notice: its title and detail. Field errors
 * are shown beside their fields by the form that sent them. */
export function ProblemNotice({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  return (
    <div className="problem" role="alert">
      <strong>{problem.title}</strong>
      {problem.detail ? <span> {problem.detail}</span> : null}
    </div>
  );
}
