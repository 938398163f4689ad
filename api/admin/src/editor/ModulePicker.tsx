// Choosing the module of a new block: its name, category and a sketch.
import type { Schemas } from '../api';
import { useT } from '../i18n';

type Module = Schemas['ModuleView'];

/** A tiny wireframe per category, drawn as SVG elements (no inline style). */
function Sketch({ category }: { category: string }) {
  const bars: Record<string, [number, number, number, number][]> = {
    hero: [[4, 6, 40, 6], [4, 16, 28, 4], [4, 26, 14, 6], [50, 4, 26, 28]],
    content: [[4, 6, 72, 4], [4, 14, 72, 4], [4, 22, 60, 4], [4, 30, 40, 4]],
    media: [[4, 4, 22, 14], [29, 4, 22, 14], [54, 4, 22, 14], [4, 21, 22, 14]],
    forms: [[4, 4, 72, 6], [4, 13, 72, 6], [4, 22, 72, 6], [4, 31, 24, 5]],
  };
  const shapes = bars[category] ?? [[4, 4, 72, 8], [4, 16, 50, 4], [4, 24, 60, 4]];
  return (
    <svg viewBox="0 0 80 38" width="80" height="38" aria-hidden="true" className="sketch">
      {shapes.map(([x, y, w, h], i) => (
        <rect key={i} x={x} y={y} width={w} height={h} rx="1.5" />
      ))}
    </svg>
  );
}

export function ModulePicker({ modules, onPick, onClose }: { modules: Module[]; onPick: (module: Module) => void; onClose: () => void }) {
  const { t } = useT();
  return (
    <div className="module-picker" role="dialog" aria-label={t('editor.pick_module')}>
      <h2>{t('editor.pick_module')}</h2>
      <ul>
        {modules.map((module) => (
          <li key={module.key}>
            <button type="button" className="module-choice" onClick={() => onPick(module)}>
              <Sketch category={module.category} />
              <span className="module-name">{module.name}</span>
              <span className="module-category">{module.category}</span>
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="secondary" onClick={onClose}>
        {t('editor.cancel')}
      </button>
    </div>
  );
}
