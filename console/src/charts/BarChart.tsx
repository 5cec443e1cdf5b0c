/**
 * A bar chart on Chart.js (only the parts a bar chart needs are registered, so the rest of the library
 * is left out of the bundle), always with its numbers as a table beside it: the canvas is a picture,
 * the table is what a screen reader, a keyboard user or a test reads.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import { Table } from '../ui/components';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export interface Series {
  label: string;
  values: number[];
  /** Colours with at least 3:1 contrast against the white card (WCAG's non-text contrast). */
  color: string;
}

export function BarChart({ title, labels, series, labelHeading }: { title: string; labels: string[]; series: Series[]; labelHeading: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | undefined>(undefined);
  useEffect(() => {
    if (!canvas.current) return;
    const data = { labels, datasets: series.map((one) => ({ label: one.label, data: one.values, backgroundColor: one.color })) };
    if (!chart.current) {
      chart.current = new Chart(canvas.current, {
        type: 'bar',
        data,
        options: {
          animation: false,
          maintainAspectRatio: false,
          responsive: true,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: 'bottom' } },
        },
      });
    } else {
      chart.current.data = data;
      chart.current.update();
    }
  }, [labels, series]);
  useEffect(() => () => chart.current?.destroy(), []);
  const totals = series.map((one) => one.values.reduce((sum, value) => sum + value, 0));
  const summary = `${title}: ${series.map((one, index) => `${one.label} ${totals[index]}`).join(', ')} over ${labels.length} ${labelHeading.toLowerCase()}${labels.length === 1 ? '' : 's'}.`;
  return (
    <figure class="chart">
      <div class="chart-canvas">
        <canvas ref={canvas} role="img" aria-label={summary} />
      </div>
      <figcaption class="visually-hidden">{summary}</figcaption>
      <Table caption={`${title} (table)`}>
        <thead>
          <tr>
            <th scope="col">{labelHeading}</th>
            {series.map((one) => (
              <th scope="col" class="num" key={one.label}>
                {one.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {labels.map((label, row) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              {series.map((one) => (
                <td class="num" key={one.label}>
                  {one.values[row]}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </Table>
    </figure>
  );
}
