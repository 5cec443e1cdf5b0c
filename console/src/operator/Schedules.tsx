import { useEffect, useState } from 'preact/hooks';
import { ok } from '../api/client';
import { adminApi } from '../api/instances';
import { consoleConfig, temporalWorkflowUrl, type ConsoleConfig } from '../config';
import { Loading, Refusal, Section, StatusBadge, Table } from '../ui/components';
import { formatInstant } from '../ui/format';
import { useLoad } from '../ui/hooks';
import { OperatorShell } from './Shell';

export default function SchedulesPage() {
  const schedules = useLoad(() => ok(adminApi.GET('/v1/admin/schedules')), []);
  const [config, setConfig] = useState<ConsoleConfig>();
  useEffect(() => void consoleConfig().then(setConfig), []);
  return (
    <OperatorShell title="Schedules">
      <Section
        title="Scheduled jobs"
        actions={
          <button type="button" onClick={schedules.reload}>
            Refresh
          </button>
        }
      >
        <p class="muted">Temporal Schedules: each run is a workflow, linked to the Temporal UI when its address is configured.</p>
        <Refusal error={schedules.error} />
        {schedules.data ? (
          schedules.data.items.length === 0 ? (
            <p>No schedules.</p>
          ) : (
            <Table caption="Schedules">
              <thead>
                <tr>
                  <th scope="col">Schedule</th>
                  <th scope="col">When</th>
                  <th scope="col">State</th>
                  <th scope="col">Last runs</th>
                  <th scope="col">Next runs</th>
                </tr>
              </thead>
              <tbody>
                {schedules.data.items.map((schedule) => (
                  <tr key={schedule.id}>
                    <th scope="row">
                      <code>{schedule.id}</code>
                      <div class="muted">{schedule.workflowType}</div>
                    </th>
                    <td>
                      {describeSpec(schedule.spec)}
                      <details>
                        <summary class="muted">Spec</summary>
                        <code class="json">{schedule.spec}</code>
                      </details>
                    </td>
                    <td>
                      <StatusBadge status={schedule.paused ? 'paused' : 'active'} />
                      {schedule.note ? <div class="muted">{schedule.note}</div> : null}
                    </td>
                    <td>
                      {schedule.lastRuns.length === 0 ? (
                        'not yet'
                      ) : (
                        <ul class="plain">
                          {schedule.lastRuns.map((run) => {
                            const url = config ? temporalWorkflowUrl(config, run.workflowId) : null;
                            return (
                              <li key={run.workflowId} class="nowrap">
                                {url ? (
                                  <a href={url} target="_blank" rel="noreferrer">
                                    {formatInstant(run.takenAt)}
                                  </a>
                                ) : (
                                  formatInstant(run.takenAt)
                                )}
                              </li>
                            );
                          })}
                        </ul>
                      )}
                    </td>
                    <td>
                      <ul class="plain">
                        {schedule.nextRuns.slice(0, 3).map((next) => (
                          <li key={next} class="nowrap">
                            {formatInstant(next)}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )
        ) : (
          !schedules.error && <Loading what="schedules" />
        )}
      </Section>
    </OperatorShell>
  );
}

interface SpecRange {
  start: number | string;
  end: number | string;
  step: number;
}
interface SpecCalendar {
  second?: SpecRange[];
  minute?: SpecRange[];
  hour?: SpecRange[];
  dayOfMonth?: SpecRange[];
  month?: SpecRange[];
  dayOfWeek?: SpecRange[];
}

/** The common shapes of a Schedule's spec in words ("every 15 min", "every day at 03:00 UTC"); anything else as it is. */
export function describeSpec(spec: string): string {
  let parsed: { calendars?: SpecCalendar[]; intervals?: { every: number }[]; timezone?: string };
  try {
    parsed = JSON.parse(spec);
  } catch {
    return spec;
  }
  const zone = parsed.timezone || 'UTC';
  const single = (ranges: SpecRange[] | undefined) => (ranges?.length === 1 && ranges[0]!.start === ranges[0]!.end ? Number(ranges[0]!.start) : undefined);
  const parts = [
    ...(parsed.intervals ?? []).map((interval) => `every ${duration(interval.every)}`),
    ...(parsed.calendars ?? []).map((calendar) => {
      const hour = single(calendar.hour);
      const minute = single(calendar.minute);
      const daily = calendar.dayOfMonth?.[0]?.start === 1 && calendar.dayOfMonth[0].end === 31 && calendar.month?.[0]?.start === 'JANUARY' && calendar.dayOfWeek?.[0]?.start === 'SUNDAY';
      if (hour === undefined || minute === undefined || !daily) return JSON.stringify(calendar);
      return `every day at ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} ${zone}`;
    }),
  ];
  return parts.length > 0 ? parts.join('; ') : spec;
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
