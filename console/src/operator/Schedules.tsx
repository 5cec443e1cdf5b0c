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
                    <td>{schedule.spec}</td>
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
                              <li key={run.workflowId}>
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
                        {schedule.nextRuns.map((next) => (
                          <li key={next}>{formatInstant(next)}</li>
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
